package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

const (
	userKey     = "roombridge.user" // echo context key
	maxUserID   = 128
	stateCookie = "rb_login_state"
	// stateTTL is how long a browser may spend on DingTalk's login page.
	stateTTL = 10 * time.Minute
)

// SignIn resolves DingTalk sign-in codes to catalog users (implemented in cmd on the
// DingTalk client and the catalog).
type SignIn interface {
	// UserByAuthCode finishes a browser login: the authCode DingTalk's login page sent back
	// gives the catalog user id. ErrInvalid for a code that is unknown, used or expired;
	// ErrNotFound for a person the catalog does not know; ErrUnavailable when DingTalk
	// cannot be reached.
	UserByAuthCode(ctx context.Context, code string) (string, error)
	// UserByInAppCode does the same for a code from the JSAPI requestAuthCode inside the
	// DingTalk app.
	UserByInAppCode(ctx context.Context, code string) (string, error)
}

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

// identify finds the caller. The auth header counts only in header and demo mode, only
// from a trusted proxy, and only once: a request carrying it twice is refused. Otherwise
// the signed session cookie (demo and dingtalk mode) names the user. A user id missing
// from the catalog is refused with 403 (and its session ended). Feeds are opened by their
// token alone.
func (s *server) identify(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if isInfra(r.URL.Path) || isFeed(r.URL.Path) {
			return next(c)
		}
		id := ""
		if s.auth == AuthHeader || s.auth == AuthDemo {
			vals := r.Header.Values(s.authHeader)
			switch {
			case len(vals) == 0:
			case !s.fromTrustedProxy(r):
				s.log.Warn("identity header from an untrusted peer ignored", "peer", peerAddr(r).String(), "path", logPath(r))
			case len(vals) > 1 || strings.Contains(vals[0], ","):
				s.log.Warn("request with the identity header more than once refused", "peer", peerAddr(r).String(), "path", logPath(r))
				return badRequest("", "duplicate_identity")
			default:
				id = strings.TrimSpace(vals[0])
			}
		}
		fromSession := false
		if id == "" && s.auth != AuthHeader {
			if sess, ok := s.currentSession(c); ok {
				id, fromSession = sess.UserID, true
			}
		}
		if id == "" {
			return next(c)
		}
		var (
			u   models.User
			err error
		)
		switch {
		case bookingChecksUser(c):
			u, err = s.lookupUserInView(c, id)
		case readsCurrentCatalog(c):
			u, err = s.lookupUserNow(c, id)
		default:
			u, err = s.lookupUser(c, id)
		}
		if err != nil {
			if fromSession && errors.Is(err, models.ErrForbidden) {
				s.endSession(c)
			}
			return err
		}
		c.Set(userKey, u)
		return next(c)
	}
}

// lookupUser finds a user who is in the catalog; anyone else is ErrForbidden.
func (s *server) lookupUser(c echo.Context, id string) (models.User, error) {
	var u models.User
	err := models.ErrNotFound
	if len(id) <= maxUserID {
		u, err = s.store.ActiveUser(c.Request().Context(), id)
	} else {
		id = id[:maxUserID] + "…"
	}
	if errors.Is(err, models.ErrNotFound) {
		return u, models.UnknownUser(id).Wrap(err)
	}
	if err != nil {
		return u, fmt.Errorf("identify user %s: %w", id, err)
	}
	return u, nil
}

// bookingChecksUser tells the one request whose caller may be taken from the catalog
// as this process keeps it (models.CatalogView) rather than read from the database: a
// booking over the API, whose transaction proves that catalog current (or checks the
// booking again against the new one, which refuses a caller removed meanwhile). Its
// handler confirms the caller in the database before anything it answers without
// booking (confirmUser).
func bookingChecksUser(c echo.Context) bool {
	return c.Request().Method == http.MethodPost && c.Path() == "/api/v1/bookings"
}

// readsCurrentCatalog tells the requests whose caller is taken from the catalog as
// committed now (models.Store.CurrentCatalogView), which costs no statement while nothing
// changed: availability, asked again and again as people pick a slot. Its answer needs
// the caller's id alone.
func readsCurrentCatalog(c echo.Context) bool {
	return c.Request().Method == http.MethodGet && c.Path() == "/api/v1/availability"
}

// lookupUserNow is lookupUser answered from the catalog as committed now, when that
// knows id as a member; anything else is asked of the database (and answered as
// lookupUser answers).
func (s *server) lookupUserNow(c echo.Context, id string) (models.User, error) {
	if v, err := s.store.CurrentCatalogView(c.Request().Context()); err == nil && len(id) <= maxUserID {
		if u, err := v.User(id); err == nil && !u.Removed {
			return u, nil
		}
	}
	return s.lookupUser(c, id)
}

// lookupUserInView is lookupUser answered from the catalog this process keeps, when that
// knows id as a member; anything else is asked of the database.
func (s *server) lookupUserInView(c echo.Context, id string) (models.User, error) {
	if v, err := s.store.CatalogView(c.Request().Context()); err == nil && len(id) <= maxUserID {
		if u, err := v.User(id); err == nil && !u.Removed {
			return u, nil
		}
	}
	return s.lookupUser(c, id)
}

// confirmUser checks in the database that the caller of a request identified by
// lookupUserInView is still in the catalog.
func (s *server) confirmUser(c echo.Context) error {
	_, err := s.lookupUser(c, user(c).ID)
	return err
}

// signedIn guards a page: in demo and dingtalk mode an anonymous visitor goes to /login
// and comes back; behind an SSO proxy the missing identity is a 401.
func (s *server) signedIn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := CurrentUser(c); ok {
			return next(c)
		}
		if s.auth != AuthHeader {
			back := "/"
			if c.Request().Method == http.MethodGet {
				back = c.Request().URL.RequestURI()
			}
			return redirect(c, "/login?"+url.Values{"next": {back}}.Encode())
		}
		return models.E(models.ErrUnauthorized, "unauthorized", "", argDetail, "sso")
	}
}

// signedInAPI answers 401 to anonymous API callers. The text does not say how identity
// is passed: that is the proxy's business, not the caller's.
func (s *server) signedInAPI(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := CurrentUser(c); !ok {
			return models.E(models.ErrUnauthorized, "unauthorized", "")
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

// loginPage is the view model of login.html.
type loginPage struct {
	page
	Users []models.User
	Next  string
	Error string
}

// loginPage handles GET /login in demo mode: pick who to be.
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

// login handles POST /login in demo mode: sign in as the chosen catalog user.
func (s *server) login(c echo.Context) error {
	next := localPath(c.FormValue("next"))
	u, err := s.lookupUser(c, c.FormValue("user"))
	if err != nil {
		if p := s.explain(err, langOf(c)); p.Specific {
			return s.renderLogin(c, p.Status, next, p.Message)
		}
		return err
	}
	s.startSession(c, u.ID)
	s.log.Info("demo sign-in", "user", u.ID)
	return redirect(c, next)
}

// logout handles POST /logout: the session ends and the browser shows the signed-out page.
func (s *server) logout(c echo.Context) error {
	if sess, ok := s.currentSession(c); ok {
		s.log.Info("sign-out", "user", sess.UserID)
	}
	s.endSession(c)
	return redirect(c, "/signed-out")
}

// signedOutPage handles GET /signed-out.
func (s *server) signedOutPage(c echo.Context) error {
	c.Set(userKey, nil)
	return s.render(c, http.StatusOK, "signedout.html", s.page(c, "signout.title"))
}

// inAppPage is the view model of login_inapp.html: the page that signs in inside the
// DingTalk app without a click.
type inAppPage struct {
	page
	CorpID string
	JSAPI  string
	Next   string
}

// isDingTalkApp tells DingTalk's in-app browser by its user agent ("DingTalk/7.x").
func isDingTalkApp(r *http.Request) bool {
	return strings.Contains(strings.ToLower(r.UserAgent()), "dingtalk")
}

// dingTalkLogin handles GET /login in dingtalk mode. Inside the DingTalk app it serves
// the page that signs in through the JSAPI; elsewhere it sends the browser to DingTalk's
// login page with a fresh state, kept in a short-lived cookie to compare on the way back.
func (s *server) dingTalkLogin(c echo.Context) error {
	next := localPath(c.QueryParam("next"))
	r := c.Request()
	if isDingTalkApp(r) && c.QueryParam("browser") == "" {
		return s.render(c, http.StatusOK, "login_inapp.html", inAppPage{page: s.page(c, "login.inapp_title"),
			CorpID: s.dingtalk.CorpID, JSAPI: s.dingtalk.JSAPIURL, Next: next})
	}
	state := randomToken()
	ck := s.cookie(stateCookie, state+"|"+next, int(stateTTL/time.Second))
	c.SetCookie(ck)
	q := url.Values{
		"redirect_uri":  {s.publicURL(r) + "/auth/dingtalk/callback"},
		"response_type": {"code"},
		"client_id":     {s.dingtalk.AppKey},
		"scope":         {"openid"},
		"state":         {state},
		"prompt":        {"consent"},
	}
	return c.Redirect(http.StatusFound, s.dingtalk.LoginURL+"/oauth2/auth?"+q.Encode())
}

// publicURL is the configured base URL, or the scheme and host the request came to.
func (s *server) publicURL(r *http.Request) string {
	if s.baseURL != "" {
		return s.baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func signInFailed() *models.Error {
	return models.E(models.ErrForbidden, "signin_failed", "")
}

// dingTalkCallback handles GET /auth/dingtalk/callback?authCode=…&state=…: the state must
// be the one this browser was sent off with (once), then the code names the user.
func (s *server) dingTalkCallback(c echo.Context) error {
	ck, err := c.Cookie(stateCookie)
	c.SetCookie(s.cookie(stateCookie, "", -1))
	if err != nil {
		return signInFailed()
	}
	state, next, _ := strings.Cut(ck.Value, "|")
	sent := c.QueryParam("state")
	if state == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(state)) != 1 {
		s.log.Warn("dingtalk sign-in with a wrong state refused", "client", c.RealIP())
		return signInFailed()
	}
	id, err := s.signin.UserByAuthCode(c.Request().Context(), c.QueryParam("authCode"))
	if err != nil {
		return s.signInError(c, err)
	}
	u, err := s.lookupUser(c, id)
	if err != nil {
		return err
	}
	s.startSession(c, u.ID)
	s.log.Info("dingtalk sign-in", "user", u.ID)
	return redirect(c, localPath(next))
}

// dingTalkInApp handles POST /auth/dingtalk/inapp (form: code, next): the code from the
// JSAPI names the user. It answers JSON {"next": URL} for the page's script.
func (s *server) dingTalkInApp(c echo.Context) error {
	id, err := s.signin.UserByInAppCode(c.Request().Context(), c.FormValue("code"))
	if err != nil {
		return s.signInError(c, err)
	}
	u, err := s.lookupUser(c, id)
	if err != nil {
		return err
	}
	s.startSession(c, u.ID)
	s.log.Info("dingtalk in-app sign-in", "user", u.ID)
	return c.JSON(http.StatusOK, map[string]string{"next": localPath(c.FormValue("next"))})
}

// signInError keeps the refusals of a bad code apart from outages.
func (s *server) signInError(c echo.Context, err error) error {
	switch {
	case models.UserError(err) != nil:
		return err
	case errors.Is(err, models.ErrNotFound):
		// The cause is logged, not wrapped: its kind would decide the status otherwise.
		s.log.Warn("dingtalk sign-in of someone outside the catalog refused", "client", c.RealIP(), "err", err)
		return models.E(models.ErrForbidden, "unknown_user", "", argDetail, "dingtalk")
	case errors.Is(err, models.ErrInvalid), errors.Is(err, models.ErrForbidden):
		s.log.Warn("dingtalk sign-in code refused", "client", c.RealIP(), "err", err)
		return signInFailed()
	}
	return err
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
