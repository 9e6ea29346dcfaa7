package models_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// movingBooking books a bridge reservation in the OA at start, held there as remote,
// and returns it with a change that moves it four hours later: it lets go of remote and
// queues a create of the new slot and, after it, the release of remote.
func movingBooking(t *testing.T, s *models.Store, start time.Time, remote string) (models.Reservation, models.Change) {
	t.Helper()
	ctx := context.Background()
	r := book(t, s, res("duowei", start, time.Hour, models.BackendOA, models.OriginBridge))
	jobs, err := s.Jobs(ctx, r.ID)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("Jobs() = %v, %v", jobs, err)
	}
	if err := s.FinishJob(ctx, models.JobResult{Job: jobs[0], State: models.JobDone, Update: func(x *models.Reservation) bool {
		x.RemoteID, x.Status = &remote, models.StatusConfirmed
		return true
	}}); err != nil {
		t.Fatal(err)
	}
	move := models.Change{Apply: func(x *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
		x.Start, x.End = x.Start.Add(4*time.Hour), x.End.Add(4*time.Hour)
		x.Status, x.RemoteID = models.StatusPending, nil
		x.Sequence++
		return []models.Job{
			{ReservationID: x.ID, Kind: models.JobCreate, Backend: models.BackendOA},
			{ReservationID: x.ID, Kind: models.JobCancel, Backend: models.BackendOA, RemoteID: remote},
		}, nil, nil
	}}
	return r, move
}

// A reservation that moved lets go of its backend id at once; its old backend booking
// stays until the release queued with the move runs. Sync passes (full, by changes, by
// one event) that read the old booking meanwhile do not import it as a native
// reservation; once the release has run, a listing of it is an ordinary booking again.
func TestSyncLeavesBookingBeingReleasedAlone(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		start := c.Now().Add(48 * time.Hour)
		r, move := movingBooking(t, s, start, "-7")
		if _, err := s.Update(ctx, r.ID, move); err != nil {
			t.Fatal(err)
		}
		old := models.Remote{RemoteID: "-7", RoomID: "duowei", Start: start, End: start.Add(time.Hour), Title: "周会", OrganizerName: "张三", Status: models.StatusConfirmed}
		other := models.Remote{RemoteID: "-8", RoomID: "duowei", Start: start.Add(24 * time.Hour), End: start.Add(25 * time.Hour), Title: "别的会", Status: models.StatusConfirmed}
		c.Add(time.Minute)
		opts := models.ApplyOptions{From: c.Now().Add(-time.Hour), To: c.Now().Add(30 * 24 * time.Hour), Rooms: []string{"duowei"}, ReadAt: c.Now()}
		passes := []struct {
			name  string
			apply func() (models.ApplyResult, error)
		}{
			{"ApplySync", func() (models.ApplyResult, error) {
				return s.ApplySync(ctx, models.BackendOA, []models.Remote{old, other}, opts)
			}},
			{"ApplyChanges", func() (models.ApplyResult, error) {
				return s.ApplyChanges(ctx, models.BackendOA, []models.Remote{old, other}, nil, c.Now(), nil)
			}},
			{"ApplyRemote", func() (models.ApplyResult, error) { return s.ApplyRemote(ctx, models.BackendOA, old, c.Now()) }},
		}
		for _, p := range passes {
			got, err := p.apply()
			if err != nil || got.Deferred != 1 {
				t.Errorf("%s while the release waits = %+v, %v; want the old booking deferred", p.name, got, err)
			}
			if x, err := s.ReservationByRemote(ctx, models.BackendOA, "-7"); err == nil {
				t.Fatalf("%s imported the old booking as %s (%s, %s)", p.name, x.ID, x.Origin, x.Status)
			}
		}
		if x, err := s.ReservationByRemote(ctx, models.BackendOA, "-8"); err != nil || x.Origin != models.OriginNative {
			t.Errorf("the other booking = %+v, %v; want it imported", x, err)
		}

		// The release has run (the backend read above predates it).
		jobs, err := s.Jobs(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if j.State == models.JobPending && j.Kind == models.JobCancel {
				if err := s.FinishJob(ctx, models.JobResult{Job: j, State: models.JobDone}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if got, err := s.ApplyRemote(ctx, models.BackendOA, old, c.Now()); err != nil || got.Created != 1 {
			t.Errorf("ApplyRemote after the release = %+v, %v; want it imported", got, err)
		}
	})
}

// A move committed while a sync pass runs, after the pass compared the backend's answer
// with the table and before its transaction: the transaction finds the reservation
// without its old id, and the old booking's release, and leaves the booking alone.
func TestApplySyncLeavesBookingMovedDuringThePassAlone(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		start := c.Now().Add(48 * time.Hour)
		r, move := movingBooking(t, s, start, "-7")
		c.Add(time.Minute)
		// The backend lists the booking a minute longer: the pass has to apply it.
		old := models.Remote{RemoteID: "-7", RoomID: "duowei", Start: start, End: start.Add(61 * time.Minute), Title: "周会", Status: models.StatusConfirmed}
		var (
			once  sync.Once
			moved error
		)
		s.Trace(func(sql string) {
			if strings.Contains(sql, "remote_id IS NOT NULL") {
				once.Do(func() {
					s.Trace(nil)
					_, moved = s.Update(ctx, r.ID, move)
				})
			}
		})
		got, err := s.ApplySync(ctx, models.BackendOA, []models.Remote{old},
			models.ApplyOptions{From: c.Now().Add(-time.Hour), To: c.Now().Add(30 * 24 * time.Hour), Rooms: []string{"duowei"}, ReadAt: c.Now()})
		s.Trace(nil)
		if moved != nil {
			t.Fatalf("the move during the pass: %v", moved)
		}
		if err != nil || got.Created != 0 || got.Deferred != 1 {
			t.Errorf("ApplySync() = %+v, %v; want the old booking deferred", got, err)
		}
		if x, err := s.ReservationByRemote(ctx, models.BackendOA, "-7"); err == nil {
			t.Errorf("the pass imported the old booking as %s (%s, %s)", x.ID, x.Origin, x.Status)
		}
		if x, err := s.Reservation(ctx, r.ID); err != nil || x.Status != models.StatusPending || !x.Start.Equal(start.Add(4*time.Hour)) {
			t.Errorf("the moved reservation = %s at %s, %v; want pending at its new slot", x.Status, x.Start, err)
		}
	})
}

// movedNativeSide imports native, a booking found in the OA, and moves its reservation
// four hours later the way a conflict's move does: it keeps its UID (the native UID of
// the booking), turns a bridge booking, and queues the create of the new slot and the
// release of the old booking. The create is made as newRemote; the release gives up
// (the OA refuses to cancel the booking). It returns the moved reservation.
func movedNativeSide(t *testing.T, s *models.Store, c *modelstest.Clock, native models.Remote, newRemote string) models.Reservation {
	t.Helper()
	ctx := context.Background()
	if _, err := s.ApplyRemote(ctx, models.BackendOA, native, c.Now()); err != nil {
		t.Fatal(err)
	}
	side, err := s.ReservationByRemote(ctx, models.BackendOA, native.RemoteID)
	if err != nil {
		t.Fatal(err)
	}
	c.Add(time.Minute)
	moved, err := s.Update(ctx, side.ID, models.Change{Apply: func(x *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
		x.Start, x.End = x.Start.Add(4*time.Hour), x.End.Add(4*time.Hour)
		x.Status, x.Origin, x.RemoteID = models.StatusPending, models.OriginBridge, nil
		x.Sequence++
		return []models.Job{
			{ReservationID: x.ID, Kind: models.JobCreate, Backend: models.BackendOA},
			{ReservationID: x.ID, Kind: models.JobCancel, Backend: models.BackendOA, RemoteID: native.RemoteID},
		}, nil, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := s.Jobs(ctx, side.ID)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("Jobs() = %v, %v", jobs, err)
	}
	if err := s.FinishJob(ctx, models.JobResult{Job: jobs[0], State: models.JobDone, Update: func(x *models.Reservation) bool {
		x.RemoteID, x.Status = &newRemote, models.StatusConfirmed
		return true
	}}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishJob(ctx, models.JobResult{Job: jobs[1], State: models.JobFailed, Error: "errorMsg: 会议已开始"}); err != nil {
		t.Fatal(err)
	}
	return moved
}

// A conflict's side found in the OA moved to another slot keeping its UID, and the OA
// refused to release its old booking. The OA still holds that booking, in its room: a
// pass (full, by changes, by one event) that lists it imports it as a native reservation
// with a UID of its own (the moved one keeps its UID), counts it as ReleaseFailed, and
// applies the rest of what it read. Imported under the moved reservation's UID it failed
// on the unique index, and every pass of the OA failed with it.
func TestSyncImportsBookingWhoseReleaseFailed(t *testing.T) {
	for _, path := range []string{"ApplySync", "ApplyChanges", "ApplyRemote"} {
		t.Run(path, func(t *testing.T) {
			c := newClock()
			modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
				ctx := context.Background()
				seeded(t, s)
				start := c.Now().Add(48 * time.Hour)
				old := models.Remote{RemoteID: "-7", RoomID: "duowei", Start: start, End: start.Add(time.Hour), Title: "李四直接预订", OrganizerName: "李四", Status: models.StatusConfirmed}
				side := movedNativeSide(t, s, c, old, "-9")
				c.Add(time.Minute)
				moved := models.Remote{RemoteID: "-9", RoomID: "duowei", Start: side.Start, End: side.End, Title: "李四直接预订", Status: models.StatusConfirmed}
				other := models.Remote{RemoteID: "-8", RoomID: "duowei", Start: start.Add(24 * time.Hour), End: start.Add(25 * time.Hour), Title: "别的会", Status: models.StatusConfirmed}
				pass := func() (models.ApplyResult, error) {
					switch path {
					case "ApplySync":
						return s.ApplySync(ctx, models.BackendOA, []models.Remote{old, moved, other},
							models.ApplyOptions{From: c.Now().Add(-time.Hour), To: c.Now().Add(30 * 24 * time.Hour), Rooms: []string{"duowei"}, ReadAt: c.Now()})
					case "ApplyChanges":
						return s.ApplyChanges(ctx, models.BackendOA, []models.Remote{old, moved, other}, nil, c.Now(), nil)
					}
					return s.ApplyRemote(ctx, models.BackendOA, old, c.Now())
				}
				got, err := pass()
				wantCreated := 2
				if path == "ApplyRemote" {
					wantCreated = 1
				}
				if err != nil || got.Created != wantCreated || got.ReleaseFailed != 1 || len(got.Skipped) != 0 {
					t.Fatalf("%s after the release failed = %+v, %v; want the old booking imported as one whose release failed", path, got, err)
				}
				copy, err := s.ReservationByRemote(ctx, models.BackendOA, "-7")
				if err != nil {
					t.Fatal(err)
				}
				if copy.ID == side.ID || copy.UID == side.UID || copy.Origin != models.OriginNative || copy.Status != models.StatusConfirmed || !copy.Start.Equal(start) {
					t.Errorf("the old booking = %s uid %s (%s %s at %s); want a native reservation of its own, confirmed at %s (the moved one is %s uid %s)",
						copy.ID, copy.UID, copy.Origin, copy.Status, copy.Start, start, side.ID, side.UID)
				}
				if x, err := s.Reservation(ctx, side.ID); err != nil || x.UID != side.UID || x.Remote() != "-9" || x.Status != models.StatusConfirmed {
					t.Errorf("the moved reservation = uid %s held as %q (%s), %v; want its UID, -9, confirmed", x.UID, x.Remote(), x.Status, err)
				}
				if path != "ApplyRemote" {
					if x, err := s.ReservationByRemote(ctx, models.BackendOA, "-8"); err != nil || x.Origin != models.OriginNative {
						t.Errorf("the other booking = %+v, %v; want it imported", x, err)
					}
				}
				c.Add(time.Minute)
				if got, err := pass(); err != nil || got.Created != 0 {
					t.Errorf("%s again = %+v, %v; want nothing imported twice", path, got, err)
				}
			})
		})
	}
}

// ReleasesOf tells, for verify, where the release of each backend booking stands: named
// by a cancel job, listed by a series job (Job.Releases), or held by a cancelled
// reservation whose cancel job has not run; pending first, then the latest outcome.
func TestReleasesOf(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		start := c.Now().Add(48 * time.Hour)
		r, move := movingBooking(t, s, start, "-7")
		if _, err := s.Update(ctx, r.ID, move); err != nil {
			t.Fatal(err)
		}
		// A cancelled booking still held as -5, its cancel not run yet, with a series
		// job that lists -11 and -12 (occurrences it cuts off).
		other := book(t, s, res("duowei", start.Add(24*time.Hour), time.Hour, models.BackendOA, models.OriginBridge))
		jobs, _ := s.Jobs(ctx, other.ID)
		five := "-5"
		if err := s.FinishJob(ctx, models.JobResult{Job: jobs[0], State: models.JobDone, Update: func(x *models.Reservation) bool {
			x.RemoteID, x.Status = &five, models.StatusConfirmed
			return true
		}}); err != nil {
			t.Fatal(err)
		}
		cancelled, err := s.Update(ctx, other.ID, models.Change{Apply: func(x *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
			x.Status = models.StatusCancelled
			x.Sequence++
			return []models.Job{
				{ReservationID: x.ID, Kind: models.JobCancel, Backend: models.BackendOA},
				{ReservationID: x.ID, Kind: models.JobSeriesCancel, Backend: models.BackendOA, Releases: []string{"-11", "-12"}},
			}, nil, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		state := func() map[string]models.JobState {
			got, err := s.ReleasesOf(ctx, models.BackendOA, []string{"-5", "-7", "-8", "-11", "-12"}, []models.Reservation{cancelled})
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]models.JobState{}
			for id, rel := range got {
				out[id] = rel.State
			}
			return out
		}
		want := map[string]models.JobState{"-5": models.JobPending, "-7": models.JobPending, "-11": models.JobPending, "-12": models.JobPending}
		if diff := cmp.Diff(want, state()); diff != "" {
			t.Errorf("ReleasesOf() while nothing ran (-want +got):\n%s", diff)
		}
		for _, id := range []string{r.ID, other.ID} {
			js, _ := s.Jobs(ctx, id)
			for _, j := range js {
				if j.State == models.JobPending && j.Kind != models.JobCreate {
					if err := s.FinishJob(ctx, models.JobResult{Job: j, State: models.JobFailed, Error: "refused"}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		want = map[string]models.JobState{"-5": models.JobFailed, "-7": models.JobFailed, "-11": models.JobFailed, "-12": models.JobFailed}
		if diff := cmp.Diff(want, state()); diff != "" {
			t.Errorf("ReleasesOf() after they gave up (-want +got):\n%s", diff)
		}
	})
}
