package bridge

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/bridge/dingtalk"
	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/models"
	"roombridge/models/modelstest"
)

// deltaEnv is a store with a catalog of rooms, the DingTalk fake over HTTP and a syncer
// that reads the operator's calendar by changes.
type deltaEnv struct {
	t      *testing.T
	clock  *modelstest.Clock
	store  *models.Store
	fake   *dingtalkfake.Server
	srv    *httptest.Server
	usage  *Usage
	syncer *Syncer
}

// newDeltaEnv builds the env on store s (a fresh SQLite store when nil) with rooms
// catalog rooms.
func newDeltaEnv(t *testing.T, rooms int) *deltaEnv {
	t.Helper()
	clock := modelstest.NewClock(time.Date(2026, 11, 2, 8, 0, 0, 0, shanghai))
	e := &deltaEnv{t: t, clock: clock, store: modelstest.New(t, models.DialectSQLite, clock.Now)}
	cat := models.Catalog{Users: []models.User{
		{ID: "svc", Name: "预订服务", DingTalkUserID: "svc"},
		{ID: "alice", Name: "Alice", DingTalkUserID: "alice"},
	}}
	office := models.Office{ID: "hq", Name: "总部"}
	var fakeRooms []dingtalkfake.Room
	for i := range rooms {
		id := fmt.Sprintf("room-%02d", i)
		office.Rooms = append(office.Rooms, models.Room{ID: id, Name: id, DingTalkRoomID: "dt-" + id})
		fakeRooms = append(fakeRooms, dingtalkfake.Room{ID: "dt-" + id, Name: id})
	}
	fakeRooms = append(fakeRooms, dingtalkfake.Room{ID: "dt-elsewhere", Name: "not in the catalog"})
	cat.Offices = []models.Office{office}
	if err := e.store.SyncCatalog(context.Background(), cat); err != nil {
		t.Fatal(err)
	}
	e.fake = dingtalkfake.New("key", "secret", fakeRooms, []dingtalkfake.User{
		{UserID: "svc", UnionID: "union-svc", Name: "预订服务"},
		{UserID: "alice", UnionID: "union-alice", Name: "Alice"},
	}, dingtalkfake.WithNow(clock.Now))
	e.srv = httptest.NewServer(e.fake)
	t.Cleanup(e.srv.Close)
	e.restart()
	return e
}

// restart builds a new client, adapter and syncer on the same store and fake, as a
// restarted process would.
func (e *deltaEnv) restart() {
	e.t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.usage = NewUsage(e.store, models.BackendDingTalk, 3000, shanghai, log)
	if err := e.usage.Load(context.Background(), e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
	client, err := dingtalk.New(dingtalk.Config{BaseURL: e.srv.URL, OAPIURL: e.srv.URL, AppKey: "key", AppSecret: "secret", Now: e.clock.Now,
		OnCall: func(api string, metered bool, err error) {
			if metered {
				e.usage.Record(e.clock.Now())
			}
		}})
	if err != nil {
		e.t.Fatal(err)
	}
	src := &DingTalk{Client: client, Store: e.store, Zone: shanghai, Log: log, Operator: "svc"}
	routing := models.NewRouting(shanghai, time.Date(2023, 4, 17, 0, 0, 0, 0, shanghai), time.Date(2023, 4, 16, 23, 0, 0, 0, shanghai))
	e.syncer = NewSyncer(SyncerConfig{Store: e.store, Source: src, Routing: routing, Now: e.clock.Now, Logger: log, Usage: e.usage, Plan: &SyncPlan{}})
}

func (e *deltaEnv) at(day, hour int) time.Time {
	return time.Date(2026, 11, day, hour, 0, 0, 0, shanghai)
}

// native books a room on organizer's calendar in DingTalk directly.
func (e *deltaEnv) native(organizer, room, title string, start time.Time) string {
	e.t.Helper()
	id, err := e.fake.AddNative(organizer, room, title, start, start.Add(time.Hour))
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// pass runs a delta pass and fails the test on an error.
func (e *deltaEnv) pass() models.SyncSummary {
	e.t.Helper()
	sum, err := e.syncer.DeltaPass(context.Background())
	if err != nil || sum.Skipped {
		e.t.Fatalf("DeltaPass() = %+v, %v", sum, err)
	}
	return sum
}

// held returns the reservations by remote id: room, start hour and status.
func (e *deltaEnv) held() map[string]string {
	e.t.Helper()
	rs, err := e.store.Reservations(context.Background(), models.Filter{From: e.at(1, 0), To: e.at(30, 0)})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rs {
		out[r.Remote()] = fmt.Sprintf("%s %s %s", r.RoomID, r.Start.In(shanghai).Format("02 15:04"), r.Status)
	}
	return out
}

func TestDeltaPassAfterFullRead(t *testing.T) {
	e := newDeltaEnv(t, 3)
	kept := e.native("union-svc", "dt-room-00", "Kept", e.at(3, 9))
	moved := e.native("union-svc", "dt-room-01", "Moved", e.at(3, 10))
	deleted := e.native("union-svc", "dt-room-02", "Deleted", e.at(3, 11))
	full := e.pass()
	if full.Created != 3 || !strings.Contains(full.Note, "1 read in full") {
		t.Fatalf("first DeltaPass() = %+v, want a full read creating 3", full)
	}

	created := e.native("union-svc", "dt-room-00", "Created", e.at(4, 9))
	if err := e.fake.MoveNative(moved, e.at(5, 14), e.at(5, 15)); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.CancelNative(deleted); err != nil {
		t.Fatal(err)
	}
	e.native("union-svc", "dt-elsewhere", "Not our room", e.at(4, 9))   // no catalog room: ignored
	e.native("union-alice", "dt-room-02", "Someone else's", e.at(4, 9)) // a calendar not followed
	calls := e.fake.MeteredCalls()
	sum := e.pass()
	if got := e.fake.MeteredCalls() - calls; got != 1 || sum.MeteredCalls != 1 {
		t.Errorf("DeltaPass() metered calls = %d (counted %d), want 1", got, sum.MeteredCalls)
	}
	if sum.Created != 1 || sum.Updated != 1 || sum.Cancelled != 1 || strings.Contains(sum.Note, "in full") {
		t.Errorf("DeltaPass() = %+v, want 1 created, 1 updated, 1 cancelled, read by changes", sum)
	}
	want := map[string]string{
		kept:    "room-00 03 09:00 confirmed",
		moved:   "room-01 05 14:00 confirmed",
		deleted: "room-02 03 11:00 cancelled",
		created: "room-00 04 09:00 confirmed",
	}
	if diff := cmp.Diff(want, e.held()); diff != "" {
		t.Errorf("reservations after the delta (-want +got):\n%s", diff)
	}
	if again := e.pass(); again.Seen != 0 || again.Created+again.Updated+again.Cancelled != 0 {
		t.Errorf("DeltaPass() with nothing changed = %+v, want nothing seen", again)
	}
}

func TestDeltaPassExpiredToken(t *testing.T) {
	e := newDeltaEnv(t, 2)
	first := e.native("union-svc", "dt-room-00", "First", e.at(3, 9))
	e.pass()
	e.fake.ExpireSyncTokens()
	second := e.native("union-svc", "dt-room-01", "Second", e.at(3, 10))
	sum := e.pass()
	if !strings.Contains(sum.Note, "read in full") || sum.Seen != 2 || sum.Created != 1 {
		t.Errorf("DeltaPass() with an expired token = %+v, want a full read seeing 2 and creating 1", sum)
	}
	if got := e.held(); len(got) != 2 || got[first] == "" || got[second] == "" {
		t.Errorf("reservations = %v, want %s and %s", got, first, second)
	}
	if after := e.pass(); strings.Contains(after.Note, "in full") || after.MeteredCalls != 1 {
		t.Errorf("DeltaPass() after the full read = %+v, want a delta of 1 call with the new token", after)
	}
}

func TestDeltaTokenSurvivesRestart(t *testing.T) {
	e := newDeltaEnv(t, 2)
	e.native("union-svc", "dt-room-00", "Before", e.at(3, 9))
	e.pass()
	tokens, err := e.store.SyncTokens(context.Background(), models.BackendDingTalk)
	if err != nil || tokens["union-svc"] == "" {
		t.Fatalf("SyncTokens() = %v, %v, want a token for union-svc", tokens, err)
	}
	e.restart()
	after := e.native("union-svc", "dt-room-01", "After", e.at(3, 10))
	sum := e.pass()
	if strings.Contains(sum.Note, "in full") || sum.Seen != 1 || sum.Created != 1 || sum.MeteredCalls != 1 {
		t.Errorf("DeltaPass() after a restart = %+v, want a 1-call delta seeing only %s", sum, after)
	}
}

func TestDeltaPass10kChangesWithin110Calls(t *testing.T) {
	e := newDeltaEnv(t, 50)
	e.pass() // the full read: nothing yet, and a token
	const n = 10000
	for i := range n {
		start := e.at(3, 0).Add(time.Duration(i/50) * time.Hour)
		e.native("union-svc", fmt.Sprintf("dt-room-%02d", i%50), "Bulk", start)
	}
	calls := e.fake.MeteredCalls()
	sum := e.pass()
	if got := e.fake.MeteredCalls() - calls; got > 110 || sum.Created != n {
		t.Errorf("DeltaPass() of %d changes = %d metered calls, created %d; want ≤ 110 calls creating all", n, got, sum.Created)
	}
}
