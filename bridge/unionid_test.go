package bridge

import (
	"context"
	"testing"

	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/models"
	"roombridge/models/modelstest"
)

// A unionId another process stored (sharing the database) is used by this process's
// DingTalk writes without asking the directory again, though the organizer comes from a
// catalog view read before it was stored (as a booking handed straight to the
// dispatcher has it); the view is read again with it.
func TestUnionIDStoredElsewhereIsUsed(t *testing.T) {
	c := modelstest.NewClock(at(10, 10))
	modelstest.EachShared(t, c.Now, func(t *testing.T, s, other *models.Store) {
		c.Set(at(10, 10))
		r := newLiveRig(t, s, c)
		ctx := context.Background()
		old, err := s.CatalogView(ctx)
		if err != nil {
			t.Fatal(err)
		}
		org, _ := old.User("zhangsan")
		room, _ := old.Room("duowei")
		if err := other.SetUnionID(ctx, "zhangsan", "union-zhangsan"); err != nil {
			t.Fatal(err)
		}
		before := r.dtFake.Calls(dingtalkfake.APIGetUser)
		res := models.Reservation{ID: models.NewID(), RoomID: "duowei", Title: "项目周会", Start: at(20, 14), End: at(20, 15), OrganizerID: "zhangsan"}
		if _, err := r.dt.Create(ctx, Write{Key: "k1", Reservation: res, Room: room, Organizer: org, FirstAttempt: true}); err != nil {
			t.Fatalf("Create() = %v", err)
		}
		if n := r.dtFake.Calls(dingtalkfake.APIGetUser) - before; n != 0 {
			t.Errorf("directory reads for a unionId stored elsewhere = %d, want none", n)
		}
		if ev := r.dtFake.Events(); len(ev) != 1 || ev[0].OrganizerUnionID != "union-zhangsan" {
			t.Errorf("events = %+v, want one organised by union-zhangsan", ev)
		}
		cur, err := s.CatalogView(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u, _ := cur.User("zhangsan"); u.DingTalkUnionID != "union-zhangsan" || cur.Version != old.Version {
			t.Errorf("catalog view after the write: version %d (was %d), unionId %q; want the same version with union-zhangsan", cur.Version, old.Version, u.DingTalkUnionID)
		}
	})
}
