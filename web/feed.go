package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

// Feeds is the iCalendar feed service (implemented in bridge; wired in cmd).
type Feeds interface {
	// CreateToken issues a feed token for userID with an optional label and returns the
	// token itself (shown once; only its hash is kept) and its row. Errors: ErrInvalid
	// user errors about the label (field "label"), ErrUnavailable.
	CreateToken(ctx context.Context, userID, label string) (token string, t models.FeedToken, err error)
	// Rotate revokes token id of userID and issues its replacement with the same label.
	// Errors: ErrNotFound (no such active token of userID), ErrUnavailable.
	Rotate(ctx context.Context, userID, id string) (token string, t models.FeedToken, err error)
	// Revoke revokes token id of userID. Errors: ErrNotFound (incl. someone else's),
	// ErrUnavailable.
	Revoke(ctx context.Context, userID, id string) error
	// Tokens lists the active tokens of userID. Errors: ErrUnavailable.
	Tokens(ctx context.Context, userID string) ([]models.FeedToken, error)
	// Render renders scope "all" | "me" | "rooms" (id = room id) | "offices" (id = office id).
	// Unknown/revoked token or unknown room/office → models.ErrNotFound. Errors never
	// contain the token.
	Render(ctx context.Context, token string, scope models.FeedScope, id string) (models.Feed, error)
}

// feedPrefix starts every feed path; the path element after it is the secret token.
const feedPrefix = "/ical/"

// feedCacheControl lets the subscriber's own cache keep a feed for five minutes; shared
// caches must not, since the URL is a credential.
const feedCacheControl = "private, max-age=300"

// feedRoutes registers the feeds: GET and HEAD, no sign-in, no CSRF (the token in the
// path is the credential). Any other path under /ical/ answers exactly like an unknown
// token, so a path reveals nothing.
func (s *server) feedRoutes(e *echo.Echo) {
	methods := []string{http.MethodGet, http.MethodHead}
	e.Match(methods, "/ical/:token/all.ics", s.serveFeed(models.FeedAll), s.feedLimit)
	e.Match(methods, "/ical/:token/me.ics", s.serveFeed(models.FeedMe), s.feedLimit)
	e.Match(methods, "/ical/:token/rooms/:file", s.serveFeed(models.FeedRooms), s.feedLimit)
	e.Match(methods, "/ical/:token/offices/:file", s.serveFeed(models.FeedOffices), s.feedLimit)
	e.Match(methods, "/ical/*", s.noFeed, s.feedLimit)
}

// errNoFeed is what every failed feed lookup becomes: no hint whether the token exists.
var errNoFeed = fmt.Errorf("feed: %w", models.ErrNotFound)

// serveFeed answers GET and HEAD /ical/{token}/... for scope with the calendar from
// Feeds.Render. http.ServeContent handles HEAD, If-None-Match, If-Modified-Since and
// Range. There is no content negotiation: calendar fetchers (Google's sends no Accept
// header) always get text/calendar.
func (s *server) serveFeed(scope models.FeedScope) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := ""
		if scope == models.FeedRooms || scope == models.FeedOffices {
			file, err := pathParam(c, "file")
			if err != nil {
				return errNoFeed
			}
			var ok bool
			if id, ok = strings.CutSuffix(file, ".ics"); !ok || id == "" {
				return errNoFeed
			}
		}
		token, err := pathParam(c, "token")
		if err != nil {
			return errNoFeed
		}
		f, err := s.feeds.Render(c.Request().Context(), token, scope, id)
		if err != nil {
			return fmt.Errorf("render %s feed: %w", scope, err)
		}
		h := c.Response().Header()
		h.Set(echo.HeaderContentType, models.FeedContentType)
		h.Set(echo.HeaderVary, echo.HeaderAcceptEncoding)
		body, etag := f.Body, quoteETag(f.ETag)
		// The gzip form is its own representation, so it has its own entity tag. Ranges
		// are served from the identity form.
		req := c.Request()
		if f.Gzip != nil && req.Header.Get("Range") == "" && acceptsGzip(req.Header.Values(echo.HeaderAcceptEncoding)) {
			body = f.Gzip
			h.Set(echo.HeaderContentEncoding, "gzip")
			if etag != "" {
				etag = strings.TrimSuffix(etag, `"`) + `-gz"`
			}
		}
		if etag != "" {
			h.Set("ETag", etag)
		}
		h.Set("Cache-Control", feedCacheControl)
		if name := safeFilename(f.Filename); name != "" {
			h.Set(echo.HeaderContentDisposition, `inline; filename="`+name+`"`)
		}
		writeFeed(c.Response(), req, f.Filename, f.LastModified, body)
		return nil
	}
}

// writeFeed answers r with body as http.ServeContent does. The requests calendar apps
// send (plain, or If-None-Match alone) are answered here, with the body in one Write:
// ServeContent copies through a 32 KB buffer, one system call per piece. Any other
// precondition or a Range goes to ServeContent. Unlike ServeContent it also states the
// length of a gzip body, which it knows. The header must hold the ETag already.
func writeFeed(w http.ResponseWriter, r *http.Request, name string, modtime time.Time, body []byte) {
	rh := r.Header
	inm := rh.Get("If-None-Match")
	if rh.Get("Range") != "" || rh.Get("If-Match") != "" || rh.Get("If-Unmodified-Since") != "" ||
		(inm == "" && rh.Get("If-Modified-Since") != "") {
		http.ServeContent(w, r, name, modtime, bytes.NewReader(body))
		return
	}
	h := w.Header()
	if inm != "" && etagListMatches(inm, h.Get("Etag")) {
		h.Del(echo.HeaderContentType)
		h.Del(echo.HeaderContentLength)
		h.Del(echo.HeaderContentEncoding)
		if h.Get("Etag") == "" && !modtime.IsZero() && !modtime.Equal(time.Unix(0, 0)) {
			h.Set(echo.HeaderLastModified, modtime.UTC().Format(http.TimeFormat))
		}
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if !modtime.IsZero() && !modtime.Equal(time.Unix(0, 0)) {
		h.Set(echo.HeaderLastModified, modtime.UTC().Format(http.TimeFormat))
	}
	h.Set("Accept-Ranges", "bytes")
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// etagListMatches reports whether an If-None-Match value names etag ("*" names any),
// comparing weakly as RFC 9110 asks. A malformed entry ends the list, as in net/http.
func etagListMatches(list, etag string) bool {
	for {
		list = strings.TrimLeft(list, " \t,")
		if list == "" {
			return false
		}
		if list[0] == '*' {
			return true
		}
		tag, rest, ok := scanETag(list)
		if !ok {
			return false
		}
		if tag == strings.TrimPrefix(etag, "W/") {
			return true
		}
		list = rest
	}
}

// scanETag reads one entity tag (W/"x" or "x") from the start of s and returns it
// without its W/ prefix, and what follows it.
func scanETag(s string) (tag, rest string, ok bool) {
	t := strings.TrimPrefix(s, "W/")
	if len(t) < 2 || t[0] != '"' {
		return "", "", false
	}
	for i := 1; i < len(t); i++ {
		switch c := t[i]; {
		case c == '"':
			return t[:i+1], t[i+1:], true
		case c == 0x21 || c >= 0x23 && c <= 0x7e || c >= 0x80:
		default:
			return "", "", false
		}
	}
	return "", "", false
}

// acceptsGzip reports whether Accept-Encoding values allow gzip (named, or "*", with a
// non-zero quality).
func acceptsGzip(values []string) bool {
	ok := false
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "gzip" && name != "x-gzip" && name != "*" {
				continue
			}
			zero := false
			for _, p := range strings.Split(params, ";") {
				if k, q, found := strings.Cut(strings.TrimSpace(p), "="); found && strings.EqualFold(k, "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(q), 64); err == nil && f == 0 {
						zero = true
					}
				}
			}
			if name == "*" {
				ok = ok || !zero
				continue
			}
			return !zero
		}
	}
	return ok
}

// pathParam returns path parameter name decoded. echo matches on the raw path when the
// request's encoding is not the default one, and on the decoded path otherwise.
func pathParam(c echo.Context, name string) (string, error) {
	v := c.Param(name)
	if c.Request().URL.RawPath == "" {
		return v, nil
	}
	return url.PathUnescape(v)
}

// noFeed answers any other path under /ical/ like an unknown token.
func (s *server) noFeed(echo.Context) error { return errNoFeed }

// quoteETag returns etag as a quoted entity tag ("" stays "").
func quoteETag(etag string) string {
	if etag == "" || strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, `W/"`) {
		return etag
	}
	return `"` + strings.ReplaceAll(etag, `"`, "") + `"`
}

// safeFilename keeps the characters of name that need no escaping in a quoted
// Content-Disposition filename.
func safeFilename(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, name)
}

// isFeed tells feed paths: token-authenticated, so no user, no CSRF token, and a
// redacted path in logs.
func isFeed(path string) bool { return strings.HasPrefix(path, feedPrefix) }

// logPath is r's path as logs may show it: the token of a feed path is replaced, since
// it is a credential.
func logPath(r *http.Request) string {
	rest, ok := strings.CutPrefix(r.URL.Path, feedPrefix)
	if !ok {
		return r.URL.Path
	}
	if _, tail, found := strings.Cut(rest, "/"); found {
		return feedPrefix + "REDACTED/" + tail
	}
	return feedPrefix + "REDACTED"
}

// feedURLs are the addresses of every feed one token opens (https when BaseURL is);
// Rooms and Offices are keyed by room and office id.
type feedURLs struct {
	All     string            `json:"all"`
	Me      string            `json:"me"`
	Rooms   map[string]string `json:"rooms"`
	Offices map[string]string `json:"offices"`
}

// feedBase is the address feed paths hang off: Config.BaseURL, else the request's own
// scheme and host.
func (s *server) feedBase(c echo.Context) string {
	if s.baseURL != "" {
		return s.baseURL
	}
	return c.Scheme() + "://" + c.Request().Host
}

// feedURL is the address of one feed of token: scope "all" or "me" with no id, or
// "rooms"/"offices" with one.
func feedURL(base, token string, scope models.FeedScope, id string) string {
	u := base + feedPrefix + url.PathEscape(token) + "/" + string(scope)
	if id != "" {
		u += "/" + url.PathEscape(id)
	}
	return u + ".ics"
}

// feedURLs lists the feeds token opens over the catalog's offices.
func (s *server) feedURLs(c echo.Context, offices []models.Office, token string) feedURLs {
	base := s.feedBase(c)
	u := feedURLs{All: feedURL(base, token, models.FeedAll, ""), Me: feedURL(base, token, models.FeedMe, ""), Rooms: map[string]string{}, Offices: map[string]string{}}
	for _, o := range offices {
		u.Offices[o.ID] = feedURL(base, token, models.FeedOffices, o.ID)
		for _, r := range o.Rooms {
			u.Rooms[r.ID] = feedURL(base, token, models.FeedRooms, r.ID)
		}
	}
	return u
}

// webcalURL is a feed address with its http(s) scheme replaced by webcal, which opens
// Apple Calendar and Outlook.
func webcalURL(u string) string {
	for _, p := range []string{"https://", "http://"} {
		if rest, ok := strings.CutPrefix(u, p); ok {
			return "webcal://" + rest
		}
	}
	return u
}

// googleURL is the link that adds a feed to Google Calendar ("add by URL").
func googleURL(u string) string {
	return "https://calendar.google.com/calendar/render?cid=" + url.QueryEscape(u)
}
