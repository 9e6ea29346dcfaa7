package oa_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/bridge/oa"
	"roombridge/bridge/oa/seeyonfake"
	"roombridge/models"
)

const (
	roomDuowei     = "-2295828016161864200" // a real-looking negative Seeyon id
	roomBig        = "9007199254740993"     // 2^53+1: wrong if it ever passes through float64
	roomRestricted = "1001"
	zhangsanID     = "-7887441163027565000"
)

var (
	zone = mustZone()
	// day is a Wednesday in the OA's zone; bookings in the tests fall around it.
	day = time.Date(2023, 4, 12, 0, 0, 0, 0, zone)
)

func mustZone() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}

// at returns day's date at hh:mm plus days.
func at(days, hh, mm int) time.Time {
	return day.AddDate(0, 0, days).Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
}

// clock is a settable clock shared by the fake and the client.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	fake   *seeyonfake.Server
	client *oa.Client
	clock  *clock
	url    string

	mu    sync.Mutex
	calls []string // OnCall log: "endpoint" or "endpoint!" on error
}

func (e *env) onCall(endpoint string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		endpoint += "!"
	}
	e.calls = append(e.calls, endpoint)
}

// newEnv starts a fake OA on loopback and a client for it. wrap, if set, sits in
// front of the fake.
func newEnv(t *testing.T, wrap func(http.Handler) http.Handler, opts ...seeyonfake.Option) *env {
	t.Helper()
	e := &env{clock: &clock{t: at(-2, 9, 0)}}
	opts = append([]seeyonfake.Option{seeyonfake.WithZone(zone), seeyonfake.WithNow(e.clock.Now)}, opts...)
	e.fake = seeyonfake.New("rest", "secret",
		[]seeyonfake.Room{
			{ID: roomDuowei, Name: "多维缩放会议室", Seats: 30},
			{ID: roomBig, Name: "大会议室", Seats: 12},
			{ID: roomRestricted, Name: "董事会议室", Seats: 8, Applicants: []string{"lisi"}},
		},
		[]seeyonfake.User{
			{LoginName: "zhangsan", MemberID: zhangsanID, Name: "张三"},
			{LoginName: "lisi", Name: "李四"},
		}, opts...)
	var h http.Handler = e.fake
	if wrap != nil {
		h = wrap(h)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	t.Cleanup(e.fake.Close) // runs first: ends any hanging request
	e.url = ts.URL
	c, err := oa.New(oa.Config{
		BaseURL: ts.URL, RestUser: "rest", RestPassword: "secret",
		Zone: zone, Now: e.clock.Now, OnCall: e.onCall,
	})
	if err != nil {
		t.Fatalf("oa.New() = %v", err)
	}
	e.client = c
	return e
}

func (e *env) mustBook(t *testing.T, login string, req oa.BookRequest) string {
	t.Helper()
	id, err := e.client.Book(context.Background(), login, req)
	if err != nil {
		t.Fatalf("Book(%s, %+v) = %v, want nil", login, req, err)
	}
	return id
}

func (e *env) mustNative(t *testing.T, room, login string, start, end time.Time, desc string) string {
	t.Helper()
	id, err := e.fake.AddNative(room, login, start, end, desc)
	if err != nil {
		t.Fatalf("AddNative(%s, %s) = %v", room, login, err)
	}
	return id
}

func req(room string, start, end time.Time, marker string) oa.BookRequest {
	return oa.BookRequest{RoomID: room, Start: start, End: end, Description: "周会", Marker: marker}
}

func live(bs []seeyonfake.Booking) []seeyonfake.Booking {
	var out []seeyonfake.Booking
	for _, b := range bs {
		if !b.Cancelled {
			out = append(out, b)
		}
	}
	return out
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		cfg  oa.Config
		ok   bool
	}{
		{"complete", oa.Config{BaseURL: "http://127.0.0.1:9001", RestUser: "u", RestPassword: "p"}, true},
		{"trailing slash", oa.Config{BaseURL: "https://oa.example.com/", RestUser: "u", RestPassword: "p"}, true},
		{"no base URL", oa.Config{RestUser: "u", RestPassword: "p"}, false},
		{"relative base URL", oa.Config{BaseURL: "oa.example.com", RestUser: "u", RestPassword: "p"}, false},
		{"ftp base URL", oa.Config{BaseURL: "ftp://oa.example.com", RestUser: "u", RestPassword: "p"}, false},
		{"no REST user", oa.Config{BaseURL: "http://oa", RestPassword: "p"}, false},
		{"no REST password", oa.Config{BaseURL: "http://oa", RestUser: "u"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := oa.New(tt.cfg)
			if tt.ok && err != nil {
				t.Errorf("New(%+v) = %v, want nil", tt.cfg, err)
			}
			if !tt.ok && !errors.Is(err, models.ErrInvalid) {
				t.Errorf("New(%+v) = %v, want ErrInvalid", tt.cfg, err)
			}
		})
	}
}

func TestBookStoresWhatWasAsked(t *testing.T) {
	e := newEnv(t, nil)
	r := req(roomDuowei, at(0, 10, 0), at(0, 11, 30), "[rb:abc123]")
	id := e.mustBook(t, "zhangsan", r)

	want := []seeyonfake.Booking{{
		AppID: id, RoomID: roomDuowei, LoginName: "zhangsan", ApplicantName: "张三",
		Start: r.Start, End: r.End, Description: "周会 [rb:abc123]", Status: 1, AppliedAt: at(-2, 9, 0),
	}}
	if diff := cmp.Diff(want, e.fake.Bookings()); diff != "" {
		t.Errorf("fake bookings after Book (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(id, "-") {
		t.Errorf("Book() = %q, want the fake's negative id", id)
	}
	wantCalls := []string{"token", "meeting/getMeetingRoomApps", "meeting/checkMeetingRoomConflict", "meeting/execApp", "meeting/getMeetingRoomApps"}
	if diff := cmp.Diff(wantCalls, e.calls); diff != "" {
		t.Errorf("OnCall log (-want +got):\n%s", diff)
	}
}

func TestBookDescription(t *testing.T) {
	long := strings.Repeat("长", 300)
	tests := []struct {
		name, desc, want string
	}{
		{"text and marker", "周会", "周会 [rb:m]"},
		{"marker only", "", "[rb:m]"},
		{"text cut so the marker fits", long, strings.Repeat("长", 193) + " [rb:m]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			r := oa.BookRequest{RoomID: roomDuowei, Start: at(0, 10, 0), End: at(0, 11, 0), Description: tt.desc, Marker: "[rb:m]"}
			e.mustBook(t, "zhangsan", r)
			if got := e.fake.Bookings()[0].Description; got != tt.want {
				t.Errorf("description stored = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBookConflict(t *testing.T) {
	tests := []struct {
		name       string
		start, end time.Time
		wantErr    error
	}{
		{"same slot", at(0, 9, 0), at(0, 10, 0), models.ErrConflict},
		{"overlaps the start", at(0, 8, 30), at(0, 9, 30), models.ErrConflict},
		{"inside", at(0, 9, 15), at(0, 9, 45), models.ErrConflict},
		{"around", at(0, 8, 0), at(0, 11, 0), models.ErrConflict},
		{"ends where it starts", at(0, 8, 0), at(0, 9, 0), nil},
		{"starts where it ends", at(0, 10, 0), at(0, 11, 0), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.mustNative(t, roomDuowei, "lisi", at(0, 9, 0), at(0, 10, 0), "部门例会")
			_, err := e.client.Book(context.Background(), "zhangsan", req(roomDuowei, tt.start, tt.end, "[rb:x]"))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Book(%v-%v) = %v, want %v", tt.start, tt.end, err, tt.wantErr)
			}
			if tt.wantErr == nil {
				return
			}
			if n := e.fake.Calls("execApp"); n != 0 {
				t.Errorf("execApp calls after a conflict = %d, want 0", n)
			}
			if n := len(e.fake.Bookings()); n != 1 {
				t.Errorf("fake bookings = %d, want 1", n)
			}
			if u := models.UserError(err); u == nil || u.Code != models.CodeRoomTaken || u.Args[models.ArgBackend] != "oa" {
				t.Errorf("Book() user error = %v, want code room_taken", u)
			}
		})
	}
}

func TestBookRefused(t *testing.T) {
	tests := []struct {
		name    string
		room    string
		fault   *seeyonfake.Fault
		wantErr error
		wantMsg string
	}{
		{"room the user may not book", roomRestricted, nil, models.ErrForbidden, "不能申请这个会议室"},
		{"unknown room", "42", nil, models.ErrForbidden, "不能申请这个会议室"},
		{"canNotApply key", roomDuowei, &seeyonfake.Fault{Endpoint: "execApp", Kind: seeyonfake.FaultErrorMsg, Msg: "meeting.rest.canNotApply"}, models.ErrForbidden, "meeting.rest.canNotApply"},
		{"hasNoCanApply key", roomDuowei, &seeyonfake.Fault{Endpoint: "execApp", Kind: seeyonfake.FaultErrorMsg, Msg: "meeting.rest.hasNoCanApply"}, models.ErrForbidden, "meeting.rest.hasNoCanApply"},
		{"taken between check and write", roomDuowei, &seeyonfake.Fault{Endpoint: "execApp", Kind: seeyonfake.FaultErrorMsg, Msg: "该时间段会议室已被占用"}, models.ErrConflict, "该时间段会议室已被占用"},
		{"other business error", roomDuowei, &seeyonfake.Fault{Endpoint: "execApp", Kind: seeyonfake.FaultErrorMsg, Msg: "会议室已停用"}, models.ErrInvalid, "会议室已停用"},
		{"conflict check in other words", roomDuowei, &seeyonfake.Fault{Endpoint: "checkMeetingRoomConflict", Kind: seeyonfake.FaultErrorMsg, Msg: "所选时间不可用"}, models.ErrConflict, "所选时间不可用"},
		{"conflict check with bad parameters", roomDuowei, &seeyonfake.Fault{Endpoint: "checkMeetingRoomConflict", Kind: seeyonfake.FaultErrorMsg, Msg: "参数错误"}, models.ErrInvalid, "参数错误"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			if tt.fault != nil {
				e.fake.SetFault(*tt.fault)
			}
			_, err := e.client.Book(context.Background(), "zhangsan", req(tt.room, at(0, 9, 0), at(0, 10, 0), "[rb:x]"))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Book() = %v, want %v", err, tt.wantErr)
			}
			var oe *oa.Error
			if !errors.As(err, &oe) || oe.Msg != tt.wantMsg {
				t.Errorf("Book() vendor text = %+v, want %q", oe, tt.wantMsg)
			}
			if n := len(e.fake.Bookings()); n != 0 {
				t.Errorf("fake bookings = %d, want 0", n)
			}
		})
	}
}

func TestBookInvalidRequest(t *testing.T) {
	ok := req(roomDuowei, at(0, 9, 0), at(0, 10, 0), "[rb:x]")
	tests := []struct {
		name   string
		login  string
		change func(*oa.BookRequest)
	}{
		{"room id not a number", "zhangsan", func(r *oa.BookRequest) { r.RoomID = "duowei" }},
		{"room id beyond int64", "zhangsan", func(r *oa.BookRequest) { r.RoomID = "9223372036854775808" }},
		{"no marker", "zhangsan", func(r *oa.BookRequest) { r.Marker = "" }},
		{"marker with a space", "zhangsan", func(r *oa.BookRequest) { r.Marker = "[rb: x]" }},
		{"marker with HTML", "zhangsan", func(r *oa.BookRequest) { r.Marker = "<rb:x>" }},
		{"end before start", "zhangsan", func(r *oa.BookRequest) { r.Start, r.End = r.End, r.Start }},
		{"empty slot", "zhangsan", func(r *oa.BookRequest) { r.End = r.Start }},
		{"seconds", "zhangsan", func(r *oa.BookRequest) { r.Start = r.Start.Add(30 * time.Second) }},
		{"no login", "", func(r *oa.BookRequest) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			r := ok
			tt.change(&r)
			if _, err := e.client.Book(context.Background(), tt.login, r); !errors.Is(err, models.ErrInvalid) {
				t.Errorf("Book(%q, %+v) = %v, want ErrInvalid", tt.login, r, err)
			}
			if n := e.fake.Calls("execApp"); n != 0 {
				t.Errorf("execApp calls = %d, want 0", n)
			}
		})
	}
}

func TestBookUnknownLogin(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.client.Book(context.Background(), "nobody", req(roomDuowei, at(0, 9, 0), at(0, 10, 0), "[rb:x]"))
	if !errors.Is(err, models.ErrForbidden) {
		t.Errorf("Book(nobody) = %v, want ErrForbidden", err)
	}
}

func TestWrongRestAccount(t *testing.T) {
	e := newEnv(t, nil)
	c, err := oa.New(oa.Config{BaseURL: e.url, RestUser: "rest", RestPassword: "wrong", Zone: zone})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.MyBookings(context.Background(), "zhangsan", at(0, 0, 0), at(1, 0, 0)); !errors.Is(err, models.ErrForbidden) {
		t.Errorf("MyBookings() with a wrong REST password = %v, want ErrForbidden", err)
	}
}

// code1010Once answers the first request to endpoint with Seeyon's "invalid token"
// body code instead of passing it on.
func code1010Once(endpoint string) func(http.Handler) http.Handler {
	var once sync.Once
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hit := false
			if strings.HasSuffix(r.URL.Path, endpoint) {
				once.Do(func() { hit = true })
			}
			if hit {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"code":1010,"message":"invalid token"}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestTokenRefresh(t *testing.T) {
	tests := []struct {
		name  string
		wrap  func(http.Handler) http.Handler
		opts  []seeyonfake.Option
		event func(e *env)
	}{
		{"OA forgot every token", nil, nil, func(e *env) { e.fake.ExpireTokens() }},
		{"one 401", nil, nil, func(e *env) {
			e.fake.SetFault(seeyonfake.Fault{Endpoint: "getMeetingRoomApps", Kind: seeyonfake.FaultTokenExpired, Times: 1})
		}},
		{"token idle past the OA's TTL", nil, []seeyonfake.Option{seeyonfake.WithTokenTTL(5 * time.Minute)}, func(e *env) { e.clock.Advance(6 * time.Minute) }},
		{"token idle past the client's limit", nil, nil, func(e *env) { e.clock.Advance(20 * time.Minute) }},
		{"body code 1010", code1010Once("checkMeetingRoomConflict"), nil, func(e *env) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.wrap, tt.opts...)
			e.mustBook(t, "zhangsan", req(roomDuowei, at(0, 9, 0), at(0, 10, 0), "[rb:1]"))
			tt.event(e)
			e.mustBook(t, "zhangsan", req(roomDuowei, at(0, 10, 0), at(0, 11, 0), "[rb:2]"))
			if n := e.fake.Calls("token"); n != 2 {
				t.Errorf("token calls = %d, want 2", n)
			}
			if n := len(e.fake.Bookings()); n != 2 {
				t.Errorf("fake bookings = %d, want 2", n)
			}
		})
	}
}

func TestTokenPerLogin(t *testing.T) {
	e := newEnv(t, nil)
	e.mustBook(t, "zhangsan", req(roomDuowei, at(0, 9, 0), at(0, 10, 0), "[rb:1]"))
	e.mustBook(t, "lisi", req(roomDuowei, at(0, 10, 0), at(0, 11, 0), "[rb:2]"))
	e.mustBook(t, "zhangsan", req(roomDuowei, at(0, 11, 0), at(0, 12, 0), "[rb:3]"))
	if n := e.fake.Calls("token"); n != 2 {
		t.Errorf("token calls = %d, want 2 (one per login)", n)
	}
	got := map[string]string{}
	for _, b := range e.fake.Bookings() {
		got[b.Description] = b.LoginName
	}
	want := map[string]string{"周会 [rb:1]": "zhangsan", "周会 [rb:2]": "lisi", "周会 [rb:3]": "zhangsan"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("booking owners (-want +got):\n%s", diff)
	}
}

func TestTokenRejectedTwice(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.SetFault(seeyonfake.Fault{Endpoint: "getMeetingRoomApps", Kind: seeyonfake.FaultTokenExpired})
	_, err := e.client.Book(context.Background(), "zhangsan", req(roomDuowei, at(0, 9, 0), at(0, 10, 0), "[rb:x]"))
	if !errors.Is(err, models.ErrUnavailable) {
		t.Errorf("Book() with every token rejected = %v, want ErrUnavailable", err)
	}
	if n := e.fake.Calls("getMeetingRoomApps"); n != 2 {
		t.Errorf("getMeetingRoomApps calls = %d, want 2 (one refresh, no loop)", n)
	}
}

func TestBookUnavailable(t *testing.T) {
	tests := []struct {
		name    string
		fault   seeyonfake.Fault
		timeout time.Duration
	}{
		{"HTTP 500 on execApp", seeyonfake.Fault{Endpoint: "execApp", Kind: seeyonfake.FaultHTTP500}, 0},
		{"empty body on execApp (OA lock)", seeyonfake.Fault{Endpoint: "execApp", Kind: seeyonfake.FaultEmpty}, 0},
		{"hang on execApp", seeyonfake.Fault{Endpoint: "execApp", Kind: seeyonfake.FaultHang}, 100 * time.Millisecond},
		{"connection dropped on the conflict check", seeyonfake.Fault{Endpoint: "checkMeetingRoomConflict", Kind: seeyonfake.FaultDown}, 0},
		{"malformed list", seeyonfake.Fault{Endpoint: "getMeetingRoomApps", Kind: seeyonfake.FaultMalformed}, 0},
		{"HTTP 500 on token", seeyonfake.Fault{Endpoint: "token", Kind: seeyonfake.FaultHTTP500}, 0},
		{"slow token", seeyonfake.Fault{Endpoint: "token", Kind: seeyonfake.FaultLatency, Delay: time.Hour}, 100 * time.Millisecond},
		{"everything down", seeyonfake.Fault{Kind: seeyonfake.FaultDown}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.fake.SetFault(tt.fault)
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			_, err := e.client.Book(ctx, "zhangsan", req(roomDuowei, at(0, 9, 0), at(0, 10, 0), "[rb:x]"))
			if !errors.Is(err, models.ErrUnavailable) {
				t.Fatalf("Book() = %v, want ErrUnavailable", err)
			}
			if tt.timeout > 0 && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Book() = %v, want it to wrap context.DeadlineExceeded too", err)
			}
			if n := len(e.fake.Bookings()); n != 0 {
				t.Errorf("fake bookings = %d, want 0", n)
			}
		})
	}
}

func TestBookExactlyOnce(t *testing.T) {
	tests := []struct {
		name    string
		faults  []seeyonfake.Fault
		timeout time.Duration
	}{
		{"empty answer after the write", []seeyonfake.Fault{{Endpoint: "execApp", Kind: seeyonfake.FaultEmptyAfterWrite, Times: 1}}, 0},
		{"HTTP 500 after the write", []seeyonfake.Fault{{Endpoint: "execApp", Kind: seeyonfake.FaultHTTP500AfterWrite, Times: 1}}, 0},
		{"timeout after the write", []seeyonfake.Fault{{Endpoint: "execApp", Kind: seeyonfake.FaultHangAfterWrite, Times: 1}}, 100 * time.Millisecond},
		{"read-back fails", []seeyonfake.Fault{
			// The first list call (the look-up before writing) passes; the second fails.
			{Endpoint: "getMeetingRoomApps", Kind: seeyonfake.FaultLatency, Delay: time.Nanosecond, Times: 1},
			{Endpoint: "getMeetingRoomApps", Kind: seeyonfake.FaultHTTP500, Times: 1},
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			for _, f := range tt.faults {
				e.fake.SetFault(f)
			}
			// Made today (the clock is at(-2)) for next week: listing the user's
			// bookings by time would not find it.
			r := req(roomDuowei, at(7, 9, 0), at(7, 10, 0), "[rb:once]")
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			if _, err := e.client.Book(ctx, "zhangsan", r); !errors.Is(err, models.ErrUnavailable) {
				t.Fatalf("first Book() = %v, want ErrUnavailable", err)
			}
			id, err := e.client.Book(context.Background(), "zhangsan", r)
			if err != nil {
				t.Fatalf("second Book() = %v, want nil", err)
			}
			got := e.fake.Bookings()
			if len(got) != 1 {
				t.Fatalf("fake bookings = %+v, want exactly one", got)
			}
			if id != got[0].AppID {
				t.Errorf("second Book() = %q, want the stored id %q", id, got[0].AppID)
			}
			if n := e.fake.Calls("execApp"); n != 1 {
				t.Errorf("execApp calls = %d, want 1", n)
			}
		})
	}
}

// TestBookNextWeek books a week ahead of the clock: the booking is found on the
// meeting's day and confirmed at once, without a second attempt or a second row.
func TestBookNextWeek(t *testing.T) {
	e := newEnv(t, nil)
	r := req(roomDuowei, at(7, 9, 0), at(7, 10, 0), "[rb:week]")
	id := e.mustBook(t, "zhangsan", r)
	got := live(e.fake.Bookings())
	if len(got) != 1 || got[0].AppID != id {
		t.Fatalf("fake bookings = %+v, want exactly %s", got, id)
	}
	// A retry (an outbox job run again) finds it instead of meeting it as a conflict.
	again, err := e.client.Book(context.Background(), "zhangsan", r)
	if err != nil || again != id {
		t.Fatalf("Book() again = %q, %v, want %q", again, err, id)
	}
	if n := e.fake.Calls("execApp"); n != 1 {
		t.Errorf("execApp calls = %d, want 1", n)
	}
}

// TestBookFirstAttempt: a first attempt books without looking for an earlier one (the
// day is read once, for the new id); a retry of the same marker still finds it.
func TestBookFirstAttempt(t *testing.T) {
	e := newEnv(t, nil)
	r := req(roomDuowei, at(3, 9, 0), at(3, 10, 0), "[rb:first]")
	r.FirstAttempt = true
	id := e.mustBook(t, "zhangsan", r)
	if n := e.fake.Calls("getMeetingUserInfo") + e.fake.Calls("getMeetingRoomApps"); n != 1 {
		t.Errorf("reads of the room's day for a first attempt = %d, want 1", n)
	}
	r.FirstAttempt = false
	again, err := e.client.Book(context.Background(), "zhangsan", r)
	if err != nil || again != id {
		t.Fatalf("Book() again = %q, %v, want %q", again, err, id)
	}
	if n := e.fake.Calls("execApp"); n != 1 {
		t.Errorf("execApp calls = %d, want 1", n)
	}
}

// TestSeeyonMessages maps Seeyon's zh_CN message texts to outcomes.
func TestSeeyonMessages(t *testing.T) {
	tests := []struct {
		msg      string
		wantKind error
		wantCode string
	}{
		{"会议室在您申请的时间范围内有预定了", models.ErrConflict, models.CodeRoomTaken},
		{"会议室在您申请的时间范围内有预订了", models.ErrConflict, models.CodeRoomTaken},
		{"mr.alert.cannotapp", models.ErrConflict, models.CodeRoomTaken},
		{"不能申请这个会议室", models.ErrForbidden, "oa_forbidden"},
		{"没有可以申请的会议室", models.ErrForbidden, "oa_forbidden"},
		{"传入参数错误", models.ErrInvalid, "oa_rejected"},
		{"会议室已停用", models.ErrInvalid, "oa_rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			e := newEnv(t, nil)
			e.fake.SetFault(seeyonfake.Fault{Endpoint: "execApp", Kind: seeyonfake.FaultErrorMsg, Msg: tt.msg})
			_, err := e.client.Book(context.Background(), "zhangsan", req(roomDuowei, at(0, 9, 0), at(0, 10, 0), "[rb:m]"))
			if !errors.Is(err, tt.wantKind) {
				t.Fatalf("Book() with execApp %q = %v, want %v", tt.msg, err, tt.wantKind)
			}
			if u := models.UserError(err); u == nil || u.Code != tt.wantCode {
				t.Errorf("Book() user error = %v, want code %s", u, tt.wantCode)
			}
		})
	}
}

// TestBookConflictCaughtByExecApp: the slot is taken between the conflict check and
// execApp; execApp's "有预定了" is a conflict, not a rejected request.
func TestBookConflictCaughtByExecApp(t *testing.T) {
	var e *env
	e = newEnv(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/checkMeetingRoomConflict") {
				if _, err := e.fake.AddNative(roomDuowei, "lisi", at(0, 9, 0), at(0, 10, 0), "抢先"); err != nil {
					t.Errorf("AddNative() = %v", err)
				}
			}
			h.ServeHTTP(w, r)
		})
	})
	_, err := e.client.Book(context.Background(), "zhangsan", req(roomDuowei, at(0, 9, 0), at(0, 10, 0), "[rb:race]"))
	if !errors.Is(err, models.ErrConflict) {
		t.Fatalf("Book() = %v, want ErrConflict", err)
	}
}

// TestOccupancyNewerEndpointOnly: an OA that lacks getMeetingRoomApps is read with
// getMeetingUserInfo.
func TestOccupancyNewerEndpointOnly(t *testing.T) {
	e := newEnv(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/getMeetingRoomApps") {
				http.NotFound(w, r)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	id := e.mustNative(t, roomDuowei, "lisi", at(0, 9, 0), at(0, 10, 0), "部门例会")
	for range 2 {
		got, err := e.client.Occupancy(context.Background(), "zhangsan", roomDuowei, at(0, 0, 0), at(1, 0, 0))
		if err != nil || len(got) != 1 || got[0].AppID != id {
			t.Fatalf("Occupancy() = %+v, %v, want %s", got, err, id)
		}
	}
	if n := e.fake.Calls("getMeetingUserInfo"); n != 2 {
		t.Errorf("getMeetingUserInfo calls = %d, want 2 (remembered after the first 404)", n)
	}
}

func TestBookSameMarkerOtherSlot(t *testing.T) {
	e := newEnv(t, nil)
	first := e.mustBook(t, "zhangsan", req(roomDuowei, at(0, 9, 0), at(0, 10, 0), "[rb:m]"))
	// A booking moved by the bridge keeps its marker; the new slot is a new booking.
	second := e.mustBook(t, "zhangsan", req(roomDuowei, at(0, 14, 0), at(0, 15, 0), "[rb:m]"))
	if first == second {
		t.Errorf("Book() at another time with the same marker = %q, want a new id", second)
	}
	// A marker is matched as a whole word, not as a prefix.
	third := e.mustBook(t, "zhangsan", req(roomBig, at(0, 9, 0), at(0, 10, 0), "[rb:m]x"))
	fourth := e.mustBook(t, "zhangsan", req(roomBig, at(0, 10, 0), at(0, 11, 0), "[rb:m"))
	if third == fourth {
		t.Errorf("Book() with marker [rb:m = %q, the id of [rb:m]x", fourth)
	}
}

func TestCancel(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the id to cancel.
		setup      func(t *testing.T, e *env) string
		reason     string
		wantErr    error
		wantReason string
	}{
		{"own booking", func(t *testing.T, e *env) string {
			return e.mustBook(t, "zhangsan", req(roomDuowei, at(0, 9, 0), at(0, 10, 0), "[rb:x]"))
		}, "会议取消", nil, "会议取消"},
		{"no reason given", func(t *testing.T, e *env) string {
			return e.mustBook(t, "zhangsan", req(roomDuowei, at(0, 9, 0), at(0, 10, 0), "[rb:x]"))
		}, "", nil, "cancelled via roombridge"},
		{"already cancelled", func(t *testing.T, e *env) string {
			id := e.mustBook(t, "zhangsan", req(roomDuowei, at(0, 9, 0), at(0, 10, 0), "[rb:x]"))
			if err := e.client.Cancel(context.Background(), "zhangsan", id, "first"); err != nil {
				t.Fatalf("first Cancel() = %v", err)
			}
			return id
		}, "second", nil, "first"},
		{"cancelled in the OA", func(t *testing.T, e *env) string {
			id := e.mustNative(t, roomDuowei, "zhangsan", at(0, 9, 0), at(0, 10, 0), "native")
			if err := e.fake.CancelNative(id); err != nil {
				t.Fatal(err)
			}
			return id
		}, "x", nil, "cancelled in the OA"},
		{"unknown id", func(t *testing.T, e *env) string { return "-42" }, "x", nil, ""},
		{"already over", func(t *testing.T, e *env) string {
			return e.mustNative(t, roomDuowei, "zhangsan", at(-3, 9, 0), at(-3, 10, 0), "past")
		}, "x", models.ErrInvalid, ""},
		{"not an id", func(t *testing.T, e *env) string { return "abc" }, "x", models.ErrInvalid, ""},
		{"OA busy", func(t *testing.T, e *env) string {
			id := e.mustBook(t, "zhangsan", req(roomDuowei, at(0, 9, 0), at(0, 10, 0), "[rb:x]"))
			e.fake.SetFault(seeyonfake.Fault{Endpoint: "cancelMeetRoomApp", Kind: seeyonfake.FaultEmpty})
			return id
		}, "x", models.ErrUnavailable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			id := tt.setup(t, e)
			err := e.client.Cancel(context.Background(), "zhangsan", id, tt.reason)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Cancel(%s) = %v, want %v", id, err, tt.wantErr)
			}
			for _, b := range e.fake.Bookings() {
				if b.AppID != id {
					continue
				}
				if b.Cancelled != (tt.wantErr == nil) {
					t.Errorf("booking %s cancelled = %v, want %v", id, b.Cancelled, tt.wantErr == nil)
				}
				if b.CancelReason != tt.wantReason {
					t.Errorf("booking %s cancel reason = %q, want %q", id, b.CancelReason, tt.wantReason)
				}
			}
		})
	}
}

func TestCancelAnswerLost(t *testing.T) {
	e := newEnv(t, nil)
	id := e.mustBook(t, "zhangsan", req(roomDuowei, at(0, 9, 0), at(0, 10, 0), "[rb:x]"))
	e.fake.SetFault(seeyonfake.Fault{Endpoint: "cancelMeetRoomApp", Kind: seeyonfake.FaultEmptyAfterWrite, Times: 1})
	if err := e.client.Cancel(context.Background(), "zhangsan", id, "x"); !errors.Is(err, models.ErrUnavailable) {
		t.Fatalf("Cancel() with the answer lost = %v, want ErrUnavailable", err)
	}
	if err := e.client.Cancel(context.Background(), "zhangsan", id, "x"); err != nil {
		t.Fatalf("Cancel() retried = %v, want nil", err)
	}
	if got := live(e.fake.Bookings()); len(got) != 0 {
		t.Errorf("live bookings after cancel = %+v, want none", got)
	}
}

func TestOccupancy(t *testing.T) {
	tests := []struct {
		name         string
		opts         []seeyonfake.Option
		from, to     time.Time
		want         []string // descriptions
		wantNewCalls int      // getMeetingUserInfo
		wantOldCalls int      // getMeetingRoomApps
	}{
		{"three days", nil, at(-1, 0, 0), at(2, 0, 0), []string{"部门例会", "周会 [rb:a]", "A&B <通宵>"}, 0, 3},
		{"part of a day", nil, at(0, 14, 30), at(0, 23, 0), []string{"周会 [rb:a]", "A&B <通宵>"}, 0, 1},
		{"day after a midnight-spanning booking", nil, at(1, 0, 0), at(1, 12, 0), []string{"A&B <通宵>"}, 0, 1},
		{"older OA without getMeetingUserInfo", []seeyonfake.Option{seeyonfake.WithLegacyOccupancy()}, at(-1, 0, 0), at(2, 0, 0), []string{"部门例会", "周会 [rb:a]", "A&B <通宵>"}, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, tt.opts...)
			ids := map[string]string{
				"部门例会":       e.mustNative(t, roomDuowei, "lisi", at(-1, 9, 0), at(-1, 10, 0), "部门例会"),
				"周会 [rb:a]":  e.mustBook(t, "zhangsan", req(roomDuowei, at(0, 14, 0), at(0, 15, 0), "[rb:a]")),
				"A&B <通宵>":   e.mustNative(t, roomDuowei, "lisi", at(0, 22, 0), at(1, 2, 0), "A&B <通宵>"),
				"outside":    e.mustNative(t, roomDuowei, "lisi", at(2, 9, 0), at(2, 10, 0), "outside"),
				"other room": e.mustNative(t, roomBig, "lisi", at(0, 9, 0), at(0, 10, 0), "other room"),
				"cancelled":  e.mustNative(t, roomDuowei, "lisi", at(0, 16, 0), at(0, 17, 0), "cancelled"),
			}
			if err := e.fake.CancelNative(ids["cancelled"]); err != nil {
				t.Fatal(err)
			}
			var want []oa.Occupancy
			for _, b := range e.fake.Bookings() {
				for _, d := range tt.want {
					if b.Description == d {
						want = append(want, oa.Occupancy{AppID: b.AppID, RoomID: roomDuowei, Start: b.Start, End: b.End,
							Description: b.Description, ApplicantName: b.ApplicantName, Status: 1})
					}
				}
			}

			newBefore, oldBefore := e.fake.Calls("getMeetingUserInfo"), e.fake.Calls("getMeetingRoomApps")
			got, err := e.client.Occupancy(context.Background(), "zhangsan", roomDuowei, tt.from, tt.to)
			if err != nil {
				t.Fatalf("Occupancy() = %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Occupancy(%v, %v) (-want +got):\n%s", tt.from, tt.to, diff)
			}
			if n := e.fake.Calls("getMeetingUserInfo") - newBefore; n != tt.wantNewCalls {
				t.Errorf("getMeetingUserInfo calls = %d, want %d", n, tt.wantNewCalls)
			}
			if n := e.fake.Calls("getMeetingRoomApps") - oldBefore; n != tt.wantOldCalls {
				t.Errorf("getMeetingRoomApps calls = %d, want %d", n, tt.wantOldCalls)
			}
		})
	}
}

func TestOccupancyInvalid(t *testing.T) {
	tests := []struct {
		name     string
		room     string
		from, to time.Time
	}{
		{"room id not a number", "duowei", at(0, 0, 0), at(1, 0, 0)},
		{"empty range", roomDuowei, at(0, 0, 0), at(0, 0, 0)},
		{"more than 92 days", roomDuowei, at(0, 0, 0), at(100, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			if _, err := e.client.Occupancy(context.Background(), "zhangsan", tt.room, tt.from, tt.to); !errors.Is(err, models.ErrInvalid) {
				t.Errorf("Occupancy(%q, %v, %v) = %v, want ErrInvalid", tt.room, tt.from, tt.to, err)
			}
		})
	}
}

func TestMyBookingsPages(t *testing.T) {
	e := newEnv(t, nil)
	const n = 250
	want := make([]oa.Booking, 0, n)
	for i := range n {
		start := at(0, 0, 0).Add(time.Duration(i) * 30 * time.Minute)
		id := e.mustNative(t, roomBig, "zhangsan", start, start.Add(30*time.Minute), fmt.Sprintf("b%d", i))
		want = append(want, oa.Booking{AppID: id, RoomID: roomBig, RoomName: "大会议室", Start: start, End: start.Add(30 * time.Minute),
			Status: 1, ApplicantID: zhangsanID, ApplicantName: "张三", Description: fmt.Sprintf("b%d", i), Cancellable: true})
	}
	e.mustNative(t, roomDuowei, "lisi", at(0, 9, 0), at(0, 10, 0), "someone else's")
	gone := e.mustNative(t, roomDuowei, "zhangsan", at(0, 10, 0), at(0, 11, 0), "cancelled")
	if err := e.fake.CancelNative(gone); err != nil {
		t.Fatal(err)
	}

	got, err := e.client.MyBookings(context.Background(), "zhangsan", at(0, 0, 0), at(10, 0, 0))
	if err != nil {
		t.Fatalf("MyBookings() = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MyBookings() (-want +got):\n%s", diff)
	}
	if n := e.fake.Calls("getApplyMeemtingRooms"); n != 3 {
		t.Errorf("getApplyMeemtingRooms calls = %d, want 3 pages", n)
	}
}

func TestIDsRoundTrip(t *testing.T) {
	ids := []int64{9007199254740993, -2295828016161864200}
	var mu sync.Mutex
	next := func() int64 {
		mu.Lock()
		defer mu.Unlock()
		id := ids[0]
		ids = ids[1:]
		return id
	}
	e := newEnv(t, nil, seeyonfake.WithIDs(next))
	a := e.mustBook(t, "zhangsan", req(roomDuowei, at(0, 9, 0), at(0, 10, 0), "[rb:a]"))
	b := e.mustBook(t, "zhangsan", req(roomBig, at(0, 9, 0), at(0, 10, 0), "[rb:b]"))
	if a != "9007199254740993" || b != "-2295828016161864200" {
		t.Errorf("Book() ids = %s, %s, want 9007199254740993, -2295828016161864200", a, b)
	}

	mine, err := e.client.MyBookings(context.Background(), "zhangsan", at(0, 0, 0), at(1, 0, 0))
	if err != nil {
		t.Fatalf("MyBookings() = %v", err)
	}
	type ref struct{ App, Room, Applicant string }
	var got []ref
	for _, m := range mine {
		got = append(got, ref{m.AppID, m.RoomID, m.ApplicantID})
	}
	// Same start, so sorted by id.
	want := []ref{{b, roomBig, zhangsanID}, {a, roomDuowei, zhangsanID}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MyBookings() ids (-want +got):\n%s", diff)
	}

	occ, err := e.client.Occupancy(context.Background(), "lisi", roomBig, at(0, 0, 0), at(1, 0, 0))
	if err != nil || len(occ) != 1 || occ[0].AppID != b {
		t.Errorf("Occupancy(%s) = %+v, %v, want one booking %s", roomBig, occ, err, b)
	}

	rooms, err := e.client.Rooms(context.Background(), "zhangsan")
	if err != nil {
		t.Fatalf("Rooms() = %v", err)
	}
	wantRooms := []oa.Room{{roomDuowei, "多维缩放会议室", 30}, {roomBig, "大会议室", 12}, {roomRestricted, "董事会议室", 8}}
	if diff := cmp.Diff(wantRooms, rooms); diff != "" {
		t.Errorf("Rooms() (-want +got):\n%s", diff)
	}

	if err := e.client.Cancel(context.Background(), "zhangsan", a, "x"); err != nil {
		t.Fatalf("Cancel(%s) = %v", a, err)
	}
	if got := live(e.fake.Bookings()); len(got) != 1 || got[0].AppID != b {
		t.Errorf("live bookings after Cancel(%s) = %+v, want only %s", a, got, b)
	}
}

func TestOnCallSeesErrors(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.SetFault(seeyonfake.Fault{Endpoint: "getMeetingRooms", Kind: seeyonfake.FaultHTTP500, Times: 1})
	if _, err := e.client.Rooms(context.Background(), "zhangsan"); !errors.Is(err, models.ErrUnavailable) {
		t.Fatalf("Rooms() = %v, want ErrUnavailable", err)
	}
	if _, err := e.client.Rooms(context.Background(), "zhangsan"); err != nil {
		t.Fatalf("Rooms() = %v, want nil", err)
	}
	want := []string{"token", "meeting/getMeetingRooms!", "meeting/getMeetingRooms"}
	if diff := cmp.Diff(want, e.calls); diff != "" {
		t.Errorf("OnCall log (-want +got):\n%s", diff)
	}
}

func TestCancelledContext(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.client.MyBookings(ctx, "zhangsan", at(0, 0, 0), at(1, 0, 0))
	if !errors.Is(err, models.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("MyBookings(cancelled ctx) = %v, want ErrUnavailable wrapping context.Canceled", err)
	}
}
