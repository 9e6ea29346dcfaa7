package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// EachFeedReservation reads the same rows as Reservations over a window, in the same
// order, with the columns a feed shows; long bookings come at their place.
func TestStoreEachFeedReservation(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		seeded(t, s)
		ctx := context.Background()
		start := time.Date(2023, 4, 11, 0, 0, 0, 0, time.UTC)
		rooms := []string{"duowei", "sk-tianyuan", "sh-waitan"}
		for i := 0; i < 60; i++ {
			r := res(rooms[i%3], start.Add(time.Duration(i)*7*time.Hour), 90*time.Minute, models.BackendOA, models.OriginBridge)
			r.Attendees = []string{"lisi"}
			if i%5 == 0 {
				remote := "oa-" + r.ID
				r.RemoteID = &remote
			}
			if _, _, err := s.Book(ctx, r, nil, nil); err != nil {
				t.Fatalf("Book() = %v", err)
			}
		}
		// Two days from before the window (sync takes any length), one with a series id.
		if _, err := s.ApplyRemote(ctx, models.BackendDingTalk, models.Remote{RemoteID: "long", RoomID: "duowei", Start: start.Add(-24 * time.Hour),
			End: start.Add(2 * 24 * time.Hour), Title: "长会", Status: models.StatusConfirmed}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SQL().Exec("UPDATE reservations SET series_id = 'ser1', recurrence_id = starts_at WHERE title = ?", "长会"); err != nil {
			t.Fatal(err)
		}
		feedFields := func(r models.Reservation) models.Reservation {
			r.RemoteID, r.IdempotencyKey, r.OrganizerRef, r.LongSpan = nil, nil, "", false
			r.SetReason(models.Reason{})
			return r
		}
		from, to := start.Add(24*time.Hour), start.Add(15*24*time.Hour)
		for _, roomSet := range [][]string{nil, {"duowei"}, {"duowei", "sh-waitan"}, {}} {
			want, err := s.Reservations(ctx, models.Filter{RoomIDs: roomSet, From: from, To: to})
			if err != nil {
				t.Fatal(err)
			}
			if roomSet != nil && len(roomSet) == 0 {
				want = nil
			}
			for i := range want {
				want[i] = feedFields(want[i])
			}
			var got []models.Reservation
			if err := s.EachFeedReservation(ctx, roomSet, from, to, func(r models.Reservation) error {
				got = append(got, r)
				return nil
			}); err != nil {
				t.Fatalf("EachFeedReservation(%v) = %v", roomSet, err)
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" || (roomSet == nil && len(got) < 40) {
				t.Errorf("EachFeedReservation(%v) = %d rows, Reservations %d (-want +got):\n%s", roomSet, len(got), len(want), diff)
			}
		}
	})
}

// Every write to a room's reservations raises that room's stamp, concurrent bookings of
// different rooms included; FeedLookup reads a token and the stamps in one go.
func TestStoreFeedStamps(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		seeded(t, s)
		ctx := context.Background()
		tok := models.FeedToken{ID: models.NewID(), UserID: "zhangsan", TokenHash: models.FeedTokenHash("t")}
		if _, err := s.CreateFeedToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		lookup := func(scopes []string) (int64, int64) {
			t.Helper()
			got, stamp, cat, err := s.FeedLookup(ctx, tok.TokenHash, scopes)
			if err != nil || got.ID != tok.ID || got.UserID != "zhangsan" {
				t.Fatalf("FeedLookup() = %+v, %v", got, err)
			}
			return stamp, cat
		}
		room := []string{models.ScopeCatalog, models.RoomScope("duowei")}
		all0, cat0 := lookup(nil)
		room0, _ := lookup(room)
		start := time.Date(2023, 4, 11, 8, 0, 0, 0, time.UTC)
		var wg sync.WaitGroup
		rooms := models.DemoCatalog().Rooms()
		errs := make([]error, len(rooms))
		for i, r := range rooms {
			wg.Add(1)
			go func(i int, id string) {
				defer wg.Done()
				_, _, errs[i] = s.Book(ctx, res(id, start, time.Hour, models.BackendOA, models.OriginBridge), nil, nil)
			}(i, r.ID)
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("concurrent Book() = %v", err)
		}
		all1, cat1 := lookup(nil)
		room1, _ := lookup(room)
		if all1 != all0+int64(len(rooms)) || room1 != room0+1 || cat1 != cat0 {
			t.Errorf("after one booking per room: all %d→%d, duowei %d→%d, catalog %d→%d; want +%d, +1, +0", all0, all1, room0, room1, cat0, cat1, len(rooms))
		}
		if err := s.SyncCatalog(ctx, models.DemoCatalog()); err != nil {
			t.Fatal(err)
		}
		if _, cat2 := lookup(nil); cat2 != cat1+1 {
			t.Errorf("after SyncCatalog: catalog stamp %d→%d, want +1", cat1, cat2)
		}
		if err := s.RevokeFeedToken(ctx, "zhangsan", tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := s.FeedLookup(ctx, tok.TokenHash, nil); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("FeedLookup(revoked) = %v, want ErrNotFound", err)
		}
	})
}
