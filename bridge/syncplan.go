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

// reconcileMin and reconcileMax bound the reconciliation interval the plan sizes to the
// budget: at most daily, at least weekly.
const (
	reconcileMin = 24 * time.Hour
	reconcileMax = 7 * 24 * time.Hour
)

// Schedule is what a plan does over a month.
type Schedule struct {
	// DeltaEvery is the time between delta reads; Target what it would be with budget to
	// spare (Freshness, or StreamCheck with Stream on).
	DeltaEvery, Target time.Duration
	// ReconcileEvery is the time between reconciliations.
	ReconcileEvery time.Duration
	// Calls is what the schedule spends over the month.
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

// times is how many passes every apart, the first at once, fall within d.
func times(d, every time.Duration) int {
	if every <= 0 || d <= 0 {
		return 0
	}
	return int((d + every - 1) / every)
}

// Schedule plans a month of length month with calls metered calls to spend on delta
// reads costing deltaPer calls each and reconciliations costing reconPer: delta reads at
// the target, and reconciliations as often as what they leave pays for (daily at most,
// weekly at least). When even weekly reconciliations leave too little for delta reads at
// the target, the delta reads are spaced out to fit.
func (p SyncPlan) Schedule(month time.Duration, calls, deltaPer, reconPer int) Schedule {
	p = p.withDefaults()
	target := p.Freshness
	if p.Stream {
		target = p.StreamCheck
	}
	sc := Schedule{DeltaEvery: target, Target: target, ReconcileEvery: reconcileMax}
	deltaCalls := deltaPer * times(month, target)
	switch spare := calls - deltaCalls; {
	case p.Reconcile > 0:
		sc.ReconcileEvery = p.Reconcile
	case reconPer > 0 && spare >= reconPer*times(month, reconcileMax):
		sc.ReconcileEvery = min(reconcileMax, max(reconcileMin, month/time.Duration(spare/reconPer)))
	}
	sc.DeltaEvery = deltaInterval(month, calls-reconPer*times(month, sc.ReconcileEvery), deltaPer, target)
	sc.Calls = deltaPer*times(month, sc.DeltaEvery) + reconPer*times(month, sc.ReconcileEvery)
	return sc
}

// deltaInterval is the time between delta reads costing deltaPer calls so that calls
// last for the time left, never shorter than target (left when not even one fits).
func deltaInterval(left time.Duration, calls, deltaPer int, target time.Duration) time.Duration {
	n := calls / max(deltaPer, 1)
	if n <= 0 {
		return max(left, target)
	}
	return max(target, (left+time.Duration(n)-1)/time.Duration(n))
}
