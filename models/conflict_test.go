package models_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"roombridge/models"
	"roombridge/models/modelstest"
)

var shanghai = func() *time.Location { l, _ := time.LoadLocation("Asia/Shanghai"); return l }()

func migration() models.Routing {
	return models.NewRouting(shanghai, time.Date(2023, 4, 17, 0, 0, 0, 0, shanghai), time.Date(2023, 4, 16, 23, 0, 0, 0, shanghai))
}

func held(id, room string, b models.Backend, start time.Time, created time.Time) models.Reservation {
	remote := "r-" + id
	return models.Reservation{ID: id, RoomID: room, Backend: b, RemoteID: &remote, Origin: models.OriginNative, Status: models.StatusConfirmed,
		Start: start, End: start.Add(time.Hour), Title: id, OrganizerID: "zhangsan", OrganizerName: "张三", CreatedAt: created}
}

func TestDetectConflicts(t *testing.T) {
	pre := time.Date(2023, 4, 12, 10, 0, 0, 0, shanghai)
	post := time.Date(2023, 4, 18, 10, 0, 0, 0, shanghai)
	early, late := time.Date(2023, 4, 1, 0, 0, 0, 0, time.UTC), time.Date(2023, 4, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		holding []models.Reservation
		changed []string
		want    []string // cause/rule/suggest_action/suggest_keep
	}{
		{"pre-cutover overlap across systems keeps the OA side",
			[]models.Reservation{held("a", "duowei", models.BackendOA, pre, late), held("b", "duowei", models.BackendDingTalk, pre.Add(30*time.Minute), early)},
			[]string{"a"}, []string{"overlap:a:b/owner_wins/keep/a"}},
		{"post-cutover overlap keeps DingTalk (one conflict: the OA side is cancelled, not migrated)",
			[]models.Reservation{held("a", "duowei", models.BackendOA, post, early), held("b", "duowei", models.BackendDingTalk, post, late)},
			[]string{"a", "b"}, []string{"overlap:a:b/owner_wins/keep/b"}},
		{"an OA booking after the cutover is in the wrong system",
			[]models.Reservation{held("a", "duowei", models.BackendOA, post, early), held("b", "sk-xiaoyao", models.BackendDingTalk, post, late)},
			[]string{"a", "b"}, []string{"wrong_system:a/dingtalk_owns_after_cutover/migrate/a"}},
		{"inside one system the first booked wins",
			[]models.Reservation{held("a", "duowei", models.BackendOA, pre, late), held("b", "duowei", models.BackendOA, pre, early)},
			[]string{"b"}, []string{"overlap:a:b/first_booked/keep/b"}},
		{"touching bookings do not overlap",
			[]models.Reservation{held("a", "duowei", models.BackendOA, pre, late), held("b", "duowei", models.BackendDingTalk, pre.Add(time.Hour), early)},
			[]string{"a", "b"}, nil},
		{"other rooms do not overlap",
			[]models.Reservation{held("a", "duowei", models.BackendOA, pre, late), held("b", "sk-xiaoyao", models.BackendDingTalk, pre, early)},
			[]string{"a", "b"}, nil},
		{"an overlap of unchanged reservations is not looked at",
			[]models.Reservation{held("a", "duowei", models.BackendOA, pre, late), held("b", "duowei", models.BackendDingTalk, pre, early)},
			[]string{"x"}, nil},
		{"a cancelled side is no overlap",
			func() []models.Reservation {
				b := held("b", "duowei", models.BackendDingTalk, pre, early)
				b.Status = models.StatusCancelled
				return []models.Reservation{held("a", "duowei", models.BackendOA, pre, late), b}
			}(), []string{"a", "b"}, nil},
		{"an organizer the catalog cannot map",
			func() []models.Reservation {
				a := held("a", "duowei", models.BackendOA, pre, early)
				a.OrganizerID, a.OrganizerName, a.OrganizerRef = "", "外包人员", "oa-member:42"
				b := held("b", "sk-xiaoyao", models.BackendOA, pre, early)
				b.OrganizerID = "zhangsan"
				return []models.Reservation{a, b}
			}(), []string{"a", "b"}, []string{"unmapped:a/unmapped_organizer/dismiss/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed := map[string]bool{}
			for _, id := range tt.changed {
				changed[id] = true
			}
			got, _ := models.DetectConflicts(models.DetectInput{Routing: migration(), Offices: map[string]string{"duowei": "bj-shoukai"},
				Changed: changed, Holding: tt.holding, KnownOrganizer: models.OrganizerIndex([]models.User{{ID: "zhangsan", Name: "张三"}})})
			var keys []string
			for _, c := range got {
				keys = append(keys, c.Cause+"/"+c.Rule+"/"+c.SuggestAction+"/"+c.SuggestKeep)
			}
			if len(keys) != len(tt.want) {
				t.Fatalf("DetectConflicts() = %v, want %v", keys, tt.want)
			}
			for i := range keys {
				if keys[i] != tt.want[i] {
					t.Errorf("DetectConflicts()[%d] = %s, want %s", i, keys[i], tt.want[i])
				}
			}
		})
	}
}

func TestStoreReconcileConflicts(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		pre := time.Date(2023, 4, 12, 10, 0, 0, 0, shanghai)
		a, b := held("a", "duowei", models.BackendOA, pre, pre), held("b", "duowei", models.BackendDingTalk, pre, pre)
		detect := func(rs ...models.Reservation) []models.Conflict {
			found, _ := models.DetectConflicts(models.DetectInput{Routing: migration(), Changed: map[string]bool{"a": true, "b": true}, Holding: rs})
			return found
		}
		r, err := s.ReconcileConflicts(ctx, []string{"a", "b"}, detect(a, b), nil)
		if err != nil || r.Opened != 1 {
			t.Fatalf("ReconcileConflicts(first) = %+v, %v; want 1 opened", r, err)
		}
		r, err = s.ReconcileConflicts(ctx, []string{"a", "b"}, detect(a, b), nil)
		if err != nil || r != (models.ReconcileResult{}) {
			t.Errorf("ReconcileConflicts(again) = %+v, %v; want no change", r, err)
		}
		b.Title = "renamed"
		r, _ = s.ReconcileConflicts(ctx, []string{"b"}, detect(a, b), nil)
		if r.Updated != 1 {
			t.Errorf("ReconcileConflicts(new evidence) = %+v, want 1 updated", r)
		}
		open, _ := s.Conflicts(ctx, models.ConflictFilter{Status: models.ConflictOpen})
		if len(open) != 1 || open[0].Sides[1].Title != "renamed" || open[0].SuggestKeep != "a" || open[0].OfficeID != "" {
			t.Fatalf("Conflicts(open) = %+v, want one with the new title keeping a", open)
		}
		byRes, _ := s.OpenConflictsOf(ctx, []string{"a", "zzz"})
		if len(byRes["a"]) != 1 || len(byRes["zzz"]) != 0 {
			t.Errorf("OpenConflictsOf(a, zzz) = %v, want one for a", byRes)
		}
		// The cause goes away: b is cancelled.
		r, _ = s.ReconcileConflicts(ctx, []string{"b"}, nil, nil)
		if r.Closed != 1 {
			t.Errorf("ReconcileConflicts(cause gone) = %+v, want 1 closed", r)
		}
		got, _ := s.Conflict(ctx, open[0].ID)
		if got.Status != models.ConflictResolved || got.Resolution != "gone" || got.ClosedAt == nil {
			t.Errorf("Conflict() after cause gone = %s/%s, want resolved/gone", got.Status, got.Resolution)
		}
		// It comes back: the same conflict opens again.
		r, _ = s.ReconcileConflicts(ctx, []string{"b"}, detect(a, b), nil)
		if r.Reopened != 1 || r.Opened != 0 {
			t.Errorf("ReconcileConflicts(back) = %+v, want 1 reopened", r)
		}
		// Dismissed stays dismissed on re-detection.
		if _, err := s.ResolveConflict(ctx, open[0].ID, models.Resolving{Action: models.ActionDismiss, By: "admin", Note: "known", Done: true}); err != nil {
			t.Fatal(err)
		}
		s.ReconcileConflicts(ctx, []string{"a"}, detect(a, b), nil)
		got, _ = s.Conflict(ctx, open[0].ID)
		if got.Status != models.ConflictDismissed || got.Note != "known" {
			t.Errorf("Conflict() after dismiss and re-detection = %s (%q), want dismissed", got.Status, got.Note)
		}
		if _, err := s.ResolveConflict(ctx, open[0].ID, models.Resolving{Action: models.ActionDismiss}); models.UserError(err) == nil || models.UserError(err).Code != "conflict_closed" {
			t.Errorf("ResolveConflict(dismissed) = %v, want conflict_closed", err)
		}
		all, _ := s.Conflicts(ctx, models.ConflictFilter{})
		if len(all) != 1 {
			t.Errorf("Conflicts() = %d, want exactly 1 (stored once per cause)", len(all))
		}
	})
}

func TestStoreFailedJobsRetryAndAuditLog(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		r := res("duowei", time.Date(2023, 4, 12, 2, 0, 0, 0, time.UTC), time.Hour, models.BackendOA, models.OriginBridge)
		if _, _, err := s.Book(ctx, r, []models.Job{{ReservationID: r.ID, Kind: models.JobCreate, Backend: models.BackendOA}},
			&models.AuditEntry{Actor: "zhangsan", Action: "book", ReservationID: r.ID}); err != nil {
			t.Fatal(err)
		}
		jobs, _ := s.ClaimJobs(ctx, "test", time.Minute, 1)
		if len(jobs) != 1 {
			t.Fatalf("ClaimJobs() = %d jobs, want 1", len(jobs))
		}
		if _, err := s.RetryJob(ctx, jobs[0].ID, "admin"); models.UserError(err) == nil || models.UserError(err).Code != "job_not_failed" {
			t.Errorf("RetryJob(pending job) = %v, want job_not_failed", err)
		}
		if err := s.FinishJob(ctx, models.JobResult{Job: jobs[0], State: models.JobFailed, Error: "oa said no"}); err != nil {
			t.Fatal(err)
		}
		failed, err := s.FailedJobs(ctx, 10)
		if err != nil || len(failed) != 1 || failed[0].LastError != "oa said no" {
			t.Fatalf("FailedJobs() = %+v, %v; want the job with its error", failed, err)
		}
		if _, err := s.RetryJob(ctx, failed[0].ID, "admin"); err != nil {
			t.Fatal(err)
		}
		if again, _ := s.ClaimJobs(ctx, "test", time.Minute, 1); len(again) != 1 || again[0].ID != failed[0].ID {
			t.Errorf("ClaimJobs() after RetryJob = %+v, want the job due again", again)
		}
		if failed, _ := s.FailedJobs(ctx, 10); len(failed) != 0 {
			t.Errorf("FailedJobs() after RetryJob = %d, want 0", len(failed))
		}
		for _, tc := range []struct {
			name string
			f    models.AuditFilter
			want []string
		}{
			{"by actor", models.AuditFilter{Actor: "admin"}, []string{"retry_job"}},
			{"by action", models.AuditFilter{Action: "book"}, []string{"book"}},
			{"by reservation", models.AuditFilter{Reservation: r.ID}, []string{"retry_job", "book"}},
			{"nobody", models.AuditFilter{Actor: "lisi"}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				es, err := s.AuditLog(ctx, tc.f)
				var got []string
				for _, e := range es {
					got = append(got, e.Action)
				}
				if err != nil || strings.Join(got, ",") != strings.Join(tc.want, ",") {
					t.Errorf("AuditLog(%+v) = %v, %v; want %v", tc.f, got, err, tc.want)
				}
			})
		}
	})
}
