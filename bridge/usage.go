package bridge

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"roombridge/models"
)

// Usage counts a backend's metered calls per calendar month against a budget (DingTalk
// meters its API per organisation and month). The count is kept in memory, recorded by
// the adapter's call hook, and flushed to the store so it survives restarts.
type Usage struct {
	Backend models.Backend
	Budget  int

	store *models.Store
	zone  *time.Location
	log   *slog.Logger

	mu        sync.Mutex
	month     string
	count     int
	unflushed int
}

// NewUsage builds a Usage for backend b with a monthly budget; months are counted in
// zone.
func NewUsage(store *models.Store, b models.Backend, budget int, zone *time.Location, log *slog.Logger) *Usage {
	if log == nil {
		log = slog.Default()
	}
	return &Usage{Backend: b, Budget: budget, store: store, zone: zone, log: log}
}

func (u *Usage) key(month string) string { return "metered_calls:" + month }

// Load reads this month's count from the store.
func (u *Usage) Load(ctx context.Context, now time.Time) error {
	month := now.In(u.zone).Format("2006-01")
	v, err := u.store.AddState(ctx, u.Backend, u.key(month), 0)
	if err != nil {
		return err
	}
	u.mu.Lock()
	u.month, u.count, u.unflushed = month, v, 0
	u.mu.Unlock()
	return nil
}

// Record counts one metered call made at now.
func (u *Usage) Record(now time.Time) {
	month := now.In(u.zone).Format("2006-01")
	u.mu.Lock()
	defer u.mu.Unlock()
	if month != u.month {
		u.month, u.count, u.unflushed = month, 0, 0
	}
	u.count++
	u.unflushed++
}

// Count returns the calls counted this month.
func (u *Usage) Count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.count
}

// Flush writes the calls counted since the last flush to the store.
func (u *Usage) Flush(ctx context.Context, now time.Time) {
	u.mu.Lock()
	month, delta := u.month, u.unflushed
	u.unflushed = 0
	u.mu.Unlock()
	if delta == 0 || month == "" {
		return
	}
	if _, err := u.store.AddState(ctx, u.Backend, u.key(month), delta); err != nil {
		u.mu.Lock()
		u.unflushed += delta
		u.mu.Unlock()
		u.log.Warn("record metered calls", "backend", u.Backend, "err", err)
	}
}

// monthEnd returns the first instant of the next month in the usage zone.
func (u *Usage) monthEnd(now time.Time) time.Time {
	t := now.In(u.zone)
	return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, u.zone)
}

// Allow reports whether a pass costing per calls still fits this month's budget.
func (u *Usage) Allow(ctx context.Context, now time.Time, per int) bool {
	return u.Count()+per <= u.Budget
}

// Interval returns how long to wait between passes costing per calls so the remaining
// budget lasts until the month ends, but never less than base. A tenth of the budget is
// kept back for bookings and title reads, which are metered too. With no budget left it
// waits until the month turns.
func (u *Usage) Interval(ctx context.Context, now time.Time, per int, base time.Duration) time.Duration {
	if per <= 0 {
		return base
	}
	left := u.monthEnd(now).Sub(now)
	remaining := u.Budget - u.Budget/10 - u.Count()
	if remaining < per {
		return max(left, base)
	}
	passes := remaining / per
	return max(left/time.Duration(passes), base)
}

// Status reports usage and its projection for passes costing per calls every interval.
func (u *Usage) Status(now time.Time, per int, interval time.Duration) models.UsageStatus {
	used := u.Count()
	st := models.UsageStatus{Backend: u.Backend, Month: now.In(u.zone).Format("2006-01"), Budget: u.Budget, Used: used, PerPass: per, Interval: interval}
	if interval > 0 && per > 0 {
		left := u.monthEnd(now).Sub(now)
		st.Projected = used + per*int(left/interval)
		st.SteadyMonth = per * int((30*24*time.Hour)/interval)
	} else {
		st.Projected = used
	}
	return st
}
