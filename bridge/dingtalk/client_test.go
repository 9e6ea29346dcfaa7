package dingtalk_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/bridge/dingtalk"
	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/models"
)

var cst = time.FixedZone("Asia/Shanghai", 8*3600)

// env is a Client wired to a fake DingTalk over real HTTP, with a fixed clock, a Sleep
// that only records, and an OnCall hook that counts.
type env struct {
	fake   *dingtalkfake.Server
	client *dingtalk.Client
	mk     func() (*dingtalk.Client, error)

	mu      sync.Mutex
	now     time.Time
	sleeps  []time.Duration
	metered int
}

func testUsers() []dingtalkfake.User {
	return []dingtalkfake.User{
		{UserID: "u-alice", UnionID: "union-alice", Name: "Alice"},
		{UserID: "u-bob", UnionID: "union-bob", Name: "Bob"},
		{UserID: "u-svc", UnionID: "union-svc", Name: "Room Service"},
	}
}

func testRooms(n int) []dingtalkfake.Room {
	rooms := make([]dingtalkfake.Room, n)
	for i := range rooms {
		rooms[i] = dingtalkfake.Room{ID: fmt.Sprintf("room-%02d", i+1), Name: fmt.Sprintf("会议室 %02d", i+1), Capacity: 4 + i}
	}
	return rooms
}

func newEnv(t *testing.T, rooms []dingtalkfake.Room, opts ...dingtalkfake.Option) *env {
	t.Helper()
	e := &env{now: time.Date(2026, 9, 1, 8, 0, 0, 0, cst)}
	clock := func() time.Time {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.now
	}
	e.fake = dingtalkfake.New("app-key", "app-secret", rooms, testUsers(), append([]dingtalkfake.Option{dingtalkfake.WithNow(clock)}, opts...)...)
	srv := httptest.NewServer(e.fake)
	t.Cleanup(srv.Close)
	t.Cleanup(e.fake.ClearFaults) // runs before srv.Close and frees any hung request
	e.mk = func() (*dingtalk.Client, error) {
		return dingtalk.New(dingtalk.Config{
			BaseURL:   srv.URL,
			OAPIURL:   srv.URL,
			AppKey:    "app-key",
			AppSecret: "app-secret",
			Now:       clock,
			Sleep: func(ctx context.Context, d time.Duration) error {
				e.mu.Lock()
				defer e.mu.Unlock()
				e.sleeps = append(e.sleeps, d)
				return ctx.Err()
			},
			OnCall: func(api string, metered bool, err error) {
				e.mu.Lock()
				defer e.mu.Unlock()
				if metered {
					e.metered++
				}
			},
		})
	}
	c, err := e.mk()
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	e.client = c
	t.Cleanup(func() {
		if got, want := e.meteredCalls(), e.fake.MeteredCalls(); got != want {
			t.Errorf("metered calls reported through OnCall = %d, want %d (the fake's count)", got, want)
		}
	})
	return e
}

// freshClient is a new Client on the same fake, as after a restart.
func (e *env) freshClient(t *testing.T) *dingtalk.Client {
	t.Helper()
	c, err := e.mk()
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return c
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

func (e *env) meteredCalls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.metered
}

func (e *env) recordedSleeps() []time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]time.Duration(nil), e.sleeps...)
}

func (e *env) at(hour, minute int) time.Time {
	return time.Date(2026, 9, 2, hour, minute, 0, 0, cst)
}

func (e *env) booking(key, room string, fromHour, toHour int) dingtalk.BookRequest {
	return dingtalk.BookRequest{
		Key:              key,
		OrganizerUnionID: "union-alice",
		Summary:          "Design review",
		Description:      "booked through the bridge",
		Start:            e.at(fromHour, 0),
		End:              e.at(toHour, 0),
		Zone:             cst,
		AttendeeUnionIDs: []string{"union-bob"},
		RoomID:           room,
		RoomName:         "会议室 " + strings.TrimPrefix(room, "room-"),
	}
}

// liveEvents returns the fake's events that are not cancelled.
func (e *env) liveEvents() []dingtalkfake.Event {
	var out []dingtalkfake.Event
	for _, ev := range e.fake.Events() {
		if ev.Status != dingtalkfake.StatusCancelled {
			out = append(out, ev)
		}
	}
	return out
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  dingtalk.Config
	}{
		{"no credentials", dingtalk.Config{}},
		{"base URL with path", dingtalk.Config{AppKey: "k", AppSecret: "s", BaseURL: "https://api.dingtalk.com/v1.0"}},
		{"base URL without scheme", dingtalk.Config{AppKey: "k", AppSecret: "s", BaseURL: "api.dingtalk.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := dingtalk.New(tt.cfg); !errors.Is(err, models.ErrInvalid) {
				t.Errorf("New(%+v) = %v, want an error wrapping ErrInvalid", tt.cfg, err)
			}
		})
	}
}

func TestBookRoom(t *testing.T) {
	e := newEnv(t, testRooms(3))
	ctx := context.Background()
	req := e.booking("bk-1", "room-02", 10, 11)

	id, err := e.client.BookRoom(ctx, req)
	if err != nil {
		t.Fatalf("BookRoom(%s) = %v, want nil", req.Key, err)
	}

	got, err := e.client.GetEvent(ctx, "union-alice", id)
	if err != nil {
		t.Fatalf("GetEvent(%s) = %v", id, err)
	}
	want := dingtalk.Event{
		ID:               id,
		Summary:          "Design review",
		Description:      "booked through the bridge",
		Status:           dingtalk.StatusConfirmed,
		Start:            req.Start,
		End:              req.End,
		OrganizerUnionID: "union-alice",
		OrganizerName:    "Alice",
		Rooms:            []dingtalk.EventRoom{{RoomID: "room-02", Name: "会议室 02", ResponseStatus: "accepted"}},
		UpdateTime:       time.Date(2026, 9, 1, 8, 0, 0, 0, cst),
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(time.Time.Equal)); diff != "" {
		t.Errorf("GetEvent(%s) mismatch (-want +got):\n%s", id, diff)
	}

	sched, err := e.client.RoomSchedules(ctx, "union-svc", []string{"room-02", "room-03"}, e.at(0, 0), e.at(23, 0))
	if err != nil {
		t.Fatalf("RoomSchedules() = %v", err)
	}
	wantSched := map[string][]dingtalk.ScheduleItem{
		"room-02": {{EventID: id, OrganizerUnionID: "union-alice", Status: "BUSY", Start: req.Start, End: req.End}},
		"room-03": nil,
	}
	if diff := cmp.Diff(wantSched, sched, cmp.Comparer(time.Time.Equal)); diff != "" {
		t.Errorf("RoomSchedules() mismatch (-want +got):\n%s", diff)
	}

	evs := e.liveEvents()
	if len(evs) != 1 || !cmp.Equal(evs[0].AttendeeUnionIDs, []string{"union-bob"}) || evs[0].Location != "会议室 02" {
		t.Errorf("fake events after BookRoom = %+v, want one event with attendee union-bob at 会议室 02", evs)
	}
}

func TestBookRoomConflict(t *testing.T) {
	e := newEnv(t, testRooms(3))
	ctx := context.Background()
	native, err := e.fake.AddNative("union-bob", "room-01", "Bob's 1:1", e.at(10, 30), e.at(11, 30))
	if err != nil {
		t.Fatalf("AddNative() = %v", err)
	}

	req := e.booking("bk-conflict", "room-01", 10, 11)
	id, err := e.client.BookRoom(ctx, req)
	if !errors.Is(err, models.ErrConflict) {
		t.Fatalf("BookRoom(%s) = %q, %v, want an error wrapping ErrConflict", req.Key, id, err)
	}
	for _, part := range []string{"meetingRoomNotAvailable", "requestid", "room-01"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("BookRoom(%s) error %q does not mention %q", req.Key, err, part)
		}
	}
	var statuses []string
	for _, ev := range e.fake.Events() {
		statuses = append(statuses, ev.ID+"="+ev.Status)
	}
	if live := e.liveEvents(); len(live) != 1 || live[0].ID != native {
		t.Errorf("live events after the conflict = %v, want only the native booking %s", statuses, native)
	}
	if n := len(e.fake.Events()); n != 2 {
		t.Errorf("events after the conflict = %v, want the native one and the deleted attempt", statuses)
	}
}

// TestBookRoomTransientFailures checks that retried failures end in exactly one event
// holding the room, with growing backoff.
func TestBookRoomTransientFailures(t *testing.T) {
	tests := []struct {
		name       string
		fault      dingtalkfake.Fault
		wantCalls  map[string]int
		wantSleeps int
	}{
		{
			name:       "create throttled twice",
			fault:      dingtalkfake.Fault{Kind: dingtalkfake.FaultThrottle, API: dingtalkfake.APICreateEvent, Times: 2},
			wantCalls:  map[string]int{dingtalkfake.APICreateEvent: 3, dingtalkfake.APIAddMeetingRooms: 1},
			wantSleeps: 2,
		},
		{
			name:       "room add answered 429 twice",
			fault:      dingtalkfake.Fault{Kind: dingtalkfake.FaultBusy, API: dingtalkfake.APIAddMeetingRooms, Times: 2},
			wantCalls:  map[string]int{dingtalkfake.APICreateEvent: 1, dingtalkfake.APIAddMeetingRooms: 3, dingtalkfake.APIGetEvent: 2},
			wantSleeps: 2,
		},
		{
			name:       "create answered 503 once",
			fault:      dingtalkfake.Fault{Kind: dingtalkfake.FaultServerError, API: dingtalkfake.APICreateEvent, Times: 1, Status: 503},
			wantCalls:  map[string]int{dingtalkfake.APICreateEvent: 2, dingtalkfake.APIAddMeetingRooms: 1},
			wantSleeps: 1,
		},
		{
			name:       "create still processing",
			fault:      dingtalkfake.Fault{Kind: dingtalkfake.FaultIdempotencyProcessing, API: dingtalkfake.APICreateEvent, Times: 1},
			wantCalls:  map[string]int{dingtalkfake.APICreateEvent: 2, dingtalkfake.APIAddMeetingRooms: 1},
			wantSleeps: 1,
		},
		{
			name:       "create answer lost",
			fault:      dingtalkfake.Fault{Kind: dingtalkfake.FaultLostAnswer, API: dingtalkfake.APICreateEvent, Times: 1},
			wantCalls:  map[string]int{dingtalkfake.APICreateEvent: 2, dingtalkfake.APIAddMeetingRooms: 1},
			wantSleeps: 1,
		},
		{
			// The retry reads the event, sees the room and does not add it again.
			name:       "room add answer lost",
			fault:      dingtalkfake.Fault{Kind: dingtalkfake.FaultLostAnswer, API: dingtalkfake.APIAddMeetingRooms, Times: 1},
			wantCalls:  map[string]int{dingtalkfake.APICreateEvent: 1, dingtalkfake.APIAddMeetingRooms: 1, dingtalkfake.APIGetEvent: 1},
			wantSleeps: 1,
		},
		{
			name:       "whole API throttled once",
			fault:      dingtalkfake.Fault{Kind: dingtalkfake.FaultThrottle, Times: 1},
			wantCalls:  map[string]int{dingtalkfake.APIGetAccessToken: 2, dingtalkfake.APICreateEvent: 1, dingtalkfake.APIAddMeetingRooms: 1},
			wantSleeps: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testRooms(2))
			e.fake.SetFault(tt.fault)
			req := e.booking("bk-"+strings.ReplaceAll(tt.name, " ", "-"), "room-01", 14, 15)

			id, err := e.client.BookRoom(context.Background(), req)
			if err != nil {
				t.Fatalf("BookRoom(%s) = %v, want nil", req.Key, err)
			}
			live := e.liveEvents()
			if len(live) != 1 || live[0].ID != id || !cmp.Equal(live[0].RoomIDs, []string{"room-01"}) {
				t.Errorf("fake events after BookRoom = %+v, want exactly event %s holding room-01", e.fake.Events(), id)
			}
			gotCalls := make(map[string]int)
			for api := range tt.wantCalls {
				gotCalls[api] = e.fake.Calls(api)
			}
			if diff := cmp.Diff(tt.wantCalls, gotCalls); diff != "" {
				t.Errorf("calls the fake received (-want +got):\n%s", diff)
			}
			sleeps := e.recordedSleeps()
			if len(sleeps) != tt.wantSleeps {
				t.Fatalf("backoff sleeps = %v, want %d", sleeps, tt.wantSleeps)
			}
			if sleeps[0] < time.Second || sleeps[0] >= 1500*time.Millisecond {
				t.Errorf("first backoff = %v, want 1s plus up to 50%% jitter", sleeps[0])
			}
			for i := 1; i < len(sleeps); i++ {
				if sleeps[i] <= sleeps[i-1] {
					t.Errorf("backoffs = %v, want each longer than the one before", sleeps)
				}
			}
		})
	}
}

// DingTalk may answer a repeated create with 409 invalidRequest.duplicateClientToken
// instead of the first answer: the booking looks the event up and completes, leaving
// exactly one event.
func TestBookRoomDuplicateClientToken(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault dingtalkfake.Fault
		twice bool // BookRoom is called again (an outbox retry)
	}{
		{"create answer lost, retried at once", dingtalkfake.Fault{Kind: dingtalkfake.FaultLostAnswer, API: dingtalkfake.APICreateEvent, Times: 1}, false},
		{"room add answer lost, job retried", dingtalkfake.Fault{Kind: dingtalkfake.FaultServerError, API: dingtalkfake.APIAddMeetingRooms, Times: 5}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testRooms(2), dingtalkfake.WithDuplicateTokenConflicts())
			e.fake.SetFault(tt.fault)
			req := e.booking("bk-dup", "room-01", 14, 15)
			id, err := e.client.BookRoom(context.Background(), req)
			if tt.twice {
				if !errors.Is(err, models.ErrUnavailable) {
					t.Fatalf("first BookRoom() = %v, want ErrUnavailable", err)
				}
				// A new process (no memory of the key) retries the job.
				e.client = e.freshClient(t)
				id, err = e.client.BookRoom(context.Background(), req)
			}
			if err != nil {
				t.Fatalf("BookRoom() = %v, want nil", err)
			}
			live := e.liveEvents()
			if len(live) != 1 || live[0].ID != id || !cmp.Equal(live[0].RoomIDs, []string{"room-01"}) {
				t.Errorf("fake events = %+v, want exactly event %s holding room-01", e.fake.Events(), id)
			}
		})
	}
}

func TestBookRoomGivesUpAfterMaxAttempts(t *testing.T) {
	e := newEnv(t, testRooms(1))
	e.fake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultServerError, API: dingtalkfake.APICreateEvent})

	_, err := e.client.BookRoom(context.Background(), e.booking("bk-down", "room-01", 9, 10))
	if !errors.Is(err, models.ErrUnavailable) || dingtalk.IsQuotaExhausted(err) {
		t.Fatalf("BookRoom() = %v, want ErrUnavailable that is not quota exhaustion", err)
	}
	if got := e.fake.Calls(dingtalkfake.APICreateEvent); got != 5 {
		t.Errorf("create calls = %d, want 5 (the default MaxAttempts)", got)
	}
	sleeps := e.recordedSleeps()
	if len(sleeps) != 4 {
		t.Fatalf("backoff sleeps = %v, want 4", sleeps)
	}
	for i := 1; i < len(sleeps); i++ {
		if sleeps[i] <= sleeps[i-1] {
			t.Errorf("backoffs = %v, want each longer than the one before", sleeps)
		}
	}
}

func TestBookRoomNotRetried(t *testing.T) {
	tests := []struct {
		name      string
		fault     *dingtalkfake.Fault
		mutate    func(*dingtalk.BookRequest)
		wantKind  error
		wantQuota bool
		wantLive  int
	}{
		{
			name:      "monthly quota exhausted",
			fault:     &dingtalkfake.Fault{Kind: dingtalkfake.FaultQuotaExhausted, API: dingtalkfake.APICreateEvent},
			wantKind:  models.ErrUnavailable,
			wantQuota: true,
		},
		{
			name:     "unknown room",
			mutate:   func(r *dingtalk.BookRequest) { r.RoomID = "room-99" },
			wantKind: models.ErrInvalid,
		},
		{
			name:     "organiser outside the app's scope",
			mutate:   func(r *dingtalk.BookRequest) { r.OrganizerUnionID = "union-stranger" },
			wantKind: models.ErrForbidden,
		},
		{
			name:     "end before start",
			mutate:   func(r *dingtalk.BookRequest) { r.End = r.Start.Add(-time.Hour) },
			wantKind: models.ErrInvalid,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testRooms(1))
			if tt.fault != nil {
				e.fake.SetFault(*tt.fault)
			}
			req := e.booking("bk-x", "room-01", 9, 10)
			if tt.mutate != nil {
				tt.mutate(&req)
			}
			_, err := e.client.BookRoom(context.Background(), req)
			if !errors.Is(err, tt.wantKind) {
				t.Fatalf("BookRoom() = %v, want an error wrapping %v", err, tt.wantKind)
			}
			if got := dingtalk.IsQuotaExhausted(err); got != tt.wantQuota {
				t.Errorf("IsQuotaExhausted(%v) = %v, want %v", err, got, tt.wantQuota)
			}
			if sleeps := e.recordedSleeps(); len(sleeps) != 0 {
				t.Errorf("backoff sleeps = %v, want none", sleeps)
			}
			if calls := e.fake.Calls(dingtalkfake.APICreateEvent); calls > 1 {
				t.Errorf("create calls = %d, want at most 1", calls)
			}
			if live := e.liveEvents(); len(live) != tt.wantLive {
				t.Errorf("live events = %+v, want %d", live, tt.wantLive)
			}
		})
	}
}

func TestBookRoomSameKeyTwice(t *testing.T) {
	e := newEnv(t, testRooms(1))
	ctx := context.Background()
	req := e.booking("bk-twice", "room-01", 9, 10)
	first, err := e.client.BookRoom(ctx, req)
	if err != nil {
		t.Fatalf("BookRoom(%s) = %v", req.Key, err)
	}
	second, err := e.client.BookRoom(ctx, req)
	if err != nil || second != first {
		t.Fatalf("BookRoom(%s) again = %q, %v, want %q, nil", req.Key, second, err, first)
	}
	if live := e.liveEvents(); len(live) != 1 {
		t.Errorf("live events = %+v, want 1", live)
	}
	if got := e.fake.Calls(dingtalkfake.APIAddMeetingRooms); got != 1 {
		t.Errorf("room add calls = %d, want 1: the retry should see the room on the event", got)
	}
}

func TestTokenRefresh(t *testing.T) {
	tests := []struct {
		name        string
		fault       dingtalkfake.Fault
		wantErr     error
		wantTokens  int
		wantCreates int
	}{
		{"expired once", dingtalkfake.Fault{Kind: dingtalkfake.FaultTokenExpired, API: dingtalkfake.APICreateEvent, Times: 1}, nil, 2, 2},
		{"rejected again after refresh", dingtalkfake.Fault{Kind: dingtalkfake.FaultTokenExpired, API: dingtalkfake.APICreateEvent}, models.ErrForbidden, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testRooms(1))
			e.fake.SetFault(tt.fault)
			_, err := e.client.BookRoom(context.Background(), e.booking("bk-token", "room-01", 9, 10))
			if (tt.wantErr == nil && err != nil) || !errors.Is(err, tt.wantErr) {
				t.Fatalf("BookRoom() = %v, want %v", err, tt.wantErr)
			}
			if got := e.fake.Calls(dingtalkfake.APIGetAccessToken); got != tt.wantTokens {
				t.Errorf("token requests = %d, want %d", got, tt.wantTokens)
			}
			if got := e.fake.Calls(dingtalkfake.APICreateEvent); got != tt.wantCreates {
				t.Errorf("create calls = %d, want %d", got, tt.wantCreates)
			}
			if sleeps := e.recordedSleeps(); len(sleeps) != 0 {
				t.Errorf("backoff sleeps = %v, want none for a token refresh", sleeps)
			}
		})
	}
}

func TestTokenCachedUntilExpiry(t *testing.T) {
	e := newEnv(t, testRooms(1))
	ctx := context.Background()
	for i := range 3 {
		if _, err := e.client.Rooms(ctx, "union-svc"); err != nil {
			t.Fatalf("Rooms() #%d = %v", i, err)
		}
	}
	if got := e.fake.Calls(dingtalkfake.APIGetAccessToken); got != 1 {
		t.Errorf("token requests after 3 calls = %d, want 1", got)
	}
	e.advance(2 * time.Hour) // past the 7200 s lifetime minus the margin
	if _, err := e.client.Rooms(ctx, "union-svc"); err != nil {
		t.Fatalf("Rooms() after expiry = %v", err)
	}
	if got := e.fake.Calls(dingtalkfake.APIGetAccessToken); got != 2 {
		t.Errorf("token requests after expiry = %d, want 2", got)
	}
}

func TestCancelBooking(t *testing.T) {
	e := newEnv(t, testRooms(1))
	ctx := context.Background()
	req := e.booking("bk-cancel", "room-01", 9, 10)
	id, err := e.client.BookRoom(ctx, req)
	if err != nil {
		t.Fatalf("BookRoom() = %v", err)
	}

	e.fake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultLostAnswer, API: dingtalkfake.APIDeleteEvent, Times: 1})
	if err := e.client.CancelBooking(ctx, "bk-cancel", "union-alice", id, "room-01"); err != nil {
		t.Fatalf("CancelBooking(%s) = %v, want nil", id, err)
	}
	if live := e.liveEvents(); len(live) != 0 {
		t.Errorf("live events after cancel = %+v, want none", live)
	}
	sched, err := e.client.RoomSchedules(ctx, "union-svc", []string{"room-01"}, e.at(0, 0), e.at(23, 0))
	if err != nil || len(sched["room-01"]) != 0 {
		t.Errorf("RoomSchedules() after cancel = %v, %v, want room-01 free", sched, err)
	}
	if _, err := e.client.GetEvent(ctx, "union-alice", id); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("GetEvent(%s) after cancel = %v, want ErrNotFound", id, err)
	}

	// A second cancel, with a new key, finds the event gone and succeeds.
	if err := e.client.CancelBooking(ctx, "bk-cancel-again", "union-alice", id, "room-01"); err != nil {
		t.Errorf("CancelBooking(%s) of a cancelled event = %v, want nil", id, err)
	}
}

func TestWrongCredentials(t *testing.T) {
	e := newEnv(t, testRooms(1))
	srv := httptest.NewServer(e.fake)
	t.Cleanup(srv.Close)
	c, err := dingtalk.New(dingtalk.Config{
		BaseURL: srv.URL, OAPIURL: srv.URL, AppKey: "app-key", AppSecret: "wrong",
		Sleep: func(ctx context.Context, d time.Duration) error {
			t.Errorf("Sleep(%v) called, want no retry for wrong credentials", d)
			return nil
		},
	})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	if _, err := c.Rooms(context.Background(), "union-svc"); !errors.Is(err, models.ErrForbidden) || !strings.Contains(err.Error(), "invalidClientIdOrSecret") {
		t.Errorf("Rooms() with a wrong secret = %v, want ErrForbidden naming invalidClientIdOrSecret", err)
	}
}
