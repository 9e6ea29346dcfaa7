package web

import (
	"compress/gzip"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// maxBody is the largest request body accepted (413 above it).
const maxBody = 1 << 20

// middlewares is the chain every request goes through, outermost first. Echo's own
// middleware does the generic work; only what echo lacks is written here (metrics,
// language, per-client limits, reading a form before the CSRF check, identity, binding
// the CSRF token to the session).
func (s *server) middlewares() []echo.MiddlewareFunc {
	return []echo.MiddlewareFunc{
		middleware.RequestID(),
		s.measure,
		// A panic becomes a logged 500 through handleError, never a stack trace on a page.
		middleware.RecoverWithConfig(middleware.RecoverConfig{
			DisableErrorHandler: true,
			LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
				r := c.Request()
				s.log.Error("handler panicked", "method", r.Method, "path", logPath(r), "request_id", requestID(c), "panic", err.Error(), "stack", string(stack))
				return fmt.Errorf("panic in %s %s: %w", r.Method, logPath(r), err)
			},
		}),
		middleware.SecureWithConfig(middleware.SecureConfig{
			ContentTypeNosniff:    "nosniff",
			XFrameOptions:         "SAMEORIGIN",
			ContentSecurityPolicy: s.csp,
			ReferrerPolicy:        "same-origin",
			HSTSMaxAge:            365 * 24 * 3600,
			HSTSExcludeSubdomains: true,
		}),
		s.language,
		middleware.BodyLimit(strconv.Itoa(maxBody)),
		s.limit,
		// Feeds keep their gzip beside the cached body and serve it themselves. Answers
		// to writes are short (a booking, a redirect): setting up a compressor for each
		// would cost more than it saves. The fastest level: on a day of availability
		// (10 kB of JSON) it takes a third of the default level's time for 15% more
		// bytes, and the default level was the largest cost of a kept answer.
		middleware.GzipWithConfig(middleware.GzipConfig{Level: gzip.BestSpeed, MinLength: 1024, Skipper: func(c echo.Context) bool {
			r := c.Request()
			return isFeed(r.URL.Path) || (r.Method != http.MethodGet && r.Method != http.MethodHead)
		}}),
		s.parseForm,
		s.identify,
		s.bindCSRF,
		s.csrf(),
	}
}

// requestID is the id RequestID gave the request (also in the X-Request-Id answer header).
func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// parseForm reads a posted form before the CSRF check looks into it, so an oversized
// form is answered 413 rather than "page expired".
func (s *server) parseForm(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method == http.MethodPost && mediaType(r) == echo.MIMEApplicationForm {
			if err := r.ParseForm(); err != nil {
				var he *echo.HTTPError
				if errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge {
					return he
				}
				return badRequest("", "form")
			}
		}
		return next(c)
	}
}

// contentSecurityPolicy allows scripts (and their requests) only from this site, plus,
// with DingTalk sign-in, the origin of DingTalk's JSAPI script. Inline style attributes
// are allowed for the timeline bars.
func contentSecurityPolicy(auth, jsapi string) string {
	scripts := "'self'"
	if u, err := url.Parse(jsapi); auth == AuthDingTalk && err == nil && u.Host != "" {
		scripts += " " + u.Scheme + "://" + u.Host
	}
	return "default-src 'self'; script-src " + scripts + "; connect-src " + scripts + "; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
}
