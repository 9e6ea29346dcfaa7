package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"roombridge/models"
)

// stateReconciled records when the last reconciliation of an incremental sync ran.
const stateReconciled = "reconciled_at"

// stateHeld keeps, for a backend read by changes, the listings that passes left alone
// (a release or a write of the bridge still to be settled), as they were read. The
// backend reports an event again only when it changes, so each read of changes offers
// them again (models.ChangeSet.Again) until their outcome is known: imported once the
// release gave up or the write was settled otherwise, dropped once released. They cost
// no call; a full pass replaces them with what it left alone itself.
const stateHeld = "held_listings"

// held returns the listings passes left alone (see stateHeld) and their stored form.
func (s *Syncer) held(ctx context.Context) ([]models.Remote, string, error) {
	raw, err := s.store.State(ctx, s.source.Name(), stateHeld)
	if err != nil || raw == "" {
		return nil, raw, err
	}
	var out []models.Remote
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		s.log.Warn("sync: unreadable held listings dropped", "backend", s.source.Name(), "err", err)
		return nil, raw, nil
	}
	return out, raw, nil
}

// keepHeld stores, in place of was (their stored form before the pass), the listings
// among read whose ids the pass left alone (ApplyResult.Held); nothing is written when
// they did not change.
func (s *Syncer) keepHeld(ctx context.Context, was string, read []models.Remote, ids []string) error {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var keep []models.Remote
	for _, rm := range read {
		if want[rm.RemoteID] {
			keep = append(keep, rm)
			delete(want, rm.RemoteID)
		}
	}
	slices.SortFunc(keep, func(a, b models.Remote) int { return strings.Compare(a.RemoteID, b.RemoteID) })
	now := ""
	if len(keep) > 0 {
		b, err := json.Marshal(keep)
		if err != nil {
			return err
		}
		now = string(b)
	}
	if now == was {
		return nil
	}
	return s.store.SetState(ctx, s.source.Name(), stateHeld, now)
}

// lastFull is when the backend was last read over the whole window: the last
// reconciliation of an incremental sync, else the last pass (zero: none yet).
func (s *Syncer) lastFull(ctx context.Context) time.Time {
	if s.plan == nil {
		return s.lastPass(ctx)
	}
	v, err := s.store.State(ctx, s.source.Name(), stateReconciled)
	if err != nil || v == "" {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339, v)
	return t
}

// schedule plans the rest of the month: the plan for the whole month (a tenth of the
// budget kept back for bookings, as Usage.Interval does) fixes the reconciliation
// interval, the reconciliations still due this month are set aside, and the delta reads
// share what is left of the budget (so bookings that spend more than their tenth space
// them out). It returns the schedule with what a delta read and a reconciliation cost,
// and how many reconciliations are still due this month.
func (s *Syncer) schedule(ctx context.Context, now time.Time) (sc Schedule, deltaPer, reconPer, recons int) {
	rooms, _ := s.mappedRooms(ctx)
	reconPer = s.source.CallsPerPass(len(rooms), s.back+s.ahead)
	deltaPer = s.source.(DeltaSource).DeltaCalendars()
	end := s.usage.monthEnd(now)
	usable := s.usage.Budget - s.usage.Budget/10
	sc = s.plan.Schedule(end.Sub(end.AddDate(0, -1, 0)), usable, deltaPer, reconPer)
	next := now
	if last := s.lastFull(ctx); !last.IsZero() && last.Add(sc.ReconcileEvery).After(now) {
		next = last.Add(sc.ReconcileEvery)
	}
	recons = times(end.Sub(next), sc.ReconcileEvery)
	sc.DeltaEvery = deltaInterval(end.Sub(now), usable-s.usage.Count()-recons*reconPer, deltaPer, sc.Target)
	return sc, deltaPer, reconPer, recons
}

// plannedWait is the time to the next pass of an incremental sync: the plan's delta
// interval, or, once the budget cannot pay for a delta read, as for a full pass (the
// daily floor while the overage lasts, else the month's turn).
func (s *Syncer) plannedWait(ctx context.Context, now time.Time) time.Duration {
	sc, deltaPer, reconPer, _ := s.schedule(ctx, now)
	if !s.usage.Allow(ctx, now, deltaPer) {
		return s.meteredWait(ctx, now, reconPer)
	}
	return max(sc.DeltaEvery, time.Second)
}

// PlannedPass runs the background pass the plan calls for: a reconciliation (a full Pass)
// when one is due or the budget has run out (Pass then keeps the daily floor), else a
// delta read. Without a plan every pass is a full one.
func (s *Syncer) PlannedPass(ctx context.Context) (models.SyncSummary, error) {
	if s.plan == nil {
		return s.Pass(ctx, false)
	}
	now := s.now()
	sc, deltaPer, _, _ := s.schedule(ctx, now)
	last := s.lastFull(ctx)
	if last.IsZero() || !now.Before(last.Add(sc.ReconcileEvery)) || !s.usage.Allow(ctx, now, deltaPer) {
		return s.Pass(ctx, false)
	}
	return s.DeltaPass(ctx)
}

// DeltaPass reads what changed in the backend since the stored cursors (each calendar
// without a valid one in full from the window's start) and applies it, then stores the
// new cursors, so a restart resumes where this pass ended. It returns an error wrapping
// models.ErrInvalid for a backend that cannot read changes, and the pass is skipped
// (Summary.Skipped) when the budget cannot pay for it.
func (s *Syncer) DeltaPass(ctx context.Context) (models.SyncSummary, error) {
	b := s.source.Name()
	ds, ok := s.source.(DeltaSource)
	if !ok {
		return models.SyncSummary{Backend: b, StartedAt: s.now()}, fmt.Errorf("%s cannot read changes: %w", b, models.ErrInvalid)
	}
	unlock, err := s.lockPass(ctx)
	if err != nil {
		return models.SyncSummary{Backend: b, StartedAt: s.now()}, err
	}
	defer unlock()
	start := s.now()
	sum := models.SyncSummary{Backend: b, StartedAt: start}
	from, to := start.Add(-s.back), start.Add(s.ahead)
	var before int
	if s.usage != nil {
		if per := ds.DeltaCalendars(); !s.usage.Allow(ctx, start, per) {
			sum.Skipped = true
			sum.Note = fmt.Sprintf("monthly budget of %d metered calls reached", s.usage.Budget)
			return sum, nil
		}
		before = s.usage.Count()
	}
	rooms, err := s.mappedRooms(ctx)
	if err != nil {
		return sum, err
	}
	tokens, err := s.store.SyncTokens(ctx, b)
	if err != nil {
		return sum, err
	}
	again, heldWas, err := s.held(ctx)
	if err != nil {
		return sum, err
	}
	readAt := s.now()
	written, err := s.store.WrittenIn(ctx, b, readAt)
	if err != nil {
		return sum, err
	}
	d, err := ds.Changes(ctx, rooms, tokens, from)
	var applied models.ApplyResult
	if err == nil {
		// Bookings past the window are left to the passes that will have them in it.
		in := d.Remotes[:0]
		for _, rm := range d.Remotes {
			if rm.Start.Before(to) {
				in = append(in, rm)
			}
		}
		applied, err = s.store.ApplyChangeSet(ctx, b, models.ChangeSet{Remotes: in, Gone: d.Gone, Again: again, ReadAt: readAt, Before: written})
		if err == nil {
			// Before the cursors move past them: a pass that stops here reads them again.
			err = s.keepHeld(ctx, heldWas, append(in, again...), applied.Held)
		}
	}
	if err == nil {
		changed := map[string]string{}
		for cal, tok := range d.Tokens {
			if tokens[cal] != tok {
				changed[cal] = tok
			}
		}
		err = s.store.SetSyncTokens(ctx, b, changed)
	}
	sum.Note = fmt.Sprintf("changes of %d calendars", len(d.Tokens))
	if d.Full > 0 {
		sum.Note += fmt.Sprintf(", %d read in full", d.Full)
	}
	if d.Skipped > 0 {
		sum.Note += fmt.Sprintf("; %d recurring events left to the room schedules", d.Skipped)
	}
	return s.finish(ctx, sum, applied, err, readAt, before, from, to)
}
