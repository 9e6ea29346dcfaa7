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

// Changes are applied in one go: new ones imported, changed ones updated, gone ones
// cancelled, and nothing else touched; cursors are kept per calendar until deleted.
func TestStoreApplyChangesAndSyncTokens(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		day := time.Date(2023, 4, 20, 2, 0, 0, 0, time.UTC)
		remote := func(id string, hour int) models.Remote {
			return models.Remote{RemoteID: id, RoomID: "duowei", Start: day.Add(time.Duration(hour) * time.Hour), End: day.Add(time.Duration(hour+1) * time.Hour),
				Title: "会议 " + id, Status: models.StatusConfirmed}
		}
		var first []models.Remote
		for i := range 1200 { // more than one lookup chunk
			first = append(first, remote(fmt.Sprint("e", i), i))
		}
		if res, err := s.ApplyChanges(ctx, models.BackendDingTalk, first, nil, c.Now()); err != nil || res.Created != 1200 {
			t.Fatalf("ApplyChanges(1,200 new) = %+v, %v, want 1,200 created", res, err)
		}
		c.Add(time.Minute)
		res, err := s.ApplyChanges(ctx, models.BackendDingTalk, []models.Remote{remote("e0", 5000), remote("e1", 1), remote("new", 6000)}, []string{"e2", "unknown"}, c.Now())
		if want := (models.ApplyResult{Seen: 3, Created: 1, Updated: 1, Cancelled: 1}); err != nil || res != want {
			t.Errorf("ApplyChanges(moved, unchanged, new; gone, unknown) = %+v, %v, want %+v", res, err, want)
		}
		for id, want := range map[string]string{"e0": "5000 confirmed", "e1": "1 confirmed", "e2": "2 cancelled", "e3": "3 confirmed", "new": "6000 confirmed"} {
			r, err := s.ReservationByRemote(ctx, models.BackendDingTalk, id)
			if got := fmt.Sprintf("%d %s", int(r.Start.Sub(day).Hours()), r.Status); err != nil || got != want {
				t.Errorf("reservation %s = %s, %v, want %s", id, got, err, want)
			}
		}
		if res, err := s.ApplyChanges(ctx, models.BackendDingTalk, nil, nil, c.Now()); err != nil || res != (models.ApplyResult{}) {
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
