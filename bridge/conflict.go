package bridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sort"
	"strings"
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

	// SweepEvery is how often Run sweeps (default 10 min).
	SweepEvery time.Duration
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

// SweepMargin is how far before the recorded mark a sweep starts reading: a write stamps
// updated_at before it commits (a sync pass's transaction may wait for the database),
// and replicas stamp with their own clocks. A change that commits after a sweep's read
// with a stamp from before it is then still inside the next sweep.
const SweepMargin = 10 * time.Minute

// Run sweeps (see Sweep) at once and then every SweepEvery, and between sweeps detects
// what Notify was told of, until ctx ends. A failed detection is logged and tried again
// at the next notice; a failed sweep at the next sweep.
func (d *Detector) Run(ctx context.Context) error {
	every := d.SweepEvery
	if every <= 0 {
		every = 10 * time.Minute
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	sweep := func() {
		if _, err := d.Sweep(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("conflict sweep", "err", err)
		}
	}
	sweep()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			sweep()
			continue
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

// Sweep looks at every reservation changed since the store's detection mark (less
// SweepMargin) and then moves the mark to when it read them. It looks at all of them
// when no mark is recorded, when the mark was taken with other inputs (the routing, the
// rooms' offices or the catalog's users changed, which changes what is a conflict), or
// when the mark lies ahead of the clock. Whatever changed while no process ran, or in a
// process that stopped before it detected, is looked at by the next sweep of any
// replica; a restart reads only what changed since the last sweep, not the whole table.
func (d *Detector) Sweep(ctx context.Context) (models.ReconcileResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	in, err := d.inputs(ctx)
	if err != nil {
		return models.ReconcileResult{}, err
	}
	fp := d.fingerprint(in)
	mark, err := d.store.DetectionMark(ctx)
	if err != nil {
		return models.ReconcileResult{}, err
	}
	readAt := d.store.Now()
	var since time.Time
	if mark.Inputs == fp && !mark.At.IsZero() && !mark.At.After(readAt) {
		since = mark.At.Add(-SweepMargin)
	}
	changed, err := d.store.ChangedReservations(ctx, since)
	if err != nil {
		return models.ReconcileResult{}, err
	}
	res, err := d.detect(ctx, in, changed, since.IsZero())
	if err != nil {
		return res, err
	}
	if err := d.store.SetDetectionMark(ctx, models.DetectionMark{At: readAt, Inputs: fp}); err != nil {
		return res, err
	}
	if since.IsZero() {
		d.log.Info("conflict sweep over every reservation", "looked_at", len(changed))
	}
	return res, nil
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
	return d.detectChanged(ctx, changed)
}

// DetectIDs looks at the given reservations.
func (d *Detector) DetectIDs(ctx context.Context, ids ...string) (models.ReconcileResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	changed, err := d.store.ReservationsByID(ctx, ids)
	if err != nil {
		return models.ReconcileResult{}, err
	}
	return d.detectChanged(ctx, changed)
}

// detectInputs is what detection judges by besides the reservations (and the routing):
// the rooms' offices and the catalog's users.
type detectInputs struct {
	offices map[string]string
	users   []models.User
}

func (d *Detector) inputs(ctx context.Context) (detectInputs, error) {
	rooms, err := d.store.Rooms(ctx)
	if err != nil {
		return detectInputs{}, err
	}
	users, err := d.store.Users(ctx)
	if err != nil {
		return detectInputs{}, err
	}
	in := detectInputs{offices: make(map[string]string, len(rooms)), users: users}
	for _, r := range rooms {
		in.offices[r.ID] = r.OfficeID
	}
	return in, nil
}

// fingerprint names the inputs a sweep detects with (the routing, the rooms' offices and
// the users' names). Only sweeps need it, to know whether the recorded mark still holds;
// detection after each dispatcher pass does not hash the catalog.
func (d *Detector) fingerprint(in detectInputs) string {
	h := sha256.New()
	if d.routing.Zone != nil {
		fmt.Fprintf(h, "zone %s\n", d.routing.Zone)
	}
	for _, sp := range d.routing.Spans {
		fmt.Fprintf(h, "span %s %d %d\n", sp.Backend, sp.From.Unix(), sp.To.Unix())
	}
	lines := make([]string, 0, len(in.offices)+len(in.users))
	for id, office := range in.offices {
		lines = append(lines, "room\x00"+id+"\x00"+office)
	}
	for _, u := range in.users {
		lines = append(lines, "user\x00"+u.ID+"\x00"+strings.TrimSpace(u.Name))
	}
	sort.Strings(lines)
	for _, l := range lines {
		h.Write([]byte(l + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func (d *Detector) detectChanged(ctx context.Context, changed []models.Reservation) (models.ReconcileResult, error) {
	if len(changed) == 0 {
		return models.ReconcileResult{}, nil
	}
	in, err := d.inputs(ctx)
	if err != nil {
		return models.ReconcileResult{}, err
	}
	return d.detect(ctx, in, changed, false)
}

// detect looks at changed; all says changed is every reservation, which then are also
// all those holding their rooms around them (HoldingIn would return each one, as each
// lies in a window of its own).
func (d *Detector) detect(ctx context.Context, in detectInputs, changed []models.Reservation, all bool) (models.ReconcileResult, error) {
	if len(changed) == 0 {
		return models.ReconcileResult{}, nil
	}
	offices, users := in.offices, in.users
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
	holding := changed
	if !all {
		var err error
		if holding, err = d.store.HoldingIn(ctx, windows(changed)); err != nil {
			return models.ReconcileResult{}, err
		}
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
// so the holding reservations around them are read with few indexed queries. Only
// stretches that overlap or touch are merged: merging across gaps (say, up to MaxSpan)
// reads every reservation in the gaps, which for changes spread over a busy table is
// most of it (1,000 changes among 100,000 rows: 0.15 s became 3.4 s). A sweep over
// every reservation does not read around them at all (see detect).
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
