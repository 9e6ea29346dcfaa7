package models_test

import (
	"context"
	"testing"
	"time"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// A notification queued a second time (the same change recorded again: a retried step,
// a second detection) is not stored twice, nor queued again once it was sent; the
// transaction that records it still commits the rest of its writes.
func TestNotifyJobStoredOnce(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		r := res("duowei", time.Date(2030, 1, 1, 2, 0, 0, 0, time.UTC), time.Hour, models.BackendOA, models.OriginBridge)
		conflict := models.NotifyJob(r.ID, models.NoticeConflict, "c1")
		if _, _, err := s.Book(ctx, r, []models.Job{{ReservationID: r.ID, Kind: models.JobCreate, Backend: models.BackendOA}, conflict}, nil); err != nil {
			t.Fatal(err)
		}
		queued := func() []models.Job {
			t.Helper()
			jobs, err := s.Jobs(ctx, models.NotifyQueue(r.ID))
			if err != nil {
				t.Fatal(err)
			}
			return jobs
		}
		claimed, err := s.ClaimJobs(ctx, "w1", time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		var create models.Job
		for _, j := range claimed {
			if j.Kind == models.JobCreate {
				create = j
			}
		}
		if create.ID == "" {
			t.Fatalf("ClaimJobs() = %+v, want the create job", claimed)
		}
		confirmed := models.NotifyJob(r.ID, models.NoticeConfirmed, create.ID)
		remote := "-7"
		finish := func(action string) {
			t.Helper()
			if err := s.FinishJob(ctx, models.JobResult{Job: create, State: models.JobDone,
				Then: []models.Job{conflict, confirmed, confirmed},
				Update: func(x *models.Reservation) bool {
					x.Status, x.RemoteID = models.StatusConfirmed, &remote
					return true
				},
				Audit: &models.AuditEntry{Actor: "system", Action: action, ReservationID: r.ID}}); err != nil {
				t.Fatalf("FinishJob(with notices already queued) = %v", err)
			}
		}
		finish("confirmed")
		if got := queued(); len(got) != 2 {
			t.Fatalf("notify queue = %d jobs, want 2 (the conflict's and the confirmation's, once each)", len(got))
		}
		if got, _ := s.Reservation(ctx, r.ID); got.Status != models.StatusConfirmed || got.Remote() != remote {
			t.Errorf("reservation = %s %q, want confirmed -7 (the transaction went on after the duplicate)", got.Status, got.Remote())
		}
		// Both are sent; recording the same outcome again queues nothing.
		for _, j := range claimed {
			if j.Kind == models.JobNotify {
				if err := s.FinishJob(ctx, models.JobResult{Job: j, State: models.JobDone}); err != nil {
					t.Fatal(err)
				}
			}
		}
		more, err := s.ClaimJobs(ctx, "w1", time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range more {
			if err := s.FinishJob(ctx, models.JobResult{Job: j, State: models.JobDone}); err != nil {
				t.Fatal(err)
			}
		}
		finish("confirmed_again")
		for _, j := range queued() {
			if j.State != models.JobDone {
				t.Errorf("notify job %s is %s after the same change was recorded again, want still done", j.ID, j.State)
			}
		}
		if n := len(queued()); n != 2 {
			t.Errorf("notify queue = %d jobs after the same change was recorded again, want 2", n)
		}
		if again, _ := s.ClaimJobs(ctx, "w1", time.Minute, 10); len(again) != 0 {
			t.Errorf("ClaimJobs() = %+v, want nothing to send again", again)
		}
		audit, _ := s.Audit(ctx, r.ID)
		if len(audit) != 2 {
			t.Errorf("audit = %+v, want both recordings", audit)
		}
		// Another occurrence of the change (another key) is a new notice.
		if err := s.FinishJob(ctx, models.JobResult{Job: create, State: models.JobDone, Then: []models.Job{models.NotifyJob(r.ID, models.NoticeConflict, "c2")}}); err != nil {
			t.Fatal(err)
		}
		if n := len(queued()); n != 3 {
			t.Errorf("notify queue = %d jobs after another conflict, want 3", n)
		}
	})
}
