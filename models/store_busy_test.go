package models_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// TestRoomBusyFollowsEveryChange asks RoomBusy for a room's day before and after each
// kind of write that changes what holds the room, made by this store or by another one
// on the same database (another process, another replica), and compares every answer
// with the rows and conflicts as the database holds them: a kept answer must never
// outlive the change.
func TestRoomBusyFollowsEveryChange(t *testing.T) {
	// Kept, the reservations in open conflicts; and past the bound, looked up per window.
	for _, keep := range []bool{true, false} {
		t.Run(map[bool]string{true: "open conflicts kept", false: "open conflicts per window"}[keep], func(t *testing.T) {
			if !keep {
				defer models.SetMaxOpenMembers(0)()
			}
			testRoomBusyFollowsEveryChange(t)
		})
	}
}

func testRoomBusyFollowsEveryChange(t *testing.T) {
	c := newClock()
	modelstest.EachShared(t, c.Now, func(t *testing.T, s, other *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		day := time.Date(2023, 4, 12, 0, 0, 0, 0, shanghai)
		from, to := day, day.AddDate(0, 0, 1)
		answer := func(b models.Busy) string {
			var parts []string
			for _, r := range b.Rows {
				p := fmt.Sprintf("%s %s–%s %s %s/%s %q by %s", r.ID, r.Start.Format("15:04"), r.End.Format("15:04"), r.Status, r.Backend, r.Origin, r.Title, r.OrganizerID)
				if b.Conflicted[r.ID] {
					p += " in conflict"
				}
				parts = append(parts, p)
			}
			return strings.Join(parts, "\n")
		}
		// truth is the answer read from the database without anything kept.
		truth := func() string {
			t.Helper()
			rs, err := s.Reservations(ctx, models.Filter{RoomIDs: []string{"duowei"}, Statuses: models.HoldingStatuses, From: from, To: to,
				Columns: models.TimelineColumns})
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]string, len(rs))
			for i, r := range rs {
				ids[i] = r.ID
			}
			open, err := s.OpenConflictsOf(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			b := models.Busy{Rows: rs, Conflicted: map[string]bool{}}
			for id := range open {
				b.Conflicted[id] = true
			}
			return answer(b)
		}
		check := func(step, wantPart string) {
			t.Helper()
			want := truth()
			if !strings.Contains(want, wantPart) {
				t.Fatalf("after %s the database holds\n%s\nwithout %q: the step did not do what the test means", step, want, wantPart)
			}
			// Twice: the second answer is the one kept.
			for i := 0; i < 2; i++ {
				b, err := s.RoomBusy(ctx, "duowei", from, to)
				if err != nil {
					t.Fatalf("RoomBusy() after %s = %v", step, err)
				}
				if got := answer(b); got != want {
					t.Fatalf("RoomBusy() after %s (call %d) =\n%s\nwant\n%s", step, i+1, got, want)
				}
			}
		}
		check("nothing", "")

		booked := func(st *models.Store, start time.Time, title string) models.Reservation {
			t.Helper()
			r := res("duowei", start, time.Hour, models.BackendOA, models.OriginBridge)
			r.Title = title
			got, _, err := st.Book(ctx, r, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		mine := booked(s, day.Add(9*time.Hour), "周会")
		check("a booking", "周会")
		theirs := booked(other, day.Add(11*time.Hour), "另一进程的会")
		check("a booking by another process", "另一进程的会")

		rename := func(st *models.Store, id, title string) {
			t.Helper()
			if _, err := st.Update(ctx, id, models.Change{Apply: func(r *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
				r.Title = title
				return nil, nil, nil
			}}); err != nil {
				t.Fatal(err)
			}
		}
		rename(s, mine.ID, "改名的周会")
		check("a rename", "改名的周会")
		rename(other, theirs.ID, "另一进程改名")
		check("a rename by another process", "另一进程改名")
		cancel := func(st *models.Store, id string) {
			t.Helper()
			if _, err := st.Update(ctx, id, models.Change{Apply: func(r *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
				r.Status = models.StatusCancelled
				return nil, nil, nil
			}}); err != nil {
				t.Fatal(err)
			}
		}
		cancel(other, mine.ID)
		check("a cancellation by another process", "")
		if b, _ := s.RoomBusy(ctx, "duowei", from, to); strings.Contains(answer(b), mine.ID) {
			t.Fatalf("RoomBusy() still shows the cancelled booking")
		}

		// What a sync pass writes: a native booking appears, moves, goes away.
		native := func(st *models.Store, id string, start time.Time, title string) {
			t.Helper()
			if _, err := st.ApplyRemote(ctx, models.BackendDingTalk, models.Remote{RemoteID: id, RoomID: "duowei", Start: start, End: start.Add(time.Hour),
				Title: title, OrganizerID: "lisi", Status: models.StatusConfirmed}, time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
		native(s, "dt-1", day.Add(14*time.Hour), "钉钉里订的")
		check("a synced booking", "钉钉里订的")
		native(other, "dt-1", day.Add(15*time.Hour), "钉钉里挪了")
		check("a synced move by another process", "钉钉里挪了")
		native(s, "dt-2", day.Add(15*time.Hour+30*time.Minute), "钉钉里撞了")
		check("a synced overlap", "钉钉里撞了")

		// Conflicts open, are dismissed, fail and open again, go away.
		a, err := s.ReservationByRemote(ctx, models.BackendDingTalk, "dt-1")
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.ReservationByRemote(ctx, models.BackendDingTalk, "dt-2")
		if err != nil {
			t.Fatal(err)
		}
		conflict := func(cause string) []models.Conflict {
			return []models.Conflict{{Cause: cause, Kind: models.KindOverlap, RoomID: "duowei", Start: b.Start, End: a.End, Rule: "overlap",
				Sides: models.Sides{{ReservationID: a.ID, Backend: a.Backend, RoomID: "duowei"}, {ReservationID: b.ID, Backend: b.Backend, RoomID: "duowei"}}}}
		}
		openOne := func(cause string) string {
			t.Helper()
			if r, err := other.ReconcileConflicts(ctx, []string{a.ID, b.ID}, conflict(cause), nil); err != nil || r.Opened != 1 {
				t.Fatalf("ReconcileConflicts(%s) = %+v, %v; want one opened", cause, r, err)
			}
			open, err := s.Conflicts(ctx, models.ConflictFilter{Status: models.ConflictOpen})
			if err != nil || len(open) != 1 {
				t.Fatalf("Conflicts(open) = %d, %v; want 1", len(open), err)
			}
			return open[0].ID
		}
		first := openOne("first")
		check("a conflict opened by another process", "in conflict")
		if _, err := s.ResolveConflict(ctx, first, models.Resolving{Action: "dismiss", By: "admin", Done: true}); err != nil {
			t.Fatal(err)
		}
		check("a dismissal", "钉钉里撞了")
		if err := other.FinishResolution(ctx, first, models.OutcomeFailed, "backend_refused", "no"); err != nil {
			t.Fatal(err)
		}
		check("a failure recorded on a dismissed conflict", "钉钉里撞了")
		second := openOne("second")
		check("another conflict", "in conflict")
		if _, err := s.ResolveConflict(ctx, second, models.Resolving{Action: "keep", Arg: a.ID, By: "admin"}); err != nil {
			t.Fatal(err)
		}
		check("a resolution under way", "in conflict")
		if _, err := s.CancelRemote(ctx, models.BackendDingTalk, "dt-2", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if r, err := s.ReconcileConflicts(ctx, []string{a.ID, b.ID}, nil, nil); err != nil || r.Closed != 1 {
			t.Fatalf("ReconcileConflicts(cause gone) = %+v, %v; want one closed", r, err)
		}
		check("a conflict gone", "钉钉里挪了")
		if got := truth(); strings.Contains(got, "in conflict") {
			t.Fatalf("a conflict stays open after its cause went:\n%s", got)
		}
		if err := other.FinishResolution(ctx, second, models.OutcomeFailed, "backend_refused", "no"); err != nil {
			t.Fatal(err)
		}
		check("a failed resolution, which opens the conflict again", "in conflict")

		// Other windows of the room, kept beside this one, follow too.
		for _, w := range [][3]time.Time{
			{day.Add(10 * time.Hour), day.Add(16 * time.Hour), day.Add(12*time.Hour + 30*time.Minute)},
			{day.AddDate(0, 0, -1), day.AddDate(0, 0, 2), day.AddDate(0, 0, 1).Add(9 * time.Hour)},
		} {
			if _, err := s.RoomBusy(ctx, "duowei", w[0], w[1]); err != nil {
				t.Fatal(err)
			}
			booked(other, w[2], "后来的")
			got, err := s.RoomBusy(ctx, "duowei", w[0], w[1])
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(got.Rows, func(r models.Reservation) bool { return r.Title == "后来的" && r.Start.Equal(w[2]) }) {
				t.Fatalf("RoomBusy(%v–%v) after a booking in it = %s", w[0], w[1], answer(got))
			}
		}
	})
}

// TestRoomBusyCopies: what RoomBusy answers is the caller's to change (availability
// blanks the titles a caller may not see); the next answer is whole.
func TestRoomBusyCopies(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		day := time.Date(2023, 4, 12, 0, 0, 0, 0, shanghai)
		if _, _, err := s.Book(ctx, res("duowei", day.Add(9*time.Hour), time.Hour, models.BackendOA, models.OriginBridge), nil, nil); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			b, err := s.RoomBusy(ctx, "duowei", day, day.AddDate(0, 0, 1))
			if err != nil || len(b.Rows) != 1 || b.Rows[0].Title == "" {
				t.Fatalf("RoomBusy() call %d = %+v, %v; want the booking with its title", i+1, b.Rows, err)
			}
			b.Rows[0].Title = ""
		}
	})
}

// TestCurrentCatalogView: a catalog change by another process shows at once, where
// CatalogView keeps what this process read until a booking finds it outdated.
func TestCurrentCatalogView(t *testing.T) {
	c := newClock()
	modelstest.EachShared(t, c.Now, func(t *testing.T, s, other *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		for i := 0; i < 2; i++ {
			v, err := s.CurrentCatalogView(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if u, err := v.User("lisi"); err != nil || u.Removed {
				t.Fatalf("CurrentCatalogView().User(lisi) = %+v, %v; want lisi", u, err)
			}
		}
		if err := other.SyncCatalog(ctx, changedCatalog()); err != nil {
			t.Fatal(err)
		}
		v, err := s.CurrentCatalogView(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u, err := v.User("lisi"); err == nil && !u.Removed {
			t.Errorf("CurrentCatalogView() after another process removed lisi still has lisi")
		}
		if r, err := v.Room("duowei"); err != nil || r.OARoomID != "9000" {
			t.Errorf("CurrentCatalogView().Room(duowei) = %+v, %v; want the new OA room id", r, err)
		}
		if _, err := s.CurrentCatalogView(ctx); err != nil && !errors.Is(err, models.ErrUnavailable) {
			t.Fatal(err)
		}
	})
}
