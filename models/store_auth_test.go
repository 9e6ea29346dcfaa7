package models_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"roombridge/models"
	"roombridge/models/modelstest"
)

func TestStoreRemovedUsers(t *testing.T) {
	modelstest.Each(t, nil, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		if _, err := s.ActiveUser(ctx, "lisi"); err != nil {
			t.Fatalf("ActiveUser(lisi) = %v, want the user", err)
		}
		cat := models.DemoCatalog()
		cat.Users = slices.DeleteFunc(cat.Users, func(u models.User) bool { return u.ID == "lisi" })
		if err := s.SyncCatalog(ctx, cat); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ActiveUser(ctx, "lisi"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("ActiveUser(lisi) after removal = %v, want ErrNotFound", err)
		}
		if u, err := s.User(ctx, "lisi"); err != nil || !u.Removed {
			t.Errorf("User(lisi) after removal = %+v, %v; want the row marked Removed", u, err)
		}
		users, err := s.Users(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			if u.ID == "lisi" {
				t.Errorf("Users() lists the removed user lisi")
			}
		}
		if _, err := s.ActiveUser(ctx, "zhangsan"); err != nil {
			t.Errorf("ActiveUser(zhangsan) = %v, want the user", err)
		}
		seeded(t, s) // back in the catalog
		if _, err := s.ActiveUser(ctx, "lisi"); err != nil {
			t.Errorf("ActiveUser(lisi) after re-adding = %v, want the user", err)
		}
	})
}

func TestStoreSecret(t *testing.T) {
	modelstest.Each(t, nil, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		var mu sync.Mutex
		n := 0
		gen := func() (string, error) {
			mu.Lock()
			defer mu.Unlock()
			n++
			return "value-" + string(rune('a'+n)), nil
		}
		var wg sync.WaitGroup
		got := make([]string, 4)
		errs := make([]error, 4)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = s.Secret(ctx, "session_key", gen)
			}()
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil || got[i] != got[0] || got[0] == "" {
				t.Fatalf("Secret(session_key) from 4 callers = %q, %v; want one value for all", got, errs)
			}
		}
		again, err := s.Secret(ctx, "session_key", func() (string, error) { return "other", nil })
		if err != nil || again != got[0] {
			t.Errorf("Secret(session_key) later = %q, %v; want the stored %q", again, err, got[0])
		}
		if _, err := s.Secret(ctx, "", gen); !errors.Is(err, models.ErrInvalid) {
			t.Errorf("Secret(\"\") = %v, want ErrInvalid", err)
		}
	})
}
