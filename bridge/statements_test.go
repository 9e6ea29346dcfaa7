package bridge

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"roombridge/models"
)

// statementLog collects the statements a store runs (see models.Store.Trace).
type statementLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *statementLog) add(sql string) {
	l.mu.Lock()
	l.lines = append(l.lines, sql)
	l.mu.Unlock()
}

// take returns what was collected since the last take and starts afresh.
func (l *statementLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.lines
	l.lines = nil
	return out
}

// TestStatementsPerBooking counts the statements (BEGIN and COMMIT included) one
// booking costs from the request to its confirmed answer: the booking transaction, the
// dispatcher's reads and record of the outcome, the look for conflicts after it and
// the waiting request's read. Each statement is a round trip on MySQL and a parse on
// SQLite, and, the backend's own time aside, they are most of what the bridge adds to
// a booking. A job handed over to the running dispatcher needs no claim and no reads of
// what its booking already holds; one found in the outbox (after a restart, say) is
// claimed and read.
func TestStatementsPerBooking(t *testing.T) {
	for _, tc := range []struct {
		name   string
		start  time.Time
		want   models.Backend
		handed bool
		most   int
	}{
		{"oa handed over", at(12, 10), models.BackendOA, true, 21},
		{"dingtalk handed over", at(18, 10), models.BackendDingTalk, true, 21},
		{"oa through the outbox", at(12, 10), models.BackendOA, false, 26},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachRig(t, func(t *testing.T, r *rig) {
				ctx := context.Background()
				// As the server runs it: conflicts are looked for after every job.
				r.detector(t)
				// The catalog the process keeps is read once, not per booking.
				if _, err := r.store.CatalogView(ctx); err != nil {
					t.Fatal(err)
				}
				var stmts statementLog
				r.store.Trace(stmts.add)
				defer r.store.Trace(nil)
				for i, room := range []string{"duowei", "sk-tianyuan", "sh-waitan"} {
					stmts.take()
					later := newDetections()
					stop := func() {}
					if tc.handed {
						stop = r.disp.goLive(ctx, later)
					}
					b, err := r.svc.Book(ctx, r.zhangsan, req(room, tc.start.Add(time.Duration(i)*time.Hour), time.Hour), "")
					if err != nil {
						t.Fatalf("Book(%s) = %v", room, err)
					}
					if !tc.handed {
						r.drain(t)
					}
					got, err := r.svc.Wait(ctx, b.ID, 10*time.Second)
					if err != nil || got.Status != models.StatusConfirmed || got.Backend != tc.want {
						t.Fatalf("Wait(%s) = %s at %s, %v; want confirmed at %s", b.ID, got.Status, got.Backend, err, tc.want)
					}
					stop()
					if ids := later.take(); len(ids) > 0 {
						r.disp.detect(ctx, ids)
					} else if tc.handed {
						t.Fatalf("the handed-over job left nothing to look for conflicts around")
					}
					most := tc.most
					if lines := stmts.take(); len(lines) > most {
						t.Errorf("booking in %s: %d statements, want at most %d:\n%s", room, len(lines), most, strings.Join(lines, "\n"))
					}
				}
				backend := r.oa
				if tc.want == models.BackendDingTalk {
					backend = r.dt
				}
				if got := backend.creates; got != 3 {
					t.Errorf("%s got %d writes, want 3", tc.want, got)
				}
			})
		})
	}
}

// importingBackend is a backend whose booking sync imports (as a native reservation)
// before the bridge records the write's answer. It lists the booking a minute longer
// than asked (a booking listed exactly as one in flight is left for later by sync).
type importingBackend struct {
	*memBackend
	store *models.Store
}

func (b importingBackend) Create(ctx context.Context, w Write) (string, error) {
	id, err := b.memBackend.Create(ctx, w)
	if err != nil {
		return id, err
	}
	r := w.Reservation
	_, err = b.store.ApplySync(ctx, b.name, []models.Remote{{RemoteID: id, RoomID: r.RoomID, Start: r.Start, End: r.End.Add(time.Minute), Title: r.Title,
		OrganizerName: "张三", Status: models.StatusConfirmed}}, models.ApplyOptions{From: r.Start, To: r.End.Add(time.Minute), Rooms: []string{r.RoomID}})
	return id, err
}

// TestAnswerAfterSyncImportedIt: when sync imports a booking before the bridge has
// recorded the backend's answer for it, the imported copy gives up the backend id to
// the bridge's reservation and is cancelled, and nothing else is touched.
func TestAnswerAfterSyncImportedIt(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		other, err := r.svc.Book(ctx, r.lisi, req("duowei", at(12, 8), time.Hour), "")
		if err != nil {
			t.Fatal(err)
		}
		r.drain(t)
		r.redispatch(DispatcherConfig{Backends: []Backend{importingBackend{memBackend: r.oa, store: r.store}, r.dt}})
		r.detector(t)
		b, err := r.svc.Book(ctx, r.zhangsan, req("duowei", at(12, 10), time.Hour), "")
		if err != nil {
			t.Fatal(err)
		}
		r.drain(t)
		got := mustGet(t, r, b.ID)
		if got.Status != models.StatusConfirmed || got.Remote() == "" {
			t.Fatalf("booking = %s, remote %q; want confirmed with the backend id", got.Status, got.Remote())
		}
		copies, err := r.store.Reservations(ctx, models.Filter{RoomIDs: []string{"duowei"}, Origin: models.OriginNative})
		if err != nil || len(copies) != 1 {
			t.Fatalf("native reservations = %d, %v; want the imported copy", len(copies), err)
		}
		if c := copies[0]; c.Status != models.StatusCancelled || c.RemoteID != nil {
			t.Errorf("imported copy = %s, remote %v; want cancelled without the id", c.Status, c.RemoteID)
		}
		if o := mustGet(t, r, other.ID); o.Status != models.StatusConfirmed || o.Remote() == "" {
			t.Errorf("other booking = %s, remote %q; want it untouched", o.Status, o.Remote())
		}
		trail, err := r.store.Audit(ctx, b.ID)
		if err != nil || len(trail) != 2 || trail[1].Action != "confirmed" || trail[1].Seq != 1 {
			t.Errorf("audit = %+v, %v; want book then confirmed", trail, err)
		}
		conflicts, err := r.store.Conflicts(ctx, models.ConflictFilter{})
		if err != nil || len(conflicts) != 0 {
			t.Errorf("conflicts = %+v, %v; want none (the copy is the booking itself)", conflicts, err)
		}
	})
}

// TestOutboxPassReadsForAllItsJobs: a pass of the outbox reads what its jobs need (the
// reservations, their rooms and organizers) once for all of them, not per job, for
// bookings and their late-outcome notifications alike.
func TestOutboxPassReadsForAllItsJobs(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		// One worker: each job's statements come in one piece (two a pass).
		r.redispatch(DispatcherConfig{Backoff: func(int) time.Duration { return time.Minute }, Workers: 1,
			Notify: &NotifyConfig{Notifier: anyNotice{}, After: time.Second}})
		var ids []string
		for i, room := range []string{"duowei", "sk-tianyuan", "sh-waitan", "sk-xiaoyao"} {
			b, err := r.svc.Book(ctx, r.zhangsan, req(room, at(12, 10).Add(time.Duration(i)*time.Hour), time.Hour), "")
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, b.ID)
		}
		// Sent later than the form waits: each outcome queues a notification.
		r.clock.Add(time.Minute)
		var stmts statementLog
		r.store.Trace(stmts.add)
		defer r.store.Trace(nil)
		jobs := 0
		for pass := 1; ; pass++ {
			stmts.take()
			n, err := r.disp.RunOnce(ctx)
			if err != nil {
				t.Fatalf("pass %d: RunOnce() = %v", pass, err)
			}
			if n == 0 {
				break
			}
			jobs += n
			inTx := false // a job's outcome reads its reservation again in its transaction
			for _, q := range stmts.take() {
				switch q {
				case "BEGIN":
					inTx = true
				case "COMMIT", "ROLLBACK":
					inTx = false
				}
				for _, one := range []string{"FROM `reservations` WHERE id = ?", "FROM `rooms` WHERE id = ?", "FROM `users` WHERE id = ?"} {
					if !inTx && strings.Contains(q, one) {
						t.Errorf("pass %d of %d jobs read one row a job: %s", pass, n, q)
					}
				}
			}
		}
		if jobs != 2*len(ids) {
			t.Errorf("passes ran %d jobs, want %d (bookings and notifications)", jobs, 2*len(ids))
		}
		for _, id := range ids {
			if got := mustGet(t, r, id); got.Status != models.StatusConfirmed {
				t.Errorf("booking %s = %s, want confirmed", id, got.Status)
			}
			trail, err := r.store.Audit(ctx, id)
			if err != nil || len(trail) != 3 || trail[2].Action != "notified" {
				t.Errorf("audit of %s = %+v, %v; want book, confirmed, notified", id, trail, err)
			}
		}
	})
}

// anyNotice takes every notice.
type anyNotice struct{}

func (anyNotice) Notify(context.Context, Notice) error { return nil }
