package web

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

const (
	userCookie = "rb_user"
	userKey    = "roombridge.user" // echo context key
	maxUserID  = 128
)

// CurrentUser returns the request's signed-in user, if any.
func CurrentUser(c echo.Context) (models.User, bool) {
	u, ok := c.Get(userKey).(models.User)
	return u, ok
}

// isInfra tells paths that never need a user or a CSRF token (and must not touch the
// database, like /healthz).
func isInfra(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return strings.HasPrefix(path, "/static/")
}

// identify finds the caller: the trusted AuthHeader or, in demo mode, the login cookie
// (the header wins, so curl works in demo mode too). An id missing from the catalog is
// refused with 403, except a stale demo cookie, which is dropped. Feeds are opened by
// their token alone.
func (s *server) identify(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if p := c.Request().URL.Path; isInfra(p) || isFeed(p) {
			return next(c)
		}
		id := strings.TrimSpace(c.Request().Header.Get(s.authHeader))
		fromCookie := false
		if id == "" && s.auth == AuthDemo {
			if ck, err := c.Cookie(userCookie); err == nil {
				id, fromCookie = ck.Value, true
			}
		}
		if id == "" {
			return next(c)
		}
		u, err := s.lookupUser(c, id)
		switch {
		case errors.Is(err, models.ErrNotFound) && fromCookie:
			c.SetCookie(s.cookie(userCookie, "", -1))
		case err != nil:
			return err
		default:
			c.Set(userKey, u)
		}
		return next(c)
	}
}

func (s *server) lookupUser(c echo.Context, id string) (models.User, error) {
	var u models.User
	err := models.ErrNotFound
	if len(id) <= maxUserID {
		u, err = s.store.User(c.Request().Context(), id)
	} else {
		id = id[:maxUserID] + "…"
	}
	if errors.Is(err, models.ErrNotFound) {
		return u, models.E(models.ErrForbidden, "unknown_user", "", models.ArgName, id).Wrap(err)
	}
	if err != nil {
		return u, fmt.Errorf("identify user %s: %w", id, err)
	}
	return u, nil
}

// signedIn guards a page: in demo mode an anonymous visitor goes to /login and comes
// back; behind an SSO proxy the missing header is a 401.
func (s *server) signedIn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := CurrentUser(c); ok {
			return next(c)
		}
		if s.auth == AuthDemo {
			back := "/"
			if c.Request().Method == http.MethodGet {
				back = c.Request().URL.RequestURI()
			}
			return redirect(c, "/login?"+url.Values{"next": {back}}.Encode())
		}
		return models.E(models.ErrUnauthorized, "unauthorized", "", argDetail, "sso")
	}
}

// signedInAPI answers 401 to anonymous API callers.
func (s *server) signedInAPI(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := CurrentUser(c); !ok {
			return models.E(models.ErrUnauthorized, "unauthorized", "", argDetail, "header", models.ArgName, s.authHeader)
		}
		return next(c)
	}
}

// adminOnly refuses callers without the admin role with 403.
func (s *server) adminOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, ok := CurrentUser(c)
		if !ok {
			return models.E(models.ErrUnauthorized, "unauthorized", "")
		}
		if !s.access.IsAdmin(u.ID) {
			return models.E(models.ErrForbidden, "admin_only", "")
		}
		return next(c)
	}
}

// user returns the signed-in user of a route guarded by signedIn or signedInAPI.
func user(c echo.Context) models.User {
	u, _ := CurrentUser(c)
	return u
}

func (s *server) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	}
}

// loginPage is the view model of login.html.
type loginPage struct {
	page
	Users []models.User
	Next  string
	Error string
}

// loginPage handles GET /login (demo mode): pick who to be.
func (s *server) loginPage(c echo.Context) error {
	return s.renderLogin(c, http.StatusOK, localPath(c.QueryParam("next")), "")
}

func (s *server) renderLogin(c echo.Context, status int, next, msg string) error {
	users, err := s.store.Users(c.Request().Context())
	if err != nil {
		return err
	}
	return s.render(c, status, "login.html", loginPage{page: s.page(c, "login.title"), Users: users, Next: next, Error: msg})
}

// login handles POST /login (demo mode): remember the chosen catalog user in a cookie.
func (s *server) login(c echo.Context) error {
	next := localPath(c.FormValue("next"))
	u, err := s.lookupUser(c, c.FormValue("user"))
	if err != nil {
		if p := s.explain(err, langOf(c)); p.Specific {
			return s.renderLogin(c, p.Status, next, p.Message)
		}
		return err
	}
	c.SetCookie(s.cookie(userCookie, u.ID, 30*24*3600))
	s.log.Info("demo sign-in", "user", u.ID)
	return redirect(c, next)
}

func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if err != nil {
		return ""
	}
	return mt
}

func isJSON(r *http.Request) bool {
	mt := mediaType(r)
	return mt == echo.MIMEApplicationJSON || strings.HasSuffix(mt, "+json")
}
