package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"

	"github.com/labstack/echo/v4"
)

// maxBody is the largest request body accepted (413 above it).
const maxBody = 1 << 20

// recoverPanic turns a panic into a logged 500, never a stack trace on a page.
func (s *server) recoverPanic(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			r := c.Request()
			s.log.Error("handler panicked", "method", r.Method, "path", logPath(r), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic in %s %s: %v", r.Method, logPath(r), v)
		}()
		return next(c)
	}
}

// limitBody refuses bodies over maxBody: at once when Content-Length says so, else
// when reading passes the limit (an *http.MaxBytesError, answered 413).
func (s *server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength > maxBody {
			return &http.MaxBytesError{Limit: maxBody}
		}
		r.Body = http.MaxBytesReader(c.Response().Writer, r.Body, maxBody)
		return next(c)
	}
}

// parseForm reads a posted form before the CSRF check looks into it, so an oversized
// form is answered 413 rather than "page expired".
func (s *server) parseForm(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method == http.MethodPost && mediaType(r) == echo.MIMEApplicationForm {
			if err := r.ParseForm(); err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					return tooBig
				}
				return badRequest("", "表单内容无法读取。", "The form could not be read.")
			}
		}
		return next(c)
	}
}

// secureHeaders sets headers every answer carries. Scripts come only from /static;
// inline style attributes are allowed for the timeline bars.
func (s *server) secureHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", s.csp)
		return next(c)
	}
}

// contentSecurityPolicy allows scripts (and their requests) only from this site, plus,
// with DingTalk sign-in, the origin of DingTalk's JSAPI script.
func contentSecurityPolicy(auth, jsapi string) string {
	scripts := "'self'"
	if u, err := url.Parse(jsapi); auth == AuthDingTalk && err == nil && u.Host != "" {
		scripts += " " + u.Scheme + "://" + u.Host
	}
	return "default-src 'self'; script-src " + scripts + "; connect-src " + scripts + "; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
}
