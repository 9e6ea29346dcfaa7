package bridge

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"roombridge/models"
)

// openOverlaps counts the open overlap conflicts.
func openOverlaps(t *testing.T, r *rig) int {
	t.Helper()
	cs, err := r.store.Conflicts(context.Background(), models.ConflictFilter{Status: models.ConflictOpen, Kind: models.KindOverlap})
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

// A sweep reads what changed since the recorded mark, less the margin for writes that
// commit after their stamp; it reads everything when no mark is recorded or the inputs
// of detection changed since.
func TestSweepLooksSinceTheMark(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		det := r.detector(t)
		first := r.clock.Now()
		// Stored before any sweep (as before detection existed): the first sweep looks at
		// everything.
		r.clock.Set(first.Add(-30 * 24 * time.Hour))
		r.native(t, models.BackendOA, "oa-old", "duowei", at(12, 10))
		r.native(t, models.BackendDingTalk, "dt-old", "duowei", at(12, 10).Add(30*time.Minute))
		r.clock.Set(first)
		if _, err := det.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		mark, err := r.store.DetectionMark(ctx)
		if err != nil || !mark.At.Equal(first.UTC()) || mark.Inputs == "" {
			t.Fatalf("DetectionMark() = %+v, %v; want at %v with the inputs' fingerprint", mark, err, first.UTC())
		}
		if n := openOverlaps(t, r); n != 1 {
			t.Fatalf("after the first sweep: %d open overlaps, want 1", n)
		}

		// Written while nothing detected: one pair stamped after the mark, one stamped
		// within the margin before it (a write that committed after the sweep had read),
		// one stamped long before it (a write no sweep could have missed: it is not read
		// again).
		r.clock.Set(first.Add(-SweepMargin / 2))
		r.native(t, models.BackendOA, "oa-margin", "duowei", at(13, 10))
		r.native(t, models.BackendDingTalk, "dt-margin", "duowei", at(13, 10).Add(30*time.Minute))
		r.clock.Set(first.Add(-2 * SweepMargin))
		r.native(t, models.BackendOA, "oa-before", "duowei", at(14, 10))
		r.native(t, models.BackendDingTalk, "dt-before", "duowei", at(14, 10).Add(30*time.Minute))
		r.clock.Set(first.Add(time.Hour))
		r.native(t, models.BackendOA, "oa-new", "duowei", at(15, 10))
		r.native(t, models.BackendDingTalk, "dt-new", "duowei", at(15, 10).Add(30*time.Minute))
		r.clock.Set(first.Add(2 * time.Hour))
		if _, err := det.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if n := openOverlaps(t, r); n != 3 {
			t.Fatalf("after the second sweep: %d open overlaps, want 3 (the first, the new pair, the pair inside the margin)", n)
		}
		if mark, _ := r.store.DetectionMark(ctx); !mark.At.Equal(first.Add(2 * time.Hour).UTC()) {
			t.Fatalf("mark at %v, want moved to the second sweep's read %v", mark.At, first.Add(2*time.Hour).UTC())
		}

		// Other routing (another cutover) judges every reservation anew: the sweep of a
		// detector with it reads everything, the pair stamped before the mark included.
		other := NewDetector(r.store, r.routing, slog.New(slog.NewTextHandler(io.Discard, nil)))
		other.routing = models.NewRouting(shanghai, at(18, 0), at(17, 0))
		if _, err := other.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if n := openOverlaps(t, r); n != 4 {
			t.Fatalf("after a sweep with other routing: %d open overlaps, want 4", n)
		}

		// A mark ahead of the clock (the clock was set back) is not trusted.
		r.clock.Set(first.Add(3 * time.Hour))
		if err := r.store.SetDetectionMark(ctx, models.DetectionMark{At: first.Add(48 * time.Hour), Inputs: mark.Inputs}); err != nil {
			t.Fatal(err)
		}
		r.native(t, models.BackendOA, "oa-late", "duowei", at(16, 10))
		r.native(t, models.BackendDingTalk, "dt-late", "duowei", at(16, 10).Add(30*time.Minute))
		if _, err := det.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if n := openOverlaps(t, r); n != 5 {
			t.Fatalf("after a sweep past a mark ahead of the clock: %d open overlaps, want 5", n)
		}
	})
}
