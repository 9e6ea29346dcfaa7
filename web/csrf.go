package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"roombridge/models"
)

const (
	csrfCookie = "rb_csrf"
	csrfField  = "_csrf"
	csrfKey    = "roombridge.csrf" // echo context key
)

// csrf protects every form post with echo's CSRF middleware. A browser that says
// Sec-Fetch-Site: same-origin (or none) is trusted without a token; cross-site posts are
// refused outright; other posts must send back the token of the rb_csrf cookie in the
// _csrf form field (double submit). Every page gets the token in its context for its
// forms.
func (s *server) csrf() echo.MiddlewareFunc {
	return middleware.CSRFWithConfig(middleware.CSRFConfig{
		Skipper:        func(c echo.Context) bool { return csrfExempt(c.Request()) },
		TokenLookup:    "form:" + csrfField,
		ContextKey:     csrfKey,
		CookieName:     csrfCookie,
		CookiePath:     "/",
		CookieMaxAge:   7 * 24 * 3600,
		CookieSecure:   s.secure,
		CookieHTTPOnly: true,
		CookieSameSite: http.SameSiteLaxMode,
		AllowSecFetchSiteFunc: func(c echo.Context) (bool, error) {
			if c.Request().Header.Get(echo.HeaderSecFetchSite) == "same-site" {
				return false, nil // a sibling site must show the token
			}
			return false, csrfRefused(c)
		},
		ErrorHandler: func(_ error, c echo.Context) error { return csrfRefused(c) },
	})
}

// csrfExempt tells requests a cross-site forgery cannot produce: a JSON body, and
// methods other than POST, need a CORS preflight, which this server never grants. Infra
// paths, feeds and API reads need no token at all.
func csrfExempt(r *http.Request) bool {
	switch {
	case isInfra(r.URL.Path), isFeed(r.URL.Path), isAPI(r) && safeMethod(r.Method):
		return true
	case safeMethod(r.Method):
		return false // not checked, but they hand out the token
	case r.Method == http.MethodPost:
		return isJSON(r)
	}
	return true
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

func csrfRefused(c echo.Context) error {
	if isAPI(c.Request()) {
		return models.E(models.ErrForbidden, "csrf", "", argDetail, "json")
	}
	return models.E(models.ErrForbidden, "csrf", "", argDetail, "expired")
}

func csrfToken(c echo.Context) string {
	t, _ := c.Get(csrfKey).(string)
	return t
}
