package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

const (
	sessionCookie = "rb_session"
	sessionKey    = "roombridge.session" // echo context key
	// sessionTTL is how long a sign-in lasts. Inside DingTalk a lapsed session signs in
	// again without a click; in a browser it costs one click on DingTalk's page.
	sessionTTL = 7 * 24 * time.Hour
	// minSessionKey is the shortest HMAC key accepted.
	minSessionKey = 32
)

// session is what the signed cookie holds: who signed in, when, and a random id that the
// CSRF token is derived from (so a token from one session is worthless in another).
type session struct {
	UserID   string `json:"u"`
	ID       string `json:"s"`
	IssuedAt int64  `json:"t"`
}

// sessionCodec signs and checks session cookies. keys[0] signs; every key verifies, so a
// key can be rotated without signing everyone out at once.
type sessionCodec struct {
	keys [][]byte
}

func (sc sessionCodec) mac(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("rb-session-v1|"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// encode returns the cookie value for s: base64(json).base64(hmac).
func (sc sessionCodec) encode(s session) string {
	raw, _ := json.Marshal(s)
	payload := base64.RawURLEncoding.EncodeToString(raw)
	return payload + "." + base64.RawURLEncoding.EncodeToString(sc.mac(sc.keys[0], payload))
}

var errBadSession = errors.New("session cookie is not valid")

// decode checks the signature and age of a cookie value.
func (sc sessionCodec) decode(v string, now time.Time) (session, error) {
	payload, sig, found := strings.Cut(v, ".")
	if !found || len(v) > 1024 {
		return session{}, errBadSession
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return session{}, errBadSession
	}
	valid := false
	for _, k := range sc.keys {
		if hmac.Equal(got, sc.mac(k, payload)) {
			valid = true
			break
		}
	}
	if !valid {
		return session{}, errBadSession
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return session{}, errBadSession
	}
	var s session
	if err := json.Unmarshal(raw, &s); err != nil || s.UserID == "" || s.ID == "" {
		return session{}, errBadSession
	}
	issued := time.Unix(s.IssuedAt, 0)
	if now.Before(issued.Add(-time.Minute)) || !now.Before(issued.Add(sessionTTL)) {
		return session{}, errBadSession
	}
	return s, nil
}

// csrfFor is the CSRF token bound to session s.
func (sc sessionCodec) csrfFor(s session) string {
	m := hmac.New(sha256.New, sc.keys[0])
	m.Write([]byte("rb-csrf-v1|" + s.ID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SessionKeys reads ROOMBRIDGE_SESSION_KEY's form: comma-separated keys, the first signs
// and all verify. Each key is base64 (standard or URL alphabet) of at least 32 bytes, or
// a plain string of at least 32 characters.
func SessionKeys(v string) ([][]byte, error) {
	var keys [][]byte
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k := []byte(part)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(part); err == nil && len(b) >= minSessionKey {
				k = b
				break
			}
		}
		if len(k) < minSessionKey {
			return nil, errors.New("each session key needs at least 32 bytes (e.g. `openssl rand -base64 32`)")
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no session key given")
	}
	return keys, nil
}

// NewSessionKey returns a fresh random key in the form SessionKeys reads.
func NewSessionKey() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}

// randomToken returns 32 random bytes in URL-safe base64 (43 characters).
func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// startSession signs userID in: a new session id (so the CSRF token changes too) in a
// fresh cookie.
func (s *server) startSession(c echo.Context, userID string) session {
	sess := session{UserID: userID, ID: randomToken(), IssuedAt: s.now().Unix()}
	c.SetCookie(s.cookie(sessionCookie, s.sessions.encode(sess), int(sessionTTL/time.Second)))
	c.Set(sessionKey, sess)
	return sess
}

// endSession signs out.
func (s *server) endSession(c echo.Context) {
	c.SetCookie(s.cookie(sessionCookie, "", -1))
	c.Set(sessionKey, nil)
}

// currentSession returns the request's valid session, if any.
func (s *server) currentSession(c echo.Context) (session, bool) {
	if v, ok := c.Get(sessionKey).(session); ok {
		return v, true
	}
	ck, err := c.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	sess, err := s.sessions.decode(ck.Value, s.now())
	if err != nil {
		return session{}, false
	}
	c.Set(sessionKey, sess)
	return sess, true
}

// cookie builds a cookie the browser keeps to this site: HttpOnly, SameSite=Lax, and
// Secure when the public URL is https.
func (s *server) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	}
}

// bindCSRF ties the CSRF token to the session: before echo's CSRF check, the request's
// rb_csrf cookie is replaced by the token derived from the session (and the browser is
// given it). A token planted in a cookie, or one from another session, is then worthless;
// each sign-in starts a new session and so a new token. Without a session the plain
// double-submit cookie applies.
func (s *server) bindCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess, ok := s.currentSession(c)
		if !ok {
			return next(c)
		}
		want := s.sessions.csrfFor(sess)
		r := c.Request()
		if ck, err := r.Cookie(csrfCookie); err == nil && ck.Value == want {
			return next(c)
		}
		kept := r.Cookies()
		r.Header.Del("Cookie")
		for _, ck := range kept {
			if ck.Name != csrfCookie {
				r.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
			}
		}
		r.AddCookie(&http.Cookie{Name: csrfCookie, Value: want})
		c.SetCookie(s.cookie(csrfCookie, want, int(sessionTTL/time.Second)))
		return next(c)
	}
}
