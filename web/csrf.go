package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

const (
	csrfCookie = "rb_csrf"
	csrfField  = "_csrf"
	csrfKey    = "roombridge.csrf" // echo context key
)

// csrf protects every form post: the token in the rb_csrf cookie must come back in the
// _csrf form field (double submit). A browser saying Sec-Fetch-Site: same-origin is
// trusted without it; cross-site posts are refused outright. Every page gets the token
// in its context for its forms.
func (s *server) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if csrfExempt(r) {
			return next(c)
		}
		token := ""
		if ck, err := r.Cookie(csrfCookie); err == nil && len(ck.Value) == 43 {
			token = ck.Value
		} else {
			token = newCSRFToken()
			c.SetCookie(s.cookie(csrfCookie, token, 7*24*3600))
		}
		c.Set(csrfKey, token)
		c.Response().Header().Add(echo.HeaderVary, echo.HeaderCookie)
		if safeMethod(r.Method) {
			return next(c)
		}
		switch r.Header.Get(echo.HeaderSecFetchSite) {
		case "same-origin", "none":
			return next(c)
		case "cross-site":
			return s.csrfRefused(c)
		}
		sent := r.PostFormValue(csrfField)
		if sent == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(token)) != 1 {
			return s.csrfRefused(c)
		}
		return next(c)
	}
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

func newCSRFToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *server) csrfRefused(c echo.Context) error {
	if isAPI(c.Request()) {
		return models.E(models.ErrForbidden, "csrf", "", argDetail, "json")
	}
	return models.E(models.ErrForbidden, "csrf", "", argDetail, "expired")
}

func csrfToken(c echo.Context) string {
	t, _ := c.Get(csrfKey).(string)
	return t
}
