package bridge

import (
	"context"
	"strings"
	"testing"
	"time"

	"roombridge/models"
)

// For 50 rooms over 210 days a reconciliation costs 30 calls; one calendar's delta read
// costs 1. A 30-day month has 2,880 quarter hours.
func TestSyncPlanSchedule(t *testing.T) {
	month := 30 * 24 * time.Hour
	tests := []struct {
		name  string
		plan  SyncPlan
		calls int
		want  Schedule
	}{
		{"Stream off, budget to spare: daily reconciliation", SyncPlan{}, 10000,
			Schedule{DeltaEvery: 15 * time.Minute, Target: 15 * time.Minute, ReconcileEvery: 24 * time.Hour, Calls: 2880 + 900}},
		{"Stream off, 3,001 calls and reconciliation every 180 h", SyncPlan{Reconcile: 180 * time.Hour}, 3001,
			Schedule{DeltaEvery: 15 * time.Minute, Target: 15 * time.Minute, ReconcileEvery: 180 * time.Hour, Calls: 2880 + 120}},
		{"Stream off, 2,700 calls: weekly reconciliation, delta reads spaced out", SyncPlan{}, 2700,
			Schedule{DeltaEvery: month/2550 + 1, Target: 15 * time.Minute, ReconcileEvery: 7 * 24 * time.Hour, Calls: 2550 + 150}},
		{"Stream on: 6-hour backstop, daily reconciliation", SyncPlan{Stream: true}, 2700,
			Schedule{DeltaEvery: 6 * time.Hour, Target: 6 * time.Hour, ReconcileEvery: 24 * time.Hour, Calls: 120 + 900}},
		{"no budget: one delta read a month", SyncPlan{}, 0,
			Schedule{DeltaEvery: month, Target: 15 * time.Minute, ReconcileEvery: 7 * 24 * time.Hour, Calls: 1 + 150}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.plan.Schedule(month, tt.calls, 1, 30); got != tt.want {
				t.Errorf("Schedule(30 days, %d calls, 1, 30) = %+v, want %+v", tt.calls, got, tt.want)
			}
		})
	}
}

// The background loop reconciles first, then reads changes until the next
// reconciliation is due; /admin's status says when the budget throttles the reads.
func TestPlannedPasses(t *testing.T) {
	e := newDeltaEnv(t, 50)
	e.usage.Budget = 10000 // enough for daily reconciliations
	ctx := context.Background()
	e.native("union-alice", "dt-room-01", "Not on a followed calendar", e.at(3, 9))
	steps := []struct {
		after     time.Duration
		wantCalls int
		wantFull  bool
	}{
		{0, 31, true},                // 30 schedule reads and the title of the booking found
		{15 * time.Minute, 1, false}, // the followed calendar read in full
		{15 * time.Minute, 1, false}, // its changes
		{24 * time.Hour, 30, true},
	}
	for i, st := range steps {
		e.clock.Add(st.after)
		sum, err := e.syncer.PlannedPass(ctx)
		if err != nil {
			t.Fatalf("PlannedPass() %d = %v", i, err)
		}
		full := !strings.HasPrefix(sum.Note, "changes of")
		if full != st.wantFull || sum.MeteredCalls != st.wantCalls {
			t.Errorf("PlannedPass() %d = %d calls, note %q; want %d calls, reconciliation %v", i, sum.MeteredCalls, sum.Note, st.wantCalls, st.wantFull)
		}
	}
	if got := len(e.held()); got != 1 {
		t.Errorf("reservations = %d, want the booking on a calendar nobody follows, found by the reconciliation", got)
	}
	tests := []struct {
		name      string
		budget    int
		wantState string
		wantWait  time.Duration
	}{
		{"a budget for 15 minutes", 4000, models.SyncRunning, 15 * time.Minute},
		{"3,000 calls: spaced out", 3000, models.SyncThrottled, 0},
		{"spent", -1, models.SyncPaused, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.usage.Budget = tt.budget
			if tt.budget < 0 {
				e.usage.Budget = e.usage.Count()
			}
			st, _ := e.syncer.UsageStatus(ctx)
			wait := e.syncer.NextInterval(ctx)
			if st.State != tt.wantState || (tt.wantWait > 0 && wait != tt.wantWait) || (tt.wantWait == 0 && wait <= 15*time.Minute) {
				t.Errorf("UsageStatus() = %s, NextInterval() = %s; want %s and a wait of %s (0: longer than 15 min)", st.State, wait, tt.wantState, tt.wantWait)
			}
			if tt.budget > 0 && (st.Projected > tt.budget*9/10 || st.Projected < st.Used+int(24*time.Hour/wait)) {
				t.Errorf("UsageStatus().Projected = %d (used %d), want the reads still to come, within 90%% of %d", st.Projected, st.Used, tt.budget)
			}
		})
	}
}
