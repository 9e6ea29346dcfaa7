package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"roombridge/models"
)

// Service is the booking pipeline: it validates a request, routes it by its start date,
// checks the room against the reservations of both systems and enqueues the backend
// write in one transaction, then wakes the dispatcher.
type Service struct {
	store    *models.Store
	routing  models.Routing
	backends map[models.Backend]bool
	access   models.Access
	now      func() time.Time
	log      *slog.Logger
	kick     func()
	// dispatcher, when set, runs a new booking's job at once (see handOff).
	dispatcher *Dispatcher
	changes    *changes
	// stopping closes when the server stops; waiting requests then answer at once.
	stopping chan struct{}
	stopOnce sync.Once
	// seriesWindow is how far ahead the last occurrence of a series may start.
	seriesWindow time.Duration
}

// ServiceConfig holds the Service's dependencies.
type ServiceConfig struct {
	Store   *models.Store
	Routing models.Routing
	// Backends lists the systems that are configured; a booking routed to another one
	// is refused with ErrUnavailable.
	Backends []models.Backend
	// Access decides who may change and cancel a reservation.
	Access models.Access
	Now    func() time.Time
	Logger *slog.Logger
	// Dispatcher is woken after every enqueue (may be nil).
	Dispatcher *Dispatcher
	// SeriesWindow is how far ahead the last occurrence of a series may start (default
	// models.DefaultBookingWindow).
	SeriesWindow time.Duration
}

// NewService builds a Service.
func NewService(cfg ServiceConfig) *Service {
	s := &Service{
		store:    cfg.Store,
		routing:  cfg.Routing,
		backends: map[models.Backend]bool{},
		access:   cfg.Access,
		now:      cfg.Now,
		log:      cfg.Logger,
		kick:     func() {},
		changes:  newChanges(),
		stopping: make(chan struct{}),

		seriesWindow: cfg.SeriesWindow,
	}
	if s.seriesWindow <= 0 {
		s.seriesWindow = models.DefaultBookingWindow
	}
	for _, b := range cfg.Backends {
		s.backends[b] = true
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if cfg.Dispatcher != nil {
		s.kick = cfg.Dispatcher.Kick
		s.dispatcher = cfg.Dispatcher
		cfg.Dispatcher.changes = s.changes
	}
	return s
}

// Route tells which backend a booking starting at start goes to, and why.
func (s *Service) Route(start time.Time) models.Decision {
	return s.routing.Route(start, s.now())
}

// Book validates req, routes it and stores it as pending with its outbox job. The same
// idempotency key from the same user returns the first reservation instead of booking
// again. Errors: ErrInvalid user errors (with the field), a user error of kind
// ErrConflict that wraps *models.ConflictError (the slot is taken in either system),
// ErrFrozen ("oa_frozen") for an OA-owned slot after the OA freeze, ErrUnavailable when
// the owning backend is not configured.
func (s *Service) Book(ctx context.Context, by models.User, req models.BookingRequest, key string) (models.Reservation, error) {
	now := s.now()
	req = req.Normalize()
	if err := models.CheckIdempotencyKey(key); err != nil {
		return models.Reservation{}, err
	}
	if key != "" {
		if prev, err := s.store.ReservationByKey(ctx, by.ID, key); err == nil {
			return prev, nil
		}
	}
	if s.dispatcher != nil {
		defer s.dispatcher.Booking()()
	}
	// The room and attendees are read from the catalog as this process keeps it; the
	// booking's transaction checks that it is still the current one, and when another
	// process changed it meanwhile, the booking is checked again against the new one.
	for attempt := 1; ; attempt++ {
		view, err := s.store.CatalogView(ctx)
		if err != nil {
			return models.Reservation{}, err
		}
		got, err := s.bookAt(ctx, view, by, req, key, now)
		if errors.Is(err, models.ErrCatalogChanged) && attempt < bookCatalogAttempts {
			continue
		}
		return got, err
	}
}

// prefetchedFrom is what the dispatcher needs of booking r in room, as the catalog view
// the booking was checked against holds it.
func prefetchedFrom(view *models.CatalogView, r models.Reservation, room models.Room) prefetched {
	pre := prefetched{r: r, room: room}
	org, err := view.User(r.OrganizerID)
	if err != nil {
		return pre // the dispatcher reads the organizer
	}
	pre.organizer = &org
	for _, a := range r.Attendees {
		if u, err := view.User(a); err == nil {
			pre.attendees = append(pre.attendees, u)
		}
	}
	return pre
}

// bookCatalogAttempts bounds how often Book checks a booking again because the catalog
// changed under it.
const bookCatalogAttempts = 3

// bookAt is Book against one CatalogView.
func (s *Service) bookAt(ctx context.Context, view *models.CatalogView, by models.User, req models.BookingRequest, key string, now time.Time) (models.Reservation, error) {
	// by may come from an earlier view (see models.CatalogView): one the catalog has
	// removed since does not book.
	if u, err := view.User(by.ID); err == nil && u.Removed {
		return models.Reservation{}, models.UnknownUser(by.ID)
	}
	room, attendees, backend, err := s.check(ctx, viewCatalog{view, s.store}, req, now)
	if err != nil {
		return models.Reservation{}, err
	}
	id := models.NewID()
	r := models.Reservation{
		ID: id, UID: models.BridgeUID(id), RoomID: room.ID,
		Start: req.Start, End: req.End, Title: req.Title, Description: req.Description,
		OrganizerID: by.ID, OrganizerName: by.Name, Attendees: attendees,
		Backend: backend, Origin: models.OriginBridge, Status: models.StatusPending,
	}
	if key != "" {
		r.IdempotencyKey = &key
	}
	job := models.Job{ReservationID: id, Kind: models.JobCreate, Backend: backend}
	audit := &models.AuditEntry{Actor: by.ID, Action: "book", ReservationID: id,
		Detail: fmt.Sprintf("%s %s–%s → %s", room.ID, req.Start.Format(time.RFC3339), req.End.Format(time.RFC3339), backend)}
	// The dispatcher runs the job at once when it has a worker free (see handOff).
	var handed *handOff
	if s.dispatcher != nil {
		handed = s.dispatcher.reserveHandOff()
		handed.lease(&job)
	}
	got, created, err := s.store.BookAt(ctx, view, r, []models.Job{job}, audit)
	var taken *models.ConflictError
	switch {
	case err != nil && !errors.As(err, &taken) && !errors.Is(err, models.ErrCatalogChanged):
		// Not a refusal: the transaction may have committed though its answer was lost.
		handed.lost(job)
	case err != nil || !created:
		handed.cancel()
	}
	if err != nil {
		return models.Reservation{}, s.explainConflict(err)
	}
	if created {
		s.log.Info("booking accepted", "reservation", got.ID, "room", room.ID, "backend", backend, "user", by.ID)
		if handed != nil {
			handed.start(job, prefetchedFrom(view, got, room))
		} else {
			s.kick()
		}
	}
	return got, nil
}

// catalog is where a booking's room and attendees are looked up: the database, or a
// CatalogView whose currency the booking's transaction checks.
type catalog interface {
	Room(ctx context.Context, id string) (models.Room, error)
	User(ctx context.Context, id string) (models.User, error)
}

// viewCatalog reads a CatalogView. What the view does not know is looked up in the
// database: a room or user that another process added since the view was read is not
// refused (the booking then finds the view outdated and is checked again).
type viewCatalog struct {
	v     *models.CatalogView
	store *models.Store
}

func (c viewCatalog) Room(ctx context.Context, id string) (models.Room, error) {
	r, err := c.v.Room(id)
	if errors.Is(err, models.ErrNotFound) {
		return c.store.Room(ctx, id)
	}
	return r, err
}

func (c viewCatalog) User(ctx context.Context, id string) (models.User, error) {
	u, err := c.v.User(id)
	if errors.Is(err, models.ErrNotFound) {
		return c.store.User(ctx, id)
	}
	return u, err
}

// check validates a normalised request, resolves its room and attendees in cat and
// routes it to a backend that can take it now.
func (s *Service) check(ctx context.Context, cat catalog, req models.BookingRequest, now time.Time) (models.Room, models.StringList, models.Backend, error) {
	if err := req.Validate(now); err != nil {
		return models.Room{}, nil, "", err
	}
	room, attendees, err := s.resolveIn(ctx, cat, req)
	if err != nil {
		return room, nil, "", err
	}
	backend, err := s.writableOwner(room, req.Start, now)
	return room, attendees, backend, err
}

// resolve checks the room and attendees exist in the database.
func (s *Service) resolve(ctx context.Context, req models.BookingRequest) (models.Room, models.StringList, error) {
	return s.resolveIn(ctx, s.store, req)
}

// resolveIn checks the room and attendees exist in cat.
func (s *Service) resolveIn(ctx context.Context, cat catalog, req models.BookingRequest) (models.Room, models.StringList, error) {
	room, err := cat.Room(ctx, req.RoomID)
	if errors.Is(err, models.ErrNotFound) {
		return room, nil, models.E(models.ErrInvalid, "unknown_room", "room_id")
	}
	if err != nil {
		return room, nil, err
	}
	var attendees models.StringList
	for _, a := range req.Attendees {
		if _, err := cat.User(ctx, a); err != nil {
			if errors.Is(err, models.ErrNotFound) {
				return room, nil, models.E(models.ErrInvalid, "unknown_attendee", "attendees", models.ArgName, a)
			}
			return room, nil, err
		}
		attendees = append(attendees, a)
	}
	return room, attendees, nil
}

// writableOwner routes a booking starting at start and checks its backend can take it.
func (s *Service) writableOwner(room models.Room, start, now time.Time) (models.Backend, error) {
	b := s.routing.Owner(start)
	if err := s.routing.CheckWritable(b, now); err != nil {
		return b, err
	}
	if !s.backends[b] {
		return b, models.E(models.ErrUnavailable, "backend_not_configured", "", models.ArgBackend, string(b))
	}
	if room.RemoteID(b) == "" {
		return b, models.E(models.ErrInvalid, "room_not_in_backend", "room_id", models.ArgRoom, room.Name, models.ArgBackend, string(b))
	}
	return b, nil
}

// explainConflict turns a *models.ConflictError into a user error naming the system and
// time that hold the slot (it still unwraps to the ConflictError).
func (s *Service) explainConflict(err error) error {
	var ce *models.ConflictError
	if !errors.As(err, &ce) {
		return err
	}
	return models.RoomTaken(ce.With).Wrap(ce)
}

// Cancel cancels reservation id on behalf of by (its organizer or an admin) and enqueues
// the release at its backend. Cancelling twice is harmless. Errors: ErrNotFound,
// ErrForbidden, ErrFrozen for an OA booking after the OA freeze.
func (s *Service) Cancel(ctx context.Context, by models.User, id string) (models.Reservation, error) {
	now := s.now()
	if cur, err := s.store.Reservation(ctx, id); err == nil && cur.Status.Holds() {
		if s.access.CheckCancel(by.ID, cur) == nil {
			if err := s.releasable(ctx, cur); err != nil {
				return models.Reservation{}, err
			}
		}
		// An occurrence of a series is cancelled as "this occurrence" of it.
		if cur.Series() != "" {
			if _, err := s.CancelSeries(ctx, by, id, models.ScopeThis); err != nil {
				return models.Reservation{}, err
			}
			return s.store.Reservation(ctx, id)
		}
	}
	r, err := s.store.Update(ctx, id, models.Change{Apply: func(r *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
		if err := s.access.CheckCancel(by.ID, *r); err != nil {
			return nil, nil, err
		}
		if !r.Status.Holds() {
			return nil, nil, errUnchanged
		}
		if r.Origin == models.OriginBridge || r.Remote() != "" {
			if err := s.routing.CheckWritable(r.Backend, now); err != nil {
				return nil, nil, err
			}
		}
		r.Status = models.StatusCancelled
		r.Sequence++
		var jobs []models.Job
		if r.Origin == models.OriginBridge || r.Remote() != "" {
			jobs = append(jobs, models.Job{ReservationID: r.ID, Kind: models.JobCancel, Backend: r.Backend})
		}
		return jobs, &models.AuditEntry{Actor: by.ID, Action: "cancel", ReservationID: r.ID}, nil
	}})
	if errors.Is(err, errUnchanged) {
		return s.store.Reservation(ctx, id)
	}
	if err != nil {
		return models.Reservation{}, err
	}
	s.log.Info("booking cancelled", "reservation", id, "user", by.ID)
	s.changes.notify()
	s.kick()
	return r, nil
}

var errUnchanged = errors.New("unchanged")

// releasable refuses a cancel the backend would refuse for good: DingTalk lets only an
// event's organiser remove it, so a DingTalk booking whose organiser has no DingTalk
// identity in the catalog cannot be cancelled through the bridge (the cancel would fail
// and the next sync would bring the booking back). The error says so; the organiser
// must cancel it in DingTalk. Errors: ErrForbidden ("dingtalk_organizer_unknown").
func (s *Service) releasable(ctx context.Context, r models.Reservation) error {
	if r.Backend != models.BackendDingTalk || r.Remote() == "" {
		return nil
	}
	name := r.OrganizerName
	if r.OrganizerID != "" {
		u, err := s.store.User(ctx, r.OrganizerID)
		if err == nil && (u.DingTalkUnionID != "" || u.DingTalkUserID != "") {
			return nil
		}
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return err
		}
		if err == nil && u.Name != "" {
			name = u.Name
		}
	}
	if name == "" {
		name = "?"
	}
	return models.E(models.ErrForbidden, "dingtalk_organizer_unknown", "", models.ArgName, name)
}

// snapshot is what a reschedule replaced, kept in the job so a refused reschedule can
// put the booking back as it was.
type snapshot struct {
	RoomID      string            `json:"room_id"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Start       time.Time         `json:"start"`
	End         time.Time         `json:"end"`
	Attendees   models.StringList `json:"attendees"`
	Backend     models.Backend    `json:"backend"`
	RemoteID    string            `json:"remote_id"`
	Status      models.Status     `json:"status"`
	Origin      models.Origin     `json:"origin,omitempty"`
	// OwnEvent is the reservation's mark of an occurrence booked in DingTalk as an event
	// of its own (models.Reservation.OwnEvent); absent from jobs queued before it existed.
	OwnEvent bool `json:"own_event,omitempty"`
}

type jobPayload struct {
	// Prev is set on the create job of a reschedule.
	Prev *snapshot `json:"prev,omitempty"`
	// Restore marks a create job that re-books the old slot after a refused reschedule.
	Restore bool `json:"restore,omitempty"`
	// Conflict is the conflict whose resolution this job carries out: its outcome is
	// recorded on the conflict.
	Conflict string `json:"conflict,omitempty"`
	// Release marks a cancel job that cancels the reservation itself once its backend
	// released it (the losing side of a conflict); until then it keeps holding.
	Release bool `json:"release,omitempty"`
	// PrevRelease is, on the create job of a reschedule (or of an occurrence of a series
	// moved with it), the job that releases the old slot ("": nothing held it, or, on a
	// single booking's job queued before it was recorded, the cancel of Prev's booking
	// queued with it): whether that job ran tells whether a refused move still holds its
	// old slot.
	PrevRelease string `json:"prev_release,omitempty"`
	// Asked is, on a job booking the old slot again after a refused move, when the move
	// was asked for: whether its outcome came after the form stopped waiting.
	Asked time.Time `json:"asked,omitzero"`
	// Occurrence is the occurrence of a series the job writes when it is queued under
	// the series' id: the writes of a change to a series then run in order (an
	// occurrence may move into a slot another one is leaving).
	Occurrence string `json:"occurrence,omitempty"`
}

func encodePayload(p jobPayload) string {
	b, _ := json.Marshal(p)
	return string(b)
}

func take(r models.Reservation) snapshot {
	return snapshot{RoomID: r.RoomID, Title: r.Title, Description: r.Description, Start: r.Start, End: r.End,
		Attendees: r.Attendees, Backend: r.Backend, RemoteID: r.Remote(), Status: r.Status, Origin: r.Origin, OwnEvent: r.OwnEvent}
}

func (p snapshot) restore(r *models.Reservation) {
	r.RoomID, r.Title, r.Description, r.Start, r.End = p.RoomID, p.Title, p.Description, p.Start, p.End
	r.Attendees, r.Backend, r.Status, r.OwnEvent = p.Attendees, p.Backend, p.Status, p.OwnEvent
	if p.Origin != "" {
		r.Origin = p.Origin
	}
	r.RemoteID = nil
	if p.RemoteID != "" {
		id := p.RemoteID
		r.RemoteID = &id
	}
}

// Reschedule replaces the room, title, times, description and attendees of reservation
// id. The new booking is made where the new start time belongs (which may be the other
// system: the UID stays) and the old one is released; if the backend refuses the new
// slot, the booking goes back to what it was. Errors: as Book, plus ErrForbidden,
// ErrNotFound, and ErrConflict ("still_pending") while the booking is being sent.
func (s *Service) Reschedule(ctx context.Context, by models.User, id string, req models.BookingRequest) (models.Reservation, error) {
	now := s.now()
	req = req.Normalize()
	room, attendees, backend, err := s.check(ctx, s.store, req, now)
	if err != nil {
		return models.Reservation{}, err
	}
	r, err := s.store.Update(ctx, id, models.Change{CheckRoom: true, Room: room.ID, Apply: func(r *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
		if err := s.access.CheckChange(by.ID, *r); err != nil {
			return nil, nil, err
		}
		switch {
		case r.Status == models.StatusPending:
			return nil, nil, models.E(models.ErrConflict, "still_pending", "")
		case !r.Status.Holds():
			return nil, nil, models.E(models.ErrConflict, "not_active", "")
		case r.Origin != models.OriginBridge:
			return nil, nil, models.E(models.ErrConflict, "native_booking", "")
		}
		if err := s.routing.CheckWritable(r.Backend, now); err != nil {
			return nil, nil, err
		}
		prev := take(*r)
		r.RoomID, r.Title, r.Description, r.Start, r.End, r.Attendees = room.ID, req.Title, req.Description, req.Start, req.End, attendees
		r.Backend, r.Status = backend, models.StatusPending
		r.OwnEvent = bookedAlone(*r) // an occurrence of a series moved alone
		r.SetReason(models.Reason{})
		r.RemoteID = nil
		r.Sequence++
		release := models.Job{ID: models.NewID(), ReservationID: r.ID, Kind: models.JobCancel, Backend: prev.Backend, RemoteID: prev.RemoteID}
		create := models.Job{ReservationID: r.ID, Kind: models.JobCreate, Backend: backend, Payload: encodePayload(jobPayload{Prev: &prev, PrevRelease: release.ID})}
		jobs := []models.Job{create, release}
		// The same system may refuse the new slot while the old one still holds it (a
		// meeting made longer); release first there and re-book the old slot on refusal.
		if prev.Backend == backend && prev.RoomID == room.ID && prev.Start.Before(req.End) && req.Start.Before(prev.End) {
			jobs = []models.Job{release, create}
		}
		audit := &models.AuditEntry{Actor: by.ID, Action: "reschedule", ReservationID: r.ID,
			Detail: fmt.Sprintf("%s %s–%s (%s) → %s %s–%s (%s)", prev.RoomID, prev.Start.Format(time.RFC3339), prev.End.Format(time.RFC3339), prev.Backend,
				room.ID, req.Start.Format(time.RFC3339), req.End.Format(time.RFC3339), backend)}
		return jobs, audit, nil
	}})
	if err != nil {
		return models.Reservation{}, s.explainConflict(err)
	}
	s.log.Info("booking rescheduled", "reservation", id, "backend", backend, "user", by.ID)
	s.changes.notify()
	s.kick()
	return r, nil
}

// StopWaits makes every Wait, running or to come, return at once: the server is stopping.
func (s *Service) StopWaits() { s.stopOnce.Do(func() { close(s.stopping) }) }

// Wait returns reservation id once it is no longer pending, or when max has passed, ctx
// ends or the server stops, whichever comes first (then still pending). Errors:
// ErrNotFound.
func (s *Service) Wait(ctx context.Context, id string, max time.Duration) (models.Reservation, error) {
	timer := time.NewTimer(max)
	defer timer.Stop()
	changed := s.changes.wait()
	r, err := s.store.Reservation(ctx, id)
	for err == nil && r.Status == models.StatusPending {
		select {
		case <-changed.done:
		case <-timer.C:
			return r, nil
		case <-ctx.Done():
			return r, nil
		case <-s.stopping:
			return r, nil
		}
		// The dispatcher hands over the reservation it has just committed: the outcome
		// waited for needs no read.
		if saved := changed.saved; saved != nil && saved.ID == id && saved.Status != models.StatusPending {
			return *saved, nil
		}
		changed = s.changes.wait()
		r, err = s.store.Reservation(ctx, id)
	}
	return r, err
}

// changes is a broadcast: every waiter's round closes on the next notify.
type changes struct {
	mu  sync.Mutex
	cur *round
}

// round is one wait for the next change; done closes when it comes.
type round struct {
	done chan struct{}
	// saved is the reservation the change committed, when the notifier had it (set
	// before done closes, never after).
	saved *models.Reservation
}

func newChanges() *changes { return &changes{cur: &round{done: make(chan struct{})}} }

func (c *changes) wait() *round {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

// notify ends the current round: something changed.
func (c *changes) notify() { c.notifySaved(nil) }

// notifySaved ends the current round with r, the reservation as just committed (nil:
// the waiters read theirs again).
func (c *changes) notifySaved(r *models.Reservation) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.cur.saved = r
	close(c.cur.done)
	c.cur = &round{done: make(chan struct{})}
	c.mu.Unlock()
}

// marker is the tag a booking carries in a backend without idempotency keys.
func marker(key string) string { return "[rb:" + strings.ToLower(key) + "]" }
