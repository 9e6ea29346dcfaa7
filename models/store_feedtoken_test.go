package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/models"
	"roombridge/models/modelstest"
)

func TestStoreFeedTokens(t *testing.T) {
	t0 := time.Date(2023, 4, 10, 2, 0, 0, 0, time.UTC)
	var now time.Time
	modelstest.Each(t, func() time.Time { return now }, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		now = t0
		mk := func(user, token, label string) models.FeedToken {
			t.Helper()
			defer func() { now = now.Add(time.Minute) }()
			ft, err := s.CreateFeedToken(ctx, models.FeedToken{UserID: user, TokenHash: models.FeedTokenHash(token), Label: label})
			if err != nil {
				t.Fatalf("CreateFeedToken(%s, %q) = %v", user, label, err)
			}
			return ft
		}
		a := mk("zhangsan", "secret-a", "手机")
		b := mk("zhangsan", "secret-b", "Outlook, 办公室")
		mk("lisi", "secret-c", "")

		if a.ID == "" || !a.CreatedAt.Equal(t0) || a.LastUsedAt != nil || a.RevokedAt != nil {
			t.Errorf("CreateFeedToken() = %+v, want an id, created at %v, never used, active", a, t0)
		}
		got, err := s.FeedTokens(ctx, "zhangsan")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{a.ID, b.ID}, feedTokenIDs(got)); diff != "" {
			t.Errorf("FeedTokens(zhangsan) ids mismatch (-want +got):\n%s", diff)
		}

		found, err := s.FeedTokenByHash(ctx, models.FeedTokenHash("secret-a"))
		if err != nil || found.ID != a.ID || found.UserID != "zhangsan" || found.Label != "手机" {
			t.Errorf("FeedTokenByHash(secret-a) = %+v, %v; want token %s of zhangsan", found, err, a.ID)
		}
		if _, err := s.FeedTokenByHash(ctx, models.FeedTokenHash("nope")); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("FeedTokenByHash(unknown) = %v, want ErrNotFound", err)
		}

		// Duplicate hashes and malformed rows are refused.
		if _, err := s.CreateFeedToken(ctx, models.FeedToken{UserID: "wangwu", TokenHash: models.FeedTokenHash("secret-a")}); !errors.Is(err, models.ErrConflict) {
			t.Errorf("CreateFeedToken(duplicate hash) = %v, want ErrConflict", err)
		}
		for name, bad := range map[string]models.FeedToken{
			"plain token":    {UserID: "wangwu", TokenHash: "secret-plain"},
			"no user":        {TokenHash: models.FeedTokenHash("x")},
			"label too long": {UserID: "wangwu", TokenHash: models.FeedTokenHash("y"), Label: strings.Repeat("长", models.MaxFeedTokenLabelRunes+1)},
		} {
			if _, err := s.CreateFeedToken(ctx, bad); !errors.Is(err, models.ErrInvalid) {
				t.Errorf("CreateFeedToken(%s) = %v, want ErrInvalid", name, err)
			}
		}

		// Touch moves last use forward only.
		later := t0.Add(time.Hour)
		now = later
		if err := s.TouchFeedToken(ctx, a.ID, later); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchFeedToken(ctx, a.ID, t0); err != nil {
			t.Fatal(err)
		}
		found, _ = s.FeedTokenByHash(ctx, models.FeedTokenHash("secret-a"))
		if found.LastUsedAt == nil || !found.LastUsedAt.Equal(later) {
			t.Errorf("after touches at %v and %v, LastUsedAt = %v, want %v", later, t0, found.LastUsedAt, later)
		}
		if err := s.TouchFeedToken(ctx, "unknown", later); err != nil {
			t.Errorf("TouchFeedToken(unknown) = %v, want nil", err)
		}

		// Only the owner revokes, and only once.
		if err := s.RevokeFeedToken(ctx, "lisi", a.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("RevokeFeedToken(lisi, zhangsan's token) = %v, want ErrNotFound", err)
		}
		if _, err := s.FeedTokenByHash(ctx, models.FeedTokenHash("secret-a")); err != nil {
			t.Errorf("token revoked by someone else: FeedTokenByHash = %v", err)
		}
		if err := s.RevokeFeedToken(ctx, "zhangsan", a.ID); err != nil {
			t.Fatalf("RevokeFeedToken(zhangsan, own) = %v", err)
		}
		if err := s.RevokeFeedToken(ctx, "zhangsan", a.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("RevokeFeedToken(again) = %v, want ErrNotFound", err)
		}
		if _, err := s.FeedTokenByHash(ctx, models.FeedTokenHash("secret-a")); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("FeedTokenByHash(revoked) = %v, want ErrNotFound", err)
		}

		// Rotation: old one dead, new one live with the old label, atomically.
		next, err := s.RotateFeedToken(ctx, "zhangsan", b.ID, models.FeedToken{TokenHash: models.FeedTokenHash("secret-b2")})
		if err != nil {
			t.Fatalf("RotateFeedToken() = %v", err)
		}
		if next.ID == b.ID || next.UserID != "zhangsan" || next.Label != "Outlook, 办公室" {
			t.Errorf("RotateFeedToken() = %+v, want a new id for zhangsan labelled like the old one", next)
		}
		if _, err := s.FeedTokenByHash(ctx, models.FeedTokenHash("secret-b")); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("FeedTokenByHash(rotated away) = %v, want ErrNotFound", err)
		}
		if _, err := s.RotateFeedToken(ctx, "lisi", next.ID, models.FeedToken{TokenHash: models.FeedTokenHash("secret-b3")}); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("RotateFeedToken(lisi, zhangsan's token) = %v, want ErrNotFound", err)
		}
		if _, err := s.FeedTokenByHash(ctx, models.FeedTokenHash("secret-b3")); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("a refused rotation stored its new token: %v", err)
		}
		got, _ = s.FeedTokens(ctx, "zhangsan")
		if diff := cmp.Diff([]string{next.ID}, feedTokenIDs(got)); diff != "" {
			t.Errorf("FeedTokens(zhangsan) after revoke and rotate (-want +got):\n%s", diff)
		}
		if got, _ := s.FeedTokens(ctx, "nobody"); got == nil || len(got) != 0 {
			t.Errorf("FeedTokens(nobody) = %#v, want an empty list", got)
		}
	})
}

func feedTokenIDs(ts []models.FeedToken) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}
