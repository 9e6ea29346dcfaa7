package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// CreateFeedToken stores a new feed token for t.UserID. t carries the token's hash, never
// the token; ID is issued when empty and CreatedAt is the store's clock. Errors:
// ErrInvalid for a malformed row, ErrConflict when the hash is already stored.
func (s *Store) CreateFeedToken(ctx context.Context, t FeedToken) (FeedToken, error) {
	var out FeedToken
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		var err error
		out, err = s.insertFeedToken(tx, t)
		return err
	})
	return out, storeErr("create feed token", err)
}

func (s *Store) insertFeedToken(tx *gorm.DB, t FeedToken) (FeedToken, error) {
	if err := t.Validate(); err != nil {
		return FeedToken{}, err
	}
	if t.ID == "" {
		t.ID = NewID()
	}
	t.CreatedAt = s.stamp()
	t.LastUsedAt, t.RevokedAt = nil, nil
	if err := tx.Create(&t).Error; err != nil {
		return FeedToken{}, err
	}
	return t, nil
}

// FeedTokens lists the active (not revoked) feed tokens of a user, oldest first.
// Errors: ErrUnavailable.
func (s *Store) FeedTokens(ctx context.Context, userID string) ([]FeedToken, error) {
	out := []FeedToken{}
	err := s.rdb.WithContext(ctx).Where("user_id = ? AND revoked_at IS NULL", userID).Order("created_at, id").Find(&out).Error
	return out, storeErr("list feed tokens", err)
}

// FeedTokenByHash returns the active token whose hash is hash. Errors: ErrNotFound for an
// unknown or revoked token.
func (s *Store) FeedTokenByHash(ctx context.Context, hash string) (FeedToken, error) {
	var t FeedToken
	err := s.rdb.WithContext(ctx).Where("token_hash = ? AND revoked_at IS NULL", hash).Take(&t).Error
	return t, storeErr("find feed token", err)
}

// RevokeFeedToken revokes token id of userID. Errors: ErrNotFound when the user has no
// such active token (someone else's token counts as unknown).
func (s *Store) RevokeFeedToken(ctx context.Context, userID, id string) error {
	return storeErr("revoke feed token "+id, s.revokeFeedToken(s.db.WithContext(ctx), userID, id, nil))
}

// revokeFeedToken revokes the token and, when old is not nil, loads it first.
func (s *Store) revokeFeedToken(tx *gorm.DB, userID, id string, old *FeedToken) error {
	if old != nil {
		if err := s.forUpdate(tx).Where("id = ? AND user_id = ? AND revoked_at IS NULL", id, userID).Take(old).Error; err != nil {
			return err
		}
	}
	res := tx.Model(&FeedToken{}).Where("id = ? AND user_id = ? AND revoked_at IS NULL", id, userID).Update("revoked_at", s.stamp())
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return gorm.ErrRecordNotFound
	}
	return nil
}

// RotateFeedToken revokes token id of userID and stores next in its place, in one
// transaction; next keeps the old label when its own is empty. Errors: ErrNotFound when
// the user has no such active token, ErrInvalid or ErrConflict as for CreateFeedToken.
func (s *Store) RotateFeedToken(ctx context.Context, userID, id string, next FeedToken) (FeedToken, error) {
	var out FeedToken
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		var old FeedToken
		if err := s.revokeFeedToken(tx, userID, id, &old); err != nil {
			return err
		}
		if next.Label == "" {
			next.Label = old.Label
		}
		next.UserID = userID
		var err error
		out, err = s.insertFeedToken(tx, next)
		return err
	})
	return out, storeErr("rotate feed token "+id, err)
}

// TouchFeedToken records that token id opened a feed at the given time. It never moves
// last use backwards, and touching an unknown token is not an error. Errors:
// ErrUnavailable.
func (s *Store) TouchFeedToken(ctx context.Context, id string, at time.Time) error {
	at = at.UTC().Truncate(time.Second)
	err := s.db.WithContext(ctx).Model(&FeedToken{}).
		Where("id = ? AND (last_used_at IS NULL OR last_used_at < ?)", id, at).
		Update("last_used_at", at).Error
	return storeErr("touch feed token "+id, err)
}
