package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"roombridge/models"
)

// Source reads what one backend holds. Implementations wrap failures in the models
// kinds like a Backend does.
type Source interface {
	Name() models.Backend
	// List returns the bookings of the given rooms overlapping [from, to).
	List(ctx context.Context, rooms []models.Room, from, to time.Time) ([]models.Remote, error)
	// CallsPerPass estimates the metered calls one List over these rooms and window
	// costs (0 when the backend does not meter calls).
	CallsPerPass(rooms int, window time.Duration) int
}

// Syncer keeps one backend's bookings in the reservations table: a pass reads the
// backend over the sync window and applies the difference. For the OA it takes a final
// pass just before the freeze and then stops calling it, keeping that snapshot as the
// record. For a metered backend it stretches its interval so the monthly budget holds.
type Syncer struct {
	store   *models.Store
	source  Source
	routing models.Routing
	now     func() time.Time
	log     *slog.Logger
	usage   *Usage

	back, ahead time.Duration
	// base is the shortest interval between passes.
	base time.Duration
	// finalLead is how long before the OA freeze the final pass runs.
	finalLead   time.Duration
	passTimeout time.Duration
	detector    *Detector

	// instance names this process in the sync leases; lease is their length.
	instance string
	lease    time.Duration
	// passSem keeps this process to one pass of the backend at a time; the pass lease
	// does the same across processes.
	passSem chan struct{}
	// plan, for a DeltaSource with a budget, makes background passes incremental.
	plan    *SyncPlan
	metrics *Metrics
}

// SyncerConfig holds a Syncer's dependencies and knobs (zero = default).
type SyncerConfig struct {
	Store   *models.Store
	Source  Source
	Routing models.Routing
	Now     func() time.Time
	Logger  *slog.Logger
	// Usage meters the backend's calls (DingTalk); nil for an unmetered backend.
	Usage *Usage
	// Back and Ahead bound the window (default 30 and 180 days).
	Back, Ahead time.Duration
	// Interval is the shortest time between passes (default 5 min).
	Interval time.Duration
	// FinalLead: the OA's final pass runs this long before its freeze (default 10 min).
	FinalLead   time.Duration
	PassTimeout time.Duration
	// Detector, when set, is notified of what each pass changed.
	Detector *Detector
	// Instance names this process among the replicas sharing the database (default:
	// host name and process id); Lease is how long a sync lease lasts without renewal
	// (default 30 s): the background loop of a dead leader is taken over within it.
	Instance string
	Lease    time.Duration
	// Plan, for a metered DeltaSource, makes the background passes read changes and
	// reconcile room schedules only as the plan and the budget allow (nil: every pass
	// reads the whole window).
	Plan *SyncPlan
	// Metrics, when set, counts the bookings a pass left out or imported after their
	// release failed.
	Metrics *Metrics
}

// NewSyncer builds a Syncer.
func NewSyncer(cfg SyncerConfig) *Syncer {
	s := &Syncer{store: cfg.Store, source: cfg.Source, routing: cfg.Routing, now: cfg.Now, log: cfg.Logger, usage: cfg.Usage,
		back: cfg.Back, ahead: cfg.Ahead, base: cfg.Interval, finalLead: cfg.FinalLead, passTimeout: cfg.PassTimeout,
		instance: cfg.Instance, lease: cfg.Lease, passSem: make(chan struct{}, 1), detector: cfg.Detector, metrics: cfg.Metrics}
	if _, ok := cfg.Source.(DeltaSource); ok && cfg.Plan != nil && cfg.Usage != nil {
		p := cfg.Plan.withDefaults()
		s.plan = &p
	}
	if s.instance == "" {
		s.instance = DefaultOwner("")
	}
	if s.lease <= 0 {
		s.lease = 30 * time.Second
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.back == 0 {
		s.back = 30 * 24 * time.Hour
	}
	if s.ahead == 0 {
		s.ahead = 180 * 24 * time.Hour
	}
	if s.base <= 0 {
		s.base = 5 * time.Minute
	}
	if s.finalLead <= 0 {
		s.finalLead = 10 * time.Minute
	}
	if s.passTimeout <= 0 {
		s.passTimeout = 5 * time.Minute
	}
	return s
}

// Backend names the synced system.
func (s *Syncer) Backend() models.Backend { return s.source.Name() }

// stateFinal marks that the OA's final snapshot before the freeze was taken.
const stateFinal = "final_snapshot_at"

// frozen reports whether the backend is past its freeze (no more calls).
func (s *Syncer) frozen(now time.Time) bool {
	f, ok := s.routing.Freeze[s.source.Name()]
	return ok && !now.Before(f)
}

// leaderLease and passLease name the backend's two sync leases: the replica holding the
// first runs the background passes; whoever holds the second is running a pass.
func (s *Syncer) leaderLease() string { return "sync-leader/" + string(s.source.Name()) }
func (s *Syncer) passLease() string   { return "sync-pass/" + string(s.source.Name()) }

// Leader reports whether this process holds the backend's sync leadership now.
func (s *Syncer) Leader(ctx context.Context) bool {
	h, err := s.store.LeaseHolder(ctx, s.leaderLease())
	return err == nil && h == s.instance
}

// Run syncs until ctx ends. Among the replicas sharing the database only the one that
// holds the backend's leader lease runs passes; the others keep trying to take the lease,
// every tenth of its length, so a dead leader is replaced within about one lease. Each
// pass has its own timeout; a failed pass is logged and tried again at the next interval.
func (s *Syncer) Run(ctx context.Context) error {
	b := s.source.Name()
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.store.ReleaseLease(rctx, s.leaderLease(), s.instance)
	}()
	tick := max(s.lease/10, 50*time.Millisecond)
	leader := false
	var due time.Time // when the leader's next pass is due (zero: now)
	for {
		held, err := s.store.AcquireLease(ctx, s.leaderLease(), s.instance, s.lease)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("sync leader lease", "backend", b, "err", err)
		}
		if held != leader {
			leader = held
			if leader {
				s.log.Info("sync leader", "backend", b, "instance", s.instance)
				due = s.lastPassDue(ctx)
			} else {
				s.log.Info("sync leadership lost", "backend", b, "instance", s.instance)
			}
		}
		if leader && !s.now().Before(due) {
			pctx, cancel := context.WithTimeout(ctx, s.passTimeout)
			keep := s.keep(s.leaderLease()) // a pass may outlast the lease
			sum, err := s.PlannedPass(pctx)
			keep()
			cancel()
			if err != nil && ctx.Err() == nil {
				s.log.Warn("sync pass", "backend", b, "err", err)
			} else if !sum.Skipped {
				s.log.Info("sync pass", "backend", sum.Backend, "seen", sum.Seen, "created", sum.Created,
					"updated", sum.Updated, "cancelled", sum.Cancelled, "guarded", sum.Guarded, "metered_calls", sum.MeteredCalls, "ms", sum.DurationMS)
			}
			due = s.now().Add(s.NextInterval(ctx))
		}
		wait := tick
		if leader {
			wait = min(max(due.Sub(s.now()), time.Millisecond), s.lease/3)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// lastPassDue is when the next pass is due after the latest recorded pass of the
// backend (by any replica): a new leader does not repeat a pass its predecessor just ran.
func (s *Syncer) lastPassDue(ctx context.Context) time.Time {
	runs, err := s.store.SyncRuns(ctx, s.source.Name(), 1)
	if err != nil || len(runs) == 0 {
		return time.Time{}
	}
	return runs[0].StartedAt.Add(s.NextInterval(ctx))
}

// lockPass makes this the only pass of the backend that runs, here and on every replica
// sharing the database: it waits for a running one to end (until ctx ends) and keeps
// the pass lease renewed while the pass runs. The returned func ends the pass.
func (s *Syncer) lockPass(ctx context.Context) (func(), error) {
	select {
	case s.passSem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the running %s sync pass: %w", s.source.Name(), ctx.Err())
	}
	poll := max(s.lease/100, 20*time.Millisecond)
	for {
		ok, err := s.store.AcquireLease(ctx, s.passLease(), s.instance, s.lease)
		if err == nil && ok {
			break
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			<-s.passSem
			return nil, fmt.Errorf("wait for the running %s sync pass: %w", s.source.Name(), errors.Join(ctx.Err(), err))
		case <-t.C:
		}
		poll = min(poll*2, time.Second)
	}
	keep := s.keep(s.passLease())
	return func() {
		keep()
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.store.ReleaseLease(rctx, s.passLease(), s.instance)
		<-s.passSem
	}, nil
}

// keep renews lease name for this process every third of its length until the
// returned func is called.
func (s *Syncer) keep(name string) func() {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.lease / 3)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				if _, err := s.store.AcquireLease(context.Background(), name, s.instance, s.lease); err != nil {
					s.log.Warn("renew sync lease", "lease", name, "err", err)
				}
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// NextInterval is how long to wait before the next pass: the base interval, stretched
// for a metered backend so the month's remaining budget lasts to the month's end, and
// shortened so the OA's final pass lands just before its freeze.
func (s *Syncer) NextInterval(ctx context.Context) time.Duration {
	now := s.now()
	wait := s.base
	switch {
	case s.plan != nil:
		wait = s.plannedWait(ctx, now)
	case s.usage != nil:
		rooms, _ := s.mappedRooms(ctx)
		per := s.source.CallsPerPass(len(rooms), s.back+s.ahead)
		wait = s.meteredWait(ctx, now, per)
	}
	if f, ok := s.routing.Freeze[s.source.Name()]; ok && now.Before(f) {
		final := f.Add(-s.finalLead)
		switch {
		case now.Before(final) && now.Add(wait).After(final):
			wait = final.Sub(now)
		case !now.Before(final):
			// In the last minutes: once the final snapshot is taken, wait out the freeze;
			// until then, try again every minute.
			if at, _ := s.store.State(ctx, s.source.Name(), stateFinal); at != "" {
				wait = max(f.Sub(now), time.Second)
			} else {
				wait = min(time.Minute, max(f.Sub(now), time.Second))
			}
		}
	}
	return wait
}

func (s *Syncer) mappedRooms(ctx context.Context) ([]models.Room, error) {
	all, err := s.store.Rooms(ctx)
	if err != nil {
		return nil, err
	}
	var out []models.Room
	for _, r := range all {
		if r.RemoteID(s.source.Name()) != "" {
			out = append(out, r)
		}
	}
	return out, nil
}

// Pass runs one sync pass: read the backend over the window and apply the difference.
// Passes of one backend never overlap, in this process or across replicas: a pass
// waits for a running one to end first (see lockPass).
// force lets an empty answer cancel everything (the guard otherwise refuses). After the
// OA freeze the pass is skipped (Summary.Skipped) and the last snapshot stays.
func (s *Syncer) Pass(ctx context.Context, force bool) (models.SyncSummary, error) {
	unlock, err := s.lockPass(ctx)
	if err != nil {
		return models.SyncSummary{Backend: s.source.Name(), StartedAt: s.now()}, err
	}
	defer unlock()
	start := s.now()
	b := s.source.Name()
	sum := models.SyncSummary{Backend: b, StartedAt: start}
	if s.frozen(start) {
		at, _ := s.store.State(ctx, b, stateFinal)
		sum.Skipped = true
		sum.Note = "frozen: keeping the snapshot taken before the freeze"
		if at != "" {
			sum.Note += " (" + at + ")"
		}
		return sum, nil
	}
	rooms, err := s.mappedRooms(ctx)
	if err != nil {
		return sum, err
	}
	from, to := start.Add(-s.back), start.Add(s.ahead)
	var before int
	if s.usage != nil {
		if per := s.source.CallsPerPass(len(rooms), s.back+s.ahead); !s.usage.Allow(ctx, start, per) {
			if !s.usage.floorDue(start, s.lastFull(ctx), per) {
				sum.Skipped = true
				sum.Note = fmt.Sprintf("monthly budget of %d metered calls reached", s.usage.Budget)
				return sum, nil
			}
			sum.Note = fmt.Sprintf("daily pass past the monthly budget of %d metered calls (overage %d)", s.usage.Budget, s.usage.Overage)
			s.log.Warn("sync: daily floor pass past the budget", "backend", b, "used", s.usage.Count(), "budget", s.usage.Budget, "overage", s.usage.Overage)
		}
		before = s.usage.Count()
	}
	// A backend read by changes reports a booking this pass leaves alone no more unless
	// it changes: what the pass leaves alone is kept for those reads (see stateHeld).
	_, delta := s.source.(DeltaSource)
	var heldWas string
	if delta {
		if _, heldWas, err = s.held(ctx); err != nil {
			return sum, err
		}
	}
	readAt := s.now()
	written, err := s.store.WrittenIn(ctx, b, readAt)
	if err != nil {
		return sum, err
	}
	remotes, lerr := s.source.List(ctx, rooms, from, to)
	var ids []string
	for _, r := range rooms {
		ids = append(ids, r.ID)
	}
	var applied models.ApplyResult
	if lerr == nil {
		applied, err = s.store.ApplySync(ctx, b, remotes, models.ApplyOptions{From: from, To: to, Rooms: ids, Force: force, ReadAt: readAt, Before: written})
		if err == nil && delta {
			err = s.keepHeld(ctx, heldWas, remotes, applied.Held)
		}
	} else {
		err = lerr
	}
	if err == nil && s.plan != nil {
		err = s.store.SetState(ctx, b, stateReconciled, start.UTC().Format(time.RFC3339))
	}
	if f, ok := s.routing.Freeze[b]; ok && err == nil && !start.Before(f.Add(-s.finalLead)) {
		_ = s.store.SetState(ctx, b, stateFinal, start.UTC().Format(time.RFC3339))
	}
	return s.finish(ctx, sum, applied, err, readAt, before, from, to)
}

// finish completes the summary of a pass that read the backend at readAt (the budget
// counting before calls then) and applied what it read, and records the pass.
func (s *Syncer) finish(ctx context.Context, sum models.SyncSummary, applied models.ApplyResult, err error, readAt time.Time, before int, from, to time.Time) (models.SyncSummary, error) {
	b, start := sum.Backend, sum.StartedAt
	sum.Seen, sum.Created, sum.Updated, sum.Cancelled, sum.Guarded = applied.Seen, applied.Created, applied.Updated, applied.Cancelled, applied.Guarded
	if err != nil {
		sum.Errors = 1
		sum.Note = strings.TrimSpace(sum.Note + " " + err.Error())
	}
	s.rowsApart(&sum, applied)
	if err == nil && s.detector != nil {
		// ApplySync stamps what it changed no earlier than the read, to the second. The
		// detection runs on the detector's worker, so the pass holds the database no
		// longer than it must (Admin.Sync detects inline for a caller that waits).
		s.detector.Notify(readAt.Add(-time.Second))
	}
	if applied.Guarded > 0 {
		sum.Note = strings.TrimSpace(sum.Note + fmt.Sprintf(" %s returned nothing for rooms holding %d reservations; kept them (an admin can force the pass)", b, applied.Guarded))
		s.log.Warn("sync guard: empty answer, nothing cancelled", "backend", b, "kept", applied.Guarded)
	}
	if s.usage != nil {
		sum.MeteredCalls = s.usage.Count() - before
		s.usage.Flush(ctx, start)
	}
	sum.DurationMS = s.now().Sub(start).Milliseconds()
	if rerr := s.store.RecordSyncRun(ctx, models.SyncRun{Backend: b, StartedAt: start, DurationMS: sum.DurationMS, WindowFrom: from, WindowTo: to,
		Seen: sum.Seen, Created: sum.Created, Updated: sum.Updated, Cancelled: sum.Cancelled, Errors: sum.Errors,
		MeteredCalls: sum.MeteredCalls, Guarded: sum.Guarded, Note: sum.Note}); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return sum, err
}

// rowsApart logs, counts and notes on the pass's summary the bookings the pass treated
// apart: those it could not write (each an error of the pass; the rest applied) and
// those it imported after their release gave up (the backend still holds them: an
// admin's move or migration left them behind).
func (s *Syncer) rowsApart(sum *models.SyncSummary, applied models.ApplyResult) {
	b := sum.Backend
	if n := len(applied.Skipped); n > 0 {
		ids := make([]string, 0, min(n, 5))
		for i, sk := range applied.Skipped {
			s.log.Warn("sync: booking left out", "backend", b, "remote_id", sk.RemoteID, "err", sk.Err)
			if i < 5 {
				ids = append(ids, sk.RemoteID)
			}
		}
		sum.Errors += n
		sum.Note = strings.TrimSpace(sum.Note + fmt.Sprintf(" %d bookings could not be written and were left out (%s): %v", n, strings.Join(ids, ", "), applied.Skipped[0].Err))
		s.metrics.SyncRows(b, "skipped", n)
	}
	if n := applied.ReleaseFailed; n > 0 {
		s.log.Warn("sync: imported bookings whose release failed", "backend", b, "count", n)
		sum.Note = strings.TrimSpace(sum.Note + fmt.Sprintf(" %d bookings whose release failed are still in %s: imported", n, b))
		s.metrics.SyncRows(b, "release_failed", n)
	}
}

// lastPass is when the backend's last pass that ran started (zero: none yet).
func (s *Syncer) lastPass(ctx context.Context) time.Time {
	runs, err := s.store.SyncRuns(ctx, s.source.Name(), 1)
	if err != nil || len(runs) == 0 {
		return time.Time{}
	}
	return runs[0].StartedAt
}

// meteredWait is the time to the next pass of a metered backend: the budget's interval,
// or, once the budget is spent, until the daily floor pass is due while the overage
// lasts.
func (s *Syncer) meteredWait(ctx context.Context, now time.Time, per int) time.Duration {
	wait := s.usage.Interval(ctx, now, per, s.base)
	if s.usage.Allow(ctx, now, per) || s.usage.Overage <= 0 || s.usage.Count()+per > s.usage.Budget+s.usage.Overage {
		return wait
	}
	floor := s.base
	if last := s.lastFull(ctx); !last.IsZero() {
		floor = max(last.Add(syncFloor).Sub(now), s.base)
	}
	return min(wait, floor)
}

// Read reads what the backend holds over [from, to) in the rooms mapped to it, without
// applying anything (roombridge verify). It returns the ids of the rooms read. After
// the OA freeze it reads nothing and returns ErrFrozen.
func (s *Syncer) Read(ctx context.Context, from, to time.Time) ([]models.Remote, []string, error) {
	if s.frozen(s.now()) {
		return nil, nil, fmt.Errorf("%s is past its freeze: %w", s.source.Name(), models.ErrFrozen)
	}
	rooms, err := s.mappedRooms(ctx)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, 0, len(rooms))
	for _, r := range rooms {
		ids = append(ids, r.ID)
	}
	remotes, err := s.source.List(ctx, rooms, from, to)
	return remotes, ids, err
}

// UsageStatus reports the metered backend's month: calls used, what a pass costs, the
// current interval, the projection, and whether the budget throttles or pauses sync and
// until when. ok is false for an unmetered backend.
func (s *Syncer) UsageStatus(ctx context.Context) (st models.UsageStatus, ok bool) {
	if s.usage == nil {
		return models.UsageStatus{}, false
	}
	now := s.now()
	rooms, _ := s.mappedRooms(ctx)
	per := s.source.CallsPerPass(len(rooms), s.back+s.ahead)
	wait, base := s.meteredWait(ctx, now, per), s.base
	if s.plan != nil {
		sc, deltaPer, reconPer, recons := s.schedule(ctx, now)
		per, wait, base = deltaPer, s.plannedWait(ctx, now), sc.Target
		st = s.usage.Status(now, per, wait)
		// The delta reads and the reconciliations still due; a steady month as planned.
		st.Projected = st.Used + deltaPer*times(s.usage.monthEnd(now).Sub(now), wait) + recons*reconPer
		month := 30 * 24 * time.Hour
		st.SteadyMonth = deltaPer*times(month, wait) + reconPer*times(month, sc.ReconcileEvery)
	} else {
		st = s.usage.Status(now, per, wait)
	}
	switch {
	case !s.usage.Allow(ctx, now, per):
		// The wait already counts from now: to the daily floor or the month's turn.
		st.State, st.Until = models.SyncPaused, now.Add(wait).UTC().Truncate(time.Second)
	case wait > base:
		// Passes are spaced wait apart: the next comes that long after the last.
		next := now.Add(wait)
		if last := s.lastPass(ctx); !last.IsZero() {
			next = feedMaxTime(last.Add(wait), now)
		}
		st.State, st.Until = models.SyncThrottled, next.UTC().Truncate(time.Second)
	}
	return st, true
}
