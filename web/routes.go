package web

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"
)

// routes registers every URL the service answers.
func (s *server) routes() {
	e := s.e
	e.Use(s.middlewares()...)

	e.GET("/healthz", s.healthz)
	e.HEAD("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.HEAD("/readyz", s.readyz)
	e.GET("/metrics", s.serveMetrics)
	e.StaticFS("/static/", s.static)
	// Browsers ask for /favicon.ico on their own (feeds' and API clients' too).
	e.GET("/favicon.ico", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, "/static/favicon.svg")
	})
	e.GET("/lang", s.switchLanguage)
	switch s.auth {
	case AuthDemo:
		e.GET("/login", s.loginPage)
		e.POST("/login", s.login)
	case AuthDingTalk:
		e.GET("/login", s.dingTalkLogin)
		e.GET("/auth/dingtalk/callback", s.dingTalkCallback)
		e.POST("/auth/dingtalk/inapp", s.dingTalkInApp)
	}
	if s.auth != AuthHeader {
		e.POST("/logout", s.logout)
		e.GET("/signed-out", s.signedOutPage)
	}

	// Pages.
	e.GET("/", s.newBookingForm, s.signedIn)
	e.POST("/bookings", s.createBookingForm, s.signedIn)
	e.GET("/bookings", s.myBookings, s.signedIn)
	e.GET("/find", s.findRooms, s.signedIn)
	e.GET("/grid", s.gridPage, s.signedIn)
	e.GET("/bookings/:id", s.bookingPage, s.signedIn)
	e.GET("/bookings/:id/edit", s.editBookingForm, s.signedIn)
	e.POST("/bookings/:id/edit", s.rescheduleBookingForm, s.signedIn)
	e.GET("/bookings/:id/cancel", s.cancelBookingPage, s.signedIn)
	e.POST("/bookings/:id/cancel", s.cancelBookingForm, s.signedIn)

	// JSON API v1, described in static/openapi.yaml (a test checks every route is in it).
	api := group{e: e, prefix: "/api/v1", m: []echo.MiddlewareFunc{s.signedInAPI}}
	api.GET("/rooms", s.listRooms)
	api.GET("/availability", s.availability)
	api.GET("/route", s.route)
	api.GET("/series/plan", s.planSeriesAPI)
	api.GET("/bookings", s.listBookingsAPI)
	api.POST("/bookings", s.createBookingAPI)
	api.GET("/bookings/:id", s.getBookingAPI)
	api.PATCH("/bookings/:id", s.patchBookingAPI)
	api.DELETE("/bookings/:id", s.cancelBookingAPI)

	// iCalendar feeds, the subscribe page and feed tokens, when Config.Feeds is set.
	if s.feeds != nil {
		s.feedRoutes(e)
		e.GET("/subscribe", s.subscribePage, s.signedIn)
		e.POST("/subscribe", s.createFeedTokenForm, s.signedIn)
		e.POST("/subscribe/:id/rotate", s.rotateFeedTokenForm, s.signedIn)
		e.POST("/subscribe/:id/revoke", s.revokeFeedTokenForm, s.signedIn)
		api.GET("/feed-tokens", s.listFeedTokensAPI)
		api.POST("/feed-tokens", s.createFeedTokenAPI)
		api.POST("/feed-tokens/:id/rotate", s.rotateFeedTokenAPI)
		api.DELETE("/feed-tokens/:id", s.revokeFeedTokenAPI)
	}

	// Sync and admin status, with Config.Admin.
	if s.admin != nil {
		e.GET("/admin", s.adminPage, s.signedIn, s.adminOnly)
		e.POST("/admin/sync", s.adminSyncForm, s.signedIn, s.adminOnly)
		api.POST("/sync", s.syncAPI, s.adminOnly)
		api.GET("/admin/status", s.adminStatusAPI, s.adminOnly)
	}

	// Conflicts and the admin console, with Config.Admin and Config.Conflicts.
	if s.admin != nil && s.conflicts != nil {
		api.GET("/conflicts", s.listConflictsAPI, s.adminOnly)
		api.GET("/conflicts/:id", s.getConflictAPI, s.adminOnly)
		api.POST("/conflicts/:id/resolve", s.resolveConflictAPI, s.adminOnly)
		adm := group{e: e, prefix: "/admin", m: []echo.MiddlewareFunc{s.signedIn, s.adminOnly}}
		adm.GET("/conflicts", s.conflictsQueue)
		adm.GET("/conflicts/:id", s.conflictDetail)
		adm.POST("/conflicts/:id/resolve", s.resolveConflictForm)
		adm.GET("/cutover", s.cutoverReport)
		adm.POST("/cutover/migrate", s.migrateAllForm)
		adm.GET("/outbox", s.outboxFailed)
		adm.POST("/outbox/:id/retry", s.retryJobForm)
		adm.GET("/audit", s.auditLog)
		adm.GET("/rooms", s.roomMapping)
		adm.POST("/rooms/refresh", s.refreshRoomsForm)
	}
}

// group registers routes under prefix, each with the middleware m before its own. Unlike
// echo's Group with middleware, it adds no catch-all route under prefix, so a known path
// asked with another method answers 405, not 404; an unknown path is the plain 404.
type group struct {
	e      *echo.Echo
	prefix string
	m      []echo.MiddlewareFunc
}

func (g group) add(method, path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	g.e.Add(method, g.prefix+path, h, append(slices.Clone(g.m), m...)...)
}

func (g group) GET(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	g.add(http.MethodGet, path, h, m...)
}

func (g group) POST(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	g.add(http.MethodPost, path, h, m...)
}

func (g group) PATCH(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	g.add(http.MethodPatch, path, h, m...)
}

func (g group) DELETE(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	g.add(http.MethodDelete, path, h, m...)
}

// redirect answers 303 See Other, the right status after a form post.
func redirect(c echo.Context, to string) error {
	return c.Redirect(http.StatusSeeOther, to)
}
