package models_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// book stores r with one create job and returns it.
func book(t *testing.T, s *models.Store, r models.Reservation) models.Reservation {
	t.Helper()
	got, _, err := s.Book(context.Background(), r, []models.Job{{ReservationID: r.ID, Kind: models.JobCreate, Backend: r.Backend}}, nil)
	if err != nil {
		t.Fatalf("Book(%s) = %v", r.ID, err)
	}
	return got
}

// A create backing off while a cancel of the same reservation is queued: the cancel is
// due first but must wait for the create. With more such reservations than ClaimJobs
// looks at, the creates behind them must still be found.
func TestClaimJobsFindsEachReservationsFirstJob(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		const n = 40
		start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < n; i++ {
			book(t, s, res("duowei", start.Add(time.Duration(i)*time.Hour), time.Hour, models.BackendOA, models.OriginBridge))
		}
		claimed, err := s.ClaimJobs(ctx, "w1", time.Minute, n)
		if err != nil || len(claimed) != n {
			t.Fatalf("ClaimJobs() = %d jobs, %v; want %d", len(claimed), err, n)
		}
		for _, j := range claimed { // every create backs off for a minute
			if err := s.FinishJob(ctx, models.JobResult{Job: j, State: models.JobPending, NextAttemptAt: c.Now().Add(time.Minute), Error: "oa down"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Update(ctx, j.ReservationID, models.Change{Apply: func(r *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
				r.Status = models.StatusCancelled
				return []models.Job{{ReservationID: r.ID, Kind: models.JobCancel, Backend: r.Backend}}, nil, nil
			}}); err != nil {
				t.Fatal(err)
			}
		}
		c.Add(2 * time.Minute)
		got, err := s.ClaimJobs(ctx, "w1", time.Minute, 8)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 8 {
			t.Fatalf("ClaimJobs(limit 8) with %d creates due behind %d cancels = %d jobs, want 8", n, n, len(got))
		}
		for _, j := range got {
			if j.Kind != models.JobCreate {
				t.Errorf("ClaimJobs() claimed a %s job before its reservation's create", j.Kind)
			}
		}
	})
}

// Leases name their owner: the owner's heartbeat keeps a job, and a restarted owner
// takes back what it held without waiting for the lease, leaving others' jobs alone.
func TestJobLeaseOwnerHeartbeatAndRestart(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		book(t, s, res("duowei", start, time.Hour, models.BackendOA, models.OriginBridge))
		book(t, s, res("duowei", start.Add(time.Hour), time.Hour, models.BackendOA, models.OriginBridge))
		a, _ := s.ClaimJobs(ctx, "a", 10*time.Second, 1)
		b, _ := s.ClaimJobs(ctx, "b", 10*time.Second, 1)
		if len(a) != 1 || len(b) != 1 || a[0].ID == b[0].ID {
			t.Fatalf("ClaimJobs(a), ClaimJobs(b) = %v, %v; want one different job each", a, b)
		}
		c.Add(8 * time.Second)
		if n, err := s.RenewJobs(ctx, "a", []string{a[0].ID, b[0].ID}, 10*time.Second); err != nil || n != 1 {
			t.Fatalf("RenewJobs(a, both) = %d, %v; want 1 (only a's own job)", n, err)
		}
		c.Add(5 * time.Second) // b's lease ran out, a's was renewed
		got, _ := s.ClaimJobs(ctx, "c", 10*time.Second, 5)
		if len(got) != 1 || got[0].ID != b[0].ID {
			t.Fatalf("ClaimJobs(c) after b's lease ran out = %v, want b's job only", got)
		}
		// a restarts: its job is due again at once; c's stays c's.
		if n, err := s.ReleaseOwnedJobs(ctx, "a"); err != nil || n != 1 {
			t.Fatalf("ReleaseOwnedJobs(a) = %d, %v; want 1", n, err)
		}
		again, _ := s.ClaimJobs(ctx, "a", 10*time.Second, 5)
		if len(again) != 1 || again[0].ID != a[0].ID || again[0].Attempts != 2 {
			t.Fatalf("ClaimJobs(a) after its restart = %v, want its job back at attempt 2", again)
		}
	})
}

// A job stored leased for a hand-over that did not start is let go by its owner and
// claimed at once; one not stored, another owner's, or one claimed again since its
// lease ran out is left alone.
func TestReleaseHandOff(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		handOff := func() models.Job {
			r := res("duowei", start, time.Hour, models.BackendOA, models.OriginBridge)
			start = start.Add(time.Hour)
			until, owner := c.Now().Add(time.Minute), "a"
			j := models.Job{ID: models.NewID(), ReservationID: r.ID, Kind: models.JobCreate, Backend: r.Backend, State: models.JobPending,
				Attempts: 1, LockedUntil: &until, LockedBy: &owner, NextAttemptAt: c.Now(), CreatedAt: c.Now(), UpdatedAt: c.Now()}
			if _, _, err := s.Book(ctx, r, []models.Job{j}, nil); err != nil {
				t.Fatal(err)
			}
			return j
		}
		j := handOff()
		for _, tt := range []struct{ id, owner string }{{models.NewID(), "a"}, {j.ID, "b"}} {
			if ok, err := s.ReleaseHandOff(ctx, tt.id, tt.owner); ok || err != nil {
				t.Errorf("ReleaseHandOff(%s, %s) = %v, %v; want false", tt.id, tt.owner, ok, err)
			}
		}
		if got, _ := s.ClaimJobs(ctx, "b", 10*time.Second, 5); len(got) != 0 {
			t.Fatalf("ClaimJobs(b) while a holds the lease = %v, want none", got)
		}
		if ok, err := s.ReleaseHandOff(ctx, j.ID, "a"); !ok || err != nil {
			t.Fatalf("ReleaseHandOff(a) = %v, %v; want true", ok, err)
		}
		got, _ := s.ClaimJobs(ctx, "b", time.Hour, 5)
		if len(got) != 1 || got[0].ID != j.ID || got[0].Attempts != 1 {
			t.Fatalf("ClaimJobs(b) after the release = %+v, want the job at its first attempt", got)
		}

		// Its lease ran out and a took it again meanwhile (it runs now): not let go.
		k := handOff()
		c.Add(2 * time.Minute)
		if got, _ := s.ClaimJobs(ctx, "a", 10*time.Second, 5); len(got) != 1 || got[0].ID != k.ID {
			t.Fatalf("ClaimJobs(a) after the lease ran out = %+v, want the job", got)
		}
		if ok, err := s.ReleaseHandOff(ctx, k.ID, "a"); ok || err != nil {
			t.Errorf("ReleaseHandOff(a) of a job claimed again = %v, %v; want false", ok, err)
		}
	})
}

// Several workers claiming at once never get the same job.
func TestClaimJobsConcurrentWorkersNoOverlap(t *testing.T) {
	modelstest.Each(t, nil, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		const n = 120
		start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < n; i++ {
			book(t, s, res("duowei", start.Add(time.Duration(i)*time.Hour), time.Hour, models.BackendOA, models.OriginBridge))
		}
		var mu sync.Mutex
		seen := map[string]string{}
		var wg sync.WaitGroup
		for w := 0; w < 6; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				owner := fmt.Sprintf("w%d", w)
				for {
					jobs, err := s.ClaimJobs(ctx, owner, time.Hour, 4)
					if err != nil {
						t.Error(err)
						return
					}
					if len(jobs) == 0 {
						return
					}
					mu.Lock()
					for _, j := range jobs {
						if prev, dup := seen[j.ID]; dup {
							t.Errorf("job %s claimed by %s and %s", j.ID, prev, owner)
						}
						seen[j.ID] = owner
					}
					mu.Unlock()
				}
			}(w)
		}
		wg.Wait()
		if len(seen) != n {
			t.Errorf("workers claimed %d distinct jobs, want %d", len(seen), n)
		}
	})
}

func TestLeaseRow(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		acquire := func(holder string, want bool) {
			t.Helper()
			if got, err := s.AcquireLease(ctx, "sync-leader/oa", holder, 30*time.Second); err != nil || got != want {
				t.Fatalf("AcquireLease(%s) = %v, %v; want %v", holder, got, err, want)
			}
		}
		acquire("a", true)
		acquire("b", false)
		c.Add(20 * time.Second)
		acquire("a", true) // renewed
		c.Add(20 * time.Second)
		acquire("b", false)
		if h, _ := s.LeaseHolder(ctx, "sync-leader/oa"); h != "a" {
			t.Errorf("LeaseHolder() = %q, want a", h)
		}
		c.Add(11 * time.Second) // a stopped renewing: gone after one lease
		acquire("b", true)
		acquire("a", false)
		if err := s.ReleaseLease(ctx, "sync-leader/oa", "a"); err != nil { // not a's: no effect
			t.Fatal(err)
		}
		acquire("a", false)
		if err := s.ReleaseLease(ctx, "sync-leader/oa", "b"); err != nil {
			t.Fatal(err)
		}
		acquire("a", true)
	})
}

// waitForLockWait polls (bounded) until a transaction in s's database waits for a lock.
// If none shows within the bound (seen on a server busy with other tests' databases),
// the test goes on: the outcome is still checked, only the interleaving is not assured.
func waitForLockWait(t *testing.T, s *models.Store, release chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		err := s.SQL().QueryRow(`SELECT COUNT(*) FROM information_schema.INNODB_TRX t
			JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
			WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()`).Scan(&n)
		if err != nil {
			close(release)
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Log("no transaction was seen waiting for the lock within 10 s; checking the outcome anyway")
}

// A sync pass that read the backend before an admin cancelled a booking must not put
// the booking back when it writes after the cancel committed (MySQL: the rows a pass
// applies to are read locked).
func TestApplySyncKeepsCancelCommittedMeanwhile(t *testing.T) {
	c := newClock()
	s := modelstest.New(t, models.DialectMySQL, c.Now)
	ctx := context.Background()
	seeded(t, s)
	from, to := c.Now().Add(-time.Hour), c.Now().Add(30*24*time.Hour)
	start := c.Now().Add(48 * time.Hour)
	remote := models.Remote{RemoteID: "-7", RoomID: "duowei", Start: start, End: start.Add(time.Hour), Title: "原标题", Status: models.StatusConfirmed}
	opts := models.ApplyOptions{From: from, To: to, Rooms: []string{"duowei"}, ReadAt: c.Now()}
	if _, err := s.ApplySync(ctx, models.BackendOA, []models.Remote{remote}, opts); err != nil {
		t.Fatal(err)
	}
	imported, err := s.ReservationByRemote(ctx, models.BackendOA, "-7")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(time.Minute)
	opts.ReadAt = c.Now() // the next pass reads the backend now...
	c.Add(2 * time.Second)
	locked, release := make(chan struct{}), make(chan struct{})
	cancelled := make(chan error, 1)
	go func() { // ...while an admin cancels the booking
		_, err := s.Update(ctx, imported.ID, models.Change{Apply: func(r *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
			r.Status = models.StatusCancelled
			r.Sequence++
			close(locked)
			<-release
			return nil, nil, nil
		}})
		cancelled <- err
	}()
	<-locked
	remote.Title = "新标题" // the pass saw a change at the backend
	applied := make(chan error, 1)
	go func() {
		_, err := s.ApplySync(ctx, models.BackendOA, []models.Remote{remote}, opts)
		applied <- err
	}()
	waitForLockWait(t, s, release)
	close(release)
	if err := <-cancelled; err != nil {
		t.Fatalf("cancel = %v", err)
	}
	if err := <-applied; err != nil {
		t.Fatalf("ApplySync() = %v", err)
	}
	got, _ := s.Reservation(ctx, imported.ID)
	if got.Status != models.StatusCancelled {
		t.Errorf("after a pass that overlapped the cancel, status = %s, want cancelled", got.Status)
	}
}

// A reschedule holding a reservation and a booking of the same room must not deadlock:
// both take the room's lock first (MySQL).
func TestBookAndUpdateInOneRoomDoNotDeadlock(t *testing.T) {
	s := modelstest.New(t, models.DialectMySQL, nil)
	ctx := context.Background()
	seeded(t, s)
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	first := book(t, s, res("duowei", start, time.Hour, models.BackendOA, models.OriginBridge))
	locked, release := make(chan struct{}), make(chan struct{})
	moved := make(chan error, 1)
	go func() {
		_, err := s.Update(ctx, first.ID, models.Change{CheckRoom: true, Room: "duowei", Apply: func(r *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
			close(locked)
			<-release
			r.Start, r.End = start.Add(2*time.Hour), start.Add(3*time.Hour)
			return nil, nil, nil
		}})
		moved <- err
	}()
	<-locked
	booked := make(chan error, 1)
	go func() {
		r := res("duowei", start.Add(4*time.Hour), time.Hour, models.BackendOA, models.OriginBridge)
		_, _, err := s.Book(ctx, r, nil, nil)
		booked <- err
	}()
	waitForLockWait(t, s, release)
	close(release)
	if err := <-moved; err != nil {
		t.Errorf("reschedule = %v, want nil", err)
	}
	if err := <-booked; err != nil {
		t.Errorf("booking = %v, want nil", err)
	}
}

// Two processes writing the same database (the server and an operator command such as
// migrate-bookings): a transaction that reads before it writes must wait for the other
// writer, not fail with "database is locked", and no increment may be lost.
func TestTwoProcessesWriteTogether(t *testing.T) {
	c := newClock()
	modelstest.EachShared(t, c.Now, func(t *testing.T, s, other *models.Store) {
		ctx := context.Background()
		const each = 40
		var wg sync.WaitGroup
		errs := make(chan error, 2*each)
		for _, st := range []*models.Store{s, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					if _, err := st.AddState(ctx, models.BackendOA, "counter", 1); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("AddState from one of two processes: %v", err)
		}
		if got, err := s.State(ctx, models.BackendOA, "counter"); err != nil || got != fmt.Sprint(2*each) {
			t.Errorf("counter after %d increments from each process = %q, %v; want %d", each, got, err, 2*each)
		}
	})
}

// A sync pass compares the backend's answer with the table before its transaction:
// inside it, only the rows it changes (or cancels) are read, locked, so a pass over a
// large table holds the writer no longer than its changes take. The outcome is that
// of a pass judging every row inside the transaction.
func TestApplySyncReadsUnchangedRowsOutsideItsTransaction(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		from, to := c.Now().Add(-time.Hour), c.Now().Add(30*24*time.Hour)
		var remotes []models.Remote
		for i := 0; i < 40; i++ {
			start := c.Now().Add(time.Duration(24+i) * time.Hour)
			remotes = append(remotes, models.Remote{RemoteID: fmt.Sprint("-", i), RoomID: "duowei", Start: start, End: start.Add(time.Hour), Title: "周会", Status: models.StatusConfirmed})
		}
		opts := models.ApplyOptions{From: from, To: to, Rooms: []string{"duowei"}, ReadAt: c.Now()}
		if res, err := s.ApplySync(ctx, models.BackendOA, remotes, opts); err != nil || res.Created != 40 {
			t.Fatalf("first ApplySync() = %+v, %v; want 40 created", res, err)
		}
		c.Add(time.Minute)
		opts.ReadAt = c.Now()
		// One renamed, one gone, one new; the other 37 as they were.
		next := append([]models.Remote(nil), remotes[1:39]...)
		next[0].Title = "改名的周会"
		start := c.Now().Add(100 * time.Hour)
		next = append(next, models.Remote{RemoteID: "-new", RoomID: "duowei", Start: start, End: start.Add(time.Hour), Title: "新会", Status: models.StatusConfirmed})
		var (
			mu    sync.Mutex
			stmts []string
		)
		s.Trace(func(sql string) {
			mu.Lock()
			stmts = append(stmts, sql)
			mu.Unlock()
		})
		res, err := s.ApplySync(ctx, models.BackendOA, next, opts)
		s.Trace(nil)
		// remotes[0] is gone, remotes[39] too: both cancelled.
		if err != nil || res.Created != 1 || res.Updated != 1 || res.Cancelled != 2 {
			t.Fatalf("ApplySync() = %+v, %v; want 1 created, 1 updated, 2 cancelled", res, err)
		}
		in, window := false, 0
		for _, q := range stmts {
			switch {
			case q == "BEGIN":
				in = true
			case q == "COMMIT" || q == "ROLLBACK":
				in = false
			case strings.Contains(q, "remote_id IS NOT NULL"):
				window++
				if in {
					t.Errorf("the window is read inside the transaction: %s", q)
				}
			case in && strings.Contains(q, "FROM `reservations`") && strings.Contains(q, "id IN"):
				if n := strings.Count(q, "?"); n != 3 {
					t.Errorf("the transaction locks %d rows, want the 3 it changes: %s", n, q)
				}
			}
		}
		if window != 1 {
			t.Errorf("the window was read %d times, want once:\n%s", window, strings.Join(stmts, "\n"))
		}
		for i, want := range map[int]models.Status{0: models.StatusCancelled, 1: models.StatusConfirmed, 39: models.StatusCancelled} {
			r, err := s.ReservationByRemote(ctx, models.BackendOA, fmt.Sprint("-", i))
			if err != nil || r.Status != want {
				t.Errorf("-%d = %s, %v; want %s", i, r.Status, err, want)
			}
		}
	})
}
