// Package web is roombridge's HTTP face: the server-rendered booking pages staff use
// (booking form with a live view of both systems, outcome page, my bookings, cancel and
// reschedule), the JSON API v1, health, readiness and metrics endpoints, the zh-CN/English
// message catalog, and the embedded templates, static assets and OpenAPI description.
// With Config.Feeds it also serves the iCalendar feeds under /ical/{token}/ and the
// subscribe page that manages feed tokens; with Config.Admin, the admin page and the
// sync and status API.
//
// Handlers return errors; one table in errors.go turns error kinds into HTTP statuses,
// rendered as a friendly page or as {"error":{"code","message"}} under /api/. Templates
// are parsed once in New, so a broken template stops the start.
//
// web imports roombridge/models and third-party packages only. It must not import
// roombridge/bridge or roombridge/cmd: the engine reaches it through the Booker, Feeds
// and Admin interfaces declared here, whose argument and result types are in models.
//
// A feed URL carries its token, a credential: logs show feed paths with the token
// redacted, and metrics label requests by route pattern only.
package web
