package bridge

import "time"

// SyncPlan decides what an incremental sync (a DeltaSource) reads, and how often, so
// that bookings stay fresh within the monthly budget of metered calls:
//
//   - a delta read of the followed calendars (their syncTokens; one call per calendar
//     when fewer than 100 events changed) every Freshness, or, with Stream events on
//     (which apply each change at once), every StreamCheck as a backstop;
//   - a reconciliation of every room's schedule over the whole window (rooms/5 calls
//     per 90 days of window), which finds bookings on calendars nobody follows and
//     anything a delta or an event missed: once a day when the budget allows, sparser
//     when it does not.
//
// When the delta reads alone would overrun the budget, they are spaced out instead (the
// sync is then throttled, and /admin and /metrics say so).
type SyncPlan struct {
	// Freshness is the longest a change may take to arrive when Stream is off (default
	// 15 min).
	Freshness time.Duration
	// Stream is on when DingTalk Stream events are applied as they come.
	Stream bool
	// StreamCheck is the delta read interval with Stream on (default 6 h).
	StreamCheck time.Duration
	// Reconcile fixes the reconciliation interval; zero sizes it to the budget, never
	// more often than daily.
	Reconcile time.Duration
}

// reconcileMin is the shortest interval the plan reconciles at on its own.
const reconcileMin = 24 * time.Hour

// Schedule is what a plan does over the rest of a month.
type Schedule struct {
	// DeltaEvery is the time between delta reads; Target what it would be with budget to
	// spare (Freshness, or StreamCheck with Stream on).
	DeltaEvery, Target time.Duration
	// ReconcileEvery is the time between reconciliations.
	ReconcileEvery time.Duration
	// Calls is what the schedule spends over the time it was made for.
	Calls int
}

func (p SyncPlan) withDefaults() SyncPlan {
	if p.Freshness <= 0 {
		p.Freshness = 15 * time.Minute
	}
	if p.StreamCheck <= 0 {
		p.StreamCheck = 6 * time.Hour
	}
	return p
}

// Schedule plans the time left in a month with calls metered calls to spend: delta
// reads costing deltaPer calls each, reconciliations costing reconPer.
func (p SyncPlan) Schedule(left time.Duration, calls, deltaPer, reconPer int) Schedule {
	p = p.withDefaults()
	target := p.Freshness
	if p.Stream {
		target = p.StreamCheck
	}
	sc := Schedule{DeltaEvery: target, Target: target, ReconcileEvery: reconcileMin}
	if left <= 0 {
		return sc
	}
	passes := func(every time.Duration) int { return int((left + every - 1) / every) }
	deltaCalls := deltaPer * passes(target)
	spare := calls - deltaCalls
	switch {
	case spare < reconPer:
		// The delta reads at their target leave no room for one reconciliation: space
		// them out so one fits, and let the daily floor reconcile past the budget.
		sc.DeltaEvery, sc.ReconcileEvery = left, left
		if n := (calls - reconPer) / max(deltaPer, 1); n > 0 {
			sc.DeltaEvery = max(target, left/time.Duration(n))
		}
	case p.Reconcile > 0:
		sc.ReconcileEvery = p.Reconcile
	case reconPer > 0:
		// n reconciliations, the first now, fit in what the delta reads leave.
		sc.ReconcileEvery = max(reconcileMin, left/time.Duration(spare/reconPer))
	}
	sc.Calls = deltaPer*passes(sc.DeltaEvery) + reconPer*passes(sc.ReconcileEvery)
	return sc
}
