package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ScopeCatalog is the change-stamp scope of the catalog (offices, rooms, users).
const ScopeCatalog = "catalog"

// ScopeConflicts is the change-stamp scope of the conflicts: raised by every write that
// may open or close one. No feed shows conflicts, so it is no feed's scope: FeedStamps
// and FeedLookup leave it out of "every scope".
const ScopeConflicts = "conflicts"

// RoomScope is the change-stamp scope of the reservations of one room.
func RoomScope(roomID string) string { return "room:" + roomID }

// feedStamp is one change counter (table feed_stamps).
type feedStamp struct {
	Scope   string `gorm:"primaryKey"`
	Version int64
}

func (feedStamp) TableName() string { return "feed_stamps" }

// touch raises the change counters of scopes inside tx. Every write that changes a
// reservation (its room: the old and the new one when it moves) or the catalog calls it
// before committing, so that a reader never sees new rows with an old stamp. The counters
// are taken in name order, after the transaction's other writes, so two transactions
// never wait on each other crosswise.
func (s *Store) touch(tx *gorm.DB, scopes ...string) error {
	uniq := make([]string, 0, len(scopes))
	seen := map[string]bool{}
	for _, sc := range scopes {
		if sc != "" && !seen[sc] {
			seen[sc] = true
			uniq = append(uniq, sc)
		}
	}
	sort.Strings(uniq)
	if len(uniq) == 0 {
		return nil
	}
	// The rows usually exist (SyncCatalog makes one per room): a plain update locks only
	// them, all in one statement (walking the key in name order). Upserting a missing key
	// takes gap locks on MySQL, which deadlock with concurrent upserts of neighbouring
	// keys, so that is left to rooms outside the catalog.
	res := tx.Exec("UPDATE feed_stamps"+s.byPrimaryKey()+" SET version = version + 1 WHERE scope IN ?", uniq)
	if res.Error != nil {
		return res.Error
	}
	if int(res.RowsAffected) == len(uniq) {
		return nil
	}
	var present []string
	if err := tx.Model(&feedStamp{}).Where("scope IN ?", uniq).Pluck("scope", &present).Error; err != nil {
		return err
	}
	have := map[string]bool{}
	for _, sc := range present {
		have[sc] = true
	}
	for _, sc := range uniq {
		if have[sc] {
			continue
		}
		err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "scope"}},
			DoUpdates: clause.Assignments(map[string]any{"version": gorm.Expr("feed_stamps.version + 1")}),
		}).Create(&feedStamp{Scope: sc, Version: 1}).Error
		if err != nil {
			return err
		}
	}
	return nil
}

// ensureStamps makes the counter rows of scopes that do not exist yet, at 0.
func (s *Store) ensureStamps(tx *gorm.DB, scopes ...string) error {
	for _, sc := range scopes {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&feedStamp{Scope: sc}).Error; err != nil {
			return err
		}
	}
	return nil
}

// touchRooms raises the counters of the rooms' scopes.
func (s *Store) touchRooms(tx *gorm.DB, rooms ...string) error {
	scopes := make([]string, 0, len(rooms))
	for _, r := range rooms {
		if r != "" {
			scopes = append(scopes, RoomScope(r))
		}
	}
	return s.touch(tx, scopes...)
}

// FeedStamps returns the change counters of scopes (every scope of feeds, the catalog's
// and the rooms', when scopes is nil); a scope never written is absent. Counters only rise, so the sum of a set of scopes
// changes whenever anything in them does. Errors: ErrUnavailable.
func (s *Store) FeedStamps(ctx context.Context, scopes []string) (map[string]int64, error) {
	var rows []feedStamp
	q := s.rdb.WithContext(ctx)
	if scopes != nil {
		if len(scopes) == 0 {
			return map[string]int64{}, nil
		}
		q = q.Where("scope IN ?", scopes)
	} else {
		q = q.Where("scope <> ?", ScopeConflicts)
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, storeErr("read feed stamps", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Scope] = r.Version
	}
	return out, nil
}

// FeedLookup is what serving a feed needs before anything else: the active token whose
// hash is hash, the sum of the change counters of scopes (of every feed scope when
// scopes is nil; see FeedStamps) and the catalog's counter, as committed when it is called by any
// process. On SQLite the answer is kept while the database shows no commit since it was
// read (see feedLookups); otherwise it is one statement. Errors: ErrNotFound for an
// unknown or revoked token, ErrUnavailable.
func (s *Store) FeedLookup(ctx context.Context, hash string, scopes []string) (t FeedToken, stamp, catalog int64, err error) {
	if s.lookups == nil {
		return s.feedLookup(ctx, hash, scopes)
	}
	gen, err := s.lookups.generation(ctx)
	if err != nil {
		// No proof that a kept answer is current: ask the database itself.
		return s.feedLookup(ctx, hash, scopes)
	}
	key := feedLookupKey(hash, scopes)
	if e, ok := s.lookups.get(gen, key); ok {
		return e.t, e.stamp, e.catalog, nil
	}
	if t, stamp, catalog, err = s.feedLookup(ctx, hash, scopes); err == nil {
		s.lookups.put(gen, key, feedLookupEntry{t: t, stamp: stamp, catalog: catalog})
	}
	return t, stamp, catalog, err
}

// feedLookup is FeedLookup's statement.
func (s *Store) feedLookup(ctx context.Context, hash string, scopes []string) (t FeedToken, stamp, catalog int64, err error) {
	sum := "SELECT COALESCE(SUM(version), 0) FROM feed_stamps"
	args := []any{}
	if scopes == nil {
		sum += " WHERE scope <> ?"
		args = append(args, ScopeConflicts)
	} else {
		if len(scopes) == 0 {
			sum = "SELECT 0"
		} else {
			sum += " WHERE scope IN (?" + strings.Repeat(", ?", len(scopes)-1) + ")"
			for _, sc := range scopes {
				args = append(args, sc)
			}
		}
	}
	q := "SELECT id, user_id, label, created_at, last_used_at, revoked_at, (" + sum + "), " +
		"(SELECT COALESCE(MAX(version), 0) FROM feed_stamps WHERE scope = ?) " +
		"FROM feed_tokens WHERE token_hash = ? AND revoked_at IS NULL"
	args = append(args, ScopeCatalog, hash)
	st, err := s.prepared(ctx, q)
	if err != nil {
		return FeedToken{}, 0, 0, storeErr("find feed token", err)
	}
	t = FeedToken{TokenHash: hash}
	var created, used, revoked sql.NullTime
	err = st.QueryRowContext(ctx, args...).Scan(&t.ID, &t.UserID, &t.Label, &created, &used, &revoked, &stamp, &catalog)
	if errors.Is(err, sql.ErrNoRows) {
		return FeedToken{}, 0, 0, fmt.Errorf("find feed token: %w", ErrNotFound)
	}
	if err != nil {
		return FeedToken{}, 0, 0, storeErr("find feed token", err)
	}
	t.CreatedAt = created.Time.UTC()
	if used.Valid {
		u := used.Time.UTC()
		t.LastUsedAt = &u
	}
	if revoked.Valid {
		r := revoked.Time.UTC()
		t.RevokedAt = &r
	}
	return t, stamp, catalog, nil
}
