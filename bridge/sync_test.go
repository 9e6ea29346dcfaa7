package bridge

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// memSource is a backend's booking list for the syncer's own tests.
type memSource struct {
	name    models.Backend
	mu      sync.Mutex
	remotes []models.Remote
	calls   int
	usage   *Usage
	now     func() time.Time
	per     int
	// during runs while the backend is being read (a booking made mid-pass).
	during func()
}

func (m *memSource) Name() models.Backend { return m.name }

func (m *memSource) List(ctx context.Context, rooms []models.Room, from, to time.Time) ([]models.Remote, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.during != nil {
		m.mu.Unlock()
		m.during()
		m.mu.Lock()
	}
	if m.usage != nil {
		for i := 0; i < m.per; i++ {
			m.usage.Record(m.now())
		}
	}
	return append([]models.Remote(nil), m.remotes...), nil
}

func (m *memSource) CallsPerPass(rooms int, window time.Duration) int { return m.per }

func (m *memSource) set(rs ...models.Remote) { m.mu.Lock(); m.remotes = rs; m.mu.Unlock() }

func TestSyncPass(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		src := &memSource{name: models.BackendDingTalk}
		sy := NewSyncer(SyncerConfig{Store: r.store, Source: src, Routing: r.routing, Now: r.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		// A bridge booking, confirmed in DingTalk: sync must match it, not import it again.
		mine, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 10), time.Hour), "")
		r.drain(t)
		mineRemote := mustGet(t, r, mine.ID).Remote()
		native := models.Remote{RemoteID: "ev-native", RoomID: "duowei", Start: at(21, 9), End: at(21, 10), Title: "客户拜访, 三楼; 见面", OrganizerName: "李四", Status: models.StatusConfirmed}
		src.set(native, models.Remote{RemoteID: mineRemote, RoomID: "duowei", Start: at(20, 10), End: at(20, 11), Title: "project sync", Status: models.StatusConfirmed})
		r.clock.Add(time.Minute) // each pass reads the backend after the last change
		sum, err := sy.Pass(ctx, false)
		if err != nil || sum.Seen != 2 || sum.Created != 1 || sum.Updated != 0 {
			t.Fatalf("Pass() = %+v, %v; want 2 seen, 1 created", sum, err)
		}
		got, err := r.store.ReservationByRemote(ctx, models.BackendDingTalk, "ev-native")
		if err != nil || got.Origin != models.OriginNative || got.UID != models.NativeUID(models.BackendDingTalk, "ev-native") || got.Title != native.Title {
			t.Fatalf("native reservation = %+v, %v", got, err)
		}
		if all, _ := r.store.Reservations(ctx, models.Filter{}); len(all) != 2 {
			t.Errorf("after sync %d reservations, want 2 (the bridge booking once)", len(all))
		}
		// The booking now blocks the form's check.
		if _, err := r.svc.Book(ctx, r.lisi, req("duowei", at(21, 9), 30*time.Minute), ""); err == nil {
			t.Error("Book() over a synced native booking succeeded, want a conflict")
		}
		// Moved natively: times change and SEQUENCE rises.
		native.Start, native.End = at(21, 14), at(21, 15)
		src.set(native, models.Remote{RemoteID: mineRemote, RoomID: "duowei", Start: at(20, 10), End: at(20, 11), Status: models.StatusConfirmed})
		r.clock.Add(time.Minute) // each pass reads the backend after the last change
		if sum, _ := sy.Pass(ctx, false); sum.Updated != 1 {
			t.Errorf("Pass(after a move) updated %d, want 1", sum.Updated)
		}
		moved, _ := r.store.ReservationByRemote(ctx, models.BackendDingTalk, "ev-native")
		if !moved.Start.Equal(at(21, 14)) || moved.Sequence != 1 {
			t.Errorf("moved reservation = %s seq %d, want 14:00 seq 1", moved.Start, moved.Sequence)
		}
		// Cancelled natively: gone from the answer.
		src.set(models.Remote{RemoteID: mineRemote, RoomID: "duowei", Start: at(20, 10), End: at(20, 11), Status: models.StatusConfirmed})
		r.clock.Add(time.Minute) // each pass reads the backend after the last change
		if sum, _ := sy.Pass(ctx, false); sum.Cancelled != 1 {
			t.Errorf("Pass(after a native cancel) cancelled %d, want 1", sum.Cancelled)
		}
		gone, _ := r.store.ReservationByRemote(ctx, models.BackendDingTalk, "ev-native")
		if gone.Status != models.StatusCancelled || gone.Sequence != 2 {
			t.Errorf("cancelled reservation = %s seq %d, want cancelled seq 2", gone.Status, gone.Sequence)
		}
		// The backend suddenly answers nothing: the guard keeps both bookings.
		other := models.Remote{RemoteID: "ev-other", RoomID: "sk-tianyuan", Start: at(22, 9), End: at(22, 10), Title: "站会", Status: models.StatusConfirmed}
		src.set(other, models.Remote{RemoteID: mineRemote, RoomID: "duowei", Start: at(20, 10), End: at(20, 11), Status: models.StatusConfirmed})
		r.clock.Add(time.Minute) // each pass reads the backend after the last change
		if sum, _ := sy.Pass(ctx, false); sum.Created != 1 {
			t.Fatalf("Pass(another native booking) = %+v", sum)
		}
		src.set()
		r.clock.Add(time.Minute) // each pass reads the backend after the last change
		sum, _ = sy.Pass(ctx, false)
		if sum.Guarded != 2 || sum.Cancelled != 0 || mustGet(t, r, mine.ID).Status != models.StatusConfirmed {
			t.Errorf("Pass(empty answer) = %+v, want 2 guarded and nothing cancelled", sum)
		}
		r.clock.Add(time.Minute) // each pass reads the backend after the last change
		sum, _ = sy.Pass(ctx, true)
		if sum.Cancelled != 2 {
			t.Errorf("Pass(empty answer, forced) cancelled %d, want 2", sum.Cancelled)
		}
		runs, _ := r.store.SyncRuns(ctx, models.BackendDingTalk, 10)
		if len(runs) != 6 {
			t.Errorf("SyncRuns() = %d, want 6", len(runs))
		}
	})
}

func TestSyncOAFreeze(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		src := &memSource{name: models.BackendOA}
		sy := NewSyncer(SyncerConfig{Store: r.store, Source: src, Routing: r.routing, Now: r.clock.Now, Interval: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		src.set(models.Remote{RemoteID: "-9", RoomID: "duowei", Start: at(14, 10), End: at(14, 11), Title: "OA 会议", Status: models.StatusConfirmed})
		freeze := r.routing.Freeze[models.BackendOA]
		r.clock.Set(freeze.Add(-30 * time.Minute))
		if d := sy.NextInterval(ctx); d != 20*time.Minute {
			t.Errorf("NextInterval() 30 min before the freeze = %s, want 20m (the final pass 10 min before)", d)
		}
		r.clock.Set(freeze.Add(-5 * time.Minute))
		r.clock.Add(time.Minute) // each pass reads the backend after the last change
		if d := sy.NextInterval(ctx); d != time.Minute {
			t.Errorf("NextInterval() in the final minutes before the snapshot = %s, want a retry in 1m", d)
		}
		if sum, err := sy.Pass(ctx, false); err != nil || sum.Created != 1 {
			t.Fatalf("final Pass() = %+v, %v", sum, err)
		}
		if d := sy.NextInterval(ctx); d != 4*time.Minute {
			t.Errorf("NextInterval() after the final snapshot = %s, want to wait out the freeze (4m)", d)
		}
		r.clock.Set(freeze.Add(time.Hour))
		src.set()                // the OA is offline after the freeze
		r.clock.Add(time.Minute) // each pass reads the backend after the last change
		sum, err := sy.Pass(ctx, false)
		if err != nil || !sum.Skipped || src.calls != 1 {
			t.Errorf("Pass() after the freeze = %+v, %v with %d calls; want skipped without calling the OA", sum, err, src.calls)
		}
		if got, _ := r.store.ReservationByRemote(ctx, models.BackendOA, "-9"); got.Status != models.StatusConfirmed {
			t.Errorf("snapshot reservation = %s, want kept confirmed", got.Status)
		}
	})
}

func TestUsageStretchesInterval(t *testing.T) {
	s := modelstest.New(t, models.DialectSQLite, nil)
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai)
	tests := []struct {
		name     string
		budget   int
		used     int
		per      int
		base     time.Duration
		wantMin  time.Duration
		stretchd bool
	}{
		{"plenty of budget keeps the base", 1_000_000, 0, 30, 5 * time.Minute, 5 * time.Minute, false},
		{"default budget with 50 rooms stretches", 3000, 0, 30, 5 * time.Minute, 7 * time.Hour, true},
		{"half used stretches further", 3000, 1500, 30, 5 * time.Minute, 14 * time.Hour, true},
		{"exhausted waits for the month", 3000, 2990, 30, 5 * time.Minute, 29 * 24 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := NewUsage(s, models.Backend("test-"+tt.name), tt.budget, shanghai, nil)
			if err := u.Load(ctx, now); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < tt.used; i++ {
				u.Record(now)
			}
			got := u.Interval(ctx, now, tt.per, tt.base)
			if got < tt.wantMin || (got > tt.base) != tt.stretchd {
				t.Errorf("Interval(used %d, per %d) = %s, want ≥ %s (stretched %v)", tt.used, tt.per, got, tt.wantMin, tt.stretchd)
			}
			st := u.Status(now, tt.per, got)
			if tt.used < tt.budget-tt.per && st.Projected > tt.budget {
				t.Errorf("Status().Projected = %d, want ≤ budget %d", st.Projected, tt.budget)
			}
		})
	}
	// The count survives a restart.
	u := NewUsage(s, models.BackendDingTalk, 3000, shanghai, nil)
	_ = u.Load(ctx, now)
	for i := 0; i < 7; i++ {
		u.Record(now)
	}
	u.Flush(ctx, now)
	again := NewUsage(s, models.BackendDingTalk, 3000, shanghai, nil)
	_ = again.Load(ctx, now)
	if again.Count() != 7 {
		t.Errorf("Count() after reload = %d, want 7", again.Count())
	}
	_ = again.Load(ctx, now.AddDate(0, 1, 0))
	if again.Count() != 0 {
		t.Errorf("Count() in a new month = %d, want 0", again.Count())
	}
}

// A booking confirmed while a pass reads the backend is not in that answer; the pass
// must not take it for one cancelled natively.
func TestSyncLeavesMidPassBookingsAlone(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		src := &memSource{name: models.BackendDingTalk}
		sy := NewSyncer(SyncerConfig{Store: r.store, Source: src, Routing: r.routing, Now: r.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		var mid models.Reservation
		src.during = func() {
			mid, _ = r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 10), time.Hour), "")
			r.drain(t)
		}
		sum, err := sy.Pass(ctx, false)
		if err != nil || sum.Cancelled != 0 {
			t.Fatalf("Pass() = %+v, %v; want nothing cancelled", sum, err)
		}
		if got := mustGet(t, r, mid.ID); got.Status != models.StatusConfirmed {
			t.Errorf("booking made during the pass = %s, want confirmed", got.Status)
		}
	})
}

// A booking whose write has no recorded answer yet is not imported as a native one when
// the backend already lists it; and if sync imported it anyway, the write's outcome takes
// its id over and cancels the duplicate.
func TestSyncAndInFlightWrites(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		src := &memSource{name: models.BackendDingTalk}
		sy := NewSyncer(SyncerConfig{Store: r.store, Source: src, Routing: r.routing, Now: r.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		mine, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 10), time.Hour), "")
		src.set(models.Remote{RemoteID: "dingtalk-1", RoomID: "duowei", Start: at(20, 10), End: at(20, 11), Title: "项目周会", Status: models.StatusConfirmed})
		r.clock.Add(time.Minute)
		if sum, err := sy.Pass(ctx, false); err != nil || sum.Created != 0 {
			t.Fatalf("Pass() while the write is in flight = %+v, %v; want nothing imported", sum, err)
		}
		// Imported anyway (a listing that did not match the in-flight slot exactly): the
		// write's answer takes the id over and cancels the duplicate.
		remote := "dingtalk-1"
		if _, err := r.store.ApplySync(ctx, models.BackendDingTalk,
			[]models.Remote{{RemoteID: remote, RoomID: "sk-tianyuan", Start: at(25, 10), End: at(25, 11), Title: "x", Status: models.StatusConfirmed}},
			models.ApplyOptions{From: at(24, 0), To: at(26, 0), Rooms: []string{"sk-tianyuan"}}); err != nil {
			t.Fatal(err)
		}
		r.drain(t)
		got := mustGet(t, r, mine.ID)
		if got.Status != models.StatusConfirmed || got.Remote() != remote {
			t.Fatalf("bridge booking = %s %q, want confirmed with %s", got.Status, got.Remote(), remote)
		}
		all, _ := r.store.Reservations(ctx, models.Filter{Statuses: models.HoldingStatuses})
		if len(all) != 1 || all[0].ID != mine.ID {
			t.Errorf("holding reservations = %d, want only the bridge booking", len(all))
		}
	})
}

// A meeting that is over stays as it was when a later answer no longer lists it.
func TestSyncKeepsPastMeetings(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		src := &memSource{name: models.BackendOA}
		sy := NewSyncer(SyncerConfig{Store: r.store, Source: src, Routing: r.routing, Now: r.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		past := models.Remote{RemoteID: "-1", RoomID: "duowei", Start: at(9, 9), End: at(9, 10), Title: "昨天的会", Status: models.StatusConfirmed}
		future := models.Remote{RemoteID: "-2", RoomID: "duowei", Start: at(12, 9), End: at(12, 10), Title: "后天的会", Status: models.StatusConfirmed}
		src.set(past, future)
		r.clock.Add(time.Minute)
		if sum, err := sy.Pass(ctx, false); err != nil || sum.Created != 2 {
			t.Fatalf("Pass() = %+v, %v", sum, err)
		}
		src.set(future) // the OA's day list no longer reaches back to yesterday
		r.clock.Add(time.Minute)
		if sum, _ := sy.Pass(ctx, false); sum.Cancelled != 0 {
			t.Errorf("Pass() without the past meeting cancelled %d, want 0", sum.Cancelled)
		}
		if got, _ := r.store.ReservationByRemote(ctx, models.BackendOA, "-1"); got.Status != models.StatusConfirmed {
			t.Errorf("past meeting = %s, want it kept confirmed", got.Status)
		}
	})
}

// An event applied while a pass was reading (newer data) is not undone by the pass's
// older answer.
func TestSyncDoesNotUndoANewerEvent(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		src := &memSource{name: models.BackendDingTalk}
		sy := NewSyncer(SyncerConfig{Store: r.store, Source: src, Routing: r.routing, Now: r.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		old := models.Remote{RemoteID: "ev-1", RoomID: "duowei", Start: at(20, 9), End: at(20, 10), Title: "周会", Status: models.StatusConfirmed}
		src.set(old)
		r.clock.Add(time.Minute)
		if _, err := sy.Pass(ctx, false); err != nil {
			t.Fatal(err)
		}
		moved := old
		moved.Start, moved.End = at(20, 15), at(20, 16)
		src.during = func() { // the move arrives as an event while the next pass reads
			r.clock.Add(2 * time.Second)
			if _, err := r.store.ApplyRemote(ctx, models.BackendDingTalk, moved, r.clock.Now()); err != nil {
				t.Error(err)
			}
		}
		r.clock.Add(time.Minute)
		if _, err := sy.Pass(ctx, false); err != nil {
			t.Fatal(err)
		}
		got, _ := r.store.ReservationByRemote(ctx, models.BackendDingTalk, "ev-1")
		if !got.Start.Equal(moved.Start) || got.Sequence != 1 {
			t.Errorf("after a pass with an older answer: %s seq %d, want the event's %s seq 1", got.Start, got.Sequence, moved.Start)
		}
	})
}
