package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// syncDay is the day the sync tests' bookings are counted from.
var syncDay = time.Date(2023, 4, 20, 2, 0, 0, 0, time.UTC)

// duoweiRemote is a confirmed booking id in 多维 from hour to hour+1 after syncDay.
func duoweiRemote(id string, hour int) models.Remote {
	return models.Remote{RemoteID: id, RoomID: "duowei", Start: syncDay.Add(time.Duration(hour) * time.Hour), End: syncDay.Add(time.Duration(hour+1) * time.Hour),
		Title: "会议 " + id, Status: models.StatusConfirmed}
}

// Changes are applied in one go: new ones imported, changed ones updated, gone ones
// cancelled, and nothing else touched; cursors are kept per calendar until deleted.
func TestStoreApplyChangesAndSyncTokens(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		var first []models.Remote
		for i := range 1200 { // more than one lookup chunk
			first = append(first, duoweiRemote(fmt.Sprint("e", i), i))
		}
		if res, err := s.ApplyChanges(ctx, models.BackendDingTalk, first, nil, c.Now(), nil); err != nil || res.Created != 1200 {
			t.Fatalf("ApplyChanges(1,200 new) = %+v, %v, want 1,200 created", res, err)
		}
		c.Add(time.Minute)
		res, err := s.ApplyChanges(ctx, models.BackendDingTalk, []models.Remote{duoweiRemote("e0", 5000), duoweiRemote("e1", 1), duoweiRemote("new", 6000)}, []string{"e2", "unknown"}, c.Now(), nil)
		if want := (models.ApplyResult{Seen: 3, Created: 1, Updated: 1, Cancelled: 1}); err != nil || !cmp.Equal(res, want) {
			t.Errorf("ApplyChanges(moved, unchanged, new; gone, unknown) = %+v, %v, want %+v", res, err, want)
		}
		for id, want := range map[string]string{"e0": "5000 confirmed", "e1": "1 confirmed", "e2": "2 cancelled", "e3": "3 confirmed", "new": "6000 confirmed"} {
			r, err := s.ReservationByRemote(ctx, models.BackendDingTalk, id)
			if got := fmt.Sprintf("%d %s", int(r.Start.Sub(syncDay).Hours()), r.Status); err != nil || got != want {
				t.Errorf("reservation %s = %s, %v, want %s", id, got, err, want)
			}
		}
		if res, err := s.ApplyChanges(ctx, models.BackendDingTalk, nil, nil, c.Now(), nil); err != nil || !cmp.Equal(res, models.ApplyResult{}) {
			t.Errorf("ApplyChanges(nothing) = %+v, %v, want nothing", res, err)
		}

		if err := s.SetSyncTokens(ctx, models.BackendDingTalk, map[string]string{"union-a": "t1", "union-b": "t2"}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetSyncTokens(ctx, models.BackendDingTalk, map[string]string{"union-a": "t3", "union-b": ""}); err != nil {
			t.Fatal(err)
		}
		got, err := s.SyncTokens(ctx, models.BackendDingTalk)
		if want := map[string]string{"union-a": "t3"}; err != nil || !cmp.Equal(got, want) {
			t.Errorf("SyncTokens() = %v, %v, want %v", got, err, want)
		}
		if other, err := s.SyncTokens(ctx, models.BackendOA); err != nil || len(other) != 0 {
			t.Errorf("SyncTokens(oa) = %v, %v, want none", other, err)
		}
	})
}

// Within one second, a pass tells what was written before it read the backend from
// what a Stream event wrote while it read: a booking missing from its answer is
// cancelled only if it was there, as it is, before the read; one the answer shows as it
// was before an event changed it keeps the event's change. The next pass applies the rest.
func TestStoreApplyKeepsWritesDuringTheRead(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		apply := func(what string, remotes []models.Remote, before models.WriteMarks) {
			t.Helper()
			o := models.ApplyOptions{From: syncDay.Add(-24 * time.Hour), To: syncDay.Add(48 * time.Hour), Rooms: []string{"duowei"}, ReadAt: c.Now(), Before: before}
			if _, err := s.ApplySync(ctx, models.BackendDingTalk, remotes, o); err != nil {
				t.Fatalf("%s: ApplySync() = %v", what, err)
			}
		}
		get := func(id string) models.Reservation {
			r, err := s.ReservationByRemote(ctx, models.BackendDingTalk, id)
			if err != nil {
				t.Fatalf("ReservationByRemote(%s) = %v", id, err)
			}
			return r
		}
		apply("import", []models.Remote{duoweiRemote("a", 1), duoweiRemote("b", 2), duoweiRemote("c", 3)}, nil)
		written, err := s.WrittenIn(ctx, models.BackendDingTalk, c.Now())
		if err != nil || len(written) != 3 {
			t.Fatalf("WrittenIn() = %v, %v; want the 3 bookings just imported", written, err)
		}
		// While the backend is read (the same second): an event moves c and imports d.
		for _, rm := range []models.Remote{duoweiRemote("c", 6), duoweiRemote("d", 8)} {
			if _, err := s.ApplyRemote(ctx, models.BackendDingTalk, rm, c.Now()); err != nil {
				t.Fatal(err)
			}
		}
		// The answer predates both: it lacks b (cancelled before the read) and d, and
		// shows c where it was.
		apply("answer read meanwhile", []models.Remote{duoweiRemote("a", 1), duoweiRemote("c", 3)}, written)
		if r := get("b"); r.Status != models.StatusCancelled {
			t.Errorf("b, unchanged since before the read = %s, want cancelled", r.Status)
		}
		if r := get("c"); !r.Start.Equal(syncDay.Add(6*time.Hour)) || r.Sequence != 1 {
			t.Errorf("c, moved during the read = %s seq %d, want the event's 6 hours in, seq 1", r.Start, r.Sequence)
		}
		if r := get("d"); r.Status != models.StatusConfirmed {
			t.Errorf("d, imported during the read = %s, want confirmed", r.Status)
		}
		if _, err := s.ApplyChanges(ctx, models.BackendDingTalk, nil, []string{"d"}, c.Now(), written); err != nil {
			t.Fatal(err)
		}
		if r := get("d"); r.Status != models.StatusConfirmed {
			t.Errorf("d after a delta read meanwhile = %s, want confirmed", r.Status)
		}
		// The next pass, whose read follows everything above.
		next, err := s.WrittenIn(ctx, models.BackendDingTalk, c.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyChanges(ctx, models.BackendDingTalk, nil, []string{"d"}, c.Now(), next); err != nil {
			t.Fatal(err)
		}
		if r := get("d"); r.Status != models.StatusCancelled {
			t.Errorf("d after the next delta = %s, want cancelled", r.Status)
		}
	})
}
