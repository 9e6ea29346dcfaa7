package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"roombridge/models"
)

// Admin is the operator side of the engine: sync on demand and the status an admin
// watches. Store and Routing are required; Syncers may be empty.
type Admin struct {
	Store   *models.Store
	Syncers []*Syncer
	Routing models.Routing
	// Demo is reported in the status.
	Demo bool
	// Detector, when set, looks for conflicts after Sync, before it returns.
	Detector *Detector
	// Stream, when set (Stream mode on), reports DingTalk's Stream connection and events.
	Stream interface{ StreamStatus() models.StreamStatus }
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (a *Admin) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

// Sync runs one pass of every syncer; force lets a pass cancel what a backend that
// suddenly returns nothing no longer lists. It returns the summaries of the passes that
// ran together with the errors of those that failed.
func (a *Admin) Sync(ctx context.Context, force bool) ([]models.SyncSummary, error) {
	out := make([]models.SyncSummary, 0, len(a.Syncers))
	var errs []error
	since := a.now().Add(-time.Second)
	for _, s := range a.Syncers {
		sum, err := s.Pass(ctx, force)
		out = append(out, sum)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Backend(), err))
		}
	}
	// Conflicts are in place when the caller gets the summaries (the detection waits
	// for any the passes' notices started).
	if a.Detector != nil {
		if _, err := a.Detector.DetectSince(ctx, since); err != nil {
			errs = append(errs, fmt.Errorf("detect conflicts: %w", err))
		}
	}
	return out, errors.Join(errs...)
}

// Status reports the latest 20 passes, each metered backend's quota, the outbox counts
// and the migration dates. Errors: ErrUnavailable.
func (a *Admin) Status(ctx context.Context) (models.AdminStatus, error) {
	st := models.AdminStatus{Cutover: a.Routing.Cutover(), Freeze: a.Routing.Freeze[models.BackendOA], Demo: a.Demo, Outbox: map[string]int{}}
	runs, err := a.Store.SyncRuns(ctx, "", 20)
	if err != nil {
		return st, err
	}
	for _, r := range runs {
		st.Runs = append(st.Runs, r.Summary())
	}
	for _, s := range a.Syncers {
		if u, ok := s.UsageStatus(ctx); ok {
			st.Usage = append(st.Usage, u)
		}
	}
	counts, err := a.Store.JobCounts(ctx)
	if err != nil {
		return st, err
	}
	for k, v := range counts {
		st.Outbox[string(k)] = v
	}
	if st.UnmappedOrganizers, err = a.Store.UnmappedOrganizers(ctx, a.now()); err != nil {
		return st, err
	}
	if a.Stream != nil {
		s := a.Stream.StreamStatus()
		st.Stream = &s
	}
	return st, nil
}
