package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// changedCatalog is the demo catalog with duowei moved to another OA room and lisi gone.
func changedCatalog() models.Catalog {
	c := models.DemoCatalog()
	for i := range c.Offices {
		for j := range c.Offices[i].Rooms {
			if c.Offices[i].Rooms[j].ID == "duowei" {
				c.Offices[i].Rooms[j].OARoomID = "9000"
			}
		}
	}
	users := c.Users[:0]
	for _, u := range c.Users {
		if u.ID != "lisi" {
			users = append(users, u)
		}
	}
	c.Users = users
	return c
}

func TestCatalogViewOutdatedByAnotherProcess(t *testing.T) {
	c := newClock()
	modelstest.EachShared(t, c.Now, func(t *testing.T, s, other *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		old, err := s.CatalogView(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := old.Room("duowei"); err != nil || r.OARoomID != "-2295828016161864200" {
			t.Fatalf("CatalogView().Room(duowei) = %+v, %v; want the catalog's room", r, err)
		}
		if err := other.SyncCatalog(ctx, changedCatalog()); err != nil {
			t.Fatal(err)
		}
		// This process has not found out yet: it still answers from the view it has.
		if v, _ := s.CatalogView(ctx); v != old {
			t.Fatalf("CatalogView() read the catalog again before any booking found it outdated")
		}
		base := time.Date(2023, 4, 12, 2, 0, 0, 0, time.UTC)
		rooms := []string{"duowei", "sk-tianyuan", "sk-shiguang", "duowei"}
		for _, alone := range []bool{false, true} {
			var wg sync.WaitGroup
			errs := make([]error, len(rooms))
			ids := make([]string, len(rooms))
			for i, room := range rooms {
				r := res(room, base.Add(time.Duration(i)*time.Hour), time.Hour, models.BackendOA, models.OriginBridge)
				ids[i] = r.ID
				job := models.Job{ReservationID: r.ID, Kind: models.JobCreate, Backend: r.Backend}
				if alone {
					// A booking that queues a notification is written in a transaction of its own.
					job = models.NotifyJob(r.ID, models.NoticeConflict, "k")
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _, errs[i] = s.BookAt(ctx, old, r, []models.Job{job}, &models.AuditEntry{Actor: "zhangsan", Action: "book", ReservationID: r.ID})
				}()
			}
			wg.Wait()
			for i := range rooms {
				if !errors.Is(errs[i], models.ErrCatalogChanged) {
					t.Errorf("BookAt(outdated view, %s, alone %v) = %v, want ErrCatalogChanged", rooms[i], alone, errs[i])
				}
				if _, err := s.Reservation(ctx, ids[i]); !errors.Is(err, models.ErrNotFound) {
					t.Errorf("Reservation(%s) after a refused BookAt = %v, want ErrNotFound", rooms[i], err)
				}
			}
		}
		cur, err := s.CatalogView(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Version <= old.Version {
			t.Fatalf("CatalogView().Version = %d after the catalog changed, want more than %d", cur.Version, old.Version)
		}
		if r, _ := cur.Room("duowei"); r.OARoomID != "9000" {
			t.Errorf("CatalogView().Room(duowei).OARoomID = %q, want 9000", r.OARoomID)
		}
		if u, err := cur.User("lisi"); err != nil || !u.Removed {
			t.Errorf("CatalogView().User(lisi) = %+v, %v; want a removed user", u, err)
		}
		r := res("duowei", base, time.Hour, models.BackendOA, models.OriginBridge)
		if _, created, err := s.BookAt(ctx, cur, r, nil, nil); err != nil || !created {
			t.Errorf("BookAt(current view) = %v, created %v; want a booking", err, created)
		}
	})
}

func TestCatalogViewFollowsOwnSync(t *testing.T) {
	modelstest.Each(t, nil, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		old, err := s.CatalogView(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SyncCatalog(ctx, changedCatalog()); err != nil {
			t.Fatal(err)
		}
		cur, err := s.CatalogView(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Version <= old.Version {
			t.Errorf("CatalogView().Version = %d after SyncCatalog, want more than %d", cur.Version, old.Version)
		}
		if _, err := cur.Room("nope"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("CatalogView().Room(nope) = %v, want ErrNotFound", err)
		}
	})
}

// A unionId stored by another process does not make bookings checked against this
// process's view fail (it changes nothing they are checked against); this process
// learns it when it reads the user's unionId, and the view read then has it. A unionId
// stored by this process is in its next view at once. SetUnionIDs is all or nothing.
func TestCatalogViewFollowsUnionIDOfAnotherProcess(t *testing.T) {
	c := newClock()
	modelstest.EachShared(t, c.Now, func(t *testing.T, s, other *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		old, err := s.CatalogView(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u, _ := old.User("zhangsan"); u.DingTalkUnionID != "" {
			t.Fatalf("unionId before = %q, want none", u.DingTalkUnionID)
		}
		if err := other.SetUnionIDs(ctx, map[string]string{"zhangsan": "union-zs", "wangwu": "union-ww"}); err != nil {
			t.Fatal(err)
		}
		r := res("duowei", time.Date(2023, 4, 12, 2, 0, 0, 0, time.UTC), time.Hour, models.BackendOA, models.OriginBridge)
		if _, created, err := s.BookAt(ctx, old, r, nil, nil); err != nil || !created {
			t.Fatalf("BookAt(view from before SetUnionIDs elsewhere) = %v, created %v; want a booking", err, created)
		}
		if id, err := s.UnionID(ctx, "zhangsan"); err != nil || id != "union-zs" {
			t.Fatalf("UnionID(zhangsan) = %q, %v; want union-zs", id, err)
		}
		cur, err := s.CatalogView(ctx)
		if err != nil {
			t.Fatal(err)
		}
		zs, _ := cur.User("zhangsan")
		ww, _ := cur.User("wangwu")
		if zs.DingTalkUnionID != "union-zs" || ww.DingTalkUnionID != "union-ww" || cur.Version != old.Version {
			t.Fatalf("CatalogView() after UnionID found a new one: version %d (was %d), unionIds %q %q; want the same version with union-zs, union-ww",
				cur.Version, old.Version, zs.DingTalkUnionID, ww.DingTalkUnionID)
		}
		if _, created, err := s.BookAt(ctx, old, res("duowei", time.Date(2023, 4, 12, 4, 0, 0, 0, time.UTC), time.Hour, models.BackendOA, models.OriginBridge), nil, nil); err != nil || !created {
			t.Errorf("BookAt(the older view, still current) = %v, created %v; want a booking", err, created)
		}
		if err := s.SetUnionID(ctx, "lisi", "union-ls"); err != nil {
			t.Fatal(err)
		}
		mine, err := s.CatalogView(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u, _ := mine.User("lisi"); u.DingTalkUnionID != "union-ls" {
			t.Errorf("CatalogView() after this process's SetUnionID: unionId %q, want union-ls", u.DingTalkUnionID)
		}
		if err := s.SetUnionID(ctx, "nobody", "union-x"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("SetUnionID(unknown user) = %v, want ErrNotFound", err)
		}
		if err := s.SetUnionIDs(ctx, map[string]string{"admin": "union-ad", "nobody": "union-x"}); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("SetUnionIDs(with an unknown user) = %v, want ErrNotFound", err)
		}
		if id, _ := s.UnionID(ctx, "admin"); id != "" {
			t.Errorf("admin's unionId after a refused SetUnionIDs = %q, want none (all or nothing)", id)
		}
		if _, err := s.UnionID(ctx, "nobody"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("UnionID(unknown user) = %v, want ErrNotFound", err)
		}
	})
}
