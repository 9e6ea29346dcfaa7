package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"roombridge/models"
)

// Detector finds conflicts for the reservations that changed: overlaps in one room
// (across the systems or inside one), bookings in the system that does not own their
// date, and organizers the catalog cannot map. It runs after every sync pass, backend
// event and bridge write, and stores what it finds with Store.ReconcileConflicts.
type Detector struct {
	store   *models.Store
	routing models.Routing
	log     *slog.Logger
	// mu serialises detections (reads included) so two of them never reconcile the same
	// cause at once, and a detection that returns has seen every earlier one's result.
	mu sync.Mutex

	// pending is the earliest change Notify was told of and Run has not looked at yet.
	pendMu  sync.Mutex
	pending time.Time
	wake    chan struct{}
}

// NewDetector builds a Detector.
func NewDetector(store *models.Store, routing models.Routing, log *slog.Logger) *Detector {
	if log == nil {
		log = slog.Default()
	}
	return &Detector{store: store, routing: routing, log: log, wake: make(chan struct{}, 1)}
}

// Notify asks Run to look at everything changed at or after since, soon. It never
// blocks: paths that must stay quick (backend events) use it instead of detecting
// inline.
func (d *Detector) Notify(since time.Time) {
	d.pendMu.Lock()
	if d.pending.IsZero() || since.Before(d.pending) {
		d.pending = since
	}
	d.pendMu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run detects what Notify was told of until ctx ends; a failed detection is logged and
// tried again at the next notice.
func (d *Detector) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		}
		d.pendMu.Lock()
		since := d.pending
		d.pending = time.Time{}
		d.pendMu.Unlock()
		if since.IsZero() {
			continue
		}
		if _, err := d.DetectSince(ctx, since); err != nil && ctx.Err() == nil {
			d.log.Warn("detect conflicts", "err", err)
			d.Notify(since)
		}
	}
}

// DetectSince looks at every reservation changed at or after since (the zero time:
// all of them).
func (d *Detector) DetectSince(ctx context.Context, since time.Time) (models.ReconcileResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	changed, err := d.store.ChangedReservations(ctx, since)
	if err != nil {
		return models.ReconcileResult{}, err
	}
	return d.detect(ctx, changed)
}

// DetectIDs looks at the given reservations.
func (d *Detector) DetectIDs(ctx context.Context, ids ...string) (models.ReconcileResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	changed, err := d.store.ReservationsByID(ctx, ids)
	if err != nil {
		return models.ReconcileResult{}, err
	}
	return d.detect(ctx, changed)
}

func (d *Detector) detect(ctx context.Context, changed []models.Reservation) (models.ReconcileResult, error) {
	if len(changed) == 0 {
		return models.ReconcileResult{}, nil
	}
	rooms, err := d.store.Rooms(ctx)
	if err != nil {
		return models.ReconcileResult{}, err
	}
	offices := make(map[string]string, len(rooms))
	for _, r := range rooms {
		offices[r.ID] = r.OfficeID
	}
	users, err := d.store.Users(ctx)
	if err != nil {
		return models.ReconcileResult{}, err
	}
	ids := make(map[string]bool, len(changed))
	scope := make([]string, 0, len(changed))
	for _, r := range changed {
		ids[r.ID] = true
		scope = append(scope, r.ID)
	}
	// The other sides of their open conflicts are looked at again too: when one side of
	// an overlap goes, what the other side still has wrong (its system) shows up.
	open, err := d.store.OpenConflictsOf(ctx, scope)
	if err != nil {
		return models.ReconcileResult{}, err
	}
	var others []string
	for _, cs := range open {
		for _, c := range cs {
			for _, sd := range c.Sides {
				if !ids[sd.ReservationID] {
					ids[sd.ReservationID] = true
					others = append(others, sd.ReservationID)
				}
			}
		}
	}
	if len(others) > 0 {
		more, err := d.store.ReservationsByID(ctx, others)
		if err != nil {
			return models.ReconcileResult{}, err
		}
		changed = append(changed, more...)
		scope = append(scope, others...)
	}
	holding, err := d.store.HoldingIn(ctx, windows(changed))
	if err != nil {
		return models.ReconcileResult{}, err
	}
	found, superseded := models.DetectConflicts(models.DetectInput{Routing: d.routing, Offices: offices, Changed: ids, Holding: holding,
		KnownOrganizer: models.OrganizerIndex(users)})
	if len(found) == 0 && len(superseded) == 0 && len(open) == 0 {
		// Nothing found and nothing open to close: the usual end of a look after a
		// booking, which then costs no write transaction.
		return models.ReconcileResult{}, nil
	}
	res, err := d.store.ReconcileConflicts(ctx, scope, found, superseded)
	if err != nil {
		return res, fmt.Errorf("detect conflicts: %w", err)
	}
	if res != (models.ReconcileResult{}) {
		d.log.Info("conflicts detected", "looked_at", len(changed), "opened", res.Opened, "updated", res.Updated,
			"reopened", res.Reopened, "closed", res.Closed, "merged", res.Merged)
	}
	return res, nil
}

// windows merges the changed reservations' times into one list of stretches per room,
// so the holding reservations around them are read with few indexed queries.
func windows(changed []models.Reservation) []models.RoomWindow {
	rs := make([]models.Reservation, 0, len(changed))
	for _, r := range changed {
		if r.Status.Holds() {
			rs = append(rs, r)
		}
	}
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].RoomID != rs[j].RoomID {
			return rs[i].RoomID < rs[j].RoomID
		}
		return rs[i].Start.Before(rs[j].Start)
	})
	var out []models.RoomWindow
	for _, r := range rs {
		if n := len(out); n > 0 && out[n-1].RoomID == r.RoomID && !r.Start.After(out[n-1].To) {
			if r.End.After(out[n-1].To) {
				out[n-1].To = r.End
			}
			continue
		}
		out = append(out, models.RoomWindow{RoomID: r.RoomID, From: r.Start, To: r.End})
	}
	return out
}
