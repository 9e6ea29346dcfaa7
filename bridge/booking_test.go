package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// memBackend is an in-memory booking system with a switchable failure, for the
// dispatcher's own tests (the real adapters are tested against their fakes).
type memBackend struct {
	name models.Backend
	mu   sync.Mutex
	// bookings by remote id
	bookings map[string]Write
	byKey    map[string]string
	fail     error
	// createFail, when set, fails creates only.
	createFail error
	// lostAnswer makes the next Create book and then report failure.
	lostAnswer bool
	creates    int
	cancels    int
	next       int
}

func newMem(name models.Backend) *memBackend {
	return &memBackend{name: name, bookings: map[string]Write{}, byKey: map[string]string{}}
}

func (m *memBackend) Name() models.Backend { return m.name }

func (m *memBackend) Create(ctx context.Context, w Write) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.creates++
	if m.fail != nil {
		return "", m.fail
	}
	if m.createFail != nil {
		return "", m.createFail
	}
	if id, ok := m.byKey[w.Key]; ok {
		return id, nil
	}
	for _, b := range m.bookings {
		if b.Room.ID == w.Room.ID && b.Reservation.Overlaps(w.Reservation.Start, w.Reservation.End) {
			return "", fmt.Errorf("%w: busy", models.ErrConflict)
		}
	}
	m.next++
	id := fmt.Sprintf("%s-%d", m.name, m.next)
	m.bookings[id] = w
	m.byKey[w.Key] = id
	if m.lostAnswer {
		m.lostAnswer = false
		return "", fmt.Errorf("%w: answer lost", models.ErrUnavailable)
	}
	return id, nil
}

func (m *memBackend) Cancel(ctx context.Context, w Write) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cancels++
	if m.fail != nil {
		return m.fail
	}
	delete(m.bookings, w.RemoteID)
	return nil
}

func (m *memBackend) count() int        { m.mu.Lock(); defer m.mu.Unlock(); return len(m.bookings) }
func (m *memBackend) setFail(err error) { m.mu.Lock(); m.fail = err; m.mu.Unlock() }

func (m *memBackend) setCreateFail(err error) { m.mu.Lock(); m.createFail = err; m.mu.Unlock() }

type rig struct {
	store    *models.Store
	clock    *modelstest.Clock
	oa, dt   *memBackend
	svc      *Service
	disp     *Dispatcher
	routing  models.Routing
	zhangsan models.User
	lisi     models.User
}

var shanghai = func() *time.Location { l, _ := time.LoadLocation("Asia/Shanghai"); return l }()

// newRig: the 2023 migration, now = 2023-04-10 10:00 Shanghai.
func newRig(t *testing.T, s *models.Store, c *modelstest.Clock) *rig { return newRigTB(t, s, c) }

func newRigTB(t testing.TB, s *models.Store, c *modelstest.Clock) *rig {
	t.Helper()
	ctx := context.Background()
	if err := s.SyncCatalog(ctx, models.DemoCatalog()); err != nil {
		t.Fatal(err)
	}
	routing := models.NewRouting(shanghai, time.Date(2023, 4, 17, 0, 0, 0, 0, shanghai), time.Date(2023, 4, 16, 23, 0, 0, 0, shanghai))
	r := &rig{store: s, clock: c, oa: newMem(models.BackendOA), dt: newMem(models.BackendDingTalk), routing: routing}
	r.redispatch(DispatcherConfig{Backoff: func(int) time.Duration { return time.Minute }})
	r.zhangsan, _ = s.User(ctx, "zhangsan")
	r.lisi, _ = s.User(ctx, "lisi")
	return r
}

// redispatch gives the rig a dispatcher built from cfg, with the rig's store, routing
// and clock, a silent log and the rig's in-memory backends unless cfg names others, and
// a service that hands its bookings to it.
func (r *rig) redispatch(cfg DispatcherConfig) {
	cfg.Store, cfg.Routing, cfg.Now = r.store, r.routing, r.clock.Now
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Backends == nil {
		cfg.Backends = []Backend{r.oa, r.dt}
	}
	r.disp = NewDispatcher(cfg)
	r.svc = NewService(ServiceConfig{Store: r.store, Routing: r.routing, Backends: []models.Backend{models.BackendOA, models.BackendDingTalk},
		Access: models.NewAccess("admin"), Now: r.clock.Now, Logger: cfg.Logger, Dispatcher: r.disp})
}

func (r *rig) drain(t *testing.T) {
	t.Helper()
	for i := 0; i < 20; i++ {
		n, err := r.disp.RunOnce(context.Background())
		if err != nil {
			t.Fatalf("RunOnce() = %v", err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("outbox never drained")
}

func at(day, hour int) time.Time { return time.Date(2023, 4, day, hour, 0, 0, 0, shanghai) }

func req(room string, start time.Time, d time.Duration) models.BookingRequest {
	return models.BookingRequest{RoomID: room, Title: "项目周会", Start: start, End: start.Add(d)}
}

func eachRig(t *testing.T, fn func(t *testing.T, r *rig)) {
	c := modelstest.NewClock(at(10, 10))
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		c.Set(at(10, 10))
		fn(t, newRig(t, s, c))
	})
}

func TestBookRoutesByDate(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		tests := []struct {
			name  string
			start time.Time
			want  models.Backend
		}{
			{"tomorrow goes to the OA", at(11, 14), models.BackendOA},
			{"the last hour before the cutover goes to the OA", time.Date(2023, 4, 16, 23, 0, 0, 0, shanghai), models.BackendOA},
			{"the cutover goes to DingTalk", at(17, 0), models.BackendDingTalk},
			{"later goes to DingTalk", at(20, 9), models.BackendDingTalk},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := r.svc.Book(ctx, r.zhangsan, req("duowei", tt.start, 30*time.Minute), "")
				if err != nil {
					t.Fatalf("Book() = %v", err)
				}
				if got.Backend != tt.want || got.Status != models.StatusPending {
					t.Fatalf("Book() = %s %s, want %s pending", got.Backend, got.Status, tt.want)
				}
				r.drain(t)
				stored, _ := r.store.Reservation(ctx, got.ID)
				if stored.Status != models.StatusConfirmed || stored.Remote() == "" {
					t.Errorf("after dispatch: %s remote %q, want confirmed with a remote id", stored.Status, stored.Remote())
				}
			})
		}
		if r.oa.count() != 2 || r.dt.count() != 2 {
			t.Errorf("backends hold OA %d, DingTalk %d; want 2 and 2", r.oa.count(), r.dt.count())
		}
	})
}

func TestBookRefusals(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		native := models.Reservation{ID: models.NewID(), UID: "x", RoomID: "duowei", Start: at(18, 10), End: at(18, 11), Title: "直接约",
			Backend: models.BackendDingTalk, Origin: models.OriginNative, Status: models.StatusConfirmed}
		if _, _, err := r.store.Book(ctx, native, nil, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.Book(ctx, r.zhangsan, req("duowei", at(18, 10), time.Hour), ""); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("Book(taken in DingTalk) = %v, want ErrConflict", err)
		} else {
			var ce *models.ConflictError
			ue := models.UserError(err)
			if !errors.As(err, &ce) || ue == nil || ue.Code != models.CodeRoomTaken || ue.Args[models.ArgBackend] != string(models.BackendDingTalk) || ue.Args[models.ArgStart] == "" {
				t.Errorf("conflict error = %v, want room_taken naming DingTalk", err)
			}
		}
		// After the freeze, an OA-owned slot is refused with oa_frozen.
		r.clock.Set(time.Date(2023, 4, 16, 23, 0, 0, 0, shanghai))
		_, err := r.svc.Book(ctx, r.zhangsan, req("duowei", time.Date(2023, 4, 16, 23, 30, 0, 0, shanghai), 20*time.Minute), "")
		if ue := models.UserError(err); !errors.Is(err, models.ErrFrozen) || ue == nil || ue.Code != "oa_frozen" {
			t.Errorf("Book(OA slot after freeze) = %v, want oa_frozen", err)
		}
		if _, err := r.svc.Book(ctx, r.zhangsan, req("nope", at(18, 14), time.Hour), ""); models.UserError(err) == nil || models.UserError(err).Code != "unknown_room" {
			t.Errorf("Book(unknown room) = %v, want unknown_room", err)
		}
		all, _ := r.store.Reservations(ctx, models.Filter{})
		if len(all) != 1 {
			t.Errorf("refusals stored %d reservations, want only the native one", len(all))
		}
	})
}

func TestBackendDownThenRecovers(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		r.dt.setFail(fmt.Errorf("%w: 503", models.ErrUnavailable))
		got, err := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 10), time.Hour), "k1")
		if err != nil {
			t.Fatal(err)
		}
		r.drain(t)
		if s, _ := r.store.Reservation(ctx, got.ID); s.Status != models.StatusPending {
			t.Fatalf("status while DingTalk is down = %s, want pending", s.Status)
		}
		// Not due yet: the backoff holds it.
		r.dt.setFail(nil)
		r.drain(t)
		if r.dt.count() != 0 {
			t.Fatalf("retried before its backoff")
		}
		r.clock.Add(2 * time.Minute)
		r.drain(t)
		s, _ := r.store.Reservation(ctx, got.ID)
		if s.Status != models.StatusConfirmed || r.dt.count() != 1 {
			t.Errorf("after recovery: %s with %d DingTalk bookings, want confirmed and 1", s.Status, r.dt.count())
		}
		// The same key again: the same booking, nothing new.
		again, err := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 10), time.Hour), "k1")
		if err != nil || again.ID != got.ID || r.dt.count() != 1 {
			t.Errorf("Book(same key) = %s, %v with %d bookings; want %s and 1", again.ID, err, r.dt.count(), got.ID)
		}
	})
}

func TestLostAnswerBooksOnce(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		r.oa.lostAnswer = true
		got, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(12, 10), time.Hour), "")
		r.drain(t)
		r.clock.Add(2 * time.Minute)
		r.drain(t)
		s, _ := r.store.Reservation(ctx, got.ID)
		if s.Status != models.StatusConfirmed || r.oa.count() != 1 || r.oa.creates != 2 {
			t.Errorf("after a lost answer: %s, %d OA bookings after %d creates; want confirmed, 1, 2", s.Status, r.oa.count(), r.oa.creates)
		}
	})
}

// A process that dies holding a job: after the lease another run takes it over.
func TestRestartResumes(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		got, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(12, 10), time.Hour), "")
		if jobs, err := r.store.ClaimJobs(ctx, "w1", time.Minute, 10); err != nil || len(jobs) != 1 {
			t.Fatalf("ClaimJobs() = %d, %v", len(jobs), err) // the "crashed" worker's claim
		}
		r.drain(t)
		if r.oa.count() != 0 {
			t.Fatal("a leased job ran twice")
		}
		r.clock.Add(3 * time.Minute)
		r.drain(t)
		s, _ := r.store.Reservation(ctx, got.ID)
		if s.Status != models.StatusConfirmed || r.oa.count() != 1 {
			t.Errorf("after the lease: %s with %d OA bookings, want confirmed and 1", s.Status, r.oa.count())
		}
	})
}

func TestBackendRefusesSlot(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		r.dt.setFail(fmt.Errorf("%w: meetingRoomNotAvailable", models.ErrConflict))
		got, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 10), time.Hour), "")
		r.drain(t)
		s, _ := r.store.Reservation(ctx, got.ID)
		if s.Status != models.StatusRejected || s.ReasonCode != models.CodeRoomTaken || s.ReasonArgs[models.ArgBackend] != string(models.BackendDingTalk) {
			t.Errorf("after the backend refused: %s %v, want rejected with reason room_taken in dingtalk", s.Status, s.Reason())
		}
		w, _ := r.svc.Wait(ctx, got.ID, time.Millisecond)
		if w.Status != models.StatusRejected {
			t.Errorf("Wait() = %s, want rejected", w.Status)
		}
	})
}

func TestCancel(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		got, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 10), time.Hour), "")
		r.drain(t)
		if _, err := r.svc.Cancel(ctx, r.lisi, got.ID); !errors.Is(err, models.ErrForbidden) {
			t.Errorf("Cancel(by someone else) = %v, want ErrForbidden", err)
		}
		c, err := r.svc.Cancel(ctx, r.zhangsan, got.ID)
		if err != nil || c.Status != models.StatusCancelled || c.Sequence != 1 {
			t.Fatalf("Cancel() = %s seq %d, %v", c.Status, c.Sequence, err)
		}
		r.drain(t)
		if r.dt.count() != 0 {
			t.Errorf("DingTalk still holds %d bookings after cancel", r.dt.count())
		}
		if _, err := r.svc.Cancel(ctx, r.zhangsan, got.ID); err != nil {
			t.Errorf("Cancel(twice) = %v, want nil", err)
		}
		// Cancelled before the dispatcher ever sent it: nothing reaches the backend.
		early, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(21, 10), time.Hour), "")
		if _, err := r.svc.Cancel(ctx, r.zhangsan, early.ID); err != nil {
			t.Fatal(err)
		}
		creates := r.dt.creates
		r.drain(t)
		if r.dt.creates != creates || r.dt.count() != 0 {
			t.Errorf("a booking cancelled before dispatch reached DingTalk")
		}
	})
}

func TestRescheduleAcrossCutover(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		got, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(14, 10), time.Hour), "")
		r.drain(t)
		oaID := mustGet(t, r, got.ID).Remote()
		moved, err := r.svc.Reschedule(ctx, r.zhangsan, got.ID, req("duowei", at(18, 15), time.Hour))
		if err != nil {
			t.Fatalf("Reschedule() = %v", err)
		}
		if moved.Backend != models.BackendDingTalk || moved.UID != got.UID {
			t.Errorf("Reschedule() = %s uid %s, want dingtalk with the same uid %s", moved.Backend, moved.UID, got.UID)
		}
		r.drain(t)
		s := mustGet(t, r, got.ID)
		if s.Status != models.StatusConfirmed || s.Backend != models.BackendDingTalk || s.Remote() == oaID || s.Sequence != 1 {
			t.Errorf("after reschedule: %s %s %s seq %d", s.Status, s.Backend, s.Remote(), s.Sequence)
		}
		if r.oa.count() != 0 || r.dt.count() != 1 {
			t.Errorf("OA holds %d, DingTalk %d; want 0 and 1", r.oa.count(), r.dt.count())
		}
	})
}

func TestRescheduleRefusedRestores(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		got, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 10), time.Hour), "")
		r.drain(t)
		before := mustGet(t, r, got.ID)
		// Someone takes 11:00–12:00 directly in DingTalk, unseen by the bridge.
		r.dt.mu.Lock()
		r.dt.bookings["native"] = Write{Room: models.Room{ID: "duowei"}, Reservation: models.Reservation{Start: at(20, 11), End: at(20, 12)}}
		r.dt.mu.Unlock()
		if _, err := r.svc.Reschedule(ctx, r.zhangsan, got.ID, req("duowei", at(20, 10), 2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		r.drain(t)
		s := mustGet(t, r, got.ID)
		if s.Status != models.StatusConfirmed || !s.Start.Equal(before.Start) || !s.End.Equal(before.End) || s.ReasonCode != models.ReasonRescheduleRefused || s.ReasonArgs[models.ArgCause] == "" {
			t.Errorf("after a refused reschedule: %s %s–%s %v; want confirmed at the old time with reason reschedule_refused", s.Status, s.Start, s.End, s.Reason())
		}
		if r.dt.count() != 2 {
			t.Errorf("DingTalk holds %d bookings, want the old slot re-booked and the native one", r.dt.count())
		}
	})
}

func mustGet(t *testing.T, r *rig, id string) models.Reservation {
	t.Helper()
	s, err := r.store.Reservation(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBookChecksCatalogChangedElsewhere: a booking checked against the catalog as this
// process keeps it is checked again when another process changed the catalog since: a
// room moved in the OA is booked with its new mapping, an organizer removed is refused.
func TestBookChecksCatalogChangedElsewhere(t *testing.T) {
	c := modelstest.NewClock(at(10, 10))
	modelstest.EachShared(t, c.Now, func(t *testing.T, s, other *models.Store) {
		c.Set(at(10, 10))
		r := newRig(t, s, c)
		ctx := context.Background()
		// The service reads the catalog with its first booking.
		if _, err := r.svc.Book(ctx, r.zhangsan, req("duowei", at(12, 9), time.Hour), ""); err != nil {
			t.Fatal(err)
		}
		changed := models.DemoCatalog()
		users := changed.Users[:0]
		for _, u := range changed.Users {
			if u.ID != "lisi" {
				users = append(users, u)
			}
		}
		changed.Users = users
		for i := range changed.Offices {
			for j := range changed.Offices[i].Rooms {
				if changed.Offices[i].Rooms[j].ID == "duowei" {
					changed.Offices[i].Rooms[j].OARoomID = "" // no longer in the OA
				}
			}
		}
		if err := other.SyncCatalog(ctx, changed); err != nil {
			t.Fatal(err)
		}
		_, err := r.svc.Book(ctx, r.lisi, req("sk-tianyuan", at(12, 9), time.Hour), "")
		if ue := models.UserError(err); ue == nil || ue.Code != "unknown_user" || !errors.Is(err, models.ErrForbidden) {
			t.Errorf("Book(by a user removed elsewhere) = %v, want ErrForbidden unknown_user", err)
		}
		_, err = r.svc.Book(ctx, r.zhangsan, req("duowei", at(12, 11), time.Hour), "")
		if ue := models.UserError(err); ue == nil || ue.Code != "room_not_in_backend" {
			t.Errorf("Book(a room taken out of the OA elsewhere) = %v, want room_not_in_backend", err)
		}
		if _, err := r.svc.Book(ctx, r.zhangsan, req("sk-tianyuan", at(12, 11), time.Hour), ""); err != nil {
			t.Errorf("Book(an unchanged room) = %v, want a booking", err)
		}
	})
}
