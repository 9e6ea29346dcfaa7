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
}

// NewSyncer builds a Syncer.
func NewSyncer(cfg SyncerConfig) *Syncer {
	s := &Syncer{store: cfg.Store, source: cfg.Source, routing: cfg.Routing, now: cfg.Now, log: cfg.Logger, usage: cfg.Usage,
		back: cfg.Back, ahead: cfg.Ahead, base: cfg.Interval, finalLead: cfg.FinalLead, passTimeout: cfg.PassTimeout,
		detector: cfg.Detector}
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

// Run syncs until ctx ends. Each pass has its own timeout; a failed pass is logged and
// tried again at the next interval.
func (s *Syncer) Run(ctx context.Context) error {
	for {
		pctx, cancel := context.WithTimeout(ctx, s.passTimeout)
		sum, err := s.Pass(pctx, false)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.log.Warn("sync pass", "backend", s.source.Name(), "err", err)
		} else if !sum.Skipped {
			s.log.Info("sync pass", "backend", sum.Backend, "seen", sum.Seen, "created", sum.Created,
				"updated", sum.Updated, "cancelled", sum.Cancelled, "guarded", sum.Guarded, "metered_calls", sum.MeteredCalls, "ms", sum.DurationMS)
		}
		wait := s.NextInterval(ctx)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// NextInterval is how long to wait before the next pass: the base interval, stretched
// for a metered backend so the month's remaining budget lasts to the month's end, and
// shortened so the OA's final pass lands just before its freeze.
func (s *Syncer) NextInterval(ctx context.Context) time.Duration {
	now := s.now()
	wait := s.base
	if s.usage != nil {
		rooms, _ := s.mappedRooms(ctx)
		per := s.source.CallsPerPass(len(rooms), s.back+s.ahead)
		wait = s.usage.Interval(ctx, now, per, s.base)
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
// force lets an empty answer cancel everything (the guard otherwise refuses). After the
// OA freeze the pass is skipped (Summary.Skipped) and the last snapshot stays.
func (s *Syncer) Pass(ctx context.Context, force bool) (models.SyncSummary, error) {
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
			sum.Skipped = true
			sum.Note = fmt.Sprintf("monthly budget of %d metered calls reached", s.usage.Budget)
			return sum, nil
		}
		before = s.usage.Count()
	}
	readAt := s.now()
	remotes, lerr := s.source.List(ctx, rooms, from, to)
	var ids []string
	for _, r := range rooms {
		ids = append(ids, r.ID)
	}
	var applied models.ApplyResult
	if lerr == nil {
		applied, err = s.store.ApplySync(ctx, b, remotes, models.ApplyOptions{From: from, To: to, Rooms: ids, Force: force, ReadAt: readAt})
	} else {
		err = lerr
	}
	sum.Seen, sum.Created, sum.Updated, sum.Cancelled, sum.Guarded = applied.Seen, applied.Created, applied.Updated, applied.Cancelled, applied.Guarded
	if err != nil {
		sum.Errors = 1
		sum.Note = err.Error()
	}
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
	if f, ok := s.routing.Freeze[b]; ok && err == nil && !start.Before(f.Add(-s.finalLead)) {
		_ = s.store.SetState(ctx, b, stateFinal, start.UTC().Format(time.RFC3339))
	}
	if rerr := s.store.RecordSyncRun(ctx, models.SyncRun{Backend: b, StartedAt: start, DurationMS: sum.DurationMS, WindowFrom: from, WindowTo: to,
		Seen: sum.Seen, Created: sum.Created, Updated: sum.Updated, Cancelled: sum.Cancelled, Errors: sum.Errors,
		MeteredCalls: sum.MeteredCalls, Guarded: sum.Guarded, Note: sum.Note}); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return sum, err
}

// UsageStatus reports the metered backend's month: calls used, what a pass costs, the
// current interval and the projection. ok is false for an unmetered backend.
func (s *Syncer) UsageStatus(ctx context.Context) (st models.UsageStatus, ok bool) {
	if s.usage == nil {
		return models.UsageStatus{}, false
	}
	rooms, _ := s.mappedRooms(ctx)
	per := s.source.CallsPerPass(len(rooms), s.back+s.ahead)
	return s.usage.Status(s.now(), per, s.usage.Interval(ctx, s.now(), per, s.base)), true
}
