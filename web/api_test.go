package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/migrations"
	"roombridge/models"
)

func TestListRooms(t *testing.T) {
	e := newEnv(t)
	w := e.api(http.MethodGet, "/api/v1/rooms", "zhangsan", "")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/rooms = %d %s, want 200", w.Code, w.Body)
	}
	rooms := decode[[]roomJSON](t, w)
	if len(rooms) != 9 {
		t.Fatalf("GET /api/v1/rooms = %d rooms, want the demo catalog's 9", len(rooms))
	}
	want := roomJSON{ID: "duowei", OfficeID: "bj-shoukai", Office: "北京首开", Name: "多维缩放会议室", NameEn: "Multidimensional Scaling Room", Floor: "1F", Capacity: 30}
	if diff := cmp.Diff(want, rooms[0]); diff != "" {
		t.Errorf("GET /api/v1/rooms first room mismatch (-want +got):\n%s", diff)
	}
	if last := rooms[8]; last.OfficeID != "shenzhen" {
		t.Errorf("GET /api/v1/rooms last room = %+v, want one of shenzhen (catalog order)", last)
	}
}

func TestAvailability(t *testing.T) {
	e := newEnv(t)
	e.book("duowei", "zhangsan", at(14, 9, 0), at(14, 10, 0), models.BackendOA, models.OriginBridge, "周会", "wangwu")
	e.book("duowei", "lisi", at(14, 14, 0), at(14, 15, 0), models.BackendOA, models.OriginNative, "面试")
	gone := e.book("duowei", "lisi", at(14, 11, 0), at(14, 12, 0), models.BackendOA, models.OriginBridge, "已取消的会")
	if _, err := e.store.Update(context.Background(), gone.ID, models.Change{Apply: func(r *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
		r.Status = models.StatusCancelled
		return nil, nil, nil
	}}); err != nil {
		t.Fatal(err)
	}
	e.book("sk-tianyuan", "zhangsan", at(14, 9, 0), at(14, 10, 0), models.BackendOA, models.OriginBridge, "别的房间")

	q := "/api/v1/availability?room=duowei&from=2023-04-14T00:00:00%2B08:00&to=2023-04-15T00:00:00%2B08:00"
	tests := []struct {
		viewer string
		want   []busyJSON
	}{
		{"zhangsan", []busyJSON{
			{Start: "2023-04-14T09:00:00+08:00", End: "2023-04-14T10:00:00+08:00", Backend: models.BackendOA, Origin: models.OriginBridge, Title: "周会"},
			{Start: "2023-04-14T14:00:00+08:00", End: "2023-04-14T15:00:00+08:00", Backend: models.BackendOA, Origin: models.OriginNative},
		}},
		{"wangwu", []busyJSON{ // an attendee sees the title
			{Start: "2023-04-14T09:00:00+08:00", End: "2023-04-14T10:00:00+08:00", Backend: models.BackendOA, Origin: models.OriginBridge, Title: "周会"},
			{Start: "2023-04-14T14:00:00+08:00", End: "2023-04-14T15:00:00+08:00", Backend: models.BackendOA, Origin: models.OriginNative},
		}},
		{"zhaoliu", []busyJSON{
			{Start: "2023-04-14T09:00:00+08:00", End: "2023-04-14T10:00:00+08:00", Backend: models.BackendOA, Origin: models.OriginBridge},
			{Start: "2023-04-14T14:00:00+08:00", End: "2023-04-14T15:00:00+08:00", Backend: models.BackendOA, Origin: models.OriginNative},
		}},
		{"admin", []busyJSON{
			{Start: "2023-04-14T09:00:00+08:00", End: "2023-04-14T10:00:00+08:00", Backend: models.BackendOA, Origin: models.OriginBridge, Title: "周会"},
			{Start: "2023-04-14T14:00:00+08:00", End: "2023-04-14T15:00:00+08:00", Backend: models.BackendOA, Origin: models.OriginNative, Title: "面试"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.viewer, func(t *testing.T) {
			w := e.api(http.MethodGet, q, tt.viewer, "")
			if w.Code != http.StatusOK {
				t.Fatalf("GET %s as %s = %d %s, want 200", q, tt.viewer, w.Code, w.Body)
			}
			if diff := cmp.Diff(tt.want, decode[[]busyJSON](t, w)); diff != "" {
				t.Errorf("GET %s as %s mismatch (-want +got):\n%s", q, tt.viewer, diff)
			}
		})
	}

	t.Run("default is today", func(t *testing.T) {
		e.book("duowei", "lisi", at(10, 15, 0), at(10, 16, 0), models.BackendOA, models.OriginNative, "今天")
		w := e.api(http.MethodGet, "/api/v1/availability?room=duowei", "zhangsan", "")
		got := decode[[]busyJSON](t, w)
		if len(got) != 1 || got[0].Start != "2023-04-10T15:00:00+08:00" {
			t.Errorf("GET availability?room=duowei = %+v, want only today's 15:00 booking", got)
		}
	})
	t.Run("local times are read in the zone", func(t *testing.T) {
		w := e.api(http.MethodGet, "/api/v1/availability?room=duowei&from=2023-04-14T13:00&to=2023-04-14T18:00", "zhangsan", "")
		if got := decode[[]busyJSON](t, w); len(got) != 1 || got[0].Origin != models.OriginNative {
			t.Errorf("GET availability 13:00–18:00 local = %+v, want the 14:00 native booking only", got)
		}
	})

	errs := []struct {
		name, query string
		status      int
		code        string
	}{
		{"no room", "/api/v1/availability", http.StatusBadRequest, "bad_request"},
		{"unknown room", "/api/v1/availability?room=nope", http.StatusNotFound, "unknown_room"},
		{"bad from", "/api/v1/availability?room=duowei&from=yesterday", http.StatusBadRequest, "bad_request"},
		{"to before from", "/api/v1/availability?room=duowei&from=2023-04-14T10:00&to=2023-04-14T09:00", http.StatusUnprocessableEntity, "to_before_from"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			w := e.api(http.MethodGet, tt.query, "zhangsan", "")
			got := decode[apiError](t, w)
			if w.Code != tt.status || got.Error.Code != tt.code || got.Error.Message == "" {
				t.Errorf("GET %s = %d %+v, want %d with code %s and a message", tt.query, w.Code, got, tt.status, tt.code)
			}
		})
	}
}

// TestAvailabilityFollowsTheCatalog: availability takes its caller from the catalog
// it keeps, proven current on every request: a user another process drops from the
// catalog is refused at once, as on every other route, and one it brings back is
// served.
func TestAvailabilityFollowsTheCatalog(t *testing.T) {
	ctx := context.Background()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "shared.db")
	open := func() *models.Store {
		s, err := models.Open(dsn, func() time.Time { return testNow })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	served, other := open(), open()
	if _, err := migrations.Up(ctx, served.SQL(), migrations.DialectSQLite); err != nil {
		t.Fatal(err)
	}
	if err := served.SyncCatalog(ctx, models.DemoCatalog()); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config) { c.Store = served })
	q := "/api/v1/availability?room=duowei&from=2023-04-14T00:00&to=2023-04-15T00:00"
	for i := 0; i < 2; i++ {
		if w := e.api(http.MethodGet, q, "lisi", ""); w.Code != http.StatusOK {
			t.Fatalf("GET availability as lisi = %d %s, want 200", w.Code, w.Body)
		}
	}
	cat := models.DemoCatalog()
	cat.Users = slices.DeleteFunc(cat.Users, func(u models.User) bool { return u.ID == "lisi" })
	if err := other.SyncCatalog(ctx, cat); err != nil {
		t.Fatal(err)
	}
	rooms := e.api(http.MethodGet, "/api/v1/rooms", "lisi", "")
	if rooms.Code == http.StatusOK {
		t.Fatalf("GET /api/v1/rooms as a removed user = 200")
	}
	w := e.api(http.MethodGet, q, "lisi", "")
	if w.Code != rooms.Code || decode[apiError](t, w).Error.Code != decode[apiError](t, rooms).Error.Code {
		t.Errorf("GET availability as a removed user = %d %s, want %d %s as on other routes", w.Code, w.Body, rooms.Code, rooms.Body)
	}
	if err := other.SyncCatalog(ctx, models.DemoCatalog()); err != nil {
		t.Fatal(err)
	}
	if w := e.api(http.MethodGet, q, "lisi", ""); w.Code != http.StatusOK {
		t.Errorf("GET availability as lisi back in the catalog = %d %s, want 200", w.Code, w.Body)
	}
}

// TestAvailabilityStatements counts the statements availability runs (Store.Trace): a
// day asked again while nothing was committed runs none; after a booking in the room,
// the change counters and the rows are read again, and the caller is not.
func TestAvailabilityStatements(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var stmts []string
	e.store.Trace(func(sql string) {
		mu.Lock()
		stmts = append(stmts, sql)
		mu.Unlock()
	})
	defer e.store.Trace(nil)
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := stmts
		stmts = nil
		return out
	}
	q := "/api/v1/availability?room=duowei&from=2023-04-14T00:00&to=2023-04-15T00:00"
	get := func() {
		t.Helper()
		if w := e.api(http.MethodGet, q, "zhangsan", ""); w.Code != http.StatusOK {
			t.Fatalf("GET %s = %d %s", q, w.Code, w.Body)
		}
	}
	get()
	take()
	for i := 0; i < 3; i++ {
		get()
		if got := take(); len(got) != 0 {
			t.Errorf("GET availability again with nothing committed ran %d statements, want none: %q", len(got), got)
		}
	}
	e.book("duowei", "lisi", at(14, 14, 0), at(14, 15, 0), models.BackendOA, models.OriginNative, "面试")
	take()
	get()
	// The catalog's counter, the room's and the conflicts' counters, the rows (the
	// feed's reads, traced as one). Before the rows were kept it was five every time.
	if got := take(); len(got) > 3 {
		t.Errorf("GET availability after a booking in the room ran %d statements, want at most 3: %q", len(got), got)
	}
}

func TestRoute(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, start string
		want        models.Backend
	}{
		{"day before", "2023-04-16T09:00:00+08:00", models.BackendOA},
		{"one second before", "2023-04-16T23:59:59+08:00", models.BackendOA},
		{"exactly at cutover", "2023-04-17T00:00:00+08:00", models.BackendDingTalk},
		{"same instant in UTC", "2023-04-16T16:00:00Z", models.BackendDingTalk},
		{"local time in the zone", "2023-04-17T00:00", models.BackendDingTalk},
		{"unencoded plus sign", "2023-04-17T00:00:00+08:00", models.BackendDingTalk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := "/api/v1/route?start=" + strings.ReplaceAll(tt.start, "+", "%2B")
			if tt.name == "unencoded plus sign" {
				q = "/api/v1/route?start=" + tt.start
			}
			w := e.api(http.MethodGet, q, "zhangsan", "")
			got := decode[routeInfo](t, w)
			if w.Code != http.StatusOK || got.Backend != tt.want || got.Frozen || got.Reason == "" {
				t.Errorf("GET %s = %d %+v, want 200, backend %s, not frozen, a reason", q, w.Code, got, tt.want)
			}
		})
	}

	t.Run("reason in the user's language", func(t *testing.T) {
		q := "/api/v1/route?start=2023-04-17T09:00"
		zh := decode[routeInfo](t, e.api(http.MethodGet, q, "zhangsan", ""))
		en := decode[routeInfo](t, e.api(http.MethodGet, q, "zhangsan", "", "Accept-Language", "en-US,en;q=0.9"))
		if zh.Label != "钉钉" || !strings.Contains(zh.Reason, "2023-04-17 00:00 或之后") {
			t.Errorf("GET %s (zh) = %+v, want 钉钉 and the cutover in the reason", q, zh)
		}
		if en.Label != "DingTalk" || !strings.Contains(en.Reason, "on or after 2023-04-17 00:00") {
			t.Errorf("GET %s (en) = %+v, want DingTalk and an English reason", q, en)
		}
	})
	t.Run("frozen after the freeze", func(t *testing.T) {
		late := newEnv(t, withNow(freeze))
		got := decode[routeInfo](t, late.api(http.MethodGet, "/api/v1/route?start=2023-04-16T23:30", "zhangsan", ""))
		if got.Backend != models.BackendOA || !got.Frozen || got.Note == "" {
			t.Errorf("GET route at the freeze = %+v, want oa, frozen, with a note", got)
		}
	})
	t.Run("unparseable", func(t *testing.T) {
		w := e.api(http.MethodGet, "/api/v1/route?start=next+monday", "zhangsan", "")
		if got := decode[apiError](t, w); w.Code != http.StatusBadRequest || got.Error.Field != "start" {
			t.Errorf("GET route?start=next monday = %d %+v, want 400 about start", w.Code, got)
		}
	})
}

const okBody = `{"room_id":"duowei","title":"周会","start":"2023-04-17T09:00:00+08:00","end":"2023-04-17T10:00:00+08:00","attendees":["lisi"],"description":"周计划"}`

func TestCreateBooking(t *testing.T) {
	e := newEnv(t)
	w := e.api(http.MethodPost, "/api/v1/bookings", "zhangsan", okBody, "Idempotency-Key", "k-1")
	if w.Code != http.StatusCreated {
		t.Fatalf("POST /api/v1/bookings = %d %s, want 201", w.Code, w.Body)
	}
	got := decode[bookingJSON](t, w)
	want := bookingJSON{
		ID: got.ID, UID: models.BridgeUID(got.ID), Status: models.StatusPending, Backend: models.BackendDingTalk,
		RoomID: "duowei", Start: "2023-04-17T09:00:00+08:00", End: "2023-04-17T10:00:00+08:00", Title: "周会",
		Description: "周计划", Attendees: []string{"lisi"}, OrganizerID: "zhangsan", Origin: models.OriginBridge,
	}
	if diff := cmp.Diff(want, got); diff != "" || got.ID == "" {
		t.Errorf("POST /api/v1/bookings mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(w.Body.String(), `"remote_id":null`) {
		t.Errorf("POST /api/v1/bookings body = %s, want remote_id null until the backend answers", w.Body)
	}

	t.Run("replay with the same key", func(t *testing.T) {
		before := e.count()
		w := e.api(http.MethodPost, "/api/v1/bookings", "zhangsan", okBody, "Idempotency-Key", "k-1")
		if again := decode[bookingJSON](t, w); w.Code != http.StatusOK || again.ID != got.ID {
			t.Errorf("POST again with Idempotency-Key k-1 = %d id %s, want 200 id %s", w.Code, again.ID, got.ID)
		}
		if n := e.count(); n != before {
			t.Errorf("reservations after the replay = %d, want %d (nothing new)", n, before)
		}
	})
	t.Run("another key is another booking", func(t *testing.T) {
		w := e.api(http.MethodPost, "/api/v1/bookings", "zhangsan", okBody, "Idempotency-Key", "k-2")
		if w.Code != http.StatusConflict {
			t.Errorf("POST same slot with Idempotency-Key k-2 = %d, want 409 (the slot is now taken)", w.Code)
		}
	})
	t.Run("stored as sent", func(t *testing.T) {
		r, err := e.store.Reservation(context.Background(), got.ID)
		if err != nil || !r.Start.Equal(at(17, 9, 0)) || r.OrganizerID != "zhangsan" {
			t.Errorf("store.Reservation(%s) = %+v, %v; want zhangsan's 09:00 booking", got.ID, r, err)
		}
	})
}

func TestCreateBookingErrors(t *testing.T) {
	e := newEnv(t)
	e.book("duowei", "lisi", at(14, 9, 0), at(14, 10, 0), models.BackendOA, models.OriginNative, "OA 里的会")
	e.book("duowei", "lisi", at(18, 9, 0), at(18, 10, 0), models.BackendDingTalk, models.OriginNative, "钉钉里的会")
	body := func(room, title, start, end string) string {
		return fmt.Sprintf(`{"room_id":%q,"title":%q,"start":%q,"end":%q}`, room, title, start, end)
	}
	tests := []struct {
		name     string
		user     string
		body     string
		header   []string
		status   int
		code     string
		field    string
		contains string
	}{
		{"empty title", "zhangsan", body("duowei", " ", "2023-04-17T09:00:00+08:00", "2023-04-17T10:00:00+08:00"), nil, 422, "title_required", "title", "会议主题"},
		{"end before start", "zhangsan", body("duowei", "周会", "2023-04-17T10:00:00+08:00", "2023-04-17T09:00:00+08:00"), nil, 422, "end_before_start", "end", "结束时间"},
		{"start in the past", "zhangsan", body("duowei", "周会", "2023-04-03T10:00:00+08:00", "2023-04-03T11:00:00+08:00"), nil, 422, "start_in_past", "start", ""},
		{"malformed time", "zhangsan", body("duowei", "周会", "明天九点", "2023-04-17T10:00:00+08:00"), nil, 400, "bad_request", "start", "RFC 3339"},
		{"time with a space", "zhangsan", body("duowei", "周会", "2023-04-17 09:00", "2023-04-17T10:00:00+08:00"), nil, 400, "bad_request", "start", "2023-04-17T09:00"},
		{"malformed JSON", "zhangsan", `{"room_id": "duowei",`, nil, 400, "bad_request", "", "JSON"},
		{"empty body", "zhangsan", ``, []string{"Content-Type", "application/json"}, 400, "bad_request", "", ""},
		{"wrong type", "zhangsan", `{"room_id": 7}`, nil, 400, "bad_request", "room_id", ""},
		{"array instead of an object", "zhangsan", `[]`, nil, 400, "bad_request", "", "JSON 对象"},
		{"unknown field", "zhangsan", `{"room_id":"duowei","repeat":"weekly"}`, nil, 400, "bad_request", "repeat", "repeat"},
		{"on_conflict without rrule", "zhangsan", `{"room_id":"duowei","on_conflict":"skip"}`, nil, 400, "bad_request", "on_conflict", "重复预订"},
		{"unknown room", "zhangsan", body("nope", "周会", "2023-04-17T09:00:00+08:00", "2023-04-17T10:00:00+08:00"), nil, 404, "unknown_room", "room_id", "会议室"},
		{"taken in the OA", "zhangsan", body("duowei", "周会", "2023-04-14T09:30:00+08:00", "2023-04-14T10:30:00+08:00"), nil, 409, "room_taken", "start", "OA（致远）"},
		{"taken in DingTalk", "zhangsan", body("duowei", "周会", "2023-04-18T08:30:00+08:00", "2023-04-18T09:30:00+08:00"), nil, 409, "room_taken", "start", "钉钉"},
		{"taken, in English", "zhangsan", body("duowei", "周会", "2023-04-18T08:30:00+08:00", "2023-04-18T09:30:00+08:00"), []string{"Accept-Language", "en"}, 409, "room_taken", "start", "DingTalk"},
		{"nobody signed in", "", okBody, nil, 401, "unauthorized", "", ""},
		{"unknown user", "mallory", okBody, nil, 403, "unknown_user", "", "mallory"},
		{"not JSON", "zhangsan", okBody, []string{"Content-Type", "text/plain"}, 403, "csrf", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.count()
			w := e.api(http.MethodPost, "/api/v1/bookings", tt.user, tt.body, tt.header...)
			got := decode[apiError](t, w)
			if w.Code != tt.status || got.Error.Code != tt.code || got.Error.Field != tt.field {
				t.Errorf("POST /api/v1/bookings (%s) = %d %+v, want %d code %q field %q", tt.name, w.Code, got, tt.status, tt.code, tt.field)
			}
			if got.Error.Message == "" || !strings.Contains(got.Error.Message, tt.contains) {
				t.Errorf("POST /api/v1/bookings (%s) message = %q, want one containing %q", tt.name, got.Error.Message, tt.contains)
			}
			if n := e.count(); n != before {
				t.Errorf("reservations after a refused POST = %d, want %d", n, before)
			}
		})
	}

	t.Run("oa_frozen", func(t *testing.T) {
		late := newEnv(t, withNow(freeze.Add(10*60*1e9)))
		w := late.api(http.MethodPost, "/api/v1/bookings", "zhangsan", body("duowei", "周会", "2023-04-16T23:30:00+08:00", "2023-04-16T23:55:00+08:00"))
		got := decode[apiError](t, w)
		if w.Code != http.StatusConflict || got.Error.Code != "oa_frozen" || !strings.Contains(got.Error.Message, "OA") {
			t.Errorf("POST an OA slot after the freeze = %d %+v, want 409 oa_frozen explaining the freeze", w.Code, got)
		}
	})
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t)
	huge := `{"room_id":"duowei","title":"` + strings.Repeat("x", 10<<20) + `","start":"2023-04-17T09:00:00+08:00","end":"2023-04-17T10:00:00+08:00"}`
	tests := []struct {
		name    string
		request func() *http.Request
	}{
		{"content length", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/api/v1/bookings", strings.NewReader(huge))
		}},
		{"chunked", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/bookings", io.MultiReader(bytes.NewReader([]byte(huge))))
			r.ContentLength = -1
			return r
		}},
		{"form", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/bookings", strings.NewReader("title="+strings.Repeat("x", 10<<20)))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.request()
			if r.Header.Get("Content-Type") == "" {
				r.Header.Set("Content-Type", "application/json")
			}
			r.Header.Set(DefaultAuthHeader, "zhangsan")
			w := e.serve(r)
			if w.Code != http.StatusRequestEntityTooLarge {
				t.Errorf("POST 10 MB (%s) = %d, want 413", tt.name, w.Code)
			}
			if n := e.count(); n != 0 {
				t.Errorf("reservations after a 10 MB POST = %d, want 0", n)
			}
		})
	}
}

func TestBookingAccess(t *testing.T) {
	e := newEnv(t)
	mine := e.book("duowei", "zhangsan", at(17, 9, 0), at(17, 10, 0), models.BackendDingTalk, models.OriginBridge, "周会", "wangwu")
	path := "/api/v1/bookings/" + mine.ID
	tests := []struct {
		name, method, path, user, body string
		status                         int
	}{
		{"organizer reads", http.MethodGet, path, "zhangsan", "", 200},
		{"attendee reads", http.MethodGet, path, "wangwu", "", 200},
		{"admin reads", http.MethodGet, path, "admin", "", 200},
		{"stranger reads", http.MethodGet, path, "lisi", "", 404},
		{"stranger patches", http.MethodPatch, path, "lisi", `{"title":"抢走"}`, 404},
		{"stranger deletes", http.MethodDelete, path, "lisi", "", 404},
		{"attendee patches", http.MethodPatch, path, "wangwu", `{"title":"改名"}`, 403},
		{"attendee deletes", http.MethodDelete, path, "wangwu", "", 403},
		{"unknown id", http.MethodGet, "/api/v1/bookings/nope", "zhangsan", "", 404},
		{"anonymous", http.MethodGet, path, "", "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.api(tt.method, tt.path, tt.user, tt.body)
			if w.Code != tt.status {
				t.Errorf("%s %s as %q = %d %s, want %d", tt.method, tt.path, tt.user, w.Code, w.Body, tt.status)
			}
		})
	}
	r, err := e.store.Reservation(context.Background(), mine.ID)
	if err != nil || r.Title != "周会" || r.Status != models.StatusConfirmed {
		t.Errorf("after refused changes the booking is %+v, %v; want it untouched", r, err)
	}
}

func TestPatchAndDeleteBooking(t *testing.T) {
	e := newEnv(t)
	w := e.api(http.MethodPost, "/api/v1/bookings", "zhangsan", okBody)
	b := decode[bookingJSON](t, w)
	path := "/api/v1/bookings/" + b.ID

	w = e.api(http.MethodPatch, path, "zhangsan", `{"title":"改名后的周会"}`)
	got := decode[bookingJSON](t, w)
	if w.Code != http.StatusOK || got.Title != "改名后的周会" || got.Start != b.Start || got.End != b.End || got.RoomID != "duowei" {
		t.Errorf("PATCH %s title = %d %+v, want 200 with the new title and the old room and times", path, w.Code, got)
	}
	w = e.api(http.MethodPatch, path, "zhangsan", `{"start":"2023-04-16T09:00:00+08:00","end":"2023-04-16T10:00:00+08:00"}`)
	got = decode[bookingJSON](t, w)
	if w.Code != http.StatusOK || got.Backend != models.BackendOA || got.Title != "改名后的周会" {
		t.Errorf("PATCH %s to before the cutover = %d %+v, want 200 routed to oa, title kept", path, w.Code, got)
	}
	w = e.api(http.MethodPatch, path, "zhangsan", `{"end":"2023-04-16T08:00:00+08:00"}`)
	if got := decode[apiError](t, w); w.Code != http.StatusUnprocessableEntity || got.Error.Code != "end_before_start" {
		t.Errorf("PATCH %s end before start = %d %+v, want 422 end_before_start", path, w.Code, got)
	}

	w = e.api(http.MethodDelete, path, "zhangsan", "")
	if got := decode[bookingJSON](t, w); w.Code != http.StatusOK || got.Status != models.StatusCancelled {
		t.Errorf("DELETE %s = %d %+v, want 200 cancelled", path, w.Code, got)
	}

	w = e.api(http.MethodGet, "/api/v1/bookings?mine=1", "zhangsan", "")
	if list := decode[[]bookingJSON](t, w); len(list) != 1 || list[0].ID != b.ID {
		t.Errorf("GET /api/v1/bookings?mine=1 as zhangsan = %+v, want the one booking", list)
	}
	w = e.api(http.MethodGet, "/api/v1/bookings?mine=1", "lisi", "")
	if list := decode[[]bookingJSON](t, w); len(list) != 1 || list[0].ID != b.ID {
		t.Errorf("GET /api/v1/bookings?mine=1 as lisi (an attendee) = %+v, want the booking", list)
	}
	w = e.api(http.MethodGet, "/api/v1/bookings?mine=1", "wangwu", "")
	if list := decode[[]bookingJSON](t, w); len(list) != 0 {
		t.Errorf("GET /api/v1/bookings?mine=1 as wangwu = %+v, want none", list)
	}
}

// TestTimesWithoutZone: every API route reads a time without a zone in the configured
// zone, the booking body as the query parameters of /route and /availability.
func TestTimesWithoutZone(t *testing.T) {
	e := newEnv(t)
	w := e.api("POST", "/api/v1/bookings", "zhangsan", `{"room_id":"duowei","title":"周会","start":"2023-04-17T09:00","end":"2023-04-17T10:00:00"}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("POST /api/v1/bookings with local times = %d %s, want 201", w.Code, w.Body)
	}
	got := decode[bookingJSON](t, w)
	if got.Start != "2023-04-17T09:00:00+08:00" || got.End != "2023-04-17T10:00:00+08:00" {
		t.Errorf("booked %s–%s, want 09:00–10:00 in Shanghai", got.Start, got.End)
	}
	w = e.api("PATCH", "/api/v1/bookings/"+got.ID, "zhangsan", `{"start":"2023-04-17T11:00","end":"2023-04-17T12:00"}`)
	if w.Code != http.StatusOK {
		t.Fatalf("PATCH with local times = %d %s", w.Code, w.Body)
	}
	if p := decode[bookingJSON](t, w); p.Start != "2023-04-17T11:00:00+08:00" {
		t.Errorf("rescheduled to %s, want 11:00 in Shanghai", p.Start)
	}
	for _, path := range []string{"/api/v1/route?start=2023-04-17T09:00", "/api/v1/availability?room=duowei&from=2023-04-17T00:00&to=2023-04-18T00:00", "/api/v1/rooms?free_from=2023-04-17T09:00&free_to=2023-04-17T10:00"} {
		if w := e.api("GET", path, "zhangsan", ""); w.Code != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, w.Code)
		}
	}
}

// TestCreateBookingByRemovedUser: a booking over the API may take its caller from the
// catalog as the process keeps it, but a caller the catalog removed, here or in another
// process, books nothing and replays nothing.
func TestCreateBookingByRemovedUser(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if w := e.api(http.MethodPost, "/api/v1/bookings", "lisi", okBody, "Idempotency-Key", "k-1"); w.Code != http.StatusCreated {
		t.Fatalf("POST /api/v1/bookings as lisi = %d %s, want 201", w.Code, w.Body)
	}
	// Another process syncs a catalog without lisi: this one's kept catalog still has her.
	if _, err := e.store.SQL().ExecContext(ctx, "UPDATE users SET removed = ? WHERE id = ?", true, "lisi"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.SQL().ExecContext(ctx, "UPDATE feed_stamps SET version = version + 1 WHERE scope = ?", models.ScopeCatalog); err != nil {
		t.Fatal(err)
	}
	before := e.count()
	later := strings.NewReplacer("T09:00", "T11:00", "T10:00", "T12:00").Replace(okBody)
	for _, tt := range []struct {
		name   string
		header []string
	}{
		{"new booking", nil},
		{"replay of her key", []string{"Idempotency-Key", "k-1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if w := e.api(http.MethodPost, "/api/v1/bookings", "lisi", later, tt.header...); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "unknown_user") {
				t.Errorf("POST /api/v1/bookings as removed lisi = %d %s, want 403 unknown_user", w.Code, w.Body)
			}
		})
	}
	if n := e.count(); n != before {
		t.Errorf("reservations = %d after the removed user's requests, want %d", n, before)
	}
	// A sync in this process drops the kept catalog at once.
	cat := models.DemoCatalog()
	cat.Users = slices.DeleteFunc(cat.Users, func(u models.User) bool { return u.ID == "zhangsan" })
	if err := e.store.SyncCatalog(ctx, cat); err != nil {
		t.Fatal(err)
	}
	if w := e.api(http.MethodPost, "/api/v1/bookings", "zhangsan", later); w.Code != http.StatusForbidden {
		t.Errorf("POST /api/v1/bookings as zhangsan after a sync without him = %d %s, want 403", w.Code, w.Body)
	}
}
