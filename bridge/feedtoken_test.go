package bridge_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/bridge"
	"roombridge/models"
	"roombridge/models/modelstest"
)

// feedRig is a migrated store with the demo catalog plus an office without rooms, a
// Feeds service on it, and these bookings (Shanghai time, week of 2023-04-10):
//
//	zhangsan  "张三的周会"   duowei        4-12 10:00, organised by zhangsan
//	lisi      "李四的评审"   duowei        4-12 14:00, lisi with zhangsan attending
//	wangwu    "王五的机密会" sk-tianyuan   4-13 09:00, wangwu alone
//	shanghai  "上海站会"     sh-waitan     4-13 10:00, lisi alone
//	refused   "被拒绝"       duowei        4-14 10:00, rejected
//
// other is a second store on the same database, as another process or replica has.
type feedRig struct {
	s     *models.Store
	other *models.Store
	clock *modelstest.Clock
	f     *bridge.Feeds
	res   map[string]models.Reservation
}

func newFeedRig(t *testing.T, fn func(t *testing.T, r *feedRig)) {
	clock := modelstest.NewClock(time.Time{})
	modelstest.EachShared(t, clock.Now, func(t *testing.T, s, other *models.Store) {
		clock.Set(feedNow().Add(-24 * time.Hour))
		ctx := context.Background()
		cat := models.DemoCatalog()
		cat.Offices = append(cat.Offices, models.Office{ID: "empty", Name: "空职场"})
		if err := s.SyncCatalog(ctx, cat); err != nil {
			t.Fatalf("SyncCatalog() = %v", err)
		}
		r := &feedRig{s: s, other: other, clock: clock, res: map[string]models.Reservation{},
			f: &bridge.Feeds{Store: s, Zone: zone(t, "Asia/Shanghai"), Now: clock.Now,
				Access: models.NewAccess("admin")}}
		book := func(key, room, title, organizer string, start time.Time, st models.Status, attendees ...string) {
			id := models.NewID()
			res := models.Reservation{ID: id, UID: models.BridgeUID(id), RoomID: room, Start: start, End: start.Add(time.Hour),
				Title: title, Description: title + "的议程", OrganizerID: organizer, Attendees: attendees,
				Backend: models.BackendOA, Origin: models.OriginBridge, Status: st}
			got, _, err := s.Book(ctx, res, nil, nil)
			if err != nil {
				t.Fatalf("Book(%s) = %v", key, err)
			}
			r.res[key] = got
		}
		book("zhangsan", "duowei", "张三的周会", "zhangsan", cst(t, 12, 10, 0), models.StatusConfirmed)
		book("lisi", "duowei", "李四的评审", "lisi", cst(t, 12, 14, 0), models.StatusConfirmed, "zhangsan")
		book("wangwu", "sk-tianyuan", "王五的机密会", "wangwu", cst(t, 13, 9, 0), models.StatusConfirmed)
		book("shanghai", "sh-waitan", "上海站会", "lisi", cst(t, 13, 10, 0), models.StatusConfirmed)
		book("refused", "duowei", "被拒绝", "zhangsan", cst(t, 14, 10, 0), models.StatusRejected)
		clock.Set(feedNow())
		fn(t, r)
	})
}

func (r *feedRig) token(t *testing.T, user string) (string, models.FeedToken) {
	t.Helper()
	tok, row, err := r.f.CreateToken(context.Background(), user, "测试")
	if err != nil {
		t.Fatalf("CreateToken(%s) = %v", user, err)
	}
	return tok, row
}

func (r *feedRig) render(t *testing.T, token string, scope models.FeedScope, id string) models.Feed {
	t.Helper()
	got, err := r.f.Render(context.Background(), token, scope, id)
	if err != nil {
		t.Fatalf("Render(%s, %s) = %v", scope, id, err)
	}
	return got
}

// shown maps each event's title in a rendered feed to its SUMMARY ("" when absent).
func (r *feedRig) shown(t *testing.T, body []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	byUID := map[string]string{}
	for k, res := range r.res {
		byUID[res.UID] = k
	}
	for _, e := range parseFeed(t, body) {
		out[byUID[e.UID]] = e.Summary
	}
	return out
}

func TestFeedTokenStoredAsHashOnly(t *testing.T) {
	newFeedRig(t, func(t *testing.T, r *feedRig) {
		token, row := r.token(t, "zhangsan")
		other, _ := r.token(t, "zhangsan")
		if !regexp.MustCompile(`^[a-z2-7]{32}$`).MatchString(token) || token == other {
			t.Errorf("CreateToken() = %q and %q, want two different 32-character base32 tokens (160 bits)", token, other)
		}
		if row.TokenHash != models.FeedTokenHash(token) || row.UserID != "zhangsan" || row.Label != "测试" {
			t.Errorf("CreateToken() row = %+v, want zhangsan's with the token's SHA-256", row)
		}
		sawHash := false
		for _, cell := range dumpDatabase(t, r.s) {
			if strings.Contains(cell, token) || strings.Contains(cell, other) {
				t.Fatalf("the plain token is stored: %q", cell)
			}
			sawHash = sawHash || cell == row.TokenHash
		}
		if !sawHash {
			t.Fatal("the database dump does not even hold the token's hash; the check above proves nothing")
		}
		if _, err := r.f.Render(context.Background(), token, models.FeedAll, ""); err != nil {
			t.Errorf("Render(new token) = %v", err)
		}
	})
}

// dumpDatabase returns every cell of every table as text.
func dumpDatabase(t *testing.T, s *models.Store) []string {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type = 'table'"
	if s.Dialect() == models.DialectMySQL {
		q = "SHOW TABLES"
	}
	db := s.SQL()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	var cells []string
	for _, table := range tables {
		rows, err := db.Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.RawBytes, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				cells = append(cells, string(v))
			}
		}
		rows.Close()
	}
	if len(cells) == 0 {
		t.Fatal("dumpDatabase() found nothing")
	}
	return cells
}

func TestFeedTokenLifecycle(t *testing.T) {
	newFeedRig(t, func(t *testing.T, r *feedRig) {
		ctx := context.Background()
		token, row := r.token(t, "zhangsan")
		r.render(t, token, models.FeedMe, "")

		// Render touched the token.
		list, err := r.f.Tokens(ctx, "zhangsan")
		if err != nil || len(list) != 1 || list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(feedNow()) {
			t.Fatalf("Tokens(zhangsan) = %+v, %v; want the token, last used %v", list, err, feedNow())
		}

		// Someone else can neither revoke nor rotate it.
		if err := r.f.Revoke(ctx, "lisi", row.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("Revoke(lisi, zhangsan's token) = %v, want ErrNotFound", err)
		}
		if _, _, err := r.f.Rotate(ctx, "lisi", row.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("Rotate(lisi, zhangsan's token) = %v, want ErrNotFound", err)
		}
		r.render(t, token, models.FeedMe, "")

		// Rotation kills the old token and keeps the label.
		fresh, freshRow, err := r.f.Rotate(ctx, "zhangsan", row.ID)
		if err != nil {
			t.Fatalf("Rotate() = %v", err)
		}
		if fresh == token || freshRow.ID == row.ID || freshRow.Label != row.Label {
			t.Errorf("Rotate() = %q %+v, want a new token and id with label %q", fresh, freshRow, row.Label)
		}
		if _, err := r.f.Render(ctx, token, models.FeedMe, ""); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("Render(rotated-away token) = %v, want ErrNotFound", err)
		}
		r.render(t, fresh, models.FeedMe, "")

		// Revocation.
		if err := r.f.Revoke(ctx, "zhangsan", freshRow.ID); err != nil {
			t.Fatalf("Revoke() = %v", err)
		}
		_, err = r.f.Render(ctx, fresh, models.FeedMe, "")
		if !errors.Is(err, models.ErrNotFound) {
			t.Errorf("Render(revoked token) = %v, want ErrNotFound", err)
		}
		if err != nil && strings.Contains(err.Error(), fresh) {
			t.Errorf("Render(revoked token) error %q contains the token", err)
		}
		if list, _ := r.f.Tokens(ctx, "zhangsan"); len(list) != 0 {
			t.Errorf("Tokens(zhangsan) after revoking all = %+v, want none", list)
		}

		for _, bad := range []string{"", "short", strings.ToUpper(fresh), fresh + "a", strings.Repeat("a", 32), "../../../../../etc/passwd000000"} {
			if _, err := r.f.Render(ctx, bad, models.FeedAll, ""); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("Render(token %q) = %v, want ErrNotFound", bad, err)
			}
		}
		if _, _, err := r.f.CreateToken(ctx, "", "x"); !errors.Is(err, models.ErrInvalid) {
			t.Errorf("CreateToken(no user) = %v, want ErrInvalid", err)
		}
		if _, _, err := r.f.CreateToken(ctx, "zhangsan", "两行\n标签"); !errors.Is(err, models.ErrInvalid) {
			t.Errorf("CreateToken(multi-line label) = %v, want ErrInvalid", err)
		}
		if _, _, err := r.f.CreateToken(ctx, "zhangsan", "标\x00签"); models.UserError(err) == nil || models.UserError(err).Code != "control_characters" {
			t.Errorf("CreateToken(label with NUL) = %v, want control_characters", err)
		}
	})
}

func TestFeedScopes(t *testing.T) {
	newFeedRig(t, func(t *testing.T, r *feedRig) {
		token, _ := r.token(t, "zhangsan")
		busy := map[string]string{"zhangsan": bridge.BusyTitle("多维缩放会议室"), "lisi": bridge.BusyTitle("多维缩放会议室"),
			"wangwu": bridge.BusyTitle("天元会议室"), "shanghai": bridge.BusyTitle("外滩会议室")}
		tests := []struct {
			scope          models.FeedScope
			id, name, file string
			want           map[string]string
		}{
			{models.FeedAll, "", "roombridge · 全部会议室", "all.ics",
				map[string]string{"zhangsan": "张三的周会", "lisi": "李四的评审", "wangwu": busy["wangwu"], "shanghai": busy["shanghai"]}},
			{models.FeedMe, "", "roombridge · 我的预订", "me.ics",
				map[string]string{"zhangsan": "张三的周会", "lisi": "李四的评审"}},
			{models.FeedRooms, "duowei", "roombridge · 北京首开 多维缩放会议室", "room-duowei.ics",
				map[string]string{"zhangsan": "张三的周会", "lisi": "李四的评审"}},
			{models.FeedOffices, "bj-shoukai", "roombridge · 北京首开", "office-bj-shoukai.ics",
				map[string]string{"zhangsan": "张三的周会", "lisi": "李四的评审", "wangwu": busy["wangwu"]}},
			{models.FeedOffices, "shanghai", "roombridge · 上海", "office-shanghai.ics", map[string]string{"shanghai": busy["shanghai"]}},
			{models.FeedOffices, "empty", "roombridge · 空职场", "office-empty.ics", map[string]string{}},
			{models.FeedRooms, "sz-lianhuashan", "roombridge · 深圳 莲花山会议室", "room-sz-lianhuashan.ics", map[string]string{}},
		}
		for _, tt := range tests {
			t.Run(string(tt.scope)+"/"+tt.id, func(t *testing.T) {
				got := r.render(t, token, tt.scope, tt.id)
				if diff := cmp.Diff(tt.want, r.shown(t, got.Body)); diff != "" {
					t.Errorf("Render(%s, %s) events (-want +got):\n%s", tt.scope, tt.id, diff)
				}
				if !bytes.Contains(got.Body, []byte("\r\nX-WR-CALNAME:"+tt.name+"\r\n")) || got.Filename != tt.file {
					t.Errorf("Render(%s, %s) = calendar %q, want X-WR-CALNAME:%s and filename %s", tt.scope, tt.id, got.Filename, tt.name, tt.file)
				}
				if got.ETag != bridge.FeedETag(got.Body) {
					t.Errorf("Render().ETag = %s, want FeedETag(body) %s", got.ETag, bridge.FeedETag(got.Body))
				}
				if len(tt.want) > 0 && !got.LastModified.Equal(feedNow().Add(-24*time.Hour)) {
					t.Errorf("Render().LastModified = %v, want the bookings' time %v", got.LastModified, feedNow().Add(-24*time.Hour))
				}
			})
		}
		for _, bad := range [][2]string{{"rooms", "nope"}, {"offices", "nope"}, {"rooms", ""},
			{"calendars", ""}, {"all", "duowei"}, {"me", "lisi"}} {
			if _, err := r.f.Render(context.Background(), token, models.FeedScope(bad[0]), bad[1]); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("Render(%s, %q) = %v, want ErrNotFound", bad[0], bad[1], err)
			}
		}
	})
}

func TestFeedVisibility(t *testing.T) {
	newFeedRig(t, func(t *testing.T, r *feedRig) {
		busy := map[string]string{"zhangsan": bridge.BusyTitle("多维缩放会议室"), "lisi": bridge.BusyTitle("多维缩放会议室"),
			"wangwu": bridge.BusyTitle("天元会议室"), "shanghai": bridge.BusyTitle("外滩会议室")}
		tests := []struct {
			user       string
			showTitles bool
			want       map[string]string
		}{
			{"zhangsan", false, map[string]string{"zhangsan": "张三的周会", "lisi": "李四的评审", "wangwu": busy["wangwu"]}},
			{"lisi", false, map[string]string{"zhangsan": busy["zhangsan"], "lisi": "李四的评审", "wangwu": busy["wangwu"]}},
			{"wangwu", false, map[string]string{"zhangsan": busy["zhangsan"], "lisi": busy["lisi"], "wangwu": "王五的机密会"}},
			{"zhaoliu", false, map[string]string{"zhangsan": busy["zhangsan"], "lisi": busy["lisi"], "wangwu": busy["wangwu"]}},
			{"admin", false, map[string]string{"zhangsan": "张三的周会", "lisi": "李四的评审", "wangwu": "王五的机密会"}},
			{"zhaoliu", true, map[string]string{"zhangsan": "张三的周会", "lisi": "李四的评审", "wangwu": "王五的机密会"}},
		}
		for _, tt := range tests {
			r.f.ShowTitles = tt.showTitles
			token, _ := r.token(t, tt.user)
			got := r.render(t, token, models.FeedOffices, "bj-shoukai")
			if diff := cmp.Diff(tt.want, r.shown(t, got.Body)); diff != "" {
				t.Errorf("Render(office) for %s, ShowTitles %v (-want +got):\n%s", tt.user, tt.showTitles, diff)
			}
			text := unfold(got.Body)
			for key, summary := range tt.want {
				if strings.HasPrefix(summary, bridge.BusySummary) && (strings.Contains(text, r.res[key].Title) || strings.Contains(text, r.res[key].Description)) {
					t.Errorf("%s sees %s as busy, but its title or description leaks into the feed", tt.user, key)
				}
			}
		}
	})
}

func TestFeedRenderStableAndChanges(t *testing.T) {
	newFeedRig(t, func(t *testing.T, r *feedRig) {
		ctx := context.Background()
		token, _ := r.token(t, "zhangsan")
		first := r.render(t, token, models.FeedRooms, "duowei")
		r.clock.Add(5 * time.Minute)
		second := r.render(t, token, models.FeedRooms, "duowei")
		if !bytes.Equal(first.Body, second.Body) || first.ETag != second.ETag || !first.LastModified.Equal(second.LastModified) {
			t.Fatalf("two renders of unchanged data differ: ETag %s vs %s, Last-Modified %v vs %v", first.ETag, second.ETag, first.LastModified, second.LastModified)
		}

		// Cancel lisi's meeting the way the booking service does: status and SEQUENCE+1.
		r.clock.Add(time.Hour)
		cancelledAt := r.clock.Now()
		lisi := r.res["lisi"]
		if _, err := r.s.Update(ctx, lisi.ID, models.Change{Apply: func(x *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
			x.Status = models.StatusCancelled
			x.Sequence++
			return nil, nil, nil
		}}); err != nil {
			t.Fatal(err)
		}
		after := r.render(t, token, models.FeedRooms, "duowei")
		if after.ETag == second.ETag || !after.LastModified.Equal(cancelledAt) {
			t.Errorf("after a cancellation: ETag %s (was %s), Last-Modified %v; want a new ETag and %v", after.ETag, second.ETag, after.LastModified, cancelledAt)
		}
		ev := eventByUID(t, after.Body, lisi.UID)
		if ev.Status != "CANCELLED" || ev.Sequence != "1" || !ev.Stamp.Equal(cancelledAt) {
			t.Errorf("cancelled event = %+v, want STATUS CANCELLED, SEQUENCE 1 (stored 0 + 1), DTSTAMP %v", ev, cancelledAt)
		}

		// Leaving a meeting takes it out of the me feed and moves its Last-Modified.
		me := r.render(t, token, models.FeedMe, "")
		r.clock.Add(time.Hour)
		leftAt := r.clock.Now()
		if _, err := r.s.Update(ctx, r.res["zhangsan"].ID, models.Change{Apply: func(x *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
			x.OrganizerID = "zhaoliu"
			x.Sequence++
			return nil, nil, nil
		}}); err != nil {
			t.Fatal(err)
		}
		meAfter := r.render(t, token, models.FeedMe, "")
		if _, ok := r.shown(t, meAfter.Body)["zhangsan"]; ok || meAfter.ETag == me.ETag || !meAfter.LastModified.Equal(leftAt) {
			t.Errorf("me feed after handing the meeting over: still shown %v, ETag %s (was %s), Last-Modified %v; want gone, a new ETag, %v",
				ok, meAfter.ETag, me.ETag, meAfter.LastModified, leftAt)
		}

		// Seven days after the cancellation, it is gone and Last-Modified says when it left.
		r.clock.Add(7*24*time.Hour + time.Hour)
		later := r.render(t, token, models.FeedRooms, "duowei")
		if _, ok := r.shown(t, later.Body)["lisi"]; ok {
			t.Errorf("cancelled event still in the feed seven days after its cancellation")
		}
		if want := cancelledAt.Add(bridge.DefaultKeepCancelled); !later.LastModified.Equal(want) || !want.After(leftAt) {
			t.Errorf("Last-Modified once the cancellation dropped out = %v, want %v", later.LastModified, want)
		}
	})
}

func eventByUID(t *testing.T, body []byte, uid string) parsedEvent {
	t.Helper()
	for _, e := range parseFeed(t, body) {
		if e.UID == uid {
			return e
		}
	}
	t.Fatalf("no event %s in the feed", uid)
	return parsedEvent{}
}

// TestFeedMine: the subscriber's own meetings (organized or attended) are busy time in
// their calendar, with attendees and the booking link; everyone else's are free time.
func TestFeedMine(t *testing.T) {
	newFeedRig(t, func(t *testing.T, r *feedRig) {
		token, _ := r.token(t, "zhangsan")
		got := r.render(t, token, models.FeedAll, "")
		byUID := map[string]string{}
		for k, res := range r.res {
			byUID[res.UID] = k
		}
		transp := map[string]string{}
		attendees := map[string][]string{}
		for _, e := range parseFeed(t, got.Body) {
			transp[byUID[e.UID]] = e.Transp
			attendees[byUID[e.UID]] = e.Attendees
		}
		want := map[string]string{"zhangsan": "OPAQUE", "lisi": "OPAQUE", "wangwu": "TRANSPARENT", "shanghai": "TRANSPARENT"}
		if diff := cmp.Diff(want, transp); diff != "" {
			t.Errorf("TRANSP per booking for zhangsan (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"urn:x-roombridge:user:zhangsan 张三"}, attendees["lisi"]); diff != "" {
			t.Errorf("attendees of lisi's meeting that zhangsan attends (-want +got):\n%s", diff)
		}
		if len(attendees["wangwu"]) != 0 {
			t.Errorf("someone else's booking carries attendees: %v", attendees["wangwu"])
		}
	})
}

func TestFeedTokenOfRemovedUser(t *testing.T) {
	newFeedRig(t, func(t *testing.T, r *feedRig) {
		ctx := context.Background()
		token, _ := r.token(t, "lisi")
		r.render(t, token, models.FeedAll, "")
		cat := models.DemoCatalog()
		cat.Users = slices.DeleteFunc(cat.Users, func(u models.User) bool { return u.ID == "lisi" })
		if err := r.s.SyncCatalog(ctx, cat); err != nil {
			t.Fatal(err)
		}
		if _, err := r.f.Render(ctx, token, models.FeedAll, ""); !errors.Is(err, models.ErrForbidden) {
			t.Errorf("Render(token of a user removed from the catalog) = %v, want ErrForbidden", err)
		}
	})
}

func TestFeedTokenCap(t *testing.T) {
	newFeedRig(t, func(t *testing.T, r *feedRig) {
		ctx := context.Background()
		r.f.MaxTokens = 3
		var last models.FeedToken
		for i := 0; i < 3; i++ {
			_, last = r.token(t, "zhangsan")
		}
		_, _, err := r.f.CreateToken(ctx, "zhangsan", "")
		if ue := models.UserError(err); !errors.Is(err, models.ErrConflict) || ue == nil || ue.Code != "feed_token_limit" {
			t.Fatalf("CreateToken(4th of 3) = %v, want ErrConflict feed_token_limit", err)
		}
		if _, _, err := r.f.CreateToken(ctx, "lisi", ""); err != nil {
			t.Errorf("CreateToken(lisi) = %v; the cap is per user", err)
		}
		if _, _, err := r.f.Rotate(ctx, "zhangsan", last.ID); err != nil {
			t.Errorf("Rotate() at the cap = %v, want a replacement", err)
		}
		list, _ := r.f.Tokens(ctx, "zhangsan")
		if err := r.f.Revoke(ctx, "zhangsan", list[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.f.CreateToken(ctx, "zhangsan", ""); err != nil {
			t.Errorf("CreateToken() after a revocation = %v, want a token", err)
		}
	})
}
