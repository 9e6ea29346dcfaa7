package models_test

import (
	"context"
	"testing"
	"time"

	"roombridge/models"
	"roombridge/models/modelstest"
)

func TestOrganizerRefRoundTrip(t *testing.T) {
	tests := []struct {
		ref  models.OrganizerRef
		want string
	}{
		{models.OrganizerRef{OAMemberID: "-5", OALogin: "zhangsan"}, "oa-member:-5"},
		{models.OrganizerRef{OALogin: "zhangsan"}, "oa-login:zhangsan"},
		{models.OrganizerRef{DingTalkUnionID: "u1", DingTalkUserID: "x"}, "dingtalk-union:u1"},
		{models.OrganizerRef{DingTalkUserID: "x"}, "dingtalk-user:x"},
		{models.OrganizerRef{}, ""},
	}
	for _, tt := range tests {
		if got := tt.ref.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.ref, got, tt.want)
		}
		if tt.want == "" {
			continue
		}
		back := models.ParseOrganizerRef(tt.want)
		if back.String() != tt.want {
			t.Errorf("ParseOrganizerRef(%q) = %+v, which prints %q", tt.want, back, back.String())
		}
	}
	for _, bad := range []string{"", "oa-member:", "unknown:1", "zhangsan"} {
		if got := models.ParseOrganizerRef(bad); got != (models.OrganizerRef{}) {
			t.Errorf("ParseOrganizerRef(%q) = %+v, want the zero ref", bad, got)
		}
	}
}

func TestDirectoryMap(t *testing.T) {
	users := []models.User{
		{ID: "zhangsan", Name: "张三", OALogin: "zs", DingTalkUserID: "zs-dt"},
		{ID: "lisi", Name: "李四", OALogin: "ls", DingTalkUnionID: "union-ls"},
	}
	d := models.NewDirectory(users)
	d.LearnOAMember("-5", "zs")
	d.LearnOAMember("-9", "nobody") // no catalog user with that login: ignored
	tests := []struct {
		name string
		ref  models.OrganizerRef
		want string // user id, "" = unmapped
	}{
		{"OA member learned", models.OrganizerRef{OAMemberID: "-5"}, "zhangsan"},
		{"OA member unknown", models.OrganizerRef{OAMemberID: "-9"}, ""},
		{"OA login", models.OrganizerRef{OALogin: "ls"}, "lisi"},
		{"member unknown, login known", models.OrganizerRef{OAMemberID: "-1", OALogin: "ls"}, "lisi"},
		{"DingTalk unionId", models.OrganizerRef{DingTalkUnionID: "union-ls"}, "lisi"},
		{"DingTalk userid", models.OrganizerRef{DingTalkUserID: "zs-dt"}, "zhangsan"},
		{"DingTalk stranger", models.OrganizerRef{DingTalkUnionID: "union-x"}, ""},
		{"nothing", models.OrganizerRef{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, ok := d.Map(tt.ref)
			if u.ID != tt.want || ok != (tt.want != "") {
				t.Errorf("Map(%+v) = %q, %v, want %q", tt.ref, u.ID, ok, tt.want)
			}
		})
	}
}

// A native booking's organizer is set once the catalog maps them, and the ones still
// unmapped are counted while they hold their room and are not over.
func TestStoreOrganizerMapping(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		day := time.Date(2023, 4, 12, 2, 0, 0, 0, time.UTC)
		opts := models.ApplyOptions{From: day.AddDate(0, 0, -5), To: day.AddDate(0, 0, 5), Rooms: []string{"duowei"}}
		stranger := models.Remote{RemoteID: "-1", RoomID: "duowei", Start: day, End: day.Add(time.Hour), Title: "外人",
			OrganizerName: "孙七", OrganizerRef: "oa-member:-7", Status: models.StatusConfirmed}
		later := models.Remote{RemoteID: "-2", RoomID: "duowei", Start: day.Add(2 * time.Hour), End: day.Add(3 * time.Hour), Title: "张三的",
			OrganizerName: "张三", OrganizerRef: "oa-member:-5", Status: models.StatusConfirmed}
		past := models.Remote{RemoteID: "-3", RoomID: "duowei", Start: day.AddDate(0, 0, -3), End: day.AddDate(0, 0, -3).Add(time.Hour), Title: "过去的",
			OrganizerName: "孙七", OrganizerRef: "oa-member:-7", Status: models.StatusConfirmed}
		if _, err := s.ApplySync(ctx, models.BackendOA, []models.Remote{stranger, later, past}, opts); err != nil {
			t.Fatal(err)
		}
		if n, err := s.UnmappedOrganizers(ctx, c.Now()); err != nil || n != 2 {
			t.Fatalf("UnmappedOrganizers() = %d, %v, want 2 (the past one not counted)", n, err)
		}
		// The catalog learns 张三: the next pass names him.
		later.OrganizerID = "zhangsan"
		c.Add(time.Minute)
		if _, err := s.ApplySync(ctx, models.BackendOA, []models.Remote{stranger, later, past}, opts); err != nil {
			t.Fatal(err)
		}
		got, err := s.ReservationByRemote(ctx, models.BackendOA, "-2")
		if err != nil || got.OrganizerID != "zhangsan" || got.OrganizerRef != "oa-member:-5" || got.Sequence != 1 {
			t.Errorf("after the catalog mapped him: %+v, %v; want organizer zhangsan, ref kept, sequence 1", got, err)
		}
		if mine, _ := s.Reservations(ctx, models.Filter{Participant: "zhangsan"}); len(mine) != 1 || mine[0].Remote() != "-2" {
			t.Errorf("zhangsan's reservations = %+v, want the mapped native one", mine)
		}
		if n, _ := s.UnmappedOrganizers(ctx, c.Now()); n != 1 {
			t.Errorf("UnmappedOrganizers() = %d, want 1", n)
		}
	})
}
