package models_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// Recording a job's outcome writes the reservation's columns the outcome changed and
// no others (every column written rewrites its indexes), including a change made in
// place inside a list, and what is read back is what the outcome made.
func TestFinishJobWritesChangedColumns(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		r := res("duowei", time.Date(2030, 1, 1, 2, 0, 0, 0, time.UTC), time.Hour, models.BackendOA, models.OriginBridge)
		r.Attendees = models.StringList{"lisi", "wangwu"}
		book(t, s, r)
		jobs, err := s.ClaimJobs(ctx, "w1", time.Minute, 1)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("ClaimJobs() = %d, %v", len(jobs), err)
		}
		var updates []string
		s.Trace(func(sql string) {
			if strings.HasPrefix(sql, "UPDATE `reservations`") {
				updates = append(updates, sql)
			}
		})
		defer s.Trace(nil)
		c.Add(time.Second)
		remote := "oa-1"
		if err := s.FinishJob(ctx, models.JobResult{Job: jobs[0], State: models.JobDone, Update: func(x *models.Reservation) bool {
			x.Attendees[1] = "zhaoliu" // in place: the list read is the list changed
			x.RemoteID, x.Status = &remote, models.StatusConfirmed
			x.SetReason(models.Reason{Code: models.ReasonBackendRefused, Args: models.Args{models.ArgBackend: "oa"}})
			return true
		}}); err != nil {
			t.Fatal(err)
		}
		const want = "UPDATE `reservations` SET `attendees`=?,`remote_id`=?,`status`=?,`reason_code`=?,`reason_args`=?,`updated_at`=? WHERE `id` = ?"
		if len(updates) != 1 || updates[0] != want {
			t.Errorf("FinishJob() wrote %q, want %q", updates, want)
		}
		got, err := s.Reservation(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(models.StringList{"lisi", "zhaoliu"}, got.Attendees); diff != "" || got.Remote() != remote || got.Status != models.StatusConfirmed ||
			got.ReasonCode != models.ReasonBackendRefused || got.ReasonArgs[models.ArgBackend] != "oa" || !got.UpdatedAt.Equal(c.Now().UTC().Truncate(time.Second)) {
			t.Errorf("after FinishJob() = %+v (attendees -want +got %s)", got, diff)
		}
		// An outcome that changes nothing writes nothing.
		updates = nil
		again, _ := s.ClaimJobs(ctx, "w1", time.Minute, 1)
		if len(again) != 0 {
			t.Fatalf("a done job was claimed again: %+v", again)
		}
		if err := s.FinishJob(ctx, models.JobResult{Job: jobs[0], State: models.JobDone, Update: func(x *models.Reservation) bool { return true }}); err != nil {
			t.Fatal(err)
		}
		if len(updates) != 0 {
			t.Errorf("an outcome that changed nothing wrote %q", updates)
		}
	})
}

// A job's outcome drops a queued job only together with a change of the reservation it
// goes with: the release of an old slot is dropped when the reservation is put back on
// that slot, and runs when the reservation changed meanwhile and is left as it is.
func TestFinishJobDropsOnlyWithTheChange(t *testing.T) {
	for _, tt := range []struct {
		name    string
		putBack bool
		want    models.JobState
		wantErr string
	}{
		{"put back: the release is dropped", true, models.JobDone, models.JobDroppedError},
		{"left as it is: the release runs", false, models.JobPending, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
				ctx := context.Background()
				seeded(t, s)
				r := book(t, s, res("duowei", time.Date(2030, 1, 1, 2, 0, 0, 0, time.UTC), time.Hour, models.BackendOA, models.OriginBridge))
				release := models.Job{ID: models.NewID(), ReservationID: r.ID, Kind: models.JobCancel, Backend: models.BackendOA, RemoteID: "oa-old"}
				cancel := models.Job{ReservationID: r.ID, Kind: models.JobCancel, Backend: models.BackendOA}
				if _, err := s.Update(ctx, r.ID, models.Change{Apply: func(x *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
					return []models.Job{release, cancel}, nil, nil
				}}); err != nil {
					t.Fatal(err)
				}
				jobs, err := s.ClaimJobs(ctx, "w1", time.Minute, 1)
				if err != nil || len(jobs) != 1 || jobs[0].Kind != models.JobCreate {
					t.Fatalf("ClaimJobs() = %+v, %v; want the create", jobs, err)
				}
				if err := s.FinishJob(ctx, models.JobResult{Job: jobs[0], State: models.JobDone, Error: "refused",
					Drop: map[string][]string{release.ID: {r.ID}},
					Update: func(x *models.Reservation) bool {
						x.Title = "put back"
						return tt.putBack
					}}); err != nil {
					t.Fatal(err)
				}
				all, err := s.Jobs(ctx, r.ID)
				if err != nil || len(all) != 3 {
					t.Fatalf("Jobs() = %d, %v; want 3", len(all), err)
				}
				if got := all[1]; got.ID != release.ID || got.State != tt.want || got.LastError != tt.wantErr {
					t.Errorf("release after the outcome = %s %s %q, want %s %q", got.ID, got.State, got.LastError, tt.want, tt.wantErr)
				}
				if got := all[2]; got.State != models.JobPending {
					t.Errorf("the cancel queued after it = %s %q, want pending (never dropped)", got.State, got.LastError)
				}
			})
		})
	}
}
