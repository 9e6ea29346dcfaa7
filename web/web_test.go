package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"roombridge/models"
	"roombridge/models/modelstest"
)

var (
	shanghai = time.FixedZone("Asia/Shanghai", 8*3600)
	cutover  = time.Date(2023, 4, 17, 0, 0, 0, 0, shanghai)
	freeze   = time.Date(2023, 4, 16, 23, 0, 0, 0, shanghai)
	// testNow is a Monday a week before the cutover, 10:00 in Shanghai.
	testNow = time.Date(2023, 4, 10, 10, 0, 0, 0, shanghai)
)

// at returns the instant day (2023-04-dd) hh:mm in Shanghai.
func at(day, hh, mm int) time.Time { return time.Date(2023, 4, day, hh, mm, 0, 0, shanghai) }

// booker is an honest Booker on the real store: it validates, routes with the real
// policy and books through store.Book (real overlap checks and idempotency), leaving the
// reservation pending as the engine does until a backend answers.
type booker struct {
	store   *models.Store
	routing models.Routing
	now     func() time.Time
	access  models.Access
	// waited counts Wait calls; onWait, if set, runs first (a backend answering fast).
	waited int
	onWait func(id string)
	// edits records EditSeries calls: "id scope on_conflict start".
	edits []string
}

func (b *booker) Book(ctx context.Context, by models.User, req models.BookingRequest, key string) (models.Reservation, error) {
	if _, err := b.store.ActiveUser(ctx, by.ID); err != nil {
		return models.Reservation{}, models.E(models.ErrForbidden, "unknown_user", "", models.ArgName, by.ID)
	}
	req = req.Normalize()
	if err := req.Validate(b.now()); err != nil {
		return models.Reservation{}, err
	}
	backend := b.routing.Owner(req.Start)
	if err := b.routing.CheckWritable(backend, b.now()); err != nil {
		return models.Reservation{}, err
	}
	id := models.NewID()
	r := models.Reservation{
		ID: id, UID: models.BridgeUID(id), RoomID: req.RoomID, Start: req.Start, End: req.End,
		Title: req.Title, Description: req.Description, OrganizerID: by.ID, OrganizerName: by.Name,
		Attendees: req.Attendees, Backend: backend, Origin: models.OriginBridge, Status: models.StatusPending,
	}
	if key != "" {
		r.IdempotencyKey = &key
	}
	got, _, err := b.store.Book(ctx, r, nil, nil)
	return got, err
}

func (b *booker) Reschedule(ctx context.Context, by models.User, id string, req models.BookingRequest) (models.Reservation, error) {
	req = req.Normalize()
	if err := req.Validate(b.now()); err != nil {
		return models.Reservation{}, err
	}
	return b.store.Update(ctx, id, models.Change{CheckRoom: true, Room: req.RoomID, Apply: func(r *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
		if err := b.access.CheckChange(by.ID, *r); err != nil {
			return nil, nil, err
		}
		r.RoomID, r.Title, r.Description, r.Start, r.End, r.Attendees = req.RoomID, req.Title, req.Description, req.Start, req.End, req.Attendees
		r.Backend, r.Status = b.routing.Owner(req.Start), models.StatusPending
		return nil, nil, nil
	}})
}

func (b *booker) Cancel(ctx context.Context, by models.User, id string) (models.Reservation, error) {
	return b.store.Update(ctx, id, models.Change{Apply: func(r *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
		if err := b.access.CheckCancel(by.ID, *r); err != nil {
			return nil, nil, err
		}
		r.Status = models.StatusCancelled
		return nil, nil, nil
	}})
}

func (b *booker) Route(start time.Time) models.Decision { return b.routing.Route(start, b.now()) }

func (b *booker) Wait(ctx context.Context, id string, _ time.Duration) (models.Reservation, error) {
	b.waited++
	if b.onWait != nil {
		b.onWait(id)
	}
	return b.store.Reservation(ctx, id)
}

const testSessionKey = "0123456789abcdef0123456789abcdef-test"

// env is one web server on a fresh SQLite store seeded with the demo catalog.
type env struct {
	t     *testing.T
	store *models.Store
	h     http.Handler
	reg   *prometheus.Registry
}

// newEnv starts a server at testNow with demo auth and admin "admin"; opts adjust the
// Config before New.
func newEnv(t *testing.T, opts ...func(*Config)) *env {
	t.Helper()
	now := func() time.Time { return testNow }
	store := modelstest.New(t, models.DialectSQLite, now)
	if err := store.SyncCatalog(context.Background(), models.DemoCatalog()); err != nil {
		t.Fatalf("SyncCatalog() = %v", err)
	}
	access := models.NewAccess("admin")
	reg := prometheus.NewRegistry()
	cfg := Config{
		Store:  store,
		Booker: &booker{store: store, routing: models.NewRouting(shanghai, cutover, freeze), now: now, access: access},
		Zone:   shanghai,
		Now:    now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Auth:   AuthDemo,
		// httptest's requests come from 192.0.2.1, standing in for the SSO proxy.
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
		SessionKeys:    [][]byte{[]byte(testSessionKey)},
		Access:         access,
		Demo:           true,
		BaseURL:        "http://localhost:8080",
		Registerer:     reg,
		Metrics:        promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		Version:        "test",
	}
	for _, o := range opts {
		o(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return &env{t: t, store: store, h: h, reg: reg}
}

// at moves the env's clock: the server and the booker read now.
func withNow(now time.Time) func(*Config) {
	return func(c *Config) {
		f := func() time.Time { return now }
		c.Now = f
		c.Booker.(*booker).now = f
	}
}

func (e *env) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// api sends a JSON request as user (none when "") through the trusted header.
func (e *env) api(method, path, user, body string, header ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		r.Header.Set(DefaultAuthHeader, user)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return e.serve(r)
}

// book creates a reservation directly in the store (bypassing web), e.g. a native one
// found by sync.
func (e *env) book(room, organizer string, start, end time.Time, backend models.Backend, origin models.Origin, title string, attendees ...string) models.Reservation {
	e.t.Helper()
	id := models.NewID()
	r, _, err := e.store.Book(context.Background(), models.Reservation{
		ID: id, UID: models.BridgeUID(id), RoomID: room, Start: start, End: end, Title: title,
		OrganizerID: organizer, Attendees: attendees, Backend: backend, Origin: origin, Status: models.StatusConfirmed,
	}, nil, nil)
	if err != nil {
		e.t.Fatalf("store.Book(%s %v) = %v", room, start, err)
	}
	return r
}

func (e *env) count() int {
	e.t.Helper()
	rs, err := e.store.Reservations(context.Background(), models.Filter{})
	if err != nil {
		e.t.Fatalf("Reservations() = %v", err)
	}
	return len(rs)
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %T from %q: %v", v, w.Body.String(), err)
	}
	return v
}

// browser is a cookie-keeping client for the pages.
type browser struct {
	e       *env
	cookies map[string]string
	header  http.Header
}

func (e *env) browser() *browser {
	return &browser{e: e, cookies: map[string]string{}, header: http.Header{}}
}

func (b *browser) do(r *http.Request) *httptest.ResponseRecorder {
	for k, v := range b.cookies {
		r.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	for k, v := range b.header {
		r.Header[k] = v
	}
	w := b.e.serve(r)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return w
}

func (b *browser) get(path string) *httptest.ResponseRecorder {
	return b.do(httptest.NewRequest(http.MethodGet, path, nil))
}

// post sends a form; the CSRF token is added unless the form sets _csrf itself.
func (b *browser) post(path string, form url.Values) *httptest.ResponseRecorder {
	if _, ok := form[csrfField]; !ok {
		form.Set(csrfField, b.csrf())
	}
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(r)
}

// csrf is the token the browser's pages carry: bound to the session once signed in.
func (b *browser) csrf() string {
	codec := sessionCodec{keys: [][]byte{[]byte(testSessionKey)}}
	if sess, err := codec.decode(b.cookies[sessionCookie], testNow); err == nil {
		return codec.csrfFor(sess)
	}
	return b.cookies[csrfCookie]
}

// login signs in through the demo login page, as a visitor would.
func (b *browser) login(user string) *browser {
	b.e.t.Helper()
	if w := b.get("/login"); w.Code != http.StatusOK {
		b.e.t.Fatalf("GET /login = %d, want 200", w.Code)
	}
	w := b.post("/login", url.Values{"user": {user}, "next": {"/"}})
	if w.Code != http.StatusSeeOther || b.cookies[sessionCookie] == "" {
		b.e.t.Fatalf("POST /login user=%s = %d (cookies %v), want 303 and a session cookie", user, w.Code, b.cookies)
	}
	return b
}

var hiddenCSRF = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// formToken returns the CSRF token a page put in its forms.
func formToken(t *testing.T, body string) string {
	t.Helper()
	m := hiddenCSRF.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("page has no CSRF field:\n%s", body)
	}
	return m[1]
}

// BookSeries, EditSeries and CancelSeries are exercised end to end with the real engine in
// cmd/roombridge; handler tests here do not book series (EditSeries records its calls).
func (b *booker) BookSeries(context.Context, models.User, models.BookingRequest, string, models.OnConflict, string) (models.SeriesResult, error) {
	return models.SeriesResult{}, fmt.Errorf("series: %w", models.ErrUnavailable)
}

func (b *booker) EditSeries(_ context.Context, _ models.User, id string, scope models.Scope, req models.BookingRequest, on models.OnConflict) (models.SeriesResult, error) {
	b.edits = append(b.edits, fmt.Sprintf("%s %s %s %s", id, scope, on, req.Start.UTC().Format(time.RFC3339)))
	if req.Title == "占用" {
		return models.SeriesResult{}, models.E(models.ErrConflict, "series_taken", "start", models.ArgTimes, models.TimeArg(req.Start))
	}
	return models.SeriesResult{}, nil
}

func (b *booker) CancelSeries(context.Context, models.User, string, models.Scope) (models.Series, error) {
	return models.Series{}, fmt.Errorf("series: %w", models.ErrUnavailable)
}

func (b *booker) PlanSeries(context.Context, models.BookingRequest, string) ([]models.OccurrencePlan, error) {
	return nil, fmt.Errorf("series: %w", models.ErrUnavailable)
}
