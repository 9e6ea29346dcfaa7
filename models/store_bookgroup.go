package models

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Group commit of bookings. Bookings that arrive while others are being written wait in
// a queue; a writer takes the waiting ones (at most one per room, up to maxBookGroup) and
// writes them in one transaction: one statement locks all their rooms, one looks up
// their idempotency keys, one looks for overlaps in all of them, one inserts each kind
// of row, one raises the rooms' change counters, one commit. Each booking in a group is
// checked exactly as it is alone (its room locked, every reservation of the room looked
// at under that lock), so a group changes how many commits the database makes, never
// who wins a slot. When a group's transaction fails for any reason, its bookings are
// written one by one instead, and each gets its own answer.

// maxBookGroup is the most bookings one group transaction writes.
const maxBookGroup = 32

// bookGroupWriters is how many group transactions run at once on MySQL (SQLite has one
// writer, so one there). Two keep one group committing while the next is written; more
// only split the waiting bookings into smaller groups, each with its own eight
// statements and commit (64 clients on two cores: about 16 bookings a group with two
// writers, 9 with four).
const bookGroupWriters = 2

// bookCall is one booking waiting for its group.
type bookCall struct {
	ctx   context.Context
	view  *CatalogView
	r     Reservation
	jobs  []Job
	audit *AuditEntry

	res     Reservation
	created bool
	err     error
	// decided is set once res, created and err are final (committed, or refused).
	decided bool
	done    chan struct{}
}

// bookQueue holds the bookings waiting to be written and counts the running writers.
type bookQueue struct {
	mu      sync.Mutex
	waiting []*bookCall
	writers int
}

// groupable reports whether a booking can share a transaction: one that queues
// notifications (inserted unless present), or a job with further ids it releases, is
// written alone.
func groupable(jobs []Job) bool {
	for _, j := range jobs {
		if j.Kind == JobNotify || len(j.Releases) > 0 {
			return false
		}
	}
	return true
}

// bookGrouped queues a booking for the next group and waits for its outcome (see Book).
func (s *Store) bookGrouped(ctx context.Context, view *CatalogView, r Reservation, jobs []Job, audit *AuditEntry) (Reservation, bool, error) {
	c := &bookCall{ctx: ctx, view: view, r: r, jobs: jobs, audit: audit, done: make(chan struct{})}
	q := &s.books
	writers := bookGroupWriters
	if s.dialect == DialectSQLite {
		writers = 1
	}
	q.mu.Lock()
	q.waiting = append(q.waiting, c)
	if q.writers < writers {
		q.writers++
		go s.writeBookGroups()
	}
	q.mu.Unlock()
	select {
	case <-c.done:
	case <-ctx.Done():
		q.mu.Lock()
		for i, w := range q.waiting {
			if w == c {
				q.waiting = append(q.waiting[:i], q.waiting[i+1:]...)
				q.mu.Unlock()
				return Reservation{}, false, storeErr("book room "+r.RoomID, ctx.Err())
			}
		}
		q.mu.Unlock()
		// Already being written: its outcome is moments away.
		<-c.done
	}
	return c.res, c.created, c.err
}

// writeBookGroups writes groups of waiting bookings until none is left.
func (s *Store) writeBookGroups() {
	q := &s.books
	for {
		q.mu.Lock()
		group := q.takeGroup()
		if len(group) == 0 {
			q.writers--
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		s.writeBookGroupSafely(group)
		for _, c := range group {
			close(c.done)
		}
	}
}

// writeBookGroupSafely is writeBookGroup, with a panic turned into each booking's error:
// it runs outside the requests' goroutines, where nothing else would recover it.
func (s *Store) writeBookGroupSafely(group []*bookCall) {
	defer func() {
		if p := recover(); p != nil {
			for _, c := range group {
				if c.decided {
					continue
				}
				c.res, c.created = Reservation{}, false
				c.err = fmt.Errorf("book room %s: %w", c.r.RoomID, errors.Join(ErrUnavailable, fmt.Errorf("panic: %v", p)))
			}
		}
	}()
	s.writeBookGroup(group)
}

// takeGroup removes and returns the oldest waiting bookings, at most one per room and
// per idempotency key (a second one waits for the next group, where it sees the first),
// all checked against the same CatalogView as the oldest. The caller holds q.mu.
func (q *bookQueue) takeGroup() []*bookCall {
	var group []*bookCall
	rooms, keys := map[string]bool{}, map[string]bool{}
	rest := q.waiting[:0]
	for _, c := range q.waiting {
		key := ""
		if c.r.IdempotencyKey != nil {
			key = c.r.OrganizerID + "\x00" + *c.r.IdempotencyKey
		}
		if len(group) < maxBookGroup && !rooms[c.r.RoomID] && (key == "" || !keys[key]) && (len(group) == 0 || group[0].view == c.view) {
			rooms[c.r.RoomID], keys[key] = true, true
			group = append(group, c)
			continue
		}
		rest = append(rest, c)
	}
	for i := len(rest); i < len(q.waiting); i++ {
		q.waiting[i] = nil
	}
	q.waiting = rest
	return group
}

// bookGroupTimeout bounds one group transaction: it runs for several requests, so it
// is not cancelled with any one of them.
const bookGroupTimeout = 30 * time.Second

// writeBookGroup writes group in one transaction, or each booking alone when that fails
// or there is only one.
func (s *Store) writeBookGroup(group []*bookCall) {
	if len(group) == 1 {
		c := group[0]
		c.res, c.created, c.err = s.bookAlone(c.ctx, c.view, c.r, c.jobs, c.audit)
		c.decided = true
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), bookGroupTimeout)
	defer cancel()
	now := s.stamp()
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		return s.bookGroupTx(tx, group, now)
	})
	if err == nil {
		for _, c := range group {
			c.decided = true
		}
		return
	}
	if errors.Is(err, ErrCatalogChanged) {
		// Alone, each would find the same.
		for _, c := range group {
			c.res, c.created, c.err = Reservation{}, false, storeErr("book room "+c.r.RoomID, err)
			c.decided = true
		}
		return
	}
	for _, c := range group {
		c.res, c.created, c.err = s.bookAlone(c.ctx, c.view, c.r, c.jobs, c.audit)
		c.decided = true
	}
}

// bookGroupTx is the group transaction: bookings whose slot is taken get their
// *ConflictError, the others are inserted.
func (s *Store) bookGroupTx(tx *gorm.DB, group []*bookCall, now time.Time) error {
	rooms := make([]string, 0, len(group))
	for _, c := range group {
		c.res, c.created, c.err = Reservation{}, false, nil
		rooms = append(rooms, c.r.RoomID)
	}
	sort.Strings(rooms)
	// One statement locks every room, in id order (the order an index range is
	// walked); an unknown room or a changed catalog leaves the group to be written one
	// by one.
	if err := s.lockBookedRooms(tx, group[0].view, rooms); err != nil {
		return err
	}
	prev, err := earlierByKey(tx, group)
	if err != nil {
		return err
	}
	taken, err := s.overlaps(tx, group)
	if err != nil {
		return err
	}
	var (
		rows   []Reservation
		jobs   []Job
		audits []AuditEntry
		booked []string
	)
	for i, c := range group {
		if prev[i] != nil {
			c.res = *prev[i]
			continue
		}
		if taken[i] != nil {
			c.err = storeErr("book room "+c.r.RoomID, &ConflictError{With: *taken[i]})
			continue
		}
		r := c.r
		r.CreatedAt, r.UpdatedAt = now, now
		r.normalize()
		rows = append(rows, r)
		jobs = append(jobs, numberJobs(c.jobs, now, 0)...)
		if c.audit != nil {
			audits = append(audits, auditAt(*c.audit, now, 0))
		}
		booked = append(booked, r.RoomID)
		c.res, c.created = r, true
	}
	if len(rows) == 0 {
		return nil
	}
	if err := s.insertValues(tx, "reservations", reservationColumns, len(rows), func(i int) []any { return reservationValues(&rows[i]) }); err != nil {
		return err
	}
	if err := s.insertValues(tx, "outbox_jobs", jobColumns, len(jobs), func(i int) []any { return jobValues(&jobs[i]) }); err != nil {
		return err
	}
	if err := s.insertValues(tx, "audit_log", auditColumns, len(audits), func(i int) []any { return auditValues(&audits[i]) }); err != nil {
		return err
	}
	return s.touchRooms(tx, booked...)
}

// The columns a group's inserts write, in the order of the *Values functions: every
// column of each table, as gorm's Create writes them.
var (
	reservationColumns = []string{"id", "uid", "room_id", "starts_at", "ends_at", "title", "description", "organizer_id", "organizer_name", "attendees",
		"backend", "remote_id", "origin", "status", "reason_code", "reason_args", "reason", "sequence", "idempotency_key", "series_id", "recurrence_id",
		"created_at", "updated_at", "organizer_ref", "long_span", "own_event"}
	jobColumns = []string{"id", "reservation_id", "kind", "backend", "remote_id", "seq", "payload", "state", "attempts", "next_attempt_at",
		"locked_until", "locked_by", "last_error", "created_at", "updated_at"}
	auditColumns = []string{"id", "at", "actor", "action", "reservation_id", "seq", "detail"}
)

func reservationValues(r *Reservation) []any {
	return []any{r.ID, r.UID, r.RoomID, r.Start, r.End, r.Title, r.Description, r.OrganizerID, r.OrganizerName, r.Attendees,
		r.Backend, r.RemoteID, r.Origin, r.Status, r.ReasonCode, r.ReasonArgs, r.LegacyReason, r.Sequence, r.IdempotencyKey, r.SeriesID, r.RecurrenceID,
		r.CreatedAt, r.UpdatedAt, r.OrganizerRef, r.LongSpan, r.OwnEvent}
}

func jobValues(j *Job) []any {
	return []any{j.ID, j.ReservationID, j.Kind, j.Backend, j.RemoteID, j.Seq, j.Payload, j.State, j.Attempts, j.NextAttemptAt,
		j.LockedUntil, j.LockedBy, j.LastError, j.CreatedAt, j.UpdatedAt}
}

func auditValues(a *AuditEntry) []any {
	return []any{a.ID, a.At, a.Actor, a.Action, a.ReservationID, a.Seq, a.Detail}
}

// insertValues inserts n rows into table in one statement, row i's values in the order
// of cols given by values(i), straight through the transaction's connection: gorm's
// Create reads every field of every row by reflection and builds the statement clause by
// clause, a tenth of a booking's CPU in a group of sixteen.
func (s *Store) insertValues(tx *gorm.DB, table string, cols []string, n int, values func(i int) []any) error {
	if n == 0 {
		return nil
	}
	var q strings.Builder
	row := "(?" + strings.Repeat(", ?", len(cols)-1) + ")"
	q.Grow(len(table) + 16*len(cols) + n*(len(row)+2) + 32)
	q.WriteString("INSERT INTO ")
	q.WriteString(table)
	q.WriteString(" (")
	q.WriteString(strings.Join(cols, ", "))
	q.WriteString(") VALUES ")
	args := make([]any, 0, n*len(cols))
	for i := 0; i < n; i++ {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(row)
		args = append(args, values(i)...)
	}
	s.traced(q.String())
	_, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, q.String(), args...)
	return err
}

// earlierByKey finds, in one statement, for each booking of group that carries an
// idempotency key the reservation its organizer already made with that key (nil when
// there is none).
func earlierByKey(tx *gorm.DB, group []*bookCall) ([]*Reservation, error) {
	var cond strings.Builder
	var args []any
	for _, c := range group {
		if c.r.IdempotencyKey == nil {
			continue
		}
		if len(args) > 0 {
			cond.WriteString(" OR ")
		}
		cond.WriteString("(organizer_id = ? AND idempotency_key = ?)")
		args = append(args, c.r.OrganizerID, *c.r.IdempotencyKey)
	}
	out := make([]*Reservation, len(group))
	if len(args) == 0 {
		return out, nil
	}
	var found []Reservation
	if err := tx.Where(cond.String(), args...).Find(&found).Error; err != nil {
		return nil, err
	}
	for i, c := range group {
		for j := range found {
			if c.r.IdempotencyKey != nil && found[j].OrganizerID == c.r.OrganizerID && found[j].IdempotencyKey != nil && *found[j].IdempotencyKey == *c.r.IdempotencyKey {
				out[i] = &found[j]
				break
			}
		}
	}
	return out, nil
}

// overlaps finds, in one statement, for each booking of group the first reservation
// holding its room in its time (nil when the slot is free), like overlap.
func (s *Store) overlaps(tx *gorm.DB, group []*bookCall) ([]*Reservation, error) {
	slots := make([]slot, len(group))
	for i, c := range group {
		slots[i] = slot{c.r.RoomID, c.r.Start, c.r.End}
	}
	found, err := s.findHolding(tx, slots, "")
	if err != nil {
		return nil, err
	}
	out := make([]*Reservation, len(group))
	for i, c := range group {
		for j := range found {
			f := &found[j]
			if f.RoomID == c.r.RoomID && f.Start.Before(c.r.End) && f.End.After(c.r.Start) {
				out[i] = f
				break
			}
		}
	}
	return out, nil
}
