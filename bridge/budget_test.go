package bridge

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"roombridge/bridge/dingtalk"
	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/models"
	"roombridge/models/modelstest"
)

// With 50 rooms and the default settings (5-minute base interval, 30 days back and 180
// ahead, a budget of 3,000 metered calls a month), polling at the base interval would
// spend far more than the budget; the syncer stretches its interval so the projected
// month stays under it, and a real pass costs what the projection assumes.
func TestBudgetWith50Rooms(t *testing.T) {
	now := time.Date(2026, 11, 1, 8, 0, 0, 0, shanghai)
	clock := modelstest.NewClock(now)
	s := modelstest.New(t, models.DialectSQLite, clock.Now)
	ctx := context.Background()
	cat := models.Catalog{Users: []models.User{{ID: "admin", Name: "管理员", DingTalkUserID: "admin"}}}
	var fakeRooms []dingtalkfake.Room
	for o := 0; o < 5; o++ {
		office := models.Office{ID: fmt.Sprintf("office-%d", o), Name: fmt.Sprintf("职场%d", o)}
		for r := 0; r < 10; r++ {
			id := fmt.Sprintf("room-%d-%d", o, r)
			office.Rooms = append(office.Rooms, models.Room{ID: id, Name: id, DingTalkRoomID: "dt-" + id})
			fakeRooms = append(fakeRooms, dingtalkfake.Room{ID: "dt-" + id, Name: id})
		}
		cat.Offices = append(cat.Offices, office)
	}
	if err := s.SyncCatalog(ctx, cat); err != nil {
		t.Fatal(err)
	}
	fake, sy, _ := budgetSyncer(t, s, clock, fakeRooms, 3000, 0) // default settings

	st, ok := sy.UsageStatus(ctx)
	if !ok {
		t.Fatal("UsageStatus() not available for DingTalk")
	}
	if st.PerPass != 30 {
		t.Errorf("cost of one pass over 50 rooms and 210 days = %d, want 30 (10 groups of 5 rooms × 3 windows of ≤90 days)", st.PerPass)
	}
	month := time.Date(2026, 12, 1, 0, 0, 0, 0, shanghai).Sub(now)
	if atBase := st.PerPass * int(month/(5*time.Minute)); atBase <= 3000 {
		t.Fatalf("at the 5-minute base interval a month would cost %d; the case needs it over budget", atBase)
	}
	if st.Interval <= 5*time.Minute {
		t.Errorf("interval = %s, want it stretched beyond the 5-minute base", st.Interval)
	}
	if st.Projected > st.Budget*9/10 {
		t.Errorf("projected %d metered calls, want ≤ 90%% of the budget %d (a tenth is kept for bookings)", st.Projected, st.Budget)
	}
	// A real pass costs what the projection assumes.
	sum, err := sy.Pass(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.MeteredCalls != st.PerPass || fake.MeteredCalls() != st.PerPass {
		t.Errorf("one pass made %d metered calls (fake counted %d), projection assumed %d", sum.MeteredCalls, fake.MeteredCalls(), st.PerPass)
	}
	// Spending moves the interval further out; the projection still holds.
	after, _ := sy.UsageStatus(ctx)
	if after.Used != st.PerPass || after.Projected > after.Budget || after.Interval < st.Interval {
		t.Errorf("after one pass: used %d, projected %d, interval %s (was %s)", after.Used, after.Projected, after.Interval, st.Interval)
	}
}

// Bookings spend the same DingTalk budget as sync. Once they have used it up, sync
// still runs one pass a day within the overage, says it is paused and until when, and
// stops when the overage is spent too, until the month turns.
func TestBudgetSpentByBookingsKeepsDailyFloor(t *testing.T) {
	now := time.Date(2026, 11, 10, 8, 0, 0, 0, shanghai)
	clock := modelstest.NewClock(now)
	s := modelstest.New(t, models.DialectSQLite, clock.Now)
	ctx := context.Background()
	cat := models.Catalog{Users: []models.User{{ID: "admin", Name: "管理员", DingTalkUserID: "admin"}}}
	var fakeRooms []dingtalkfake.Room
	office := models.Office{ID: "office", Name: "职场"}
	for r := 0; r < 5; r++ {
		id := fmt.Sprintf("room-%d", r)
		office.Rooms = append(office.Rooms, models.Room{ID: id, Name: id, DingTalkRoomID: "dt-" + id})
		fakeRooms = append(fakeRooms, dingtalkfake.Room{ID: "dt-" + id, Name: id})
	}
	cat.Offices = append(cat.Offices, office)
	if err := s.SyncCatalog(ctx, cat); err != nil {
		t.Fatal(err)
	}
	_, sy, usage := budgetSyncer(t, s, clock, fakeRooms, 30, 10)
	st, _ := sy.UsageStatus(ctx)
	per := st.PerPass
	if per != 3 {
		t.Fatalf("cost of one pass over 5 rooms = %d, want 3", per)
	}
	for i := 0; i < 30; i++ { // bookings spend the whole budget
		usage.Record(clock.Now())
	}
	monthEnd := time.Date(2026, 12, 1, 0, 0, 0, 0, shanghai)

	steps := []struct {
		name      string
		advance   time.Duration
		wantRun   bool
		wantUsed  int
		wantUntil time.Time
	}{
		{"budget spent, no pass yet: the floor pass runs", 0, true, 33, now.Add(24 * time.Hour)},
		{"an hour later: paused until a day after the last pass", time.Hour, false, 33, now.Add(24 * time.Hour)},
		{"a day later: the next floor pass runs", 23 * time.Hour, true, 36, now.Add(48 * time.Hour)},
		{"another day: the last pass the overage allows", 24 * time.Hour, true, 39, monthEnd},
		{"another day: overage spent, paused until the month turns", 24 * time.Hour, false, 39, monthEnd},
	}
	for _, tt := range steps {
		clock.Add(tt.advance)
		sum, err := sy.Pass(ctx, false)
		if err != nil {
			t.Fatalf("%s: Pass() = %v", tt.name, err)
		}
		if ran := !sum.Skipped; ran != tt.wantRun {
			t.Errorf("%s: Pass() ran = %v (note %q), want %v", tt.name, ran, sum.Note, tt.wantRun)
		}
		st, _ := sy.UsageStatus(ctx)
		if st.Used != tt.wantUsed || st.State != models.SyncPaused || !st.Until.Equal(tt.wantUntil.UTC()) {
			t.Errorf("%s: UsageStatus() = used %d, %s until %v; want used %d, paused until %v", tt.name, st.Used, st.State, st.Until, tt.wantUsed, tt.wantUntil.UTC())
		}
		if wait := sy.NextInterval(ctx); !clock.Now().Add(wait).Equal(tt.wantUntil) && !(tt.wantUntil.Equal(monthEnd) && !clock.Now().Add(wait).Before(monthEnd)) {
			t.Errorf("%s: NextInterval() = %s (at %v), want the next pass at %v", tt.name, wait, clock.Now().Add(wait), tt.wantUntil)
		}
	}
}

// budgetSyncer serves fakeRooms from a DingTalk fake and returns it with a syncer whose
// metered calls count against a monthly budget (with overage) loaded at the clock's time.
func budgetSyncer(t *testing.T, s *models.Store, clock *modelstest.Clock, fakeRooms []dingtalkfake.Room, budget, overage int) (*dingtalkfake.Server, *Syncer, *Usage) {
	t.Helper()
	fake := dingtalkfake.New("key", "secret", fakeRooms, []dingtalkfake.User{{UserID: "admin", UnionID: "union-admin", Name: "管理员"}}, dingtalkfake.WithNow(clock.Now))
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	usage := NewUsage(s, models.BackendDingTalk, budget, shanghai, log)
	usage.Overage = overage
	if err := usage.Load(context.Background(), clock.Now()); err != nil {
		t.Fatal(err)
	}
	client, err := dingtalk.New(dingtalk.Config{BaseURL: srv.URL, OAPIURL: srv.URL, AppKey: "key", AppSecret: "secret", Now: clock.Now,
		OnCall: func(api string, metered bool, err error) {
			if metered {
				usage.Record(clock.Now())
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	src := &DingTalk{Client: client, Store: s, Zone: shanghai, Log: log, Operator: "admin"}
	routing := models.NewRouting(shanghai, time.Date(2023, 4, 17, 0, 0, 0, 0, shanghai), time.Date(2023, 4, 16, 23, 0, 0, 0, shanghai))
	return fake, NewSyncer(SyncerConfig{Store: s, Source: src, Routing: routing, Now: clock.Now, Logger: log, Usage: usage}), usage
}
