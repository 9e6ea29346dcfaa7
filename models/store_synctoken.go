package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// SyncTokens returns the stored cursors of backend b by calendar owner (empty when none).
func (s *Store) SyncTokens(ctx context.Context, b Backend) (map[string]string, error) {
	var rows []SyncToken
	if err := s.rdb.WithContext(ctx).Where("backend = ?", b).Find(&rows).Error; err != nil {
		return nil, storeErr("list sync tokens", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.Calendar] = r.Token
	}
	return out, nil
}

// SetSyncTokens stores the cursors of backend b by calendar owner; an empty token deletes
// the calendar's cursor (its next read is a full one).
func (s *Store) SetSyncTokens(ctx context.Context, b Backend, tokens map[string]string) error {
	if len(tokens) == 0 {
		return nil
	}
	now := s.stamp()
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		for cal, tok := range tokens {
			if tok == "" {
				if err := tx.Where("backend = ? AND calendar = ?", b, cal).Delete(&SyncToken{}).Error; err != nil {
					return err
				}
				continue
			}
			row := SyncToken{Backend: b, Calendar: cal, Token: tok, UpdatedAt: now}
			if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return storeErr("set sync tokens", err)
}

// applyChunk bounds the remote ids one lookup of ApplyChanges names.
const applyChunk = 500

// ChangeSet is what changed in a backend since its last read (see ApplyChangeSet).
type ChangeSet struct {
	// Remotes are the bookings created or changed; Gone the remote ids of those deleted
	// or no longer in a catalog room.
	Remotes []Remote
	Gone    []string
	// Again are listings that earlier passes left alone (ApplyResult.Held) and the
	// backend has not reported since, so they still stand as read then: each is applied
	// like a listing of Remotes, except that one whose release has run since is dropped
	// (gone from the backend; a listing of Remotes or Gone with its id wins).
	Again []Remote
	// ReadAt is when the backend was read and Before what was written in its second
	// before the read (see ApplyOptions.ReadAt and Before).
	ReadAt time.Time
	Before WriteMarks
}

// ApplyChanges applies what changed in backend b since its last read, in one
// transaction: remotes are imported or updated as by ApplySync, and the bookings with
// the remote ids in gone (deleted, or no longer in a catalog room) are cancelled as by
// CancelRemote. Nothing else is touched, so unlike ApplySync an incomplete answer cancels
// nothing. readAt is when the backend was read and before what was written in its
// second before the read (see ApplyOptions.ReadAt and Before).
func (s *Store) ApplyChanges(ctx context.Context, b Backend, remotes []Remote, gone []string, readAt time.Time, before WriteMarks) (ApplyResult, error) {
	return s.ApplyChangeSet(ctx, b, ChangeSet{Remotes: remotes, Gone: gone, ReadAt: readAt, Before: before})
}

// ApplyChangeSet is ApplyChanges, with the listings earlier passes left alone offered
// again (ChangeSet.Again).
func (s *Store) ApplyChangeSet(ctx context.Context, b Backend, cs ChangeSet) (ApplyResult, error) {
	reported := map[string]bool{}
	for _, rm := range cs.Remotes {
		reported[rm.RemoteID] = true
	}
	for _, id := range cs.Gone {
		reported[id] = true
	}
	remotes, again := cs.Remotes, map[string]bool{}
	for _, rm := range cs.Again {
		if rm.RemoteID != "" && !reported[rm.RemoteID] && !again[rm.RemoteID] {
			again[rm.RemoteID] = true
			remotes = append(remotes[:len(remotes):len(remotes)], rm)
		}
	}
	gone := cs.Gone
	if len(remotes) == 0 && len(gone) == 0 {
		return ApplyResult{}, nil
	}
	now := s.stamp()
	var res ApplyResult
	mark := readMark{at: cs.ReadAt, before: cs.Before}
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res = ApplyResult{Seen: len(cs.Remotes)}
		ids := make([]string, 0, len(remotes)+len(gone))
		for _, rm := range remotes {
			ids = append(ids, rm.RemoteID)
		}
		ids = append(ids, gone...)
		byRemote := make(map[string]*Reservation, len(ids))
		for start := 0; start < len(ids); start += applyChunk {
			var rows []Reservation
			chunk := ids[start:min(start+applyChunk, len(ids))]
			if err := s.forUpdate(tx).Where("backend = ? AND remote_id IN ?", b, chunk).Find(&rows).Error; err != nil {
				return err
			}
			for i := range rows {
				byRemote[rows[i].Remote()] = &rows[i]
			}
		}
		var unsent []Reservation
		if err := tx.Where("backend = ? AND remote_id IS NULL AND origin = ? AND status = ?", b, OriginBridge, StatusPending).Find(&unsent).Error; err != nil {
			return err
		}
		inFlight := map[string]bool{}
		for _, u := range unsent {
			inFlight[slotKey(u.RoomID, u.Start, u.End)] = true
		}
		touched := map[string]bool{}
		seen := map[string]bool{}
		var added []Reservation
		for _, rm := range remotes {
			if rm.RemoteID == "" || seen[rm.RemoteID] {
				continue
			}
			seen[rm.RemoteID] = true
			r := byRemote[rm.RemoteID]
			if r == nil {
				if inFlight[slotKey(rm.RoomID, rm.Start, rm.End)] {
					res.Deferred++
					res.Held = append(res.Held, rm.RemoteID)
					continue
				}
				added = append(added, newNative(b, rm, now))
				continue
			}
			if _, err := s.applyOne(tx, b, rm, r, inFlight, mark, now, touched, &res); err != nil {
				return err
			}
		}
		if err := s.importNative(tx, b, added, again, touched, &res); err != nil {
			return err
		}
		for _, id := range gone {
			r := byRemote[id]
			if r == nil || seen[id] || !r.Status.Holds() || mark.newer(r) {
				continue
			}
			seen[id] = true
			if err := cancelSynced(tx, r, now); err != nil {
				return err
			}
			touched[r.RoomID] = true
			res.Cancelled++
		}
		return s.touchRooms(tx, setKeys(touched)...)
	})
	return res, storeErr(fmt.Sprintf("apply %s changes", b), err)
}
