package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Book inserts a new reservation (status pending) together with its outbox jobs and an
// audit entry, in one transaction that first takes the room's booking lock and checks
// every reservation of that room from both systems for an overlap.
//
// When r carries an IdempotencyKey already used by the same organizer, nothing is
// written and the earlier reservation comes back with created = false. Errors: a
// *ConflictError (ErrConflict) when the slot is taken, ErrNotFound for an unknown room.
//
// Concurrent bookings of different rooms share one transaction (see bookGrouped); each
// is still checked and answered on its own.
func (s *Store) Book(ctx context.Context, r Reservation, jobs []Job, audit *AuditEntry) (res Reservation, created bool, err error) {
	if groupable(jobs) {
		return s.bookGrouped(ctx, r, jobs, audit)
	}
	return s.bookAlone(ctx, r, jobs, audit)
}

// bookAlone is Book in a transaction of its own.
func (s *Store) bookAlone(ctx context.Context, r Reservation, jobs []Job, audit *AuditEntry) (res Reservation, created bool, err error) {
	now := s.stamp()
	in := r
	err = s.transaction(ctx, func(tx *gorm.DB) error {
		r, res, created = in, Reservation{}, false
		if err := s.lockRooms(tx, r.RoomID); err != nil {
			return err
		}
		if r.IdempotencyKey != nil {
			var prev Reservation
			if err := tx.Where("organizer_id = ? AND idempotency_key = ?", r.OrganizerID, *r.IdempotencyKey).Limit(1).Find(&prev).Error; err != nil {
				return err
			}
			if prev.ID != "" {
				res = prev
				return nil
			}
		}
		other, err := s.overlap(tx, r.RoomID, r.Start, r.End, "")
		if err != nil {
			return err
		}
		if other != nil {
			return &ConflictError{With: *other}
		}
		r.CreatedAt, r.UpdatedAt = now, now
		r.normalize()
		if err := tx.Create(&r).Error; err != nil {
			return err
		}
		// A new reservation has no jobs or audit entries yet: they start at 0.
		if err := s.insertJobsFrom(tx, jobs, now, 0); err != nil {
			return err
		}
		if err := s.insertAuditAt(tx, audit, now, 0); err != nil {
			return err
		}
		res, created = r, true
		return s.touchRooms(tx, r.RoomID)
	})
	if err != nil && isDuplicate(err) && r.IdempotencyKey != nil {
		// A concurrent request with the same key for another room won the race.
		prev, perr := s.ReservationByKey(ctx, r.OrganizerID, *r.IdempotencyKey)
		if perr == nil {
			return prev, false, nil
		}
	}
	return res, created, storeErr("book room "+r.RoomID, err)
}

// Change is a modification of one reservation, applied by Update inside its transaction.
// Apply mutates the reservation and returns the jobs to enqueue and an audit entry; it
// may return a user error to abort.
type Change struct {
	// CheckRoom makes Update lock the reservation's new room and refuse an overlap there.
	CheckRoom bool
	// Room is the room the change moves the reservation to ("" = it stays); with
	// CheckRoom it is locked before the reservation, like every other room lock.
	Room  string
	Apply func(r *Reservation) (jobs []Job, audit *AuditEntry, err error)
}

// Update loads reservation id, applies the change and saves it with its jobs, all in one
// transaction. Locks are taken in one order everywhere (rooms in id order, then
// reservation rows), the order Book uses, so a booking and a change in one room never
// deadlock each other; a deadlock the database reports anyway is retried once. Errors:
// ErrNotFound, a *ConflictError, or whatever Apply returned.
func (s *Store) Update(ctx context.Context, id string, c Change) (Reservation, error) {
	now := s.stamp()
	var out Reservation
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		var err error
		out, err = s.applyChange(tx, id, c, now)
		return err
	})
	if errors.Is(err, errMoved) {
		return s.Update(ctx, id, c)
	}
	return out, storeErr("update reservation "+id, err)
}

var errMoved = errors.New("reservation moved to another room meanwhile")

// applyChange is Update inside a caller's transaction.
func (s *Store) applyChange(tx *gorm.DB, id string, c Change, now time.Time) (out Reservation, err error) {
	err = func() error {
		var peek Reservation
		if err := tx.Select("id", "room_id").Where("id = ?", id).Take(&peek).Error; err != nil {
			return err
		}
		rooms := []string{peek.RoomID}
		if c.Room != "" {
			rooms = append(rooms, c.Room)
		}
		if err := s.lockRooms(tx, rooms...); err != nil {
			return err
		}
		var r Reservation
		if err := s.forUpdate(tx).Where("id = ?", id).Take(&r).Error; err != nil {
			return err
		}
		if r.RoomID != peek.RoomID {
			// Moved to another room between the peek and the lock: that room's lock is
			// not held, so start again (the move has committed by now).
			return errMoved
		}
		jobs, audit, err := c.Apply(&r)
		if err != nil {
			return err
		}
		if c.CheckRoom {
			if r.RoomID != peek.RoomID && r.RoomID != c.Room {
				return fmt.Errorf("%w: change moved reservation %s to room %s without naming it in Change.Room", ErrInvalid, id, r.RoomID)
			}
			if r.Status.Holds() {
				other, err := s.overlap(tx, r.RoomID, r.Start, r.End, r.ID)
				if err != nil {
					return err
				}
				if other != nil {
					return &ConflictError{With: *other}
				}
			}
		}
		r.UpdatedAt = now
		r.normalize()
		if err := tx.Save(&r).Error; err != nil {
			return err
		}
		if err := s.insertJobs(tx, jobs, now); err != nil {
			return err
		}
		if err := s.insertAudit(tx, audit, now); err != nil {
			return err
		}
		out = r
		return s.touchRooms(tx, peek.RoomID, r.RoomID)
	}()
	return out, err
}

func (s *Store) insertJobs(tx *gorm.DB, jobs []Job, now time.Time) error {
	var next int64
	for _, j := range jobs {
		if j.Kind == JobNotify {
			continue
		}
		// After the highest number in use: one batch numbers the jobs of several
		// reservations in a row, so a reservation's count may be below its numbers.
		if err := tx.Model(&Job{}).Where("reservation_id = ?", j.ReservationID).Select("COALESCE(MAX(seq) + 1, 0)").Scan(&next).Error; err != nil {
			return err
		}
		break
	}
	return s.insertJobsFrom(tx, jobs, now, next)
}

// insertJobsFrom inserts jobs numbered from next on.
func (s *Store) insertJobsFrom(tx *gorm.DB, jobs []Job, now time.Time, next int64) error {
	for _, j := range numberJobs(jobs, now, next) {
		if j.Kind == JobNotify {
			if err := insertNotify(tx, j, now); err != nil {
				return err
			}
			continue
		}
		if err := tx.Create(&j).Error; err != nil {
			return err
		}
	}
	return nil
}

// numberJobs returns jobs ready to insert: numbered from next on (JobNotify jobs keep
// theirs; see insertNotify), with an id, their state, due time and timestamps.
func numberJobs(jobs []Job, now time.Time, next int64) []Job {
	out := make([]Job, len(jobs))
	for i, j := range jobs {
		if j.Kind != JobNotify {
			j.Seq = int(next) + i
			if j.ID == "" {
				j.ID = NewID()
			}
			if j.State == "" {
				j.State = JobPending
			}
			if j.NextAttemptAt.IsZero() {
				j.NextAttemptAt = now
			}
			j.CreatedAt, j.UpdatedAt = now, now
			if j.Payload == "" {
				j.Payload = "{}"
			}
		}
		out[i] = j
	}
	return out
}

func (s *Store) insertAudit(tx *gorm.DB, a *AuditEntry, now time.Time) error {
	return s.insertAuditAt(tx, a, now, -1)
}

// insertAuditAt inserts a with sequence number seq (-1: after the reservation's last).
func (s *Store) insertAuditAt(tx *gorm.DB, a *AuditEntry, now time.Time, seq int) error {
	if a == nil {
		return nil
	}
	if seq < 0 {
		var n int64
		if err := tx.Model(&AuditEntry{}).Where("reservation_id = ?", a.ReservationID).Count(&n).Error; err != nil {
			return err
		}
		seq = int(n)
	}
	e := auditAt(*a, now, seq)
	return tx.Create(&e).Error
}

// auditAt returns e ready to insert with sequence number seq, an id and its time.
func auditAt(e AuditEntry, now time.Time, seq int) AuditEntry {
	if e.ID == "" {
		e.ID = NewID()
	}
	if e.At.IsZero() {
		e.At = now
	}
	e.Seq = seq
	return e
}

// Reservation returns one reservation, or ErrNotFound.
func (s *Store) Reservation(ctx context.Context, id string) (Reservation, error) {
	var r Reservation
	err := s.rdb.WithContext(ctx).Where("id = ?", id).Take(&r).Error
	return r, storeErr("get reservation "+id, err)
}

// ReservationByKey returns the reservation an organizer made with an idempotency key, or
// ErrNotFound.
func (s *Store) ReservationByKey(ctx context.Context, organizer, key string) (Reservation, error) {
	var r Reservation
	err := s.rdb.WithContext(ctx).Where("organizer_id = ? AND idempotency_key = ?", organizer, key).Take(&r).Error
	return r, storeErr("get reservation by idempotency key", err)
}

// ReservationByRemote returns the reservation known to backend b as remoteID, or
// ErrNotFound.
func (s *Store) ReservationByRemote(ctx context.Context, b Backend, remoteID string) (Reservation, error) {
	var r Reservation
	err := s.rdb.WithContext(ctx).Where("backend = ? AND remote_id = ?", b, remoteID).Take(&r).Error
	return r, storeErr("get reservation by remote id", err)
}

// Filter selects reservations. Zero fields do not filter.
type Filter struct {
	RoomIDs     []string
	OrganizerID string
	// Participant selects reservations the user organises or attends.
	Participant string
	Backend     Backend
	Origin      Origin
	Statuses    []Status
	// From and To select reservations overlapping [From, To).
	From, To time.Time
	// UpdatedSince selects reservations changed at or after it.
	UpdatedSince time.Time
	Limit        int
}

// Reservations lists reservations matching f, ordered by start time then id.
func (s *Store) Reservations(ctx context.Context, f Filter) ([]Reservation, error) {
	q := s.rdb.WithContext(ctx).Model(&Reservation{})
	if len(f.RoomIDs) > 0 {
		q = q.Where("room_id IN ?", f.RoomIDs)
	}
	if f.OrganizerID != "" {
		q = q.Where("organizer_id = ?", f.OrganizerID)
	}
	if f.Participant != "" {
		// attendees is a JSON array of ids: match the quoted id, with LIKE's wildcards
		// escaped (ids such as zhang_san are common).
		esc := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(f.Participant)
		q = q.Where("(organizer_id = ? OR attendees LIKE ? ESCAPE '!')", f.Participant, `%"`+esc+`"%`)
	}
	if f.Backend != "" {
		q = q.Where("backend = ?", f.Backend)
	}
	if f.Origin != "" {
		q = q.Where("origin = ?", f.Origin)
	}
	if len(f.Statuses) > 0 {
		q = q.Where("status IN ?", f.Statuses)
	}
	if !f.To.IsZero() {
		q = q.Where("starts_at < ?", f.To.UTC())
	}
	if !f.From.IsZero() {
		q = q.Where("ends_at > ?", f.From.UTC())
	}
	if !f.UpdatedSince.IsZero() {
		q = q.Where("updated_at >= ?", f.UpdatedSince.UTC())
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var out []Reservation
	err := q.Order("starts_at, id").Find(&out).Error
	return out, storeErr("list reservations", err)
}

// Audit returns the audit trail of one reservation, oldest first.
func (s *Store) Audit(ctx context.Context, reservationID string) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.rdb.WithContext(ctx).Where("reservation_id = ?", reservationID).Order("seq, at, id").Find(&out).Error
	return out, storeErr("list audit", err)
}

// NextStart returns the earliest start at or after t of any reservation in rooms (in
// every room when rooms is empty), whatever its status; ok is false when there is none.
// Errors: ErrUnavailable.
func (s *Store) NextStart(ctx context.Context, rooms []string, t time.Time) (start time.Time, ok bool, err error) {
	q := s.rdb.WithContext(ctx).Model(&Reservation{}).Where("starts_at >= ?", t.UTC())
	if len(rooms) > 0 {
		q = q.Where("room_id IN ?", rooms)
	}
	var starts []time.Time
	if err := q.Order("starts_at").Limit(1).Pluck("starts_at", &starts).Error; err != nil {
		return time.Time{}, false, storeErr("find next reservation start", err)
	}
	if len(starts) == 0 {
		return time.Time{}, false, nil
	}
	return starts[0].UTC(), true, nil
}

// reservationColumns are the columns scanReservation reads, in its order.
const reservationColumns = "id, uid, room_id, starts_at, ends_at, title, description, organizer_id, organizer_name, organizer_ref, attendees, backend, remote_id, origin, status, reason_code, reason_args, reason, sequence, idempotency_key, created_at, updated_at, series_id, recurrence_id"

// sqliteReservationColumns reads the same columns as text expressions: the SQLite driver
// then skips its per-cell column type lookup and its trial-and-error time parsing, which
// cost more than the rest of a large feed read together.
const sqliteReservationColumns = "id || '', uid || '', room_id || '', starts_at || '', ends_at || '', title || '', description || '', " +
	"organizer_id || '', organizer_name || '', organizer_ref || '', attendees || '', backend || '', remote_id || '', origin || '', status || '', " +
	"reason_code || '', reason_args || '', reason || '', sequence, idempotency_key || '', created_at || '', updated_at || '', " +
	"series_id || '', recurrence_id || ''"

// sqliteTimeLayout is how the SQLite driver writes a time.Time.
const sqliteTimeLayout = "2006-01-02 15:04:05.999999999-07:00"

func scanReservationSQLite(rows *sql.Rows, r *Reservation) error {
	var start, end, created, updated, attendees string
	var remote, args, key, series, recurrence sql.NullString
	if err := rows.Scan(&r.ID, &r.UID, &r.RoomID, &start, &end, &r.Title, &r.Description, &r.OrganizerID, &r.OrganizerName, &r.OrganizerRef,
		&attendees, &r.Backend, &remote, &r.Origin, &r.Status, &r.ReasonCode, &args, &r.LegacyReason, &r.Sequence, &key, &created, &updated,
		&series, &recurrence); err != nil {
		return err
	}
	if series.Valid {
		r.SeriesID = &series.String
	}
	if recurrence.Valid {
		t, err := parseSQLiteTime(recurrence.String)
		if err != nil {
			return err
		}
		r.RecurrenceID = &t
	}
	var err error
	for _, f := range []struct {
		s   string
		dst *time.Time
	}{{start, &r.Start}, {end, &r.End}, {created, &r.CreatedAt}, {updated, &r.UpdatedAt}} {
		if *f.dst, err = parseSQLiteTime(f.s); err != nil {
			return err
		}
	}
	if err := r.Attendees.Scan(attendees); err != nil {
		return err
	}
	if args.Valid {
		if err := r.ReasonArgs.Scan(args.String); err != nil {
			return err
		}
	}
	if remote.Valid {
		r.RemoteID = &remote.String
	}
	if key.Valid {
		r.IdempotencyKey = &key.String
	}
	return nil
}

// parseSQLiteTime reads a time the SQLite driver wrote, in UTC.
func parseSQLiteTime(s string) (time.Time, error) {
	t, err := time.Parse(sqliteTimeLayout, s)
	if err != nil {
		// Rows written by other tools: the forms SQLite's date functions use.
		for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999"} {
			if t, err = time.Parse(layout, s); err == nil {
				break
			}
		}
	}
	return t.UTC(), err
}

func scanReservation(rows *sql.Rows, r *Reservation) error {
	var remote, key, series sql.NullString
	var recurrence sql.NullTime
	if err := rows.Scan(&r.ID, &r.UID, &r.RoomID, &r.Start, &r.End, &r.Title, &r.Description, &r.OrganizerID, &r.OrganizerName, &r.OrganizerRef,
		&r.Attendees, &r.Backend, &remote, &r.Origin, &r.Status, &r.ReasonCode, &r.ReasonArgs, &r.LegacyReason, &r.Sequence, &key, &r.CreatedAt, &r.UpdatedAt,
		&series, &recurrence); err != nil {
		return err
	}
	if series.Valid {
		r.SeriesID = &series.String
	}
	if recurrence.Valid {
		t := recurrence.Time.UTC()
		r.RecurrenceID = &t
	}
	if remote.Valid {
		r.RemoteID = &remote.String
	}
	if key.Valid {
		r.IdempotencyKey = &key.String
	}
	r.Start, r.End, r.CreatedAt, r.UpdatedAt = r.Start.UTC(), r.End.UTC(), r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return nil
}

// feedReadSlices is how many slices of the window FeedReservations reads at once.
const feedReadSlices = 4

// FeedReservations returns the reservations of rooms (every room when rooms is nil)
// overlapping [from, to), whatever their status, ordered by start time then id: what a
// feed is built from. It reads without gorm, in slices of the window by start time on
// several connections at once. Errors: ErrUnavailable.
func (s *Store) FeedReservations(ctx context.Context, rooms []string, from, to time.Time) ([]Reservation, error) {
	db, err := s.rdb.DB()
	if err != nil {
		return nil, storeErr("list feed reservations", err)
	}
	from, to = from.UTC(), to.UTC()
	// Slice i holds the rows starting in [cut[i], cut[i+1]); the first has no lower
	// bound (a long booking may start before from and still overlap it).
	cuts := make([]time.Time, feedReadSlices+1)
	for i := range cuts {
		cuts[i] = from.Add(to.Sub(from) * time.Duration(i) / feedReadSlices)
	}
	parts := make([][]Reservation, feedReadSlices)
	errs := make([]error, feedReadSlices)
	var wg sync.WaitGroup
	for i := 0; i < feedReadSlices; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cols, scan := reservationColumns, scanReservation
			if s.dialect == DialectSQLite {
				cols, scan = sqliteReservationColumns, scanReservationSQLite
			}
			q := "SELECT " + cols + " FROM reservations WHERE ends_at > ? AND starts_at < ?"
			args := []any{from, cuts[i+1]}
			if i > 0 {
				q += " AND starts_at >= ?"
				args = append(args, cuts[i])
			}
			if rooms != nil {
				if len(rooms) == 0 {
					return
				}
				q += " AND room_id IN (?" + strings.Repeat(", ?", len(rooms)-1) + ")"
				for _, r := range rooms {
					args = append(args, r)
				}
			}
			rows, err := db.QueryContext(ctx, q+" ORDER BY starts_at, id", args...)
			if err != nil {
				errs[i] = err
				return
			}
			defer rows.Close()
			var out []Reservation
			for rows.Next() {
				var r Reservation
				if err := scan(rows, &r); err != nil {
					errs[i] = err
					return
				}
				out = append(out, r)
			}
			parts[i], errs[i] = out, rows.Err()
		}(i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, storeErr("list feed reservations", err)
	}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]Reservation, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out, nil
}

// insertNotify stores a JobNotify job unless one with its id exists already (see
// NotifyJob): the same change is reported once however often it is recorded.
func insertNotify(tx *gorm.DB, j Job, now time.Time) error {
	j.Seq, j.State, j.NextAttemptAt, j.CreatedAt, j.UpdatedAt = 0, JobPending, now, now, now
	return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&j).Error
}
