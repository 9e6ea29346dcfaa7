package bridge

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"roombridge/models"
)

// gatedBackend holds every Create until the gate opens.
type gatedBackend struct {
	*memBackend
	entered chan struct{}
	gate    chan struct{}
}

func (b gatedBackend) Create(ctx context.Context, w Write) (string, error) {
	b.entered <- struct{}{}
	<-b.gate
	return b.memBackend.Create(ctx, w)
}

// TestHandedOverJobOfDeadProcessIsTakenAgain: a booking's job is stored leased to the
// instance that runs it at once; when that instance dies before recording the outcome,
// another instance takes the job once the lease has run out, and the booking reaches
// its backend once.
func TestHandedOverJobOfDeadProcessIsTakenAgain(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		dead := NewDispatcher(DispatcherConfig{Store: r.store, Backends: []Backend{r.oa, r.dt}, Routing: r.routing, Now: r.clock.Now,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Owner: "dead", Lease: time.Minute})
		// The instance dies between storing the booking and running its job: the
		// hand-over is reserved and the job stored leased, but never started.
		stop := dead.goLive(ctx, nil)
		h := dead.reserveHandOff()
		if h == nil {
			t.Fatal("reserveHandOff() = nil while the dispatcher is live")
		}
		job := models.Job{ReservationID: models.NewID(), Kind: models.JobCreate, Backend: models.BackendOA}
		h.lease(&job)
		b := models.Reservation{ID: job.ReservationID, UID: models.BridgeUID(job.ReservationID), RoomID: "duowei", Start: at(12, 10), End: at(12, 11),
			Title: "周会", OrganizerID: r.zhangsan.ID, Backend: models.BackendOA, Origin: models.OriginBridge, Status: models.StatusPending}
		if _, _, err := r.store.Book(ctx, b, []models.Job{job}, &models.AuditEntry{Actor: r.zhangsan.ID, Action: "book", ReservationID: b.ID}); err != nil {
			t.Fatal(err)
		}
		h.cancel()
		stop()

		// Another instance does not take a job whose lease is running...
		if n, err := r.disp.RunOnce(ctx); n != 0 || err != nil {
			t.Fatalf("RunOnce() while leased = %d, %v; want 0", n, err)
		}
		// ...and takes it once the lease has run out.
		r.clock.Add(time.Minute + time.Second)
		r.drain(t)
		if got := mustGet(t, r, b.ID); got.Status != models.StatusConfirmed {
			t.Fatalf("booking = %s, want confirmed", got.Status)
		}
		jobs, err := r.store.Jobs(ctx, b.ID)
		if err != nil || len(jobs) != 1 || jobs[0].State != models.JobDone || jobs[0].Attempts != 2 {
			t.Fatalf("jobs = %+v, %v; want one done at its second attempt", jobs, err)
		}
		if r.oa.creates != 1 || r.oa.count() != 1 {
			t.Errorf("OA creates = %d, bookings = %d; want 1, 1", r.oa.creates, r.oa.count())
		}
	})
}

// TestCancelWhileHandedOverJobRuns: a booking cancelled while its handed-over job is at
// the backend is released once the job is done: the cancel waits behind the create,
// and the dispatcher is told to look again when the create is over.
func TestCancelWhileHandedOverJobRuns(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		gated := gatedBackend{memBackend: r.oa, entered: make(chan struct{}), gate: make(chan struct{})}
		r.redispatch(DispatcherConfig{Backends: []Backend{gated, r.dt}})
		stop := r.disp.goLive(ctx, nil)
		b, err := r.svc.Book(ctx, r.zhangsan, req("duowei", at(12, 10), time.Hour), "")
		if err != nil {
			t.Fatal(err)
		}
		<-gated.entered
		if _, err := r.svc.Cancel(ctx, r.zhangsan, b.ID); err != nil {
			t.Fatal(err)
		}
		// A pass while the create runs finds the cancel waiting behind it.
		if n, err := r.disp.RunOnce(ctx); n != 0 || err != nil {
			t.Fatalf("RunOnce() while the create runs = %d, %v; want 0", n, err)
		}
		<-r.disp.wake
		close(gated.gate)
		stop()
		select {
		case <-r.disp.wake:
		default:
			t.Fatal("the dispatcher was not told to look again after the handed-over job")
		}
		r.drain(t)
		if got := mustGet(t, r, b.ID); got.Status != models.StatusCancelled {
			t.Errorf("booking = %s, want cancelled", got.Status)
		}
		if r.oa.creates != 1 || r.oa.cancels != 1 || r.oa.count() != 0 {
			t.Errorf("OA creates %d, cancels %d, bookings %d; want 1, 1, 0", r.oa.creates, r.oa.cancels, r.oa.count())
		}
	})
}

// TestRunConfirmsEachBookingOnce runs the dispatcher's loop as the server does: every
// booking is confirmed (its job handed over, or found in the outbox when the loop was
// not ready for it) and written to its backend once, and the loop ends cleanly with its
// context.
func TestRunConfirmsEachBookingOnce(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r.detector(t)
		ran := make(chan error, 1)
		go func() { ran <- r.disp.Run(ctx) }()
		var ids []string
		for i, room := range []string{"duowei", "sk-tianyuan", "sh-waitan", "duowei"} {
			b, err := r.svc.Book(ctx, r.zhangsan, req(room, at(12+i/3*6, 10+i), time.Hour), "")
			if err != nil {
				t.Fatalf("Book(%s) = %v", room, err)
			}
			got, err := r.svc.Wait(ctx, b.ID, 10*time.Second)
			if err != nil || got.Status != models.StatusConfirmed {
				t.Fatalf("Wait(%s) = %s, %v; want confirmed", b.ID, got.Status, err)
			}
			ids = append(ids, b.ID)
		}
		cancel()
		if err := <-ran; err != nil {
			t.Fatalf("Run() = %v", err)
		}
		for _, id := range ids {
			jobs, err := r.store.Jobs(context.Background(), id)
			if err != nil || len(jobs) != 1 || jobs[0].State != models.JobDone || jobs[0].Attempts != 1 || jobs[0].LockedBy != nil {
				t.Errorf("jobs of %s = %+v, %v; want one done at its first attempt, unleased", id, jobs, err)
			}
		}
		if r.oa.creates != 3 || r.dt.creates != 1 {
			t.Errorf("creates OA %d, DingTalk %d; want 3, 1", r.oa.creates, r.dt.creates)
		}
	})
}

// TestHandedOverJobAfterLostCommitAnswer: a booking whose transaction committed but
// whose answer was lost (the caller got an error) left its job stored leased to this
// instance with nobody to run it. The lease is let go, so the next pass runs the job
// without waiting for the lease to run out, and the booking reaches its backend once.
func TestHandedOverJobAfterLostCommitAnswer(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		r.redispatch(DispatcherConfig{Lease: time.Hour})
		stop := r.disp.goLive(ctx, nil)
		// The store's tracer runs on the goroutine that runs the statements: failing it
		// once right after the booking's COMMIT makes the commit happen and the booking
		// fail, as a connection lost before the commit's answer would.
		var failed atomic.Bool
		r.store.Trace(func(sql string) {
			if sql == "COMMIT" && failed.CompareAndSwap(false, true) {
				panic("connection lost before the commit's answer")
			}
		})
		_, err := r.svc.Book(ctx, r.zhangsan, req("duowei", at(12, 10), time.Hour), "")
		r.store.Trace(nil)
		if !failed.Load() || !errors.Is(err, models.ErrUnavailable) {
			t.Fatalf("Book() with the commit's answer lost = %v, want ErrUnavailable", err)
		}
		stop()
		stored, err := r.store.ChangedReservations(ctx, time.Time{})
		if err != nil || len(stored) != 1 || stored[0].Status != models.StatusPending {
			t.Fatalf("reservations after the lost answer = %+v, %v; want the booking, pending", stored, err)
		}
		select {
		case <-r.disp.wake:
		default:
			t.Error("the dispatcher was not told of the job left behind")
		}

		// The clock stands still: the job's lease (an hour) has not run out.
		r.drain(t)
		if got := mustGet(t, r, stored[0].ID); got.Status != models.StatusConfirmed {
			t.Fatalf("booking after the next pass = %s, want confirmed", got.Status)
		}
		jobs, err := r.store.Jobs(ctx, stored[0].ID)
		if err != nil || len(jobs) != 1 || jobs[0].State != models.JobDone || jobs[0].Attempts != 1 {
			t.Fatalf("jobs = %+v, %v; want one done at its first attempt", jobs, err)
		}
		if r.oa.creates != 1 || r.oa.count() != 1 {
			t.Errorf("OA creates = %d, bookings = %d; want 1, 1", r.oa.creates, r.oa.count())
		}
	})
}

// TestDispatcherYieldsToABurstOfBookings: while bookings arrive in a burst, the
// dispatcher runs one job at a time. A booking made alone is handed to a worker at once;
// during a burst, a booking whose job finds the one worker busy leaves the job to the
// outbox (stored without a lease) instead, and the outbox still runs every job.
func TestDispatcherYieldsToABurstOfBookings(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		gated := gatedBackend{memBackend: r.oa, entered: make(chan struct{}, 10), gate: make(chan struct{})}
		r.redispatch(DispatcherConfig{Backends: []Backend{gated, r.dt}})
		rooms := []string{"duowei", "sk-tianyuan", "sh-waitan"}
		book := func(start time.Time) []string {
			t.Helper()
			var ids []string
			for _, room := range rooms {
				b, err := r.svc.Book(ctx, r.zhangsan, req(room, start, time.Hour), "")
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, b.ID)
			}
			return ids
		}
		handedOver := func(id string) bool {
			t.Helper()
			jobs, err := r.store.Jobs(ctx, id)
			if err != nil || len(jobs) != 1 {
				t.Fatalf("Jobs(%s) = %+v, %v; want one", id, jobs, err)
			}
			return jobs[0].LockedBy != nil
		}

		// Bookings one at a time: each job is handed over (stored leased) while the
		// workers are free.
		stop := r.disp.goLive(ctx, nil)
		alone := book(at(12, 10))
		for _, id := range alone {
			if !handedOver(id) {
				t.Errorf("booking %s made alone: its job was left to the outbox, want handed over", id)
			}
		}
		// They run and are done before the next bookings come.
		for range alone {
			<-gated.entered
			gated.gate <- struct{}{}
		}
		for _, id := range alone {
			if got, err := r.svc.Wait(ctx, id, time.Minute); err != nil || got.Status != models.StatusConfirmed {
				t.Fatalf("Wait(%s) = %s, %v; want confirmed", id, got.Status, err)
			}
		}

		// The same while others are being written (a burst): the first job takes the
		// one worker, the others wait in the outbox.
		var done []func()
		for i := 0; i < burstBookings; i++ {
			done = append(done, r.disp.Booking())
		}
		burst := book(at(12, 14))
		for i, id := range burst {
			if got, want := handedOver(id), i == 0; got != want {
				t.Errorf("booking %d of %d during a burst: handed over = %v, want %v", i+1, len(burst), got, want)
			}
		}
		close(gated.gate)
		stop()
		// The outbox runs them during the burst all the same.
		r.drain(t)
		for _, f := range done {
			f()
		}
		for _, id := range append(alone, burst...) {
			if got := mustGet(t, r, id); got.Status != models.StatusConfirmed {
				t.Errorf("booking %s = %s, want confirmed", id, got.Status)
			}
		}
		if r.oa.creates != 6 {
			t.Errorf("OA creates = %d, want 6", r.oa.creates)
		}
	})
}
