package bridge_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"roombridge/bridge"
	"roombridge/models"
)

// feedView is one subscriber's feed: the token and the scope it opens.
type feedView struct {
	name, user string
	scope      models.FeedScope
	id         string
}

// TestFeedCacheNeverStale renders every kind of feed through the cached service after
// each kind of change and compares it with a build by a fresh service (no cache): body,
// ETag and Last-Modified must be identical. Between changes, an unchanged feed must come
// from the cache (the same bytes, not a rebuild). A second cached service reads through
// another store on the same database, as a server does while another process (a CLI
// command, another replica) writes: it must never lag either.
func TestFeedCacheNeverStale(t *testing.T) {
	newFeedRig(t, func(t *testing.T, r *feedRig) {
		ctx := context.Background()
		elsewhere := &bridge.Feeds{Store: r.other, Zone: r.f.Zone, Now: r.f.Now, Access: r.f.Access}
		services := []struct {
			name string
			f    *bridge.Feeds
		}{{"the writer's store", r.f}, {"another store", elsewhere}}
		views := []feedView{
			{"all zhangsan", "zhangsan", models.FeedAll, ""},
			{"all admin", "admin", models.FeedAll, ""},
			{"me zhangsan", "zhangsan", models.FeedMe, ""},
			{"me lisi", "lisi", models.FeedMe, ""},
			{"room duowei", "zhangsan", models.FeedRooms, "duowei"},
			{"room sk-tianyuan", "wangwu", models.FeedRooms, "sk-tianyuan"},
			{"office bj-shoukai", "lisi", models.FeedOffices, "bj-shoukai"},
			{"office empty", "lisi", models.FeedOffices, "empty"},
		}
		tokens := map[string]string{}
		for _, v := range views {
			if tokens[v.user] == "" {
				tokens[v.user], _ = r.token(t, v.user)
			}
		}
		fresh := func() *bridge.Feeds {
			return &bridge.Feeds{Store: r.s, Zone: r.f.Zone, Now: r.f.Now, Access: r.f.Access, BookingURL: r.f.BookingURL}
		}
		r.f.BookingURL = func(id string) string { return "https://rooms.example.com/bookings/" + id }
		elsewhere.BookingURL = r.f.BookingURL
		check := func(t *testing.T, after string) {
			t.Helper()
			want := fresh()
			want.BookingURL = r.f.BookingURL
			for _, sv := range services {
				for _, v := range views {
					checkView(t, ctx, sv.f, want, tokens[v.user], v, after+" (read through "+sv.name+")")
				}
			}
		}
		check(t, "start")

		update := func(t *testing.T, id string, apply func(*models.Reservation)) {
			t.Helper()
			if _, err := r.s.Update(ctx, id, models.Change{Apply: func(x *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
				apply(x)
				return nil, nil, nil
			}}); err != nil {
				t.Fatalf("Update(%s) = %v", id, err)
			}
		}
		steps := []struct {
			name   string
			change func(t *testing.T)
		}{
			{"a new booking", func(t *testing.T) {
				id := models.NewID()
				if _, _, err := r.s.Book(ctx, models.Reservation{ID: id, UID: models.BridgeUID(id), RoomID: "duowei", Start: cst(t, 15, 9, 0), End: cst(t, 15, 10, 0),
					Title: "新会议", OrganizerID: "lisi", Backend: models.BackendOA, Origin: models.OriginBridge, Status: models.StatusPending}, nil, nil); err != nil {
					t.Fatalf("Book() = %v", err)
				}
				r.res["new"] = mustReservation(t, r.s, id)
			}},
			{"a rename", func(t *testing.T) {
				update(t, r.res["zhangsan"].ID, func(x *models.Reservation) { x.Title = "张三的周会（改）" })
			}},
			{"a second change in the same second", func(t *testing.T) {
				update(t, r.res["zhangsan"].ID, func(x *models.Reservation) { x.Title = "张三的周会（再改）" })
			}},
			{"an attendee added", func(t *testing.T) {
				update(t, r.res["wangwu"].ID, func(x *models.Reservation) { x.Attendees = append(x.Attendees, "lisi") })
			}},
			{"a move to another room", func(t *testing.T) {
				update(t, r.res["lisi"].ID, func(x *models.Reservation) { x.RoomID = "sk-tianyuan"; x.Sequence++ })
			}},
			{"a backend write confirmed", func(t *testing.T) {
				id := models.NewID()
				if _, _, err := r.s.Book(ctx, models.Reservation{ID: id, UID: models.BridgeUID(id), RoomID: "duowei", Start: cst(t, 16, 9, 0), End: cst(t, 16, 10, 0),
					Title: "待确认", OrganizerID: "zhangsan", Backend: models.BackendOA, Origin: models.OriginBridge, Status: models.StatusPending},
					[]models.Job{{ReservationID: id, Kind: models.JobCreate, Backend: models.BackendOA}}, nil); err != nil {
					t.Fatalf("Book() = %v", err)
				}
				check(t, "a booking with a job")
				claimed, err := r.s.ClaimJobs(ctx, "w1", time.Minute, 10)
				if err != nil || len(claimed) != 1 {
					t.Fatalf("ClaimJobs() = %d jobs, %v; want 1", len(claimed), err)
				}
				if err := r.s.FinishJob(ctx, models.JobResult{Job: claimed[0], State: models.JobDone, Update: func(x *models.Reservation) bool {
					x.Status = models.StatusConfirmed
					remote := "oa-1"
					x.RemoteID = &remote
					return true
				}}); err != nil {
					t.Fatalf("FinishJob() = %v", err)
				}
			}},
			{"a sync pass", func(t *testing.T) {
				rooms := []string{"duowei", "sk-tianyuan"}
				remotes := []models.Remote{
					{RemoteID: "dt-1", RoomID: "duowei", Start: cst(t, 17, 9, 0), End: cst(t, 17, 10, 0), Title: "钉钉会议", Status: models.StatusConfirmed},
					{RemoteID: "dt-2", RoomID: "sk-tianyuan", Start: cst(t, 17, 9, 0), End: cst(t, 17, 10, 0), Title: "钉钉会议二", Status: models.StatusTentative},
				}
				if _, err := r.s.ApplySync(ctx, models.BackendDingTalk, remotes, models.ApplyOptions{From: cst(t, 1, 0, 0), To: cst(t, 30, 0, 0), Rooms: rooms}); err != nil {
					t.Fatalf("ApplySync() = %v", err)
				}
			}},
			{"a sync pass that changes and cancels", func(t *testing.T) {
				remotes := []models.Remote{
					{RemoteID: "dt-1", RoomID: "duowei", Start: cst(t, 17, 11, 0), End: cst(t, 17, 12, 0), Title: "钉钉会议（改期）", Status: models.StatusConfirmed},
				}
				if _, err := r.s.ApplySync(ctx, models.BackendDingTalk, remotes, models.ApplyOptions{From: cst(t, 1, 0, 0), To: cst(t, 30, 0, 0), Rooms: []string{"duowei", "sk-tianyuan"}}); err != nil {
					t.Fatalf("ApplySync() = %v", err)
				}
			}},
			{"an event from the backend", func(t *testing.T) {
				if _, err := r.s.ApplyRemote(ctx, models.BackendDingTalk, models.Remote{RemoteID: "dt-3", RoomID: "sh-waitan", Start: cst(t, 18, 9, 0), End: cst(t, 18, 10, 0), Title: "推送的会议"}, time.Time{}); err != nil {
					t.Fatalf("ApplyRemote() = %v", err)
				}
			}},
			{"a cancellation from the backend", func(t *testing.T) {
				if _, err := r.s.CancelRemote(ctx, models.BackendDingTalk, "dt-1", time.Time{}); err != nil {
					t.Fatalf("CancelRemote() = %v", err)
				}
			}},
			{"a series booked", func(t *testing.T) {
				id := models.NewID()
				start := cst(t, 17, 16, 0) // Mondays 16:00–17:00 from 17 April
				ser := models.Series{ID: id, UID: models.SeriesUID(id), RoomID: "duowei", Title: "周例会", OrganizerID: "zhangsan",
					RRule: "FREQ=WEEKLY;BYDAY=MO;COUNT=4", Start: start, End: start.Add(time.Hour), TimeZone: "Asia/Shanghai", Status: models.SeriesActive}
				var rows []models.Reservation
				for i := range 4 {
					at := start.AddDate(0, 0, 7*i)
					sid := id
					rows = append(rows, models.Reservation{ID: models.NewID(), UID: models.OccurrenceUID(id, at), RoomID: "duowei",
						Start: at, End: at.Add(time.Hour), Title: "周例会", OrganizerID: "zhangsan", Backend: models.BackendDingTalk,
						Origin: models.OriginBridge, Status: models.StatusPending, SeriesID: &sid, RecurrenceID: &at})
				}
				_, kept, _, _, err := r.s.BookSeries(ctx, models.SeriesBooking{Series: ser, Rows: rows, Jobs: func(s models.Series, _ []models.Reservation) []models.Job {
					return []models.Job{{ReservationID: s.ID, Kind: models.JobSeriesCreate, Backend: models.BackendDingTalk}}
				}})
				if err != nil || len(kept) != 4 {
					t.Fatalf("BookSeries() = %d occurrences, %v; want 4", len(kept), err)
				}
				r.res["series"] = models.Reservation{ID: id}
			}},
			{"a series confirmed by its job", func(t *testing.T) {
				claimed, err := r.s.ClaimJobs(ctx, "w1", time.Minute, 10)
				if err != nil {
					t.Fatalf("ClaimJobs() = %v", err)
				}
				var job *models.Job
				for i := range claimed {
					if claimed[i].ReservationID == r.res["series"].ID {
						job = &claimed[i]
					}
				}
				if job == nil {
					t.Fatalf("ClaimJobs() = %d jobs, none for the series", len(claimed))
				}
				if err := r.s.FinishJob(ctx, models.JobResult{Job: *job, State: models.JobDone,
					SeriesRows: func(x *models.Reservation) bool { x.Status = models.StatusConfirmed; return true },
					SeriesUpdate: func(x *models.Series) bool {
						ev := "dt-series"
						x.DingTalkEventID = &ev
						return true
					}}); err != nil {
					t.Fatalf("FinishJob(series) = %v", err)
				}
			}},
			{"one occurrence of a series retitled", func(t *testing.T) {
				if _, err := r.s.UpdateSeries(ctx, r.res["series"].ID, func(x *models.Series, rows []models.Reservation, _ func(time.Time, time.Time) (*models.Reservation, error)) ([]models.Reservation, []models.Job, *models.AuditEntry, error) {
					rows[1].Title = "周例会（改）"
					rows[1].Sequence++
					return rows[1:2], nil, nil, nil
				}); err != nil {
					t.Fatalf("UpdateSeries() = %v", err)
				}
			}},
			{"a series cancelled from its third occurrence on", func(t *testing.T) {
				if _, err := r.s.UpdateSeries(ctx, r.res["series"].ID, func(x *models.Series, rows []models.Reservation, _ func(time.Time, time.Time) (*models.Reservation, error)) ([]models.Reservation, []models.Job, *models.AuditEntry, error) {
					x.RRule = "FREQ=WEEKLY;BYDAY=MO;COUNT=2"
					x.Sequence++
					for i := 2; i < len(rows); i++ {
						rows[i].Status = models.StatusCancelled
						rows[i].Sequence++
					}
					return rows[2:], nil, nil, nil
				}); err != nil {
					t.Fatalf("UpdateSeries() = %v", err)
				}
			}},
			{"a series' own row changed alone", func(t *testing.T) {
				if _, err := r.s.UpdateSeries(ctx, r.res["series"].ID, func(x *models.Series, _ []models.Reservation, _ func(time.Time, time.Time) (*models.Reservation, error)) ([]models.Reservation, []models.Job, *models.AuditEntry, error) {
					x.Title = "周例会（新名）"
					x.Sequence++
					return nil, nil, nil, nil
				}); err != nil {
					t.Fatalf("UpdateSeries() = %v", err)
				}
			}},
			{"a catalog change", func(t *testing.T) {
				cat := models.DemoCatalog()
				cat.Offices = append(cat.Offices, models.Office{ID: "empty", Name: "空职场"})
				cat.Offices[0].Name = "北京首开（新）"
				cat.Offices[0].Rooms[0].Name = "多维缩放会议室（新）"
				for i := range cat.Users {
					if cat.Users[i].ID == "lisi" {
						cat.Users[i].Name = "李四（新）"
					}
				}
				if err := r.s.SyncCatalog(ctx, cat); err != nil {
					t.Fatalf("SyncCatalog() = %v", err)
				}
			}},
			{"an hour passing", func(t *testing.T) { r.clock.Add(time.Hour) }},
			{"a cancelled booking expiring", func(t *testing.T) { r.clock.Add(bridge.DefaultKeepCancelled) }},
			{"a booking entering the window", func(t *testing.T) {
				id := models.NewID()
				start := r.clock.Now().Add(bridge.DefaultFeedAhead + 2*time.Hour)
				if _, _, err := r.s.Book(ctx, models.Reservation{ID: id, UID: models.BridgeUID(id), RoomID: "duowei", Start: start, End: start.Add(time.Hour),
					Title: "远期会议", OrganizerID: "zhangsan", Backend: models.BackendDingTalk, Origin: models.OriginBridge, Status: models.StatusConfirmed}, nil, nil); err != nil {
					t.Fatalf("Book() = %v", err)
				}
				check(t, "a booking beyond the window")
				r.clock.Add(3 * time.Hour)
			}},
			{"bookings leaving the window", func(t *testing.T) { r.clock.Add(bridge.DefaultFeedPast) }},
			{"bookings leaving the rows read", func(t *testing.T) { r.clock.Add(8 * 24 * time.Hour) }},
		}
		for _, st := range steps {
			st.change(t)
			check(t, st.name)
		}

		// A revoked token opens nothing, even though its feeds were cached.
		_, row := r.token(t, "zhangsan")
		toks, err := r.f.Tokens(ctx, "zhangsan")
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range toks {
			if tok.ID != row.ID {
				if err := r.f.Revoke(ctx, "zhangsan", tok.ID); err != nil {
					t.Fatalf("Revoke() = %v", err)
				}
			}
		}
		for _, sv := range services {
			if _, err := sv.f.Render(ctx, tokens["zhangsan"], models.FeedAll, ""); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("Render(revoked token) through %s = %v, want ErrNotFound", sv.name, err)
			}
		}

		// A token whose owner left the catalog opens nothing, though its feeds were cached.
		cat := models.DemoCatalog()
		cat.Offices = append(cat.Offices, models.Office{ID: "empty", Name: "空职场"})
		var kept []models.User
		for _, u := range cat.Users {
			if u.ID != "wangwu" {
				kept = append(kept, u)
			}
		}
		cat.Users = kept
		if err := r.s.SyncCatalog(ctx, cat); err != nil {
			t.Fatalf("SyncCatalog(without wangwu) = %v", err)
		}
		for _, sv := range services {
			if _, err := sv.f.Render(ctx, tokens["wangwu"], models.FeedRooms, "sk-tianyuan"); !errors.Is(err, models.ErrForbidden) {
				t.Errorf("Render(token of a removed user) through %s = %v, want ErrForbidden", sv.name, err)
			}
		}
	})
}

func mustReservation(t *testing.T, s *models.Store, id string) models.Reservation {
	t.Helper()
	r, err := s.Reservation(context.Background(), id)
	if err != nil {
		t.Fatalf("Reservation(%s) = %v", id, err)
	}
	return r
}

// lineDiff shows the first differing line of two feeds.
func lineDiff(want, got []byte) string {
	w, g := bytes.Split(want, []byte("\r\n")), bytes.Split(got, []byte("\r\n"))
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b []byte
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if !bytes.Equal(a, b) {
			return "line " + itoa(i+1) + ": fresh " + string(a) + " | cached " + string(b)
		}
	}
	return "(bodies equal)"
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// checkView renders view v through f (cached) and want (a fresh service) and compares
// them: body, ETag, Last-Modified, the gzip's content; rendering again must hit the
// cache.
func checkView(t *testing.T, ctx context.Context, f, want *bridge.Feeds, token string, v feedView, after string) {
	t.Helper()
	got, err := f.Render(ctx, token, v.scope, v.id)
	if err != nil {
		t.Fatalf("after %s: Render(%s) = %v", after, v.name, err)
	}
	w, err := want.Render(ctx, token, v.scope, v.id)
	if err != nil {
		t.Fatalf("after %s: fresh Render(%s) = %v", after, v.name, err)
	}
	if !bytes.Equal(got.Body, w.Body) || got.ETag != w.ETag || !got.LastModified.Equal(w.LastModified) {
		t.Errorf("after %s: cached %s differs from a fresh build:\n cached ETag %s Last-Modified %v\n fresh  ETag %s Last-Modified %v\n%s",
			after, v.name, got.ETag, got.LastModified, w.ETag, w.LastModified, lineDiff(w.Body, got.Body))
	}
	if got.Gzip != nil {
		zr, err := gzip.NewReader(bytes.NewReader(got.Gzip))
		var plain []byte
		if err == nil {
			plain, err = io.ReadAll(zr)
		}
		if err != nil || !bytes.Equal(plain, got.Body) {
			t.Errorf("after %s: gzip of %s does not hold the body (%v)", after, v.name, err)
		}
	}
	again, err := f.Render(ctx, token, v.scope, v.id)
	if err != nil || len(again.Body) == 0 || &again.Body[0] != &got.Body[0] {
		t.Errorf("after %s: second Render(%s) rebuilt the feed (err %v), want the cached one", after, v.name, err)
	}
}
