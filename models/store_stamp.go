package models

import (
	"context"
	"sort"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ScopeCatalog is the change-stamp scope of the catalog (offices, rooms, users).
const ScopeCatalog = "catalog"

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
	for _, sc := range uniq {
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

// FeedStamps returns the change counters of scopes (every scope when scopes is nil); a
// scope never written is absent. Counters only rise, so the sum of a set of scopes
// changes whenever anything in them does. Errors: ErrUnavailable.
func (s *Store) FeedStamps(ctx context.Context, scopes []string) (map[string]int64, error) {
	var rows []feedStamp
	q := s.rdb.WithContext(ctx)
	if scopes != nil {
		if len(scopes) == 0 {
			return map[string]int64{}, nil
		}
		q = q.Where("scope IN ?", scopes)
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
