package models

import (
	"context"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// SeriesBooking is a series to store with BookSeries.
type SeriesBooking struct {
	Series Series
	// Rows are the occurrences, one reservation each (status pending), in order.
	Rows []Reservation
	// Skip leaves taken occurrences out (as ExDates) instead of refusing the series.
	Skip bool
	// Jobs returns the outbox jobs for the occurrences that are kept.
	Jobs  func(s Series, kept []Reservation) []Job
	Audit *AuditEntry
}

// BookSeries stores a series and its occurrences in one transaction that takes the
// room's booking lock and checks every occurrence against every reservation of the room
// from both systems. With Skip the taken occurrences are left out and returned; without
// it, any taken occurrence refuses the whole series with a *SeriesConflictError
// (ErrConflict) listing them all, as it does when every occurrence is taken. When the
// series' IdempotencyKey was used before by the same organizer, nothing is written and the
// earlier series comes back with created = false. Errors also: ErrNotFound for an
// unknown room.
func (s *Store) BookSeries(ctx context.Context, b SeriesBooking) (ser Series, kept []Reservation, taken []Taken, created bool, err error) {
	now := s.stamp()
	err = s.transaction(ctx, func(tx *gorm.DB) error {
		ser, kept, taken, created = Series{}, nil, nil, false
		if err := s.lockRooms(tx, b.Series.RoomID); err != nil {
			return err
		}
		if b.Series.IdempotencyKey != nil {
			var prev Series
			if err := tx.Where("organizer_id = ? AND idempotency_key = ?", b.Series.OrganizerID, *b.Series.IdempotencyKey).Limit(1).Find(&prev).Error; err != nil {
				return err
			}
			if prev.ID != "" {
				ser = prev
				return tx.Where("series_id = ?", prev.ID).Order("recurrence_id, starts_at").Find(&kept).Error
			}
		}
		ser = b.Series
		for _, r := range b.Rows {
			other, err := s.overlap(tx, ser.RoomID, r.Start, r.End, "")
			if err != nil {
				return err
			}
			if other != nil {
				taken = append(taken, Taken{Start: r.Start, End: r.End, With: *other})
				ser.Exclude(*r.RecurrenceID)
				continue
			}
			kept = append(kept, r)
		}
		if len(taken) > 0 && (!b.Skip || len(kept) == 0) {
			return &SeriesConflictError{Taken: taken}
		}
		ser.CreatedAt, ser.UpdatedAt = now, now
		ser.normalize()
		if err := tx.Create(&ser).Error; err != nil {
			return err
		}
		for i := range kept {
			kept[i].CreatedAt, kept[i].UpdatedAt = now, now
			kept[i].normalize()
			if err := tx.Create(&kept[i]).Error; err != nil {
				return err
			}
		}
		if b.Jobs != nil {
			if err := s.insertJobs(tx, b.Jobs(ser, kept), now); err != nil {
				return err
			}
		}
		if err := s.insertAudit(tx, b.Audit, now); err != nil {
			return err
		}
		created = true
		rooms := []string{ser.RoomID}
		for _, r := range kept {
			rooms = append(rooms, r.RoomID)
		}
		return s.touchRooms(tx, rooms...)
	})
	if err != nil {
		return Series{}, nil, taken, false, storeErr("book series in room "+b.Series.RoomID, err)
	}
	return ser, kept, taken, created, nil
}

// Series returns one series, or ErrNotFound.
func (s *Store) Series(ctx context.Context, id string) (Series, error) {
	var out Series
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&out).Error
	return out, storeErr("get series "+id, err)
}

// SeriesByIDs returns the series with the given ids, by id (unknown ids are left out).
func (s *Store) SeriesByIDs(ctx context.Context, ids []string) (map[string]Series, error) {
	out := map[string]Series{}
	if len(ids) == 0 {
		return out, nil
	}
	var list []Series
	if err := s.db.WithContext(ctx).Where("id IN ?", ids).Find(&list).Error; err != nil {
		return nil, storeErr("list series", err)
	}
	for _, x := range list {
		out[x.ID] = x
	}
	return out, nil
}

// SeriesAcross returns the series with live occurrences in the OA before at and live
// occurrences (in either system) from at on, ordered by start, with those occurrences
// counted. Errors: ErrUnavailable.
func (s *Store) SeriesAcross(ctx context.Context, at time.Time) ([]CutoverSeries, error) {
	at = at.UTC()
	var counts []struct {
		SeriesID       string
		Backend        Backend
		NBefore, NFrom int
	}
	later := s.rdb.Model(&Reservation{}).Select("series_id").Where("series_id IS NOT NULL AND starts_at >= ? AND status IN ?", at, HoldingStatuses)
	err := s.rdb.WithContext(ctx).Model(&Reservation{}).
		Select("series_id, backend, SUM(CASE WHEN starts_at < ? THEN 1 ELSE 0 END) AS n_before, SUM(CASE WHEN starts_at >= ? THEN 1 ELSE 0 END) AS n_from", at, at).
		Where("series_id IN (?) AND status IN ?", later, HoldingStatuses).Group("series_id, backend").Scan(&counts).Error
	if err != nil {
		return nil, storeErr("count series occurrences around "+at.Format(time.RFC3339), err)
	}
	by := map[string]*CutoverSeries{}
	var ids []string
	for _, c := range counts {
		x := by[c.SeriesID]
		if x == nil {
			x = &CutoverSeries{ID: c.SeriesID}
			by[c.SeriesID] = x
			ids = append(ids, c.SeriesID)
		}
		switch c.Backend {
		case BackendOA:
			x.OABefore, x.OAAfter = x.OABefore+c.NBefore, x.OAAfter+c.NFrom
		case BackendDingTalk:
			x.DingTalkAfter += c.NFrom
		}
	}
	series, err := s.SeriesByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []CutoverSeries
	for _, id := range ids {
		x, ser := by[id], series[id]
		if x.OABefore == 0 || x.OAAfter+x.DingTalkAfter == 0 || ser.ID == "" {
			continue
		}
		x.UID, x.RoomID, x.Title, x.Organizer, x.RRule, x.Start, x.DingTalkEventID = ser.UID, ser.RoomID, ser.Title, ser.OrganizerName, ser.RRule, ser.Start, ser.DingTalkEvent()
		out = append(out, *x)
	}
	slices.SortFunc(out, func(a, b CutoverSeries) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// SeriesOccurrences lists the reservations of a series by original start.
func (s *Store) SeriesOccurrences(ctx context.Context, id string) ([]Reservation, error) {
	var out []Reservation
	err := s.db.WithContext(ctx).Where("series_id = ?", id).Order("recurrence_id, starts_at, id").Find(&out).Error
	return out, storeErr("list occurrences of series "+id, err)
}

// SeriesChange is a modification of a series and its occurrences, applied by
// UpdateSeries inside its transaction. Apply mutates the series and returns the
// occurrences it changed, the jobs to enqueue and an audit entry; it may return a user
// error to abort. taken answers, under the room's booking lock, which reservation of
// another booking (from either system) holds part of start–end in the series' room, or
// nil when the slot is free.
type SeriesChange func(ser *Series, rows []Reservation, taken func(start, end time.Time) (*Reservation, error)) (changed []Reservation, jobs []Job, audit *AuditEntry, err error)

// UpdateSeries loads series id and its occurrences, applies the change and saves the
// series, the changed occurrences and the jobs in one transaction. Errors: ErrNotFound,
// or whatever the change returned.
func (s *Store) UpdateSeries(ctx context.Context, id string, change SeriesChange) (Series, error) {
	now := s.stamp()
	var out Series
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		// The room's booking lock comes first, as in every booking write.
		var room []string
		if err := tx.Model(&Series{}).Where("id = ?", id).Pluck("room_id", &room).Error; err != nil {
			return err
		}
		if len(room) == 0 {
			return gorm.ErrRecordNotFound
		}
		if err := s.lockRooms(tx, room[0]); err != nil {
			return err
		}
		var ser Series
		if err := s.forUpdate(tx).Where("id = ?", id).Take(&ser).Error; err != nil {
			return err
		}
		var rows []Reservation
		if err := s.forUpdate(tx).Where("series_id = ?", id).Order("recurrence_id, starts_at, id").Find(&rows).Error; err != nil {
			return err
		}
		oldRooms := map[string]string{} // occurrence id → room before the change
		for _, r := range rows {
			oldRooms[r.ID] = r.RoomID
		}
		touched := []string{ser.RoomID}
		taken := func(start, end time.Time) (*Reservation, error) {
			var r Reservation
			err := tx.Where("room_id = ? AND status IN ? AND starts_at < ? AND ends_at > ? AND (series_id IS NULL OR series_id <> ?)",
				ser.RoomID, HoldingStatuses, end.UTC(), start.UTC(), ser.ID).Order("starts_at").Limit(1).Find(&r).Error
			if err != nil || r.ID == "" {
				return nil, err
			}
			return &r, nil
		}
		changed, jobs, audit, err := change(&ser, rows, taken)
		if err != nil {
			return err
		}
		// The feed renders the series' RRULE and EXDATEs from its row: a change to the
		// series alone changes its room's feeds too.
		touched = append(touched, ser.RoomID)
		for _, r := range changed {
			touched = append(touched, oldRooms[r.ID], r.RoomID)
		}
		ser.UpdatedAt = now
		ser.normalize()
		if err := tx.Save(&ser).Error; err != nil {
			return err
		}
		for i := range changed {
			changed[i].UpdatedAt = now
			changed[i].normalize()
			if err := tx.Save(&changed[i]).Error; err != nil {
				return err
			}
		}
		if err := s.insertJobs(tx, jobs, now); err != nil {
			return err
		}
		if err := s.insertAudit(tx, audit, now); err != nil {
			return err
		}
		out = ser
		return s.touchRooms(tx, touched...)
	})
	return out, storeErr("update series "+id, err)
}

// ActiveSeries lists the series that are not cancelled, oldest first.
func (s *Store) ActiveSeries(ctx context.Context) ([]Series, error) {
	var out []Series
	err := s.db.WithContext(ctx).Where("status = ?", SeriesActive).Order("created_at, id").Find(&out).Error
	return out, storeErr("list active series", err)
}
