package models

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

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
	return s.BookAt(ctx, nil, r, jobs, audit)
}

// BookAt is Book for a booking checked against view (see CatalogView): it writes nothing
// and returns ErrCatalogChanged when the catalog is no longer the one view was read from.
// A nil view is Book.
func (s *Store) BookAt(ctx context.Context, view *CatalogView, r Reservation, jobs []Job, audit *AuditEntry) (res Reservation, created bool, err error) {
	if groupable(jobs) {
		return s.bookGrouped(ctx, view, r, jobs, audit)
	}
	return s.bookAlone(ctx, view, r, jobs, audit)
}

// bookAlone is BookAt in a transaction of its own.
func (s *Store) bookAlone(ctx context.Context, view *CatalogView, r Reservation, jobs []Job, audit *AuditEntry) (res Reservation, created bool, err error) {
	now := s.stamp()
	in := r
	err = s.transaction(ctx, func(tx *gorm.DB) error {
		r, res, created = in, Reservation{}, false
		if err := s.lockBookedRooms(tx, view, []string{r.RoomID}); err != nil {
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
		if err := insertReleases(tx, j); err != nil {
			return err
		}
	}
	return nil
}

// insertReleases stores the further backend ids job j releases (Job.Releases).
func insertReleases(tx *gorm.DB, j Job) error {
	if len(j.Releases) == 0 {
		return nil
	}
	rows := make([]JobRelease, 0, len(j.Releases))
	seen := map[string]bool{}
	for _, id := range j.Releases {
		if id != "" && !seen[id] {
			seen[id] = true
			rows = append(rows, JobRelease{JobID: j.ID, Backend: j.Backend, RemoteID: id})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	return tx.CreateInBatches(rows, 200).Error
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
	if seq < 0 && s.dialect == DialectSQLite {
		// Numbered by the insert itself: one statement instead of a count and an insert
		// (SQLite has one writer, so nothing can number the same way meanwhile). MySQL
		// counts apart: its INSERT … SELECT would lock the index range it counts, and
		// concurrent inserts next to it would deadlock.
		e := auditAt(*a, now, 0)
		return tx.Exec("INSERT INTO audit_log (id, at, actor, action, reservation_id, seq, detail) SELECT ?, ?, ?, ?, ?, COUNT(*), ? FROM audit_log WHERE reservation_id = ?",
			e.ID, e.At, e.Actor, e.Action, e.ReservationID, e.Detail, e.ReservationID).Error
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
	// Columns, when set, are the only columns read (the other fields stay zero): a
	// narrower read costs less a row. See TimelineColumns.
	Columns []string
}

// TimelineColumns are what a room's timeline and availability show: times, system,
// origin, status, title and who may see it.
var TimelineColumns = []string{"id", "room_id", "starts_at", "ends_at", "backend", "origin", "status", "title", "organizer_id", "attendees"}

// Reservations lists reservations matching f, ordered by start time then id. With a
// window, bookings up to ShortSpan long are read by a bounded range of start times and
// longer ones through their own index, so the cost follows the rows found, not the table.
func (s *Store) Reservations(ctx context.Context, f Filter) ([]Reservation, error) {
	if f.From.IsZero() {
		var out []Reservation
		err := s.reservationQuery(ctx, f).Order("starts_at, id").Find(&out).Error
		return out, storeErr("list reservations", err)
	}
	var short, long []Reservation
	err := s.reservationQuery(ctx, f).Where("long_span = ? AND starts_at >= ?", false, f.From.Add(-ShortSpan).UTC()).
		Order("starts_at, id").Find(&short).Error
	if err == nil {
		err = s.reservationQuery(ctx, f).Where("long_span = ?", true).Order("starts_at, id").Find(&long).Error
	}
	if err != nil || len(long) == 0 {
		return short, storeErr("list reservations", err)
	}
	out := append(short, long...)
	slices.SortFunc(out, func(a, b Reservation) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// reservationQuery is the query of f on the read pool, without order.
func (s *Store) reservationQuery(ctx context.Context, f Filter) *gorm.DB {
	q := s.rdb.WithContext(ctx).Model(&Reservation{})
	if len(f.Columns) > 0 {
		q = q.Select(f.Columns)
	}
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
	return q
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

// feedColumns are the columns a feed shows, in the order scanFeedRow and
// scanFeedRowSQLite read them.
const feedColumns = "id, uid, room_id, starts_at, ends_at, title, description, organizer_id, organizer_name, attendees, backend, origin, status, sequence, created_at, updated_at, series_id, recurrence_id"

// EachFeedReservation calls fn with every reservation of rooms (every room when rooms is
// nil) overlapping [from, to), whatever its status, in order of start time (rows with
// the same start in any order): what a feed is built from, read as it streams, without
// gorm. Only the columns a feed shows are read: RemoteID, IdempotencyKey, OrganizerRef,
// OwnEvent and the reason stay empty. Bookings longer than ShortSpan are read first,
// apart, and handed over at their place. fn may keep the reservation. Errors:
// ErrUnavailable, or what fn returned.
func (s *Store) EachFeedReservation(ctx context.Context, rooms []string, from, to time.Time, fn func(Reservation) error) error {
	return s.EachFeedReservationIn(ctx, rooms, from, to, time.Time{}, time.Time{}, fn)
}

// EachFeedReservationIn is EachFeedReservation for the rows starting at or after starts
// and before before only (a zero time is no bound): a part of a feed's rows, read on a
// connection of its own. Parts cut at the times FeedSplits returns read every row once.
// Errors: ErrUnavailable, or what fn returned.
func (s *Store) EachFeedReservationIn(ctx context.Context, rooms []string, from, to, starts, before time.Time, fn func(Reservation) error) error {
	if rooms != nil && len(rooms) == 0 {
		return nil
	}
	from, to = from.UTC(), to.UTC()
	if !before.IsZero() && before.Before(to) {
		to = before.UTC()
	}
	// ends_at is compared on every row read. On SQLite a "+" keeps the column's NUMERIC
	// affinity off the comparison, which would otherwise try the time text bound to it
	// as a number on every row (it is not one: the texts compare as they are all the
	// same). On MySQL "+" would make the time a number.
	ends := "ends_at"
	if s.dialect == DialectSQLite {
		ends = "+ends_at"
	}
	where, args := " FROM reservations WHERE starts_at < ? AND "+ends+" > ?", []any{to, from}
	where, args = inRooms(where, args, rooms)
	// long_span is 0 or 1 (Reservation.LongSpan); "= 1" is what keeps SQLite on its
	// index, where "<> 0" walked every row before to on the start time's.
	longWhere, longArgs, shortFrom := where+" AND long_span = 1", args, from.Add(-ShortSpan)
	if !starts.IsZero() {
		longWhere, longArgs = longWhere+" AND starts_at >= ?", append(slices.Clip(args), starts.UTC())
		if starts.After(shortFrom) {
			shortFrom = starts.UTC()
		}
	}
	// fn's own errors come back as they are.
	var fnErr error
	call := func(r Reservation) error {
		fnErr = fn(r)
		return fnErr
	}
	var long []Reservation
	err := s.eachFeedRow(ctx, longWhere, longArgs, func(r Reservation) error {
		long = append(long, r)
		return nil
	})
	slices.SortStableFunc(long, func(a, b Reservation) int { return a.Start.Compare(b.Start) })
	if err == nil {
		// The unary plus keeps SQLite on the start time's index, in order, instead of
		// long_span's and a sort.
		err = s.eachFeedRow(ctx, where+" AND +long_span = 0 AND starts_at >= ?", append(slices.Clip(args), shortFrom), func(r Reservation) error {
			for len(long) > 0 && !long[0].Start.After(r.Start) {
				if err := call(long[0]); err != nil {
					return err
				}
				long = long[1:]
			}
			return call(r)
		})
	}
	for ; err == nil && len(long) > 0; long = long[1:] {
		err = call(long[0])
	}
	if fnErr != nil {
		return fnErr
	}
	return storeErr("list feed reservations", err)
}

// FeedSplits cuts the rows CountFeedReservations counts (the same rooms, from and to)
// into parts: for each offset, in increasing order, the start of the row at that offset
// in start order, from the start time's index alone. Rows sharing a start are never cut
// apart (a part starts with all of them); a cut equal to the one before it or past the
// last row is left out, so there may be fewer cuts than offsets. Errors: ErrUnavailable.
func (s *Store) FeedSplits(ctx context.Context, rooms []string, from, to time.Time, offsets []int) ([]time.Time, error) {
	return s.FeedSplitsAt(ctx, rooms, from, to, FeedCount{}, offsets)
}

// FeedSplitsAt is FeedSplits knowing the count of the rows (CountFeedRows; zero: not
// known): each offset is looked up from the nearest of the first row, the middle and
// the last, walking fewer entries of the index.
func (s *Store) FeedSplitsAt(ctx context.Context, rooms []string, from, to time.Time, c FeedCount, offsets []int) ([]time.Time, error) {
	if rooms != nil && len(rooms) == 0 {
		return nil, nil
	}
	lo, to := from.UTC().Add(-ShortSpan), to.UTC()
	var cuts []time.Time
	for _, off := range offsets {
		// The row at off is found walking forward from lo or c.Mid, or back from c.Mid or
		// to, whichever passes fewest rows.
		a, b, desc, skip := lo, to, false, off
		if c.N > 0 {
			if off >= c.N {
				break
			}
			mid := c.Mid.UTC()
			for _, w := range []struct {
				a, b time.Time
				desc bool
				skip int
			}{{lo, mid, true, c.Before - 1 - off}, {mid, to, false, off - c.Before}, {mid, to, true, c.N - 1 - off}} {
				if w.skip >= 0 && w.skip < skip {
					a, b, desc, skip = w.a, w.b, w.desc, w.skip
				}
			}
		}
		q := s.rdb.WithContext(ctx).Model(&Reservation{}).Where("starts_at >= ? AND starts_at < ?", a, b)
		if rooms != nil {
			q = q.Where("room_id IN ?", rooms)
		}
		order := "starts_at"
		if desc {
			order += " DESC"
		}
		var starts []time.Time
		if err := q.Order(order).Offset(skip).Limit(1).Pluck("starts_at", &starts).Error; err != nil {
			return nil, storeErr("split feed reservations", err)
		}
		if len(starts) == 0 {
			break
		}
		if t := starts[0].UTC(); len(cuts) == 0 || t.After(cuts[len(cuts)-1]) {
			cuts = append(cuts, t)
		}
	}
	return cuts, nil
}

// FeedCount is how many rows a feed reads (see CountFeedReservations): N, of which
// Before start before Mid.
type FeedCount struct {
	N, Before int
	Mid       time.Time
}

// CountFeedRows counts what CountFeedReservations counts, the rows starting before and
// after the middle of the range at once, each on a connection of its own: a count walks
// every entry of the index in the range. Errors: ErrUnavailable.
func (s *Store) CountFeedRows(ctx context.Context, rooms []string, from, to time.Time) (FeedCount, error) {
	lo := from.UTC().Add(-ShortSpan)
	c := FeedCount{Mid: lo.Add(to.UTC().Sub(lo) / 2)}
	if !c.Mid.After(lo) {
		n, err := s.CountFeedReservations(ctx, rooms, from, to)
		return FeedCount{N: n, Mid: lo}, err
	}
	var (
		after int
		err2  error
		wg    sync.WaitGroup
	)
	wg.Go(func() { after, err2 = s.countFeedRows(ctx, rooms, c.Mid, to) })
	before, err := s.countFeedRows(ctx, rooms, lo, c.Mid)
	wg.Wait()
	c.N, c.Before = before+after, before
	return c, cmp.Or(err, err2)
}

// CountFeedReservations estimates how many rows EachFeedReservation reads with the same
// arguments, from the start time's index alone (rows starting up to ShortSpan before
// from count, ends are not looked at). Errors: ErrUnavailable.
func (s *Store) CountFeedReservations(ctx context.Context, rooms []string, from, to time.Time) (int, error) {
	return s.countFeedRows(ctx, rooms, from.UTC().Add(-ShortSpan), to)
}

// countFeedRows counts the rows of rooms starting in [lo, to).
func (s *Store) countFeedRows(ctx context.Context, rooms []string, lo, to time.Time) (int, error) {
	if rooms != nil && len(rooms) == 0 {
		return 0, nil
	}
	q, args := "SELECT COUNT(*) FROM reservations WHERE starts_at >= ? AND starts_at < ?", []any{lo.UTC(), to.UTC()}
	q, args = inRooms(q, args, rooms)
	st, err := s.prepared(ctx, q)
	if err != nil {
		return 0, storeErr("count feed reservations", err)
	}
	var n int
	err = st.QueryRowContext(ctx, args...).Scan(&n)
	return n, storeErr("count feed reservations", err)
}

// inRooms adds "AND room_id IN (rooms)" to a query and its arguments (nothing when rooms
// is nil: every room).
func inRooms(q string, args []any, rooms []string) (string, []any) {
	if rooms == nil {
		return q, args
	}
	q += " AND room_id IN (?" + strings.Repeat(", ?", len(rooms)-1) + ")"
	for _, r := range rooms {
		args = append(args, r)
	}
	return q, args
}

// eachFeedRow runs "SELECT <feed columns>"+where ordered by start and calls fn per row.
// On SQLite a row is one text of its columns joined (feedJoined); the rows from the
// first whose texts hold the separator on are read again as JSON.
func (s *Store) eachFeedRow(ctx context.Context, where string, args []any, fn func(Reservation) error) error {
	if s.dialect != DialectSQLite {
		return s.eachFeedRowAs(ctx, feedColumns, where, args, scanFeedRow, fn)
	}
	// One text per row instead of 18 cells: the driver's cost per cell (type lookup,
	// copy, boxing) was most of a feed's build, and every string of the row becomes a
	// slice of that one text. It is read as a BLOB, which the driver copies once (a TEXT
	// twice) into memory of the row's own, handed over as it is.
	var (
		raw   sql.RawBytes // one for every row: Scan would box a new one each time
		times feedTimes
		at    time.Time // the start of the last rows handed over, and their ids
		ids   []string
	)
	err := s.eachFeedRowAs(ctx, "CAST(concat_ws(char(31), "+feedJoined+") AS BLOB)", where, args,
		func(rows *sql.Rows, r *Reservation) error { return scanFeedRowJoined(rows, r, &raw, &times) },
		func(r Reservation) error {
			if !r.Start.Equal(at) {
				at, ids = r.Start, ids[:0]
			}
			ids = append(ids, r.ID)
			return fn(r)
		})
	var sep *feedSeparatorError
	if !errors.As(err, &sep) {
		return err
	}
	if !sep.start.Equal(at) {
		ids = ids[:0]
	}
	return s.eachFeedRowAs(ctx, "CAST(json_array("+feedColumns+") AS BLOB)", where+" AND starts_at >= ?", append(slices.Clip(args), sep.start.UTC()),
		func(rows *sql.Rows, r *Reservation) error { return scanFeedRowJSON(rows, r, &raw, &times) },
		func(r Reservation) error {
			if r.Start.Equal(sep.start) && slices.Contains(ids, r.ID) {
				return nil // handed over already
			}
			return fn(r)
		})
}

// eachFeedRowAs runs "SELECT "+cols+where ordered by start and calls fn with every row
// scan reads.
func (s *Store) eachFeedRowAs(ctx context.Context, cols, where string, args []any, scan func(*sql.Rows, *Reservation) error, fn func(Reservation) error) error {
	st, err := s.prepared(ctx, "SELECT "+cols+where+" ORDER BY starts_at")
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var r Reservation // one for every row: fn gets a copy
	for rows.Next() {
		r = Reservation{}
		if err := scan(rows, &r); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

func scanFeedRow(rows *sql.Rows, r *Reservation) error {
	var series sql.NullString
	var recurrence sql.NullTime
	if err := rows.Scan(&r.ID, &r.UID, &r.RoomID, &r.Start, &r.End, &r.Title, &r.Description, &r.OrganizerID, &r.OrganizerName,
		&r.Attendees, &r.Backend, &r.Origin, &r.Status, &r.Sequence, &r.CreatedAt, &r.UpdatedAt, &series, &recurrence); err != nil {
		return err
	}
	if series.Valid {
		r.SeriesID = &series.String
	}
	if recurrence.Valid {
		t := recurrence.Time.UTC()
		r.RecurrenceID = &t
	}
	r.Start, r.End, r.CreatedAt, r.UpdatedAt = r.Start.UTC(), r.End.UTC(), r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return nil
}

// feedJoined are the feed columns as SQLite joins them into one text with U+001F between
// them: starts_at first, then the others in feedColumns' order, a NULL series id and
// recurrence id as an empty text (a series id after a "+"). Cheaper to build and split
// than JSON, and the texts come as they are, unescaped; a row whose texts hold U+001F
// does not split into its 18 columns (scanFeedRowJoined).
var feedJoined = func() string {
	cols := strings.Split(feedColumns, ", ")
	out := []string{"starts_at"}
	for _, c := range cols {
		switch c {
		case "starts_at":
		case "series_id":
			out = append(out, "ifnull('+' || series_id, '')")
		case "recurrence_id":
			out = append(out, "ifnull(recurrence_id, '')")
		default:
			out = append(out, c)
		}
	}
	return strings.Join(out, ", ")
}()

// feedSeparatorError is a row whose texts hold U+001F, starting at start.
type feedSeparatorError struct{ start time.Time }

func (e *feedSeparatorError) Error() string {
	return fmt.Sprintf("feed row starting %s holds a separator", e.start)
}

// scanFeedRowJoined reads the row's joined text (feedJoined) through raw, times through
// times; a row that does not split into its columns is a *feedSeparatorError. The
// row's strings share the bytes the driver read the row into: it makes them for each
// row and lets them go (TestStoreEachFeedReservation keeps every row and reads them
// after the last).
func scanFeedRowJoined(rows *sql.Rows, r *Reservation, raw *sql.RawBytes, times *feedTimes) error {
	if err := rows.Scan(raw); err != nil {
		return err
	}
	text := unsafe.String(unsafe.SliceData(*raw), len(*raw))
	*raw = nil
	var v [18]jsonValue
	rest := text
	for i := range v {
		j := strings.IndexByte(rest, 0x1f)
		if (j < 0) != (i == len(v)-1) {
			// Too few values (a NULL left out) or too many (a separator in a text):
			// the start, first, is whole all the same.
			first, _, _ := strings.Cut(text, "\x1f")
			start, err := times.parse(first)
			if err != nil {
				return err
			}
			return &feedSeparatorError{start: start}
		}
		// The start first, then the other columns in feedColumns' order.
		k := i - 1
		switch {
		case i == 0:
			k = 3
		case i > 3:
			k = i
		}
		if j < 0 {
			v[k].s = rest
		} else {
			v[k].s, rest = rest[:j], rest[j+1:]
		}
	}
	if ser := &v[16]; ser.s == "" {
		ser.null = true
	} else if ser.s[0] == '+' {
		ser.s = ser.s[1:]
	} else {
		return fmt.Errorf("read feed row %s: series %q", v[0].s, ser.s)
	}
	v[17].null = v[17].s == ""
	return feedRowFrom(&v, r, times)
}

// scanFeedRowJSON reads the row's JSON array of feedColumns (see scanFeedRowJoined).
func scanFeedRowJSON(rows *sql.Rows, r *Reservation, raw *sql.RawBytes, times *feedTimes) error {
	if err := rows.Scan(raw); err != nil {
		return err
	}
	text := unsafe.String(unsafe.SliceData(*raw), len(*raw))
	*raw = nil
	var v [18]jsonValue
	if err := splitJSONArray(text, v[:]); err != nil {
		return fmt.Errorf("read feed row: %w", err)
	}
	return feedRowFrom(&v, r, times)
}

// feedRowFrom makes r of the values of feedColumns.
func feedRowFrom(v *[18]jsonValue, r *Reservation, times *feedTimes) error {
	r.ID, r.UID, r.RoomID = v[0].s, v[1].s, v[2].s
	r.Title, r.Description, r.OrganizerID, r.OrganizerName = v[5].s, v[6].s, v[7].s, v[8].s
	r.Backend, r.Origin, r.Status = Backend(v[10].s), Origin(v[11].s), Status(v[12].s)
	seq, err := strconv.Atoi(v[13].s)
	if err != nil {
		return fmt.Errorf("read feed row %s: sequence %q", r.ID, v[13].s)
	}
	r.Sequence = seq
	for i, dst := range [...]*time.Time{&r.Start, &r.End, &r.CreatedAt, &r.UpdatedAt} {
		if *dst, err = times.parse(v[[...]int{3, 4, 14, 15}[i]].s); err != nil {
			return err
		}
	}
	if a := v[9].s; a != "" && a != "[]" {
		if err := r.Attendees.Scan(a); err != nil {
			return err
		}
	}
	if !v[16].null {
		id := v[16].s
		r.SeriesID = &id
	}
	if !v[17].null {
		t, err := times.parse(v[17].s)
		if err != nil {
			return err
		}
		r.RecurrenceID = &t
	}
	return nil
}

// jsonValue is one element of a JSON array of strings, numbers and nulls.
type jsonValue struct {
	s    string
	null bool
}

// splitJSONArray reads the array SQLite's json_array wrote into out, which it must fill
// exactly. A string without escapes is a slice of text.
func splitJSONArray(text string, out []jsonValue) error {
	if len(text) < 2 || text[0] != '[' || text[len(text)-1] != ']' {
		return fmt.Errorf("not a JSON array: %.40q", text)
	}
	i, n := 1, 0
	for ; i < len(text)-1; n++ {
		if n == len(out) {
			return fmt.Errorf("more than %d values in %.40q", len(out), text)
		}
		if n > 0 {
			if text[i] != ',' {
				return fmt.Errorf("bad JSON array %.40q", text)
			}
			i++
		}
		switch {
		case text[i] == '"':
			// The closing quote is the first one unless a backslash comes before it.
			j, escaped := strings.IndexByte(text[i+1:], '"')+i+1, false
			if j > i && strings.IndexByte(text[i+1:j], '\\') >= 0 {
				escaped = true
				for j = i + 1; j < len(text) && text[j] != '"'; j++ {
					if text[j] == '\\' {
						j++
					}
				}
			}
			if j <= i || j >= len(text) {
				return fmt.Errorf("unterminated string in %.40q", text)
			}
			out[n] = jsonValue{s: text[i+1 : j]}
			if escaped {
				var v string
				if err := json.Unmarshal([]byte(text[i:j+1]), &v); err != nil {
					return err
				}
				out[n].s = v
			}
			i = j + 1
		default:
			j := i
			for j < len(text)-1 && text[j] != ',' {
				j++
			}
			out[n] = jsonValue{s: text[i:j], null: text[i:j] == "null"}
			i = j
		}
	}
	if n != len(out) {
		return fmt.Errorf("%d values in %.40q, want %d", n, text, len(out))
	}
	return nil
}

// sqliteTimeLayout is how the SQLite driver writes a time.Time.
const sqliteTimeLayout = "2006-01-02 15:04:05.999999999-07:00"

// parseSQLiteTime reads a time the SQLite driver wrote, in UTC: "2006-01-02 15:04:05"
// with an optional fraction and "+00:00" (what the store writes) is read without
// time.Parse.
func parseSQLiteTime(s string) (time.Time, error) {
	if t, ok := parseUTCTime(s); ok {
		return t, nil
	}
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

// feedTimes reads the times of feed rows as parseSQLiteTime does, keeping the last two
// dates read: the rows of a feed come in order of start, a few dates for many rows (and
// often another one for their changes).
type feedTimes struct {
	date [2]string // "2006-01-02"
	day  [2]int64  // its days since 1970
	last int       // the slot read last
}

func (c *feedTimes) parse(s string) (time.Time, error) {
	if len(s) < 25 || s[10] != ' ' || s[13] != ':' || s[16] != ':' || !strings.HasSuffix(s, "+00:00") {
		return parseSQLiteTime(s)
	}
	k := c.last
	if s[:10] != c.date[k] {
		if k ^= 1; s[:10] != c.date[k] {
			t, ok := parseUTCTime(s[:10] + " 00:00:00+00:00")
			if !ok {
				return parseSQLiteTime(s)
			}
			c.date[k], c.day[k] = strings.Clone(s[:10]), t.Unix()/86400
		}
		c.last = k
	}
	h, mi, sec := digits2(s[11:13]), digits2(s[14:16]), digits2(s[17:19])
	ns := 0
	if frac := s[19 : len(s)-6]; frac != "" {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return parseSQLiteTime(s)
		}
		for _, ch := range []byte(frac[1:]) {
			if ch < '0' || ch > '9' {
				return parseSQLiteTime(s)
			}
			ns = ns*10 + int(ch-'0')
		}
		for k := len(frac) - 1; k < 9; k++ {
			ns *= 10
		}
	}
	if h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return parseSQLiteTime(s)
	}
	return time.Unix(c.day[k]*86400+int64(h*3600+mi*60+sec), int64(ns)).UTC(), nil
}

// digits2 reads two decimal digits (-1 when they are not).
func digits2(s string) int {
	a, b := s[0]-'0', s[1]-'0'
	if a > 9 || b > 9 {
		return -1
	}
	return int(a)*10 + int(b)
}

// parseUTCTime reads "2006-01-02 15:04:05[.fraction]+00:00".
func parseUTCTime(s string) (time.Time, bool) {
	if len(s) < 25 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' || !strings.HasSuffix(s, "+00:00") {
		return time.Time{}, false
	}
	num := func(a, b int) int {
		v := 0
		for _, c := range []byte(s[a:b]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, sec := num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
	ns := 0
	if frac := s[19 : len(s)-6]; frac != "" {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		ns = num(20, 19+len(frac))
		for k := len(frac) - 1; k < 9; k++ {
			ns *= 10
		}
	}
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 || ns < 0 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC)
	if t.Day() != d {
		return time.Time{}, false // 31 April and the like
	}
	return t, true
}

// insertNotify stores a JobNotify job unless one with its id exists already (see
// NotifyJob): the same change is reported once however often it is recorded.
func insertNotify(tx *gorm.DB, j Job, now time.Time) error {
	j.Seq, j.State, j.NextAttemptAt, j.CreatedAt, j.UpdatedAt = 0, JobPending, now, now, now
	return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&j).Error
}
