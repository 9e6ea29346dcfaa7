package models_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
		// Texts that JSON escapes or that hold the separator of SQLite's joined columns
		// (feedJoined), and times with a fraction and in the forms SQLite's date
		// functions write.
		odd, err := s.Reservations(ctx, models.Filter{RoomIDs: []string{"duowei"}, From: start.Add(3 * 24 * time.Hour), To: start.Add(8 * 24 * time.Hour)})
		if err != nil || len(odd) < 3 {
			t.Fatalf("Reservations() = %d rows, %v", len(odd), err)
		}
		if _, err := s.SQL().Exec("UPDATE reservations SET title = ?, description = ?, organizer_name = ?, updated_at = ? WHERE id = ?",
			"周会 \"复盘\" \\ 第一季度\n\x00\t🎉", "议程\u2028一、二\r\n三 \\\"", `王"五`, start.Add(-time.Hour+250*time.Millisecond), odd[0].ID); err != nil {
			t.Fatal(err)
		}
		// Two more at the same start, the separator in the later one's texts: the rows
		// from it on are read again, and those read before it at its start not twice.
		for i, room := range []string{"sk-tianyuan", "sh-waitan"} {
			r := res(room, odd[0].Start, time.Hour, models.BackendOA, models.OriginBridge)
			if i == 1 {
				r.Description = "一\x1f二"
			}
			if _, _, err := s.Book(ctx, r, nil, nil); err != nil {
				t.Fatalf("Book() = %v", err)
			}
		}
		if s.Dialect() == models.DialectSQLite {
			for i, v := range []string{"2023-04-10T07:00:00Z", "2023-04-10 07:00:00.25"} {
				if _, err := s.SQL().Exec("UPDATE reservations SET created_at = ? WHERE id = ?", v, odd[i+1].ID); err != nil {
					t.Fatal(err)
				}
			}
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
			// In order of start; rows sharing one in any order.
			byStart := func(a, b models.Reservation) int { return a.Start.Compare(b.Start) }
			if !slices.IsSortedFunc(got, byStart) {
				t.Errorf("EachFeedReservation(%v) not in order of start", roomSet)
			}
			byStartID := func(a, b models.Reservation) int {
				if c := byStart(a, b); c != 0 {
					return c
				}
				return strings.Compare(a.ID, b.ID)
			}
			slices.SortFunc(want, byStartID)
			slices.SortFunc(got, byStartID)
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" || (roomSet == nil && len(got) < 40) {
				t.Errorf("EachFeedReservation(%v) = %d rows, Reservations %d (-want +got):\n%s", roomSet, len(got), len(want), diff)
			}
		}
	})
}

// FeedSplitsAt finds the same cuts as FeedSplits whichever middle the count names and
// however far each offset is from the first row, the middle and the last; CountFeedRows
// counts the rows CountFeedReservations does, on both sides of the middle.
func TestStoreFeedSplitsAt(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		seeded(t, s)
		ctx := context.Background()
		start := time.Date(2023, 4, 11, 0, 0, 0, 0, time.UTC)
		rooms := []string{"duowei", "sk-tianyuan", "sh-waitan"}
		for i := 0; i < 24; i++ {
			r := res(rooms[i%3], start.Add(time.Duration(i)*7*time.Hour), time.Hour, models.BackendOA, models.OriginBridge)
			if _, _, err := s.Book(ctx, r, nil, nil); err != nil {
				t.Fatalf("Book() = %v", err)
			}
		}
		from, to := start.Add(models.ShortSpan), start.Add(8*24*time.Hour)
		n, err := s.CountFeedReservations(ctx, nil, from, to)
		if err != nil || n != 24 {
			t.Fatalf("CountFeedReservations() = %d, %v; want 24", n, err)
		}
		count, err := s.CountFeedRows(ctx, nil, from, to)
		if err != nil || count.N != n || count.Before == 0 || count.Before == n {
			t.Fatalf("CountFeedRows() = %+v, %v; want %d rows on both sides of the middle", count, err, n)
		}
		offsets := make([]int, n+1)
		for i := range offsets {
			offsets[i] = i
		}
		want, err := s.FeedSplits(ctx, nil, from, to, offsets)
		if err != nil || len(want) != n {
			t.Fatalf("FeedSplits() = %v, %v; want %d cuts", want, err, n)
		}
		for _, mid := range []time.Time{count.Mid, want[5], want[5].Add(time.Minute), want[n-1]} {
			before, err := s.CountFeedReservations(ctx, nil, from, mid)
			if err != nil {
				t.Fatal(err)
			}
			c := models.FeedCount{N: n, Before: before, Mid: mid}
			if got, err := s.FeedSplitsAt(ctx, nil, from, to, c, offsets); err != nil || !slices.EqualFunc(got, want, time.Time.Equal) {
				t.Errorf("FeedSplitsAt(%+v) = %v, %v; want %v", c, got, err, want)
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
		tok := zhangsanFeedToken(t, s)
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

// FeedLookup answers from what is committed when it is called, whichever store (another
// process, another replica) committed it: each change made through another store shows
// in the very next lookup, and a lookup with nothing changed answers the same.
func TestStoreFeedLookupSeesOtherStores(t *testing.T) {
	c := newClock()
	modelstest.EachShared(t, c.Now, func(t *testing.T, s, other *models.Store) {
		seeded(t, s)
		ctx := context.Background()
		tok := zhangsanFeedToken(t, s)
		room := []string{models.ScopeCatalog, models.RoomScope("duowei")}
		type answer struct {
			token          models.FeedToken
			stamp, catalog int64
			err            error
		}
		lookup := func() answer {
			var a answer
			a.token, a.stamp, a.catalog, a.err = s.FeedLookup(ctx, tok.TokenHash, room)
			return a
		}
		booked := res("duowei", time.Date(2023, 4, 11, 8, 0, 0, 0, time.UTC), time.Hour, models.BackendOA, models.OriginBridge)
		used := c.Now().UTC().Truncate(time.Second)
		steps := []struct {
			name   string
			change func(t *testing.T)
			want   func(before, after answer) bool
		}{
			{"nothing", func(*testing.T) {}, func(b, a answer) bool { return cmp.Equal(a, b, cmp.AllowUnexported(answer{}), cmpopts.EquateErrors()) }},
			{"a booking in the room", func(t *testing.T) {
				if _, _, err := other.Book(ctx, booked, nil, nil); err != nil {
					t.Fatal(err)
				}
			}, func(b, a answer) bool { return a.stamp == b.stamp+1 && a.catalog == b.catalog }},
			{"nothing again", func(*testing.T) {}, func(b, a answer) bool { return cmp.Equal(a, b, cmp.AllowUnexported(answer{}), cmpopts.EquateErrors()) }},
			{"the booking cancelled", func(t *testing.T) {
				if _, err := other.Update(ctx, booked.ID, models.Change{Apply: func(x *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
					x.Status = models.StatusCancelled
					return nil, nil, nil
				}}); err != nil {
					t.Fatal(err)
				}
			}, func(b, a answer) bool { return a.stamp == b.stamp+1 }},
			{"a booking in another room", func(t *testing.T) {
				if _, _, err := other.Book(ctx, res("sh-waitan", booked.Start, time.Hour, models.BackendOA, models.OriginBridge), nil, nil); err != nil {
					t.Fatal(err)
				}
			}, func(b, a answer) bool { return a.stamp == b.stamp && a.catalog == b.catalog && a.err == nil }},
			{"the catalog synced", func(t *testing.T) {
				if err := other.SyncCatalog(ctx, models.DemoCatalog()); err != nil {
					t.Fatal(err)
				}
			}, func(b, a answer) bool { return a.catalog == b.catalog+1 && a.stamp == b.stamp+1 }},
			{"the token used", func(t *testing.T) {
				if err := other.TouchFeedToken(ctx, tok.ID, used); err != nil {
					t.Fatal(err)
				}
			}, func(b, a answer) bool { return a.token.LastUsedAt != nil && a.token.LastUsedAt.Equal(used) }},
			{"the token revoked", func(t *testing.T) {
				if err := other.RevokeFeedToken(ctx, "zhangsan", tok.ID); err != nil {
					t.Fatal(err)
				}
			}, func(_, a answer) bool { return errors.Is(a.err, models.ErrNotFound) }},
		}
		before := lookup()
		if before.err != nil {
			t.Fatalf("FeedLookup() = %v", before.err)
		}
		for _, st := range steps {
			st.change(t)
			after := lookup()
			if !st.want(before, after) {
				t.Errorf("after %s: FeedLookup() = %+v, before %+v", st.name, after, before)
			}
			before = after
		}
	})
}

// Under concurrent lookups, a lookup that starts after a commit by another store has
// returned sees that commit, however the lookups share their checks.
func TestStoreFeedLookupConcurrent(t *testing.T) {
	c := newClock()
	modelstest.EachShared(t, c.Now, func(t *testing.T, s, other *models.Store) {
		seeded(t, s)
		ctx := context.Background()
		tok := zhangsanFeedToken(t, s)
		room := []string{models.RoomScope("duowei")}
		const bookings, readers = 20, 8
		var (
			wg    sync.WaitGroup
			stop  = make(chan struct{})
			stale = make(chan string, readers)
		)
		_, base, _, err := s.FeedLookup(ctx, tok.TokenHash, room)
		if err != nil {
			t.Fatal(err)
		}
		var done atomic.Int64 // bookings that have returned
		for range readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					n := done.Load() // bookings that had returned before this lookup began
					_, stamp, _, err := s.FeedLookup(ctx, tok.TokenHash, room)
					if err != nil {
						stale <- err.Error()
						return
					}
					if stamp < base+n {
						stale <- fmt.Sprintf("stamp %d after %d bookings returned, want at least %d", stamp, n, base+n)
						return
					}
				}
			}()
		}
		start := time.Date(2023, 4, 11, 8, 0, 0, 0, time.UTC)
		for i := range bookings {
			if _, _, err := other.Book(ctx, res("duowei", start.Add(time.Duration(i)*time.Hour), time.Hour, models.BackendOA, models.OriginBridge), nil, nil); err != nil {
				t.Fatal(err)
			}
			done.Add(1)
		}
		close(stop)
		wg.Wait()
		close(stale)
		for msg := range stale {
			t.Errorf("FeedLookup() under concurrency: %s", msg)
		}
	})
}

// zhangsanFeedToken gives zhangsan a feed token (secret "t") in s.
func zhangsanFeedToken(t *testing.T, s *models.Store) models.FeedToken {
	t.Helper()
	tok := models.FeedToken{ID: models.NewID(), UserID: "zhangsan", TokenHash: models.FeedTokenHash("t")}
	if _, err := s.CreateFeedToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	return tok
}
