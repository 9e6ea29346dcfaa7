package models_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/models"
	"roombridge/models/modelstest"
)

func newClock() *modelstest.Clock {
	return modelstest.NewClock(time.Date(2023, 4, 10, 2, 0, 0, 0, time.UTC))
}

func seeded(t *testing.T, s *models.Store) {
	t.Helper()
	if err := s.SyncCatalog(context.Background(), models.DemoCatalog()); err != nil {
		t.Fatalf("SyncCatalog() = %v", err)
	}
}

func res(room string, start time.Time, d time.Duration, b models.Backend, origin models.Origin) models.Reservation {
	id := models.NewID()
	return models.Reservation{
		ID: id, UID: models.BridgeUID(id), RoomID: room, Start: start, End: start.Add(d),
		Title: "周会, 讨论; 计划", OrganizerID: "zhangsan", Backend: b, Origin: origin, Status: models.StatusPending,
	}
}

func TestStoreCatalog(t *testing.T) {
	modelstest.Each(t, nil, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		seeded(t, s) // idempotent
		offices, err := s.Offices(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(offices) != 4 || offices[0].Name != "北京首开" || len(offices[0].Rooms) != 3 {
			t.Fatalf("Offices() = %d offices, first %q with %d rooms; want 4, 北京首开, 3", len(offices), offices[0].Name, len(offices[0].Rooms))
		}
		r, err := s.Room(ctx, "duowei")
		if err != nil || r.OARoomID != "-2295828016161864200" {
			t.Errorf("Room(duowei) = %+v, %v; want the int64 OA id kept exactly", r, err)
		}
		if _, err := s.Room(ctx, "nope"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("Room(nope) = %v, want ErrNotFound", err)
		}
		if err := s.SetUnionID(ctx, "zhangsan", "union-zs"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetUnionID(ctx, "zhangsan", "union-zs"); err != nil {
			t.Errorf("SetUnionID(same value) = %v, want nil", err)
		}
		u, _ := s.User(ctx, "zhangsan")
		if u.DingTalkUnionID != "union-zs" {
			t.Errorf("User(zhangsan).DingTalkUnionID = %q, want union-zs", u.DingTalkUnionID)
		}
	})
}

func TestStoreBookOverlap(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		base := time.Date(2023, 4, 12, 2, 0, 0, 0, time.UTC)
		native := res("duowei", base, time.Hour, models.BackendDingTalk, models.OriginNative)
		native.Status = models.StatusConfirmed
		if _, created, err := s.Book(ctx, native, nil, nil); err != nil || !created {
			t.Fatalf("Book(native) = %v, created %v", err, created)
		}
		tests := []struct {
			name     string
			start    time.Time
			d        time.Duration
			room     string
			conflict bool
		}{
			{"same slot", base, time.Hour, "duowei", true},
			{"overlapping the end", base.Add(30 * time.Minute), time.Hour, "duowei", true},
			{"inside", base.Add(10 * time.Minute), 10 * time.Minute, "duowei", true},
			{"back to back after", base.Add(time.Hour), time.Hour, "duowei", false},
			{"back to back before", base.Add(-2 * time.Hour), 2 * time.Hour, "duowei", false},
			{"other room", base, time.Hour, "sk-tianyuan", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := res(tt.room, tt.start, tt.d, models.BackendOA, models.OriginBridge)
				job := models.Job{ReservationID: r.ID, Kind: models.JobCreate, Backend: r.Backend}
				_, _, err := s.Book(ctx, r, []models.Job{job}, &models.AuditEntry{Actor: "zhangsan", Action: "book", ReservationID: r.ID})
				var ce *models.ConflictError
				if got := errors.As(err, &ce); got != tt.conflict {
					t.Fatalf("Book(%s) = %v, want conflict %v", tt.name, err, tt.conflict)
				}
				if tt.conflict {
					if ce.With.ID != native.ID || !errors.Is(err, models.ErrConflict) {
						t.Errorf("conflict with %s, want %s", ce.With.ID, native.ID)
					}
					if _, err := s.Reservation(ctx, r.ID); !errors.Is(err, models.ErrNotFound) {
						t.Errorf("refused booking was stored: %v", err)
					}
					if jobs, _ := s.Jobs(ctx, r.ID); len(jobs) != 0 {
						t.Errorf("refused booking left %d jobs", len(jobs))
					}
				}
			})
		}
		// Cancelled reservations do not hold the room.
		if _, err := s.Update(ctx, native.ID, models.Change{Apply: func(r *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
			r.Status = models.StatusCancelled
			return nil, nil, nil
		}}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Book(ctx, res("duowei", base, time.Hour, models.BackendOA, models.OriginBridge), nil, nil); err != nil {
			t.Errorf("Book(after cancel) = %v, want nil", err)
		}
		if _, _, err := s.Book(ctx, res("nope", base, time.Hour, models.BackendOA, models.OriginBridge), nil, nil); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("Book(unknown room) = %v, want ErrNotFound", err)
		}
	})
}

func TestStoreBookIdempotent(t *testing.T) {
	modelstest.Each(t, nil, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		key := "key-1"
		start := time.Date(2030, 1, 1, 2, 0, 0, 0, time.UTC)
		a := res("duowei", start, time.Hour, models.BackendDingTalk, models.OriginBridge)
		a.IdempotencyKey = &key
		first, created, err := s.Book(ctx, a, nil, nil)
		if err != nil || !created {
			t.Fatalf("Book() = %v, %v", created, err)
		}
		b := res("duowei", start, time.Hour, models.BackendDingTalk, models.OriginBridge)
		b.IdempotencyKey = &key
		second, created, err := s.Book(ctx, b, nil, nil)
		if err != nil || created || second.ID != first.ID {
			t.Fatalf("Book(same key) = %s, created %v, %v; want %s, false, nil", second.ID, created, err, first.ID)
		}
	})
}

// Many concurrent requests for one slot: exactly one wins, on both databases.
func TestStoreBookConcurrent(t *testing.T) {
	modelstest.Each(t, nil, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		start := time.Date(2030, 1, 1, 2, 0, 0, 0, time.UTC)
		const n = 100
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, conflicts := 0, 0
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				r := res("duowei", start.Add(time.Duration(i%60)*time.Minute), time.Hour, models.BackendDingTalk, models.OriginBridge)
				_, _, err := s.Book(ctx, r, []models.Job{{ReservationID: r.ID, Kind: models.JobCreate, Backend: r.Backend}}, nil)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, models.ErrConflict):
					conflicts++
				default:
					t.Errorf("Book() = %v", err)
				}
			}(i)
		}
		wg.Wait()
		if wins != 1 || conflicts != n-1 {
			t.Errorf("concurrent Book: %d wins, %d conflicts; want 1 and %d", wins, conflicts, n-1)
		}
	})
}

// Concurrent bookings of many rooms are written in shared transactions: still one
// winner per slot, each winner with its job and audit entry and its room's change
// counter raised, a slot taken beforehand refused, an unknown room refused on its own.
func TestStoreBookConcurrentRooms(t *testing.T) {
	modelstest.Each(t, nil, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		rooms := demoRooms
		start := time.Date(2030, 1, 1, 2, 0, 0, 0, time.UTC)
		early := res("sh-waitan", start.Add(-30*time.Minute), time.Hour, models.BackendDingTalk, models.OriginNative)
		if _, _, err := s.Book(ctx, early, nil, nil); err != nil {
			t.Fatal(err)
		}
		before, err := s.FeedStamps(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		const perRoom = 12
		type outcome struct {
			room string
			r    models.Reservation
			err  error
		}
		out := make(chan outcome, perRoom*(len(rooms)+1))
		var wg sync.WaitGroup
		for i := 0; i < perRoom; i++ {
			for _, room := range append(rooms, "nope") {
				if room == "nope" && i > 0 {
					continue // one such booking makes its whole group fall back
				}
				wg.Add(1)
				go func(room string, i int) {
					defer wg.Done()
					r := res(room, start.Add(time.Duration(i)*time.Minute), time.Hour, models.BackendDingTalk, models.OriginBridge)
					got, _, err := s.Book(ctx, r, []models.Job{{ReservationID: r.ID, Kind: models.JobCreate, Backend: r.Backend}},
						&models.AuditEntry{Actor: "zhangsan", Action: "book", ReservationID: r.ID})
					out <- outcome{room, got, err}
				}(room, i)
			}
		}
		wg.Wait()
		close(out)
		wins := map[string][]models.Reservation{}
		for o := range out {
			var ce *models.ConflictError
			switch {
			case o.room == "nope":
				if !errors.Is(o.err, models.ErrNotFound) {
					t.Errorf("Book(unknown room) = %v, want ErrNotFound", o.err)
				}
			case o.err == nil:
				wins[o.room] = append(wins[o.room], o.r)
			case errors.As(o.err, &ce):
				if ce.With.RoomID != o.room {
					t.Errorf("Book(%s) conflicts with a reservation of %s", o.room, ce.With.RoomID)
				}
			default:
				t.Errorf("Book(%s) = %v", o.room, o.err)
			}
		}
		after, err := s.FeedStamps(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, room := range rooms {
			want := 1
			if room == "sh-waitan" {
				want = 0
			}
			if len(wins[room]) != want {
				t.Errorf("concurrent Book(%s): %d wins, want %d", room, len(wins[room]), want)
				continue
			}
			if want == 0 {
				continue
			}
			w := wins[room][0]
			jobs, err := s.Jobs(ctx, w.ID)
			if err != nil || len(jobs) != 1 || jobs[0].Kind != models.JobCreate || jobs[0].Seq != 0 {
				t.Errorf("Jobs(%s winner) = %+v, %v; want its create job, seq 0", room, jobs, err)
			}
			audit, err := s.Audit(ctx, w.ID)
			if err != nil || len(audit) != 1 || audit[0].Action != "book" {
				t.Errorf("Audit(%s winner) = %+v, %v; want its book entry", room, audit, err)
			}
			if sc := models.RoomScope(room); after[sc] <= before[sc] {
				t.Errorf("FeedStamps()[%s] = %d after a booking, want above %d", sc, after[sc], before[sc])
			}
		}
	})
}

// Concurrent bookings with one idempotency key, for different rooms: one is made, every
// request gets it back.
func TestStoreBookConcurrentSameKey(t *testing.T) {
	modelstest.Each(t, nil, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		rooms := demoRooms
		start := time.Date(2030, 1, 1, 2, 0, 0, 0, time.UTC)
		type outcome struct {
			id      string
			created bool
			err     error
		}
		out := make(chan outcome, 4*len(rooms))
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			for j, room := range rooms {
				wg.Add(1)
				go func(room string, n int) {
					defer wg.Done()
					r := res(room, start.Add(time.Duration(n)*time.Hour), time.Hour, models.BackendDingTalk, models.OriginBridge)
					key := "same-key"
					if n%2 == 1 {
						key = fmt.Sprintf("own-key-%d", n) // bookings with keys of their own share the groups
					}
					r.IdempotencyKey = &key
					got, created, err := s.Book(ctx, r, []models.Job{{ReservationID: r.ID, Kind: models.JobCreate, Backend: r.Backend}}, nil)
					if n%2 == 1 {
						if err != nil || !created {
							t.Errorf("Book(%s, own key) = %v, %v; want created", room, created, err)
						}
						return
					}
					out <- outcome{got.ID, created, err}
				}(room, i*len(rooms)+j)
			}
		}
		wg.Wait()
		close(out)
		ids := map[string]bool{}
		made := 0
		for o := range out {
			if o.err != nil {
				t.Errorf("Book(same key) = %v", o.err)
				continue
			}
			ids[o.id] = true
			if o.created {
				made++
			}
		}
		if made != 1 || len(ids) != 1 {
			t.Errorf("concurrent Book(same key): %d made, %d distinct reservations returned; want 1 and 1", made, len(ids))
		}
	})
}

func TestStoreOutbox(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		r := res("duowei", time.Date(2030, 1, 1, 2, 0, 0, 0, time.UTC), time.Hour, models.BackendOA, models.OriginBridge)
		jobs := []models.Job{
			{ReservationID: r.ID, Kind: models.JobCreate, Backend: models.BackendOA},
			{ReservationID: r.ID, Kind: models.JobCancel, Backend: models.BackendOA},
		}
		if _, _, err := s.Book(ctx, r, jobs, nil); err != nil {
			t.Fatal(err)
		}
		got, err := s.ClaimJobs(ctx, "w1", time.Minute, 10)
		if err != nil || len(got) != 1 || got[0].Kind != models.JobCreate || got[0].Attempts != 1 {
			t.Fatalf("ClaimJobs() = %+v, %v; want only the create job, attempt 1", got, err)
		}
		if again, _ := s.ClaimJobs(ctx, "w1", time.Minute, 10); len(again) != 0 {
			t.Fatalf("ClaimJobs() while leased = %d jobs, want 0", len(again))
		}
		// The worker died: after the lease the job is due again.
		c.Add(2 * time.Minute)
		again, _ := s.ClaimJobs(ctx, "w1", time.Minute, 10)
		if len(again) != 1 || again[0].ID != got[0].ID || again[0].Attempts != 2 {
			t.Fatalf("ClaimJobs() after lease = %+v, want the create job again at attempt 2", again)
		}
		remote := "-42"
		err = s.FinishJob(ctx, models.JobResult{Job: again[0], State: models.JobDone, Update: func(x *models.Reservation) bool {
			x.Status, x.RemoteID = models.StatusConfirmed, &remote
			x.Sequence++
			return true
		}, Audit: &models.AuditEntry{Actor: "system", Action: "confirmed", ReservationID: r.ID}})
		if err != nil {
			t.Fatal(err)
		}
		stored, _ := s.Reservation(ctx, r.ID)
		if stored.Status != models.StatusConfirmed || stored.Remote() != "-42" || stored.Sequence != 1 {
			t.Errorf("Reservation() = %s %s seq %d, want confirmed -42 seq 1", stored.Status, stored.Remote(), stored.Sequence)
		}
		next, _ := s.ClaimJobs(ctx, "w1", time.Minute, 10)
		if len(next) != 1 || next[0].Kind != models.JobCancel {
			t.Fatalf("ClaimJobs() after create = %+v, want the cancel job", next)
		}
		retryAt := c.Now().Add(time.Hour)
		if err := s.FinishJob(ctx, models.JobResult{Job: next[0], State: models.JobPending, NextAttemptAt: retryAt, Error: "oa down"}); err != nil {
			t.Fatal(err)
		}
		if none, _ := s.ClaimJobs(ctx, "w1", time.Minute, 10); len(none) != 0 {
			t.Errorf("ClaimJobs() before the retry time = %d jobs, want 0", len(none))
		}
		counts, _ := s.JobCounts(ctx)
		if counts[models.JobDone] != 1 || counts[models.JobPending] != 1 {
			t.Errorf("JobCounts() = %v", counts)
		}
		counts, _ = s.JobCounts(ctx, models.JobPending, models.JobFailed)
		if diff := cmp.Diff(map[models.JobState]int{models.JobPending: 1}, counts); diff != "" {
			t.Errorf("JobCounts(pending, failed) (-want +got):\n%s", diff)
		}
		audit, _ := s.Audit(ctx, r.ID)
		if len(audit) != 1 || audit[0].Action != "confirmed" {
			t.Errorf("Audit() = %+v", audit)
		}
	})
}

func TestStoreTimesRoundTripUTC(t *testing.T) {
	modelstest.Each(t, nil, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		sh, _ := time.LoadLocation("Asia/Shanghai")
		start := time.Date(2023, 4, 17, 0, 0, 0, 0, sh)
		r := res("duowei", start.UTC(), 90*time.Minute, models.BackendDingTalk, models.OriginBridge)
		if _, _, err := s.Book(ctx, r, nil, nil); err != nil {
			t.Fatal(err)
		}
		got, err := s.Reservation(ctx, r.ID)
		if err != nil || !got.Start.Equal(start) || !got.End.Equal(start.Add(90*time.Minute)) || got.Title != r.Title {
			t.Errorf("Reservation() = %s–%s %q, %v; want %s", got.Start, got.End, got.Title, err, start)
		}
		list, _ := s.Reservations(ctx, models.Filter{RoomIDs: []string{"duowei"}, From: start.Add(-time.Minute), To: start.Add(time.Minute)})
		if len(list) != 1 {
			t.Errorf("Reservations(window at start) = %d, want 1", len(list))
		}
	})
}

func TestStoreParticipantFilter(t *testing.T) {
	modelstest.Each(t, nil, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		start := time.Date(2030, 1, 1, 2, 0, 0, 0, time.UTC)
		mk := func(organizer string, attendees ...string) string {
			r := res("duowei", start, time.Hour, models.BackendOA, models.OriginBridge)
			start = start.Add(2 * time.Hour)
			r.OrganizerID, r.Attendees = organizer, attendees
			if _, _, err := s.Book(ctx, r, nil, nil); err != nil {
				t.Fatal(err)
			}
			return r.ID
		}
		own := mk("zhang_san")
		attends := mk("lisi", "wangwu", "zhang_san")
		mk("lisi", "zhangXsan")    // would match an unescaped zhang_san
		mk("zhangsan", "zhang_sa") // a prefix is not the id
		got, err := s.Reservations(ctx, models.Filter{Participant: "zhang_san"})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range got {
			ids = append(ids, r.ID)
		}
		if len(ids) != 2 || ids[0] != own || ids[1] != attends {
			t.Errorf("Reservations(Participant zhang_san) = %v, want [%s %s]", ids, own, attends)
		}
	})
}

// TestStoreReservationsWindow lists the bookings overlapping a window, whatever their
// length: those up to models.ShortSpan are read by start time, longer ones and rows of
// unknown length (written without long_span) apart.
func TestStoreReservationsWindow(t *testing.T) {
	modelstest.Each(t, nil, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		day := time.Date(2030, 3, 10, 0, 0, 0, 0, time.UTC)
		native := func(id string, start time.Time, d time.Duration) {
			t.Helper()
			if _, err := s.ApplyRemote(ctx, models.BackendDingTalk, models.Remote{RemoteID: id, RoomID: "duowei", Start: start, End: start.Add(d),
				Title: id, Status: models.StatusConfirmed}, time.Time{}); err != nil {
				t.Fatalf("ApplyRemote(%s) = %v", id, err)
			}
		}
		native("week", day.Add(-5*24*time.Hour), 7*24*time.Hour) // long, from days before
		native("day", day.Add(-23*time.Hour), 24*time.Hour)      // exactly ShortSpan, ends at 01:00
		native("night", day.Add(-2*time.Hour), 3*time.Hour)      // short, from the evening before
		native("morning", day.Add(9*time.Hour), time.Hour)       // short, inside
		native("before", day.Add(-26*time.Hour), 26*time.Hour)   // long, ends as the window opens
		native("other", day.Add(-48*time.Hour), 72*time.Hour)    // long, in another room below
		native("after", day.Add(24*time.Hour), time.Hour)        // starts as the window closes
		if _, err := s.SQL().Exec(`UPDATE reservations SET room_id = 'sk-tianyuan' WHERE remote_id = 'other'`); err != nil {
			t.Fatal(err)
		}
		// A row written by another tool: its length is not known (long_span keeps its default).
		if _, err := s.SQL().Exec(`INSERT INTO reservations (id, uid, room_id, starts_at, ends_at, title, description, attendees, backend, origin, status, reason, created_at, updated_at)
			VALUES ('raw1', 'raw1@x', 'duowei', ?, ?, 'raw', '', '[]', 'oa', 'native', 'confirmed', '', ?, ?)`,
			day.Add(-3*24*time.Hour), day.Add(time.Hour), day, day); err != nil {
			t.Fatal(err)
		}
		titles := func(rs []models.Reservation) []string {
			var out []string
			for _, r := range rs {
				out = append(out, r.Title)
			}
			return out
		}
		tests := []struct {
			name string
			f    models.Filter
			want []string
		}{
			{"day", models.Filter{RoomIDs: []string{"duowei"}, From: day, To: day.Add(24 * time.Hour)}, []string{"week", "raw", "day", "night", "morning"}},
			{"day, first two", models.Filter{RoomIDs: []string{"duowei"}, From: day, To: day.Add(24 * time.Hour), Limit: 2}, []string{"week", "raw"}},
			{"every room", models.Filter{From: day, To: day.Add(24 * time.Hour)}, []string{"week", "raw", "other", "day", "night", "morning"}},
			{"an hour", models.Filter{RoomIDs: []string{"duowei"}, From: day.Add(90 * time.Minute), To: day.Add(150 * time.Minute)}, []string{"week"}},
			{"day, timeline columns", models.Filter{RoomIDs: []string{"duowei"}, From: day, To: day.Add(24 * time.Hour), Columns: models.TimelineColumns},
				[]string{"week", "raw", "day", "night", "morning"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.Reservations(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, titles(got)); diff != "" {
					t.Errorf("Reservations(%s) titles (-want +got):\n%s", tt.name, diff)
				}
				for _, r := range got {
					// A narrow read fills the timeline's fields and leaves the rest zero.
					narrow := tt.f.Columns != nil
					if r.ID == "" || r.Start.IsZero() || r.End.IsZero() || r.Backend == "" || r.Status == "" || (r.UID == "") != narrow {
						t.Errorf("Reservations(%s) row %+v: want id, times, system and status, and a UID only when every column is read", tt.name, r)
					}
				}
			})
		}
	})
}

// TestStoreHoldingIn finds the bookings holding a room around a window, a short one from
// the evening before, one of a whole day that started the morning before and a three-day
// one alike, and leaves out cancelled ones and other rooms.
func TestStoreHoldingIn(t *testing.T) {
	modelstest.Each(t, nil, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		day := time.Date(2030, 3, 10, 0, 0, 0, 0, time.UTC)
		for _, b := range []struct {
			id, room  string
			start     time.Time
			d         time.Duration
			cancelled bool
		}{
			{"night", "duowei", day.Add(-2 * time.Hour), 3 * time.Hour, false},
			{"almost a day", "duowei", day.Add(-23 * time.Hour), 24 * time.Hour, false},
			{"three days", "duowei", day.Add(-48 * time.Hour), 72 * time.Hour, false},
			{"gone", "duowei", day.Add(9 * time.Hour), time.Hour, true},
			{"elsewhere", "sk-tianyuan", day.Add(9 * time.Hour), time.Hour, false},
			{"earlier", "duowei", day.Add(-5 * time.Hour), time.Hour, false},
		} {
			status := models.StatusConfirmed
			if b.cancelled {
				status = models.StatusCancelled
			}
			if _, err := s.ApplyRemote(ctx, models.BackendDingTalk, models.Remote{RemoteID: b.id, RoomID: b.room, Start: b.start, End: b.start.Add(b.d),
				Title: b.id, Status: status}, time.Time{}); err != nil {
				t.Fatalf("ApplyRemote(%s) = %v", b.id, err)
			}
		}
		got, err := s.HoldingIn(ctx, []models.RoomWindow{{RoomID: "duowei", From: day, To: day.Add(24 * time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		var titles []string
		for _, r := range got {
			titles = append(titles, r.Title)
		}
		slices.Sort(titles)
		if diff := cmp.Diff([]string{"almost a day", "night", "three days"}, titles); diff != "" {
			t.Errorf("HoldingIn(duowei, 10 March) titles (-want +got):\n%s", diff)
		}
	})
}

// demoRooms are the rooms of the demo catalog (seeded).
var demoRooms = []string{"duowei", "sk-tianyuan", "sk-xiaoyao", "lxx-changcheng", "lxx-gugong", "sh-waitan", "sh-lujiazui", "sz-shenzhenwan", "sz-lianhuashan"}
