package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"
	"gopkg.in/yaml.v3"

	"roombridge/models"
)

// feeds is an honest Feeds kept in memory: it issues random tokens and keeps only their
// hashes, rotates and revokes per user, and renders a tiny calendar of the scope over
// the real catalog (unknown rooms and offices are not found) whose ETag is the hash of
// its body. Render records the token's last use, as the real one does.
type feeds struct {
	store *models.Store
	now   func() time.Time
	// changed is every feed's Last-Modified.
	changed time.Time
	// fail, when set, makes Render fail with it.
	fail error

	mu   sync.Mutex
	rows []*models.FeedToken // in creation order
}

func newFeeds(store *models.Store, now func() time.Time) *feeds {
	return &feeds{store: store, now: now, changed: time.Date(2023, 4, 9, 8, 30, 0, 0, time.UTC)}
}

var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func (f *feeds) issue(userID, label string) (string, models.FeedToken, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", models.FeedToken{}, err
	}
	token := tokenEncoding.EncodeToString(b[:])
	row := models.FeedToken{ID: models.NewID(), UserID: userID, TokenHash: models.FeedTokenHash(token), Label: strings.TrimSpace(label), CreatedAt: f.now()}
	if err := row.Validate(); err != nil {
		return "", models.FeedToken{}, err
	}
	f.rows = append(f.rows, &row)
	return token, row, nil
}

// active returns the active token id of userID.
func (f *feeds) active(userID, id string) (*models.FeedToken, error) {
	for _, r := range f.rows {
		if r.ID == id && r.UserID == userID && r.Active() {
			return r, nil
		}
	}
	return nil, fmt.Errorf("feed token %s: %w", id, models.ErrNotFound)
}

func (f *feeds) CreateToken(_ context.Context, userID, label string) (string, models.FeedToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issue(userID, label)
}

func (f *feeds) Rotate(_ context.Context, userID, id string) (string, models.FeedToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	old, err := f.active(userID, id)
	if err != nil {
		return "", models.FeedToken{}, err
	}
	now := f.now()
	old.RevokedAt = &now
	return f.issue(userID, old.Label)
}

func (f *feeds) Revoke(_ context.Context, userID, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.active(userID, id)
	if err != nil {
		return err
	}
	now := f.now()
	t.RevokedAt = &now
	return nil
}

func (f *feeds) Tokens(_ context.Context, userID string) ([]models.FeedToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []models.FeedToken
	for _, r := range f.rows {
		if r.UserID == userID && r.Active() {
			out = append(out, *r)
		}
	}
	return out, nil
}

func (f *feeds) Render(ctx context.Context, token string, scope models.FeedScope, id string) (models.Feed, error) {
	if f.fail != nil {
		return models.Feed{}, fmt.Errorf("read reservations: %w", f.fail)
	}
	f.mu.Lock()
	i := slices.IndexFunc(f.rows, func(r *models.FeedToken) bool { return r.TokenHash == models.FeedTokenHash(token) && r.Active() })
	var tok models.FeedToken
	if i >= 0 {
		now := f.now()
		f.rows[i].LastUsedAt = &now
		tok = *f.rows[i]
	}
	f.mu.Unlock()
	if i < 0 {
		return models.Feed{}, fmt.Errorf("find feed token: %w", models.ErrNotFound)
	}
	var name, file string
	switch {
	case (scope == models.FeedAll || scope == models.FeedMe) && id == "":
		name, file = string(scope), string(scope)+".ics"
	case scope == models.FeedRooms && id != "":
		r, err := f.store.Room(ctx, id)
		if err != nil {
			return models.Feed{}, fmt.Errorf("room feed: %w", err)
		}
		name, file = r.Name, "room-"+r.ID+".ics"
	case scope == models.FeedOffices && id != "":
		o, err := f.store.Office(ctx, id)
		if err != nil {
			return models.Feed{}, fmt.Errorf("office feed: %w", err)
		}
		name, file = o.Name, "office-"+o.ID+".ics"
	default:
		return models.Feed{}, fmt.Errorf("scope %q: %w", scope, models.ErrNotFound)
	}
	body := calendarBody(name, tok.UserID)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	return models.Feed{Body: body, Gzip: gz.Bytes(), ETag: etagOf(body), LastModified: f.changed, Filename: file}, nil
}

func calendarBody(name, user string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//roombridge//test//EN\r\nX-WR-CALNAME:" + name + "\r\nX-SUBSCRIBER:" + user + "\r\nEND:VCALENDAR\r\n")
}

// etagOf is a strong ETag from content, unquoted: web must quote it.
func etagOf(body []byte) string {
	h := sha256.Sum256(body)
	return hex.EncodeToString(h[:16])
}

// withFeeds turns the feeds on with an in-memory Feeds, returned through f.
func withFeeds(f **feeds) func(*Config) {
	return func(c *Config) {
		*f = newFeeds(c.Store, c.Now)
		c.Feeds = *f
	}
}

// withLog sends the server's logs, debug level included, to buf.
func withLog(buf *bytes.Buffer) func(*Config) {
	return func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}

// token issues a feed token for user straight from the Feeds.
func (f *feeds) token(t *testing.T, user string) (string, models.FeedToken) {
	t.Helper()
	token, row, err := f.CreateToken(context.Background(), user, "")
	if err != nil {
		t.Fatalf("CreateToken(%s) = %v", user, err)
	}
	return token, row
}

func get(e *env, method, path string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			r.Header.Del(header[i])
			continue
		}
		r.Header.Set(header[i], header[i+1])
	}
	return e.serve(r)
}

func TestFeed(t *testing.T) {
	var f *feeds
	e := newEnv(t, withFeeds(&f))
	token, _ := f.token(t, "zhangsan")
	lastMod := f.changed.Format(http.TimeFormat)

	tests := []struct {
		path, name, filename string
	}{
		{"/ical/" + token + "/all.ics", "all", "all.ics"},
		{"/ical/" + token + "/me.ics", "me", "me.ics"},
		{"/ical/" + token + "/rooms/duowei.ics", "多维缩放会议室", "room-duowei.ics"},
		{"/ical/" + token + "/offices/bj-shoukai.ics", "北京首开", "office-bj-shoukai.ics"},
	}
	for _, tt := range tests {
		t.Run(tt.filename, func(t *testing.T) {
			body := calendarBody(tt.name, "zhangsan")
			w := get(e, http.MethodGet, tt.path)
			if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), body) {
				t.Fatalf("GET %s = %d %q, want 200 %q", tt.filename, w.Code, w.Body, body)
			}
			want := map[string]string{
				"Content-Type":        "text/calendar; charset=utf-8",
				"Etag":                `"` + etagOf(body) + `"`,
				"Cache-Control":       "private, max-age=300",
				"Last-Modified":       lastMod,
				"Content-Disposition": `inline; filename="` + tt.filename + `"`,
				"Content-Length":      fmt.Sprint(len(body)),
			}
			got := map[string]string{}
			for k := range want {
				got[k] = w.Header().Get(k)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GET %s headers mismatch (-want +got):\n%s", tt.filename, diff)
			}
			if c := w.Result().Cookies(); len(c) != 0 {
				t.Errorf("GET %s sets cookies %v, want none", tt.filename, c)
			}

			h := get(e, http.MethodHead, tt.path)
			if h.Code != http.StatusOK || h.Body.Len() != 0 || h.Header().Get("Etag") != want["Etag"] || h.Header().Get("Content-Type") != want["Content-Type"] {
				t.Errorf("HEAD %s = %d, %d body bytes, ETag %q, type %q; want 200, no body, the GET's headers",
					tt.filename, h.Code, h.Body.Len(), h.Header().Get("Etag"), h.Header().Get("Content-Type"))
			}
		})
	}

	all := "/ical/" + token + "/all.ics"
	etag := `"` + etagOf(calendarBody("all", "zhangsan")) + `"`
	conditional := []struct {
		name   string
		header []string
		want   int
	}{
		{"If-None-Match the ETag", []string{"If-None-Match", etag}, http.StatusNotModified},
		{"If-None-Match another ETag", []string{"If-None-Match", `"0123"`}, http.StatusOK},
		{"If-Modified-Since Last-Modified", []string{"If-Modified-Since", lastMod}, http.StatusNotModified},
		{"If-Modified-Since later", []string{"If-Modified-Since", f.changed.Add(time.Hour).Format(http.TimeFormat)}, http.StatusNotModified},
		{"If-Modified-Since 1970", []string{"If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT"}, http.StatusOK},
		{"If-Modified-Since garbage", []string{"If-Modified-Since", "yesterday-ish"}, http.StatusOK},
		{"no Accept header (Google)", []string{"Accept", "", "User-Agent", "Google-Calendar-Importer"}, http.StatusOK},
		{"Accept JSON", []string{"Accept", "application/json"}, http.StatusOK},
		{"Accept HTML", []string{"Accept", "text/html"}, http.StatusOK},
	}
	for _, tt := range conditional {
		t.Run(tt.name, func(t *testing.T) {
			w := get(e, http.MethodGet, all, tt.header...)
			if w.Code != tt.want {
				t.Fatalf("GET all.ics with %v = %d, want %d", tt.header, w.Code, tt.want)
			}
			if tt.want == http.StatusOK && (w.Header().Get("Content-Type") != "text/calendar; charset=utf-8" || !strings.HasPrefix(w.Body.String(), "BEGIN:VCALENDAR")) {
				t.Errorf("GET all.ics with %v = %q %.40q, want the calendar", tt.header, w.Header().Get("Content-Type"), w.Body)
			}
			if tt.want == http.StatusNotModified && (w.Body.Len() != 0 || w.Header().Get("Etag") != etag) {
				t.Errorf("GET all.ics with %v = 304 with %d body bytes, ETag %q; want no body and the ETag", tt.header, w.Body.Len(), w.Header().Get("Etag"))
			}
		})
	}
}

func TestFeedNotFound(t *testing.T) {
	var f *feeds
	var logs bytes.Buffer
	e := newEnv(t, withFeeds(&f), withLog(&logs))
	token, _ := f.token(t, "zhangsan")
	revoked, row := f.token(t, "lisi")
	if err := f.Revoke(context.Background(), "lisi", row.ID); err != nil {
		t.Fatal(err)
	}
	unknown, _ := newFeeds(e.store, time.Now).token(t, "zhangsan") // well formed, never stored here

	tests := []struct {
		name, path string
		header     []string
	}{
		{"unknown token", "/ical/" + unknown + "/all.ics", nil},
		{"revoked token", "/ical/" + revoked + "/me.ics", nil},
		{"json suffix", "/ical/" + token + "/rooms/duowei.json", nil},
		{"json instead of ics", "/ical/" + token + "/all.json", nil},
		{"no suffix", "/ical/" + token + "/offices/bj-shoukai", nil},
		{"unknown room", "/ical/" + token + "/rooms/nope.ics", nil},
		{"unknown office", "/ical/" + token + "/offices/nope.ics", nil},
		{"token alone", "/ical/" + token, nil},
		{"unknown scope", "/ical/" + token + "/people/zhangsan.ics", nil},
		{"unknown token asking for JSON", "/ical/" + unknown + "/all.ics", []string{"Accept", "application/json"}},
		{"json suffix asking for JSON", "/ical/" + token + "/rooms/duowei.json", []string{"Accept", "application/json"}},
	}
	var first string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(e, http.MethodGet, tt.path, tt.header...)
			if w.Code != http.StatusNotFound {
				t.Fatalf("GET %s = %d, want 404", tt.name, w.Code)
			}
			if first == "" {
				first = w.Body.String()
			}
			if got := w.Body.String(); got != first || strings.Contains(got, "<") || strings.Contains(got, "{") {
				t.Errorf("GET %s body = %q, want the same plain text as every other miss, %q", tt.name, got, first)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("GET %s Content-Type = %q, want text/plain", tt.name, ct)
			}
			if c := w.Result().Cookies(); len(c) != 0 {
				t.Errorf("GET %s sets cookies %v, want none", tt.name, c)
			}
		})
	}
	if !strings.Contains(first, "找不到这个日历") {
		t.Errorf("feed 404 body = %q, want the generic message", first)
	}
	if w := get(e, http.MethodHead, "/ical/"+unknown+"/all.ics"); w.Code != http.StatusNotFound || w.Body.Len() != 0 {
		t.Errorf("HEAD unknown token = %d with %d body bytes, want 404 and no body", w.Code, w.Body.Len())
	}
	if w := get(e, http.MethodPost, "/ical/"+token+"/all.ics"); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST all.ics = %d, want 405", w.Code)
	}

	t.Run("failures reach the log without the token", func(t *testing.T) {
		f.fail = models.ErrUnavailable
		w := get(e, http.MethodGet, "/ical/"+token+"/all.ics")
		f.fail = errors.New("disk on fire")
		w2 := get(e, http.MethodGet, "/ical/"+token+"/rooms/duowei.ics")
		f.fail = nil
		if w.Code != http.StatusServiceUnavailable || w2.Code != http.StatusInternalServerError {
			t.Errorf("GET with failing Render = %d, %d; want 503, 500", w.Code, w2.Code)
		}
		if strings.Contains(w2.Body.String(), "disk on fire") {
			t.Errorf("GET with failing Render shows the cause: %q", w2.Body)
		}
	})

	got := logs.String()
	for _, secret := range []string{token, revoked, unknown} {
		if strings.Contains(got, secret) {
			t.Errorf("the log contains a feed token:\n%s", got)
		}
	}
	for _, want := range []string{"path=/ical/REDACTED/all.ics", "path=/ical/REDACTED/rooms/duowei.json", "disk on fire"} {
		if !strings.Contains(got, want) {
			t.Errorf("the log lacks %q (the requests should be logged, redacted):\n%s", want, got)
		}
	}
	metrics := e.serve(httptest.NewRequest(http.MethodGet, "/metrics", nil)).Body.String()
	if strings.Contains(metrics, token) || strings.Contains(metrics, unknown) {
		t.Errorf("/metrics contains a feed token")
	}
	for _, want := range []string{`route="/ical/:token/all.ics"`, `route="/ical/*"`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestLogPath(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/ical/abc/all.ics", "/ical/REDACTED/all.ics"},
		{"/ical/abc/rooms/duowei.ics", "/ical/REDACTED/rooms/duowei.ics"},
		{"/ical/abc", "/ical/REDACTED"},
		{"/ical/", "/ical/REDACTED"},
		{"/bookings/abc", "/bookings/abc"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := logPath(httptest.NewRequest(http.MethodGet, tt.path, nil)); got != tt.want {
				t.Errorf("logPath(%s) = %s, want %s", tt.path, got, tt.want)
			}
		})
	}
}

// TestFeaturesOff checks that without Feeds and Admin their routes do not exist.
func TestFeaturesOff(t *testing.T) {
	e := newEnv(t)
	b := e.browser().login("admin")
	tests := []struct{ method, path string }{
		{http.MethodGet, "/ical/abcdefghijklmnopqrstuvwxyz234567/all.ics"},
		{http.MethodGet, "/subscribe"},
		{http.MethodGet, "/admin"},
	}
	for _, tt := range tests {
		if w := b.get(tt.path); w.Code != http.StatusNotFound {
			t.Errorf("%s %s without the feature = %d, want 404", tt.method, tt.path, w.Code)
		}
	}
	for _, path := range []string{"/api/v1/feed-tokens", "/api/v1/admin/status"} {
		if w := e.api(http.MethodGet, path, "admin", ""); w.Code != http.StatusNotFound {
			t.Errorf("GET %s without the feature = %d, want 404", path, w.Code)
		}
	}
	if w := e.api(http.MethodPost, "/api/v1/sync", "admin", "{}"); w.Code != http.StatusNotFound {
		t.Errorf("POST /api/v1/sync without Admin = %d, want 404", w.Code)
	}
	body := b.get("/bookings").Body.String()
	if strings.Contains(body, `href="/subscribe"`) || strings.Contains(body, `href="/admin"`) {
		t.Errorf("the nav links to features that are off")
	}
	if _, err := New(Config{Store: e.store, Booker: &booker{}, BaseURL: "rooms.example.com"}); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("New(BaseURL without a scheme) = %v, want ErrInvalid", err)
	}
}

// TestOpenAPICoversRoutes checks every /api/v1 route, feeds and admin ones included, is
// described in static/openapi.yaml with its method.
func TestOpenAPICoversRoutes(t *testing.T) {
	var f *feeds
	var a *admin
	e := newEnv(t, withFeeds(&f), withAdmin(&a))
	b, err := fs.ReadFile(staticFS, "static/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		t.Fatalf("parse openapi.yaml: %v", err)
	}
	param := regexp.MustCompile(`:([a-z_]+)`)
	checked := 0
	for _, r := range e.h.(*echo.Echo).Routes() {
		path, ok := strings.CutPrefix(r.Path, "/api/v1")
		if !ok || r.Method == echo.RouteNotFound {
			continue
		}
		path = param.ReplaceAllString(path, "{$1}")
		if _, ok := spec.Paths[path][strings.ToLower(r.Method)]; !ok {
			t.Errorf("openapi.yaml lacks %s %s", r.Method, path)
		}
		checked++
	}
	if checked < 14 {
		t.Errorf("checked %d API routes, want at least the 14 of bookings, feeds and admin", checked)
	}
}

// TestFeedGzip: a client that accepts gzip gets the feed's gzip form with its own ETag,
// and revalidates it; one that does not, or asks for a range, gets the plain bytes.
func TestFeedGzip(t *testing.T) {
	var f *feeds
	e := newEnv(t, withFeeds(&f))
	token, _ := f.token(t, "zhangsan")
	path := "/ical/" + token + "/all.ics"
	body := calendarBody("all", "zhangsan")
	plainTag := `"` + etagOf(body) + `"`
	gzTag := `"` + etagOf(body) + `-gz"`

	tests := []struct {
		name     string
		header   []string
		wantGzip bool
	}{
		{"gzip", []string{"Accept-Encoding", "gzip, deflate, br"}, true},
		{"gzip with quality", []string{"Accept-Encoding", "br;q=1.0, gzip;q=0.8"}, true},
		{"any", []string{"Accept-Encoding", "*"}, true},
		{"gzip refused", []string{"Accept-Encoding", "gzip;q=0, *"}, false},
		{"identity", []string{"Accept-Encoding", "identity"}, false},
		{"none", []string{"Accept-Encoding", ""}, false},
		{"range", []string{"Accept-Encoding", "gzip", "Range", "bytes=0-9"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(e, http.MethodGet, path, tt.header...)
			if w.Header().Get("Vary") != "Accept-Encoding" {
				t.Errorf("GET (%s) Vary = %q, want Accept-Encoding", tt.name, w.Header().Get("Vary"))
			}
			gotGzip := w.Header().Get("Content-Encoding") == "gzip"
			if gotGzip != tt.wantGzip {
				t.Fatalf("GET (%s) Content-Encoding = %q, want gzip %v", tt.name, w.Header().Get("Content-Encoding"), tt.wantGzip)
			}
			if !gotGzip {
				if w.Header().Get("Etag") != plainTag {
					t.Errorf("GET (%s) ETag = %q, want %q", tt.name, w.Header().Get("Etag"), plainTag)
				}
				return
			}
			zr, err := gzip.NewReader(w.Body)
			if err != nil {
				t.Fatalf("GET (%s) body is not gzip: %v", tt.name, err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(plain, body) {
				t.Errorf("GET (%s) gunzipped = %q, %v; want %q", tt.name, plain, err, body)
			}
			if w.Header().Get("Etag") != gzTag {
				t.Errorf("GET (%s) ETag = %q, want %q", tt.name, w.Header().Get("Etag"), gzTag)
			}
			again := get(e, http.MethodGet, path, append(tt.header, "If-None-Match", gzTag)...)
			if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
				t.Errorf("GET (%s) If-None-Match the gzip ETag = %d with %d bytes, want 304 and none", tt.name, again.Code, again.Body.Len())
			}
		})
	}
}

// writeFeed answers every request as http.ServeContent does (status, headers, body),
// except that it states the length of a gzip body too.
func TestWriteFeedAsServeContent(t *testing.T) {
	body := []byte(strings.Repeat("BEGIN:VEVENT\r\nEND:VEVENT\r\n", 3000))
	modtime := time.Date(2023, 4, 9, 8, 30, 0, 0, time.UTC)
	const etag = `"abc123"`
	tests := []struct {
		name   string
		method string
		header []string
		etag   string
		gzip   bool
	}{
		{"plain", http.MethodGet, nil, etag, false},
		{"HEAD", http.MethodHead, nil, etag, false},
		{"gzip", http.MethodGet, nil, etag, true},
		{"If-None-Match the ETag", http.MethodGet, []string{"If-None-Match", etag}, etag, false},
		{"HEAD If-None-Match the ETag", http.MethodHead, []string{"If-None-Match", etag}, etag, false},
		{"If-None-Match the gzip ETag", http.MethodGet, []string{"If-None-Match", etag}, etag, true},
		{"If-None-Match weak", http.MethodGet, []string{"If-None-Match", `W/` + etag}, etag, false},
		{"If-None-Match in a list", http.MethodGet, []string{"If-None-Match", `"x", W/"y" ,` + etag}, etag, false},
		{"If-None-Match star", http.MethodGet, []string{"If-None-Match", `*`}, etag, false},
		{"If-None-Match another", http.MethodGet, []string{"If-None-Match", `"abc"`}, etag, false},
		{"If-None-Match a prefix", http.MethodGet, []string{"If-None-Match", `"abc123`}, etag, false},
		{"If-None-Match malformed before the ETag", http.MethodGet, []string{"If-None-Match", `abc, ` + etag}, etag, false},
		{"If-None-Match without an ETag", http.MethodGet, []string{"If-None-Match", etag}, "", false},
		{"If-None-Match star without an ETag", http.MethodGet, []string{"If-None-Match", "*"}, "", false},
		{"If-None-Match and an earlier If-Modified-Since", http.MethodGet, []string{"If-None-Match", `"zz"`, "If-Modified-Since", modtime.Add(-time.Hour).Format(http.TimeFormat)}, etag, false},
		{"If-None-Match and a later If-Modified-Since", http.MethodGet, []string{"If-None-Match", `"zz"`, "If-Modified-Since", modtime.Add(time.Hour).Format(http.TimeFormat)}, etag, false},
		{"If-Modified-Since", http.MethodGet, []string{"If-Modified-Since", modtime.Format(http.TimeFormat)}, etag, false},
		{"If-Match another", http.MethodGet, []string{"If-Match", `"zz"`}, etag, false},
		{"range", http.MethodGet, []string{"Range", "bytes=10-19"}, etag, false},
		{"range and If-None-Match", http.MethodGet, []string{"Range", "bytes=10-19", "If-None-Match", etag}, etag, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer := func(serve func(w http.ResponseWriter, r *http.Request)) *httptest.ResponseRecorder {
				r := httptest.NewRequest(tt.method, "/ical/t/all.ics", nil)
				for i := 0; i+1 < len(tt.header); i += 2 {
					r.Header.Set(tt.header[i], tt.header[i+1])
				}
				w := httptest.NewRecorder()
				w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
				if tt.etag != "" {
					w.Header().Set("Etag", tt.etag)
				}
				if tt.gzip {
					w.Header().Set("Content-Encoding", "gzip")
				}
				serve(w, r)
				return w
			}
			got := answer(func(w http.ResponseWriter, r *http.Request) { writeFeed(w, r, "all.ics", modtime, body) })
			want := answer(func(w http.ResponseWriter, r *http.Request) {
				http.ServeContent(w, r, "all.ics", modtime, bytes.NewReader(body))
			})
			if tt.gzip && got.Code == http.StatusOK {
				if n := got.Header().Get("Content-Length"); n != fmt.Sprint(len(body)) {
					t.Errorf("writeFeed(gzip) Content-Length = %q, want %d", n, len(body))
				}
				want.Header().Set("Content-Length", fmt.Sprint(len(body)))
			}
			if got.Code != want.Code || !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
				t.Errorf("writeFeed() = %d with %d bytes, want %d with %d (ServeContent)", got.Code, got.Body.Len(), want.Code, want.Body.Len())
			}
			if diff := cmp.Diff(want.Header(), got.Header()); diff != "" {
				t.Errorf("writeFeed() headers differ from ServeContent's (-want +got):\n%s", diff)
			}
		})
	}
}
