package models_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/models"
)

func TestCompareBackend(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 2, 0, 0, 0, time.UTC)
	id := func(s string) *string { return &s }
	row := func(rid string, remote *string, room string, start time.Time, st models.Status) models.Reservation {
		return models.Reservation{ID: rid, RoomID: room, Start: start, End: start.Add(time.Hour), Backend: models.BackendDingTalk, RemoteID: remote, Status: st}
	}
	listing := func(remote, room string, start time.Time) models.Remote {
		return models.Remote{RemoteID: remote, RoomID: room, Start: start, End: start.Add(time.Hour)}
	}
	type got struct {
		Kind                    models.DiscrepancyKind
		ReservationID, RemoteID string
	}
	tests := []struct {
		name    string
		table   []models.Reservation
		remotes []models.Remote
		want    []got
	}{
		{"agree", []models.Reservation{row("r1", id("e1"), "duowei", t0, models.StatusConfirmed), row("r2", id("e2"), "duowei", t0.Add(time.Hour), models.StatusCancelled)},
			[]models.Remote{listing("e1", "duowei", t0)}, nil},
		{"missing in the backend", []models.Reservation{row("r1", id("e1"), "duowei", t0, models.StatusConfirmed)}, nil,
			[]got{{models.DiscrepancyMissing, "r1", "e1"}}},
		{"extra in the backend", nil, []models.Remote{listing("e9", "duowei", t0)},
			[]got{{models.DiscrepancyExtra, "", "e9"}}},
		{"cancelled in the table, held by the backend", []models.Reservation{row("r1", id("e1"), "duowei", t0, models.StatusCancelled)},
			[]models.Remote{listing("e1", "duowei", t0)}, []got{{models.DiscrepancyExtra, "r1", "e1"}}},
		{"different time", []models.Reservation{row("r1", id("e1"), "duowei", t0, models.StatusConfirmed)},
			[]models.Remote{listing("e1", "duowei", t0.Add(30*time.Minute))}, []got{{models.DiscrepancyDifferent, "r1", "e1"}}},
		{"different room", []models.Reservation{row("r1", id("e1"), "duowei", t0, models.StatusConfirmed)},
			[]models.Remote{listing("e1", "sh-waitan", t0)}, []got{{models.DiscrepancyDifferent, "r1", "e1"}}},
		{"pending, and booked twice", []models.Reservation{row("r1", nil, "duowei", t0, models.StatusPending), row("r2", id("e2"), "duowei", t0.Add(2*time.Hour), models.StatusConfirmed)},
			[]models.Remote{listing("e2", "duowei", t0.Add(2*time.Hour)), listing("e3", "duowei", t0.Add(2*time.Hour))},
			[]got{{models.DiscrepancyPending, "r1", ""}, {models.DiscrepancyExtra, "", "e3"}}},
		{"other backend's rows are not compared", []models.Reservation{{ID: "r1", Backend: models.BackendOA, RemoteID: id("-1"), Status: models.StatusConfirmed}}, nil, nil},
		{"being released, or its release failed", []models.Reservation{row("r1", id("x1"), "duowei", t0, models.StatusCancelled)},
			[]models.Remote{listing("x1", "duowei", t0), listing("x2", "duowei", t0.Add(time.Hour)), listing("x3", "duowei", t0.Add(2*time.Hour)), listing("x4", "duowei", t0.Add(3*time.Hour))},
			[]got{{models.DiscrepancyReleasing, "r1", "x1"}, {models.DiscrepancyReleasing, "", "x2"}, {models.DiscrepancyReleaseFailed, "", "x3"}, {models.DiscrepancyExtra, "", "x4"}}},
	}
	// What the outbox says of the bookings being released (the same for every case).
	releases := map[string]models.Release{"x1": {Job: "j1", Kind: models.JobCancel, State: models.JobPending}, "x2": {Job: "j2", Kind: models.JobSeriesCancel, State: models.JobPending},
		"x3": {Job: "j3", Kind: models.JobCancel, State: models.JobFailed, Error: "refused"}, "x4": {Job: "j4", Kind: models.JobCancel, State: models.JobDone}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g []got
			for _, d := range models.CompareBackend(models.BackendDingTalk, tt.table, tt.remotes, releases) {
				g = append(g, got{d.Kind, d.ReservationID, d.RemoteID})
			}
			if diff := cmp.Diff(tt.want, g); diff != "" {
				t.Errorf("CompareBackend() (-want +got):\n%s", diff)
			}
		})
	}
}
