package bridge

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// seedFeedParts writes n rows for the parts tests straight into the table, in one
// transaction: three (every tenth start five) rows share each start, in different rooms
// and in no order of UID; zhangsan organizes every fourth (with lisi attending); every
// seventh is cancelled, every thirteenth rejected; every fiftieth lasts three days; the
// second half carry long descriptions (events there are several times the size of those
// before, so parts of a build differ in size); one long booking began before the window.
// It returns the starts shared by more than one row.
func seedFeedParts(t *testing.T, s *models.Store, n int) map[time.Time]int {
	t.Helper()
	ctx := context.Background()
	if err := s.SyncCatalog(ctx, models.DemoCatalog()); err != nil {
		t.Fatal(err)
	}
	rooms := models.DemoCatalog().Rooms()
	tx, err := s.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO reservations (id, uid, room_id, starts_at, ends_at, title, description, organizer_id, organizer_name,
		attendees, backend, remote_id, origin, status, reason, sequence, idempotency_key, created_at, updated_at, long_span)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, 'dingtalk', NULL, 'bridge', ?, '', 1, NULL, ?, ?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	changed := at(9, 12).UTC()
	add := func(i int, start, end time.Time, status models.Status) {
		t.Helper()
		org, attendees := "lisi", "[]"
		if i%4 == 0 {
			org, attendees = "zhangsan", `["lisi"]`
		}
		desc := "议程：一、回顾；二、计划"
		if i >= n/2 {
			desc = strings.Repeat("详细议程，含分号；逗号,与反斜杠\\ ", 40)
		}
		long := 0
		if end.Sub(start) > models.ShortSpan {
			long = 1
		}
		// UIDs whose order is not the order of i.
		uid := fmt.Sprintf("part-%03d-%d@roombridge", (i*7919)%1000, i)
		if _, err := ins.ExecContext(ctx, models.NewID(), uid, rooms[i%len(rooms)].ID, start.UTC(), end.UTC(),
			fmt.Sprintf("周会 %d", i), desc, org, attendees, status, changed, changed, long); err != nil {
			t.Fatal(err)
		}
	}
	shared := map[time.Time]int{}
	start, group := at(1, 8), 0
	for i := 0; i < n; i++ {
		size := 3
		if (start.Unix()/1800)%10 == 0 {
			size = 5
		}
		status := models.StatusConfirmed
		switch {
		case i%13 == 0:
			status = models.StatusRejected
		case i%7 == 0:
			status = models.StatusCancelled
		}
		end := start.Add(time.Hour)
		if i%50 == 0 {
			end = start.Add(72 * time.Hour)
		}
		add(i, start, end, status)
		shared[start.UTC()]++
		if group++; group == size {
			start, group = start.Add(30*time.Minute), 0
		}
	}
	add(n, at(10, 10).Add(-DefaultFeedPast-30*24*time.Hour), at(10, 10).Add(-DefaultFeedPast+24*time.Hour), models.StatusConfirmed)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for k, c := range shared {
		if c < 2 {
			delete(shared, k)
		}
	}
	return shared
}

// TestFeedPartsMatchOneBuild builds feeds read in parts (2, 3 or 5, whatever the row count)
// and in one pass from the same rows and compares them: body, ETag, Last-Modified and
// expiry must be identical. The cuts fall inside runs of rows sharing a start and on
// long bookings' starts; parts differ in size (TestMergeFeedParts covers how they are
// put together). A booking committed while parts are read makes them unusable (each
// read its own snapshot).
func TestFeedPartsMatchOneBuild(t *testing.T) {
	c := modelstest.NewClock(at(10, 10))
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		const n = 1000
		shared := seedFeedParts(t, s, n)
		views := []struct {
			name, user string
			scope      models.FeedScope
			id         string
		}{
			{"all zhangsan", "zhangsan", models.FeedAll, ""},
			{"all admin", "admin", models.FeedAll, ""},
			{"me zhangsan", "zhangsan", models.FeedMe, ""},
			{"office bj-shoukai", "lisi", models.FeedOffices, "bj-shoukai"},
			{"room duowei", "zhangsan", models.FeedRooms, "duowei"},
		}
		build := func(t *testing.T, parts int, user string, scope models.FeedScope, id string) *feedEntry {
			t.Helper()
			f := &Feeds{Store: s, Zone: shanghai, Now: c.Now, Access: models.NewAccess("admin"),
				BookingURL: func(id string) string { return "https://rooms.example.com/bookings/" + id },
				buildParts: func(int) int { return parts }}
			cat, err := f.feedCatalog(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := f.feedPlan(ctx, cat, scope, id)
			if err != nil {
				t.Fatal(err)
			}
			e, err := f.buildFeed(ctx, cat, plan, user, scope, c.Now().UTC().Truncate(time.Second))
			if err != nil {
				t.Fatalf("buildFeed(%d parts) = %v", parts, err)
			}
			return e
		}
		for _, v := range views {
			t.Run(v.name, func(t *testing.T) {
				want := build(t, 1, v.user, v.scope, v.id)
				if bytes.Count(want.body, []byte("BEGIN:VEVENT")) < 2 {
					t.Fatalf("one-pass build holds %d events, want many", bytes.Count(want.body, []byte("BEGIN:VEVENT")))
				}
				for _, parts := range []int{2, 3, 5} {
					got := build(t, parts, v.user, v.scope, v.id)
					if !bytes.Equal(got.body, want.body) {
						t.Errorf("build in %d parts differs from one pass:\n%s", parts, feedLineDiff(want.body, got.body))
					}
					if got.etag != want.etag || !got.lastModified.Equal(want.lastModified) || !got.validUntil.Equal(want.validUntil) {
						t.Errorf("build in %d parts: ETag %s, Last-Modified %v, valid until %v; one pass: %s, %v, %v",
							parts, got.etag, got.lastModified, got.validUntil, want.etag, want.lastModified, want.validUntil)
					}
				}
			})
		}

		// Where the cuts fell, and how the parts were put together.
		f := &Feeds{Store: s, Zone: shanghai, Now: c.Now, Access: models.NewAccess("admin")}
		cat, err := f.feedCatalog(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		plan, _ := f.feedPlan(ctx, cat, models.FeedAll, "")
		now := c.Now().UTC().Truncate(time.Second)
		spec := FeedSpec{Zone: shanghai, Now: now, From: now.Add(-DefaultFeedPast), To: now.Add(DefaultFeedAhead)}
		from := spec.From.Add(-feedExitLookback)
		total, err := s.CountFeedReservations(ctx, nil, from, spec.To)
		if err != nil {
			t.Fatal(err)
		}
		// Counted in halves at once, the same rows; the cuts looked up from the nearest
		// of the first row, the middle and the last are those looked up from the first,
		// with the middle of the window (after every row here) or at a row's start.
		count, err := s.CountFeedRows(ctx, nil, from, spec.To)
		if err != nil || count.N != total || count.Before != total {
			t.Fatalf("CountFeedRows() = %+v, %v; want all %d rows before the middle", count, err, total)
		}
		median, err := s.FeedSplits(ctx, nil, from, spec.To, []int{total / 2})
		if err != nil || len(median) != 1 {
			t.Fatalf("FeedSplits(%d) = %v, %v", total/2, median, err)
		}
		before, err := s.CountFeedReservations(ctx, nil, from, median[0])
		if err != nil {
			t.Fatal(err)
		}
		counts := []models.FeedCount{count, {N: total, Before: before, Mid: median[0]}}
		inside := 0
		for _, parts := range []int{2, 3, 5} {
			offsets := make([]int, parts-1)
			for i := range offsets {
				offsets[i] = total * (i + 1) / parts
			}
			cuts, err := s.FeedSplits(ctx, nil, from, spec.To, offsets)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range counts {
				if at, err := s.FeedSplitsAt(ctx, nil, from, spec.To, c, offsets); err != nil || !slices.EqualFunc(at, cuts, time.Time.Equal) {
					t.Errorf("FeedSplitsAt(%+v, %v) = %v, %v; FeedSplits %v", c, offsets, at, err, cuts)
				}
			}
			if len(cuts) != parts-1 {
				t.Errorf("FeedSplits(%v) = %d cuts, want %d", offsets, len(cuts), parts-1)
			}
			for i, cut := range cuts {
				// Fewer rows start before the cut than its offset: the offset fell
				// inside a run of one start, which goes whole to the later part.
				before, err := s.CountFeedReservations(ctx, nil, from, cut)
				if err != nil {
					t.Fatal(err)
				}
				if before < offsets[i] && shared[cut] > 1 {
					inside++
				}
			}
		}
		if inside == 0 {
			t.Error("no cut fell inside a run of rows sharing a start")
		}

		// A booking committed while the parts are read: they may have read different
		// states, so the build must not use them.
		booked := false
		rows, err := f.readFeedParts(ctx, plan, spec, count, 2, func(p *feedRows) func(*models.Reservation) error {
			return func(r *models.Reservation) error {
				if p.b.part == 0 && !booked {
					booked = true
					id := models.NewID()
					if _, _, err := s.Book(ctx, models.Reservation{ID: id, UID: models.BridgeUID(id), RoomID: "duowei", Start: at(25, 8), End: at(25, 9),
						Title: "插入", OrganizerID: "lisi", Backend: models.BackendDingTalk, Origin: models.OriginBridge, Status: models.StatusConfirmed}, nil, nil); err != nil {
						return err
					}
				}
				return nil
			}
		})
		if err != nil || rows != nil || !booked {
			t.Errorf("readFeedParts with a booking committed meanwhile = %v, %v (booked: %v), want nil, nil", rows, err, booked)
		}
	})
}

// feedLineDiff is the first line where two feeds differ, unfolded.
func feedLineDiff(want, got []byte) string {
	w := strings.Split(string(bytes.ReplaceAll(want, []byte("\r\n "), nil)), "\r\n")
	g := strings.Split(string(bytes.ReplaceAll(got, []byte("\r\n "), nil)), "\r\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d: want %q\n         got  %q", i+1, wl, gl)
		}
	}
	return "(same lines)"
}

// TestFeedBuildParts: a feed of a few thousand rows is read in one part; a larger one in
// no more parts than cores, and at most four.
func TestFeedBuildParts(t *testing.T) {
	for _, rows := range []int{0, 1, 2000, feedParallelRows - 1} {
		if got := feedBuildParts(rows); got != 1 {
			t.Errorf("feedBuildParts(%d) = %d, want 1", rows, got)
		}
	}
	for _, rows := range []int{feedParallelRows, 100000} {
		if got := feedBuildParts(rows); got < 1 || got > 4 {
			t.Errorf("feedBuildParts(%d) = %d, want 1 to 4", rows, got)
		}
	}
}

// TestFeedHeadLargerThanItsRoom: a feed in order whose head does not fit the room kept
// for it (a zone with daylight saving time and a booking over decades: one observance
// per change) is the head, the events and the tail, as when its events are sorted from
// their records.
func TestFeedHeadLargerThanItsRoom(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no zone data: %v", err)
	}
	spec := FeedSpec{Name: "长", Zone: ny, Now: at(10, 10)}
	var items []FeedItem
	for i := range 40 {
		start := at(11, 8).Add(time.Duration(i/2) * time.Hour)
		end := start.Add(time.Hour)
		if i == 0 {
			end = start.AddDate(30, 0, 0)
		}
		items = append(items, FeedItem{R: models.Reservation{ID: fmt.Sprint("r", i), UID: fmt.Sprintf("u%02d@roombridge", 40-i),
			RoomID: "duowei", Start: start, End: end, Title: "会", Status: models.StatusConfirmed, Backend: models.BackendOA,
			Origin: models.OriginBridge, CreatedAt: at(9, 8), UpdatedAt: at(9, 8)}, Details: true})
	}
	build := func(sorted bool) []byte {
		b := newFeedBuilder(spec, false)
		for _, it := range items {
			if err := b.add(it); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.flush(); err != nil {
			t.Fatal(err)
		}
		if !b.sorted {
			t.Fatal("events written out of order")
		}
		b.sorted = sorted
		body, err := b.finish(nil)
		if err != nil {
			t.Fatal(err)
		}
		return body
	}
	got, want := build(true), build(false)
	head, _, _ := bytes.Cut(got, []byte("BEGIN:VEVENT"))
	if len(head) <= feedHeadRoom {
		t.Fatalf("head of %d bytes, want more than %d", len(head), feedHeadRoom)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("feed written in order differs from the sorted one:\n%s", feedLineDiff(want, got))
	}
	if n := bytes.Count(got, []byte("BEGIN:VEVENT")); n != len(items) {
		t.Errorf("feed holds %d events, want %d", n, len(items))
	}
}

// TestMergeFeedParts writes three parts of a feed (the middle one's events several times
// the size of the others') into one arena, the parts in different orders, and puts
// them together: whichever part sizes the arena, the feed is the one a single builder
// writes. When the first part sizes it for its small events, the middle part outgrows
// its region and the parts are joined in a new buffer; when the middle part sizes it,
// every part fits and they are joined in place.
func TestMergeFeedParts(t *testing.T) {
	spec := FeedSpec{Name: "全部", Zone: shanghai, Now: at(10, 10)}
	const per = 300
	items := make([]FeedItem, 3*per)
	for i := range items {
		start := at(11, 8).Add(time.Duration(i/3) * 30 * time.Minute)
		r := models.Reservation{ID: fmt.Sprint("r", i), UID: fmt.Sprintf("u%03d@roombridge", (i*7919)%1000), RoomID: "duowei",
			Start: start, End: start.Add(time.Hour), Title: fmt.Sprint("周会 ", i), Status: models.StatusConfirmed,
			Backend: models.BackendOA, Origin: models.OriginBridge, CreatedAt: at(9, 8), UpdatedAt: at(9, 8)}
		if i/per == 1 {
			r.Description = strings.Repeat("详细议程；逗号,反斜杠\\ ", 100)
		}
		items[i] = FeedItem{R: r, Details: true}
	}
	one := newFeedBuilder(spec, false)
	for _, it := range items {
		if err := one.add(it); err != nil {
			t.Fatal(err)
		}
	}
	want, err := one.finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		order   []int
		inPlace bool
	}{{[]int{0, 1, 2}, false}, {[]int{1, 0, 2}, true}, {[]int{1, 2, 0}, true}} {
		arena := &feedArena{rows: []int{per, per, per}}
		parts := make([]*feedBuilder, 3)
		for k := range parts {
			parts[k] = newFeedRows(spec, k, arena).b
			parts[k].lookup, parts[k].expect = false, per
		}
		for _, k := range c.order {
			p := parts[k]
			for _, it := range items[k*per : (k+1)*per] {
				p.seen++
				if err := p.add(it); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.flush(); err != nil {
				t.Fatal(err)
			}
		}
		if arena.buf == nil {
			t.Fatalf("order %v: no part sized the arena", c.order)
		}
		m := mergeFeedParts(parts)
		if inPlace := &m.buf[0] == &arena.buf[0]; inPlace != c.inPlace {
			t.Errorf("order %v: parts joined in place = %v, want %v", c.order, inPlace, c.inPlace)
		}
		got, err := m.finish(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("order %v: feed differs from one builder's:\n%s", c.order, feedLineDiff(want, got))
		}
	}
}
