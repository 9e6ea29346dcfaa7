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

// csrf protects every form post: the token must come back in the _csrf form field. For a
// signed-in session the token is derived from the session (a new one at every sign-in);
// before sign-in it is the one in the rb_csrf cookie (double submit). A browser saying Sec-Fetch-Site: same-origin is
// trusted without it; cross-site posts are refused outright. Every page gets the token
// in its context for its forms.
func (s *server) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if csrfExempt(r) {
			return next(c)
		}
		token := ""
		if sess, ok := s.currentSession(c); ok {
			token = s.sessions.csrfFor(sess) // bound to the session: worthless in any other
		} else if ck, err := r.Cookie(csrfCookie); err == nil && len(ck.Value) == 43 {
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
		return models.E(models.ErrForbidden, "csrf", "",
			"请求被拒绝：请以 JSON 发送请求体（Content-Type: application/json）。",
			"Request refused: send the body as JSON (Content-Type: application/json).")
	}
	return models.E(models.ErrForbidden, "csrf", "",
		"页面已过期或请求来源不明。请返回、刷新页面后再提交一次。",
		"This page has expired or the request came from elsewhere. Go back, reload the page and submit again.")
}

func csrfToken(c echo.Context) string {
	t, _ := c.Get(csrfKey).(string)
	return t
}
