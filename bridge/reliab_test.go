package bridge

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// poll checks cond until it holds, for at most 20 s.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A refused reschedule whose earlier jobs cannot be read must not be decided blindly
// (it might not re-book the old slot that was already released): it is retried.
func TestRefuseRetriesWhenJobsCannotBeRead(t *testing.T) {
	c := modelstest.NewClock(at(10, 10))
	s := modelstest.New(t, models.DialectSQLite, c.Now)
	r := newRig(t, s, c)
	ctx := context.Background()
	got, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 10), time.Hour), "")
	r.drain(t)
	before := mustGet(t, r, got.ID)
	prev := take(before)
	j := models.Job{ID: models.NewID(), ReservationID: got.ID, Kind: models.JobCreate, Backend: models.BackendDingTalk, Seq: 2, Attempts: 1}
	s.Close() // every read now fails
	res := r.disp.refuse(ctx, j, before, jobPayload{Prev: &prev}, errors.Join(models.ErrConflict, errors.New("room taken")))
	if res.State != models.JobPending || res.Update != nil || len(res.Drop) > 0 || len(res.Then) > 0 {
		t.Errorf("refuse() with unreadable jobs = state %s, update %v, drop %v, then %v; want a retry that changes nothing", res.State, res.Update != nil, res.Drop, res.Then)
	}
}

// An admin cannot cancel a DingTalk booking whose organiser has no DingTalk identity:
// DingTalk would refuse and the next sync would bring it back. The refusal says so and
// the booking stays as it is.
func TestCancelDingTalkBookingWithoutOrganizerIdentity(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		admin, _ := r.store.User(ctx, "admin")
		from, to := at(10, 0), at(30, 0)
		remotes := []models.Remote{
			{RemoteID: "ev-guest", RoomID: "duowei", Start: at(20, 9), End: at(20, 10), Title: "外部来访", OrganizerName: "访客", Status: models.StatusConfirmed},
			{RemoteID: "ev-zs", RoomID: "duowei", Start: at(20, 11), End: at(20, 12), Title: "组会", OrganizerID: "zhangsan", OrganizerName: "张三", Status: models.StatusConfirmed},
		}
		if _, err := r.store.ApplySync(ctx, models.BackendDingTalk, remotes, models.ApplyOptions{From: from, To: to, Rooms: []string{"duowei"}}); err != nil {
			t.Fatal(err)
		}
		guest, _ := r.store.ReservationByRemote(ctx, models.BackendDingTalk, "ev-guest")
		_, err := r.svc.Cancel(ctx, admin, guest.ID)
		var ue *models.Error
		if !errors.Is(err, models.ErrForbidden) || !errors.As(err, &ue) || ue.Code != "dingtalk_organizer_unknown" {
			t.Fatalf("Cancel(DingTalk booking of an organiser without DingTalk) = %v, want ErrForbidden dingtalk_organizer_unknown", err)
		}
		if got := mustGet(t, r, guest.ID); got.Status != models.StatusConfirmed {
			t.Errorf("after the refused cancel the booking is %s, want confirmed", got.Status)
		}
		zs, _ := r.store.ReservationByRemote(ctx, models.BackendDingTalk, "ev-zs")
		if got, err := r.svc.Cancel(ctx, admin, zs.ID); err != nil || got.Status != models.StatusCancelled {
			t.Errorf("Cancel(DingTalk booking of zhangsan) = %s, %v; want cancelled", got.Status, err)
		}
	})
}

// Two sync passes of one backend never run at once, whether from one process (the
// background loop and "sync now") or from two replicas: a second pass waits.
func TestSyncPassesDoNotOverlap(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		entered, hold := make(chan struct{}), make(chan struct{})
		src := &memSource{name: models.BackendDingTalk}
		src.during = func() {
			src.during = nil
			close(entered)
			<-hold
		}
		a := NewSyncer(SyncerConfig{Store: r.store, Source: src, Routing: r.routing, Now: r.clock.Now, Logger: log, Instance: "a"})
		b := NewSyncer(SyncerConfig{Store: r.store, Source: src, Routing: r.routing, Now: r.clock.Now, Logger: log, Instance: "b"})
		first := make(chan error, 1)
		go func() { _, err := a.Pass(ctx, false); first <- err }()
		<-entered
		for _, sy := range []*Syncer{a, b} {
			wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			_, err := sy.Pass(wctx, false)
			cancel()
			if err == nil {
				t.Errorf("a second pass (instance %s) ran while the first was running", sy.instance)
			}
		}
		src.mu.Lock()
		calls := src.calls
		src.mu.Unlock()
		if calls != 1 {
			t.Errorf("backend read %d times while one pass ran, want 1", calls)
		}
		close(hold)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		if _, err := b.Pass(ctx, false); err != nil {
			t.Errorf("pass after the first ended = %v", err)
		}
	})
}

// A replica takes over the background sync when the leader's lease runs out (it died
// without releasing it), and at once when the leader stops cleanly.
func TestSyncLeaderFailover(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		src := &memSource{name: models.BackendOA}
		lease := 2 * time.Second
		if ok, err := r.store.AcquireLease(ctx, "sync-leader/oa", "dead", lease); !ok || err != nil {
			t.Fatalf("AcquireLease(dead) = %v, %v", ok, err)
		}
		b := NewSyncer(SyncerConfig{Store: r.store, Source: src, Routing: r.routing, Now: r.clock.Now, Logger: log, Instance: "b", Lease: lease})
		bctx, stopB := context.WithCancel(ctx)
		bdone := make(chan error, 1)
		go func() { bdone <- b.Run(bctx) }()
		if b.Leader(ctx) {
			t.Fatal("b leads while the dead leader's lease runs")
		}
		r.clock.Add(lease + time.Second)
		poll(t, "b takes over after the lease", func() bool { return b.Leader(ctx) })
		poll(t, "the new leader syncs", func() bool { src.mu.Lock(); defer src.mu.Unlock(); return src.calls > 0 })

		c := NewSyncer(SyncerConfig{Store: r.store, Source: src, Routing: r.routing, Now: r.clock.Now, Logger: log, Instance: "c", Lease: lease})
		cctx, stopC := context.WithCancel(ctx)
		defer stopC()
		cdone := make(chan error, 1)
		go func() { cdone <- c.Run(cctx) }()
		stopB() // a clean stop hands over without waiting for the lease
		<-bdone
		poll(t, "c takes over after b stops", func() bool { return c.Leader(ctx) })
		stopC()
		<-cdone
	})
}

// The heartbeat keeps a long-running job leased to its worker past the lease, and a
// restarted instance takes back the jobs it held at once.
func TestDispatcherHeartbeatAndRestart(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		slow := &blockingBackend{memBackend: newMem(models.BackendOA), entered: make(chan struct{}), release: make(chan struct{})}
		lease := 3 * time.Second
		d1 := NewDispatcher(DispatcherConfig{Store: r.store, Backends: []Backend{slow}, Routing: r.routing, Now: r.clock.Now, Logger: log, Owner: "one", Lease: lease})
		d2 := NewDispatcher(DispatcherConfig{Store: r.store, Backends: []Backend{slow}, Routing: r.routing, Now: r.clock.Now, Logger: log, Owner: "two", Lease: lease})
		got, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(12, 10), time.Hour), "")
		ran := make(chan struct{})
		go func() { d1.RunOnce(ctx); close(ran) }()
		<-slow.entered
		jobs, _ := r.store.Jobs(ctx, got.ID)
		first := *jobs[0].LockedUntil
		r.clock.Add(2 * time.Second)
		poll(t, "the heartbeat renews the lease", func() bool {
			jobs, _ := r.store.Jobs(ctx, got.ID)
			return jobs[0].LockedUntil != nil && jobs[0].LockedUntil.After(first)
		})
		r.clock.Add(2 * time.Second) // past the first lease, within the renewed one
		if n, _ := d2.RunOnce(ctx); n != 0 {
			t.Errorf("another worker claimed %d jobs while the heartbeat kept them", n)
		}
		close(slow.release)
		<-ran
		if s := mustGet(t, r, got.ID); s.Status != models.StatusConfirmed {
			t.Fatalf("after the slow write: %s, want confirmed", s.Status)
		}

		// "one" dies holding a job; restarted, it takes the job back without waiting.
		again, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(13, 10), time.Hour), "")
		if jobs, err := r.store.ClaimJobs(ctx, "one", time.Hour, 10); err != nil || len(jobs) != 1 {
			t.Fatalf("ClaimJobs(one) = %d, %v", len(jobs), err)
		}
		if n, _ := d2.RunOnce(ctx); n != 0 {
			t.Fatalf("another instance ran a job leased to a dead one before its lease ran out")
		}
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- d1.Run(rctx) }()
		poll(t, "the restarted instance finishes its job", func() bool { return mustGet(t, r, again.ID).Status == models.StatusConfirmed })
		stop()
		<-done
	})
}

// blockingBackend holds its first Create until release closes.
type blockingBackend struct {
	*memBackend
	entered, release chan struct{}
	once             bool
}

func (b *blockingBackend) Create(ctx context.Context, w Write) (string, error) {
	if !b.once {
		b.once = true
		close(b.entered)
		<-b.release
	}
	return b.memBackend.Create(ctx, w)
}
