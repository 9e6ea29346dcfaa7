// Package bridge is roombridge's engine: the booking pipeline (validate, route by date,
// check both systems, enqueue), the outbox dispatcher that writes to the OA and
// DingTalk exactly once, the sync of both systems into the reservations table, and the
// iCalendar feeds built from it.
//
// bridge imports models and its own adapter packages (bridge/oa, bridge/dingtalk); it
// must not import web or cmd. The adapters reach the engine through the Backend
// interface declared here.
package bridge
