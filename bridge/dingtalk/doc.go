// Package dingtalk is the bridge's client for DingTalk (钉钉): it books meeting rooms as
// calendar events, cancels them, reads events and room schedules back for syncing, lists
// rooms, and maps employee userIds to the unionIds the calendar API keys everything by.
//
// The new API (api.dingtalk.com) is called through the official SDK
// github.com/alibabacloud-go/dingtalk; the old API (oapi.dingtalk.com), needed only for
// directory lookups, through net/http. One app access token serves both; it is cached and
// refreshed once when DingTalk rejects it.
//
// Every call is retried by this package, not by the SDK: network errors, 5xx, throttling
// (429 and the 403 QPS/QPM codes) and idempotencyProcessing, with exponential backoff from
// one second. Room conflicts, validation and permission errors, the organiser's daily
// creation limit and the org's monthly quota are never retried. Errors wrap the kinds in
// models (ErrConflict, ErrUnavailable, ErrInvalid, ErrForbidden, ErrNotFound) and carry
// DingTalk's code and requestid in their text. Credentials DingTalk refuses give
// ErrForbidden on the first call.
//
// Calendar and rooms calls count toward the org's monthly quota (5 000 calls on the
// standard edition); Config.OnCall reports each one so the bridge can keep count, and
// MeteredCallsPerScheduleQuery sizes polling against it.
//
// Writes carry x-client-token keys derived from the caller's booking key, so a retried
// BookRoom or CancelBooking does the work at most once.
//
// dingtalk imports models and no other roombridge package.
package dingtalk
