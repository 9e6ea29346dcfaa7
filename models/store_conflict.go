package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ReconcileResult counts what ReconcileConflicts changed.
type ReconcileResult struct {
	Opened, Updated, Reopened, Closed int
	// Merged counts open conflicts nobody had acted on that were dropped because a
	// conflict found now covers them.
	Merged int
}

// chunk is how many ids go into one IN list.
const chunk = 500

// ReconcileConflicts stores what a detection over the reservations in scope found:
// each conflict is kept once per cause (a new cause opens one, a known cause gets fresh
// evidence and suggestion, a resolved one whose cause came back opens again, a dismissed
// one stays dismissed), and every open conflict concerning a reservation in scope whose
// cause was not found again closes itself as resolved. An open conflict of a superseded
// cause that nobody acted on is dropped (the conflict that covers it is the one to
// decide).
func (s *Store) ReconcileConflicts(ctx context.Context, scope []string, found []Conflict, superseded []string) (ReconcileResult, error) {
	now := s.stamp()
	var res ReconcileResult
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res = ReconcileResult{} // counted again when a deadlock makes this run again
		byCause := map[string]*Conflict{}
		var causes []string
		for i := range found {
			if _, dup := byCause[found[i].Cause]; dup {
				continue
			}
			byCause[found[i].Cause] = &found[i]
			causes = append(causes, found[i].Cause)
		}
		existing := map[string]Conflict{}
		for start := 0; start < len(causes); start += chunk {
			var rows []Conflict
			if err := tx.Where("cause IN ?", causes[start:min(start+chunk, len(causes))]).Find(&rows).Error; err != nil {
				return err
			}
			for _, c := range rows {
				existing[c.Cause] = c
			}
		}
		for _, cause := range causes {
			f := byCause[cause]
			normalizeConflict(f)
			old, ok := existing[cause]
			if !ok {
				f.ID, f.Status, f.DetectedAt, f.UpdatedAt = NewID(), ConflictOpen, now, now
				if err := tx.Create(f).Error; err != nil {
					return err
				}
				for _, side := range f.Sides {
					if err := tx.Create(&ConflictMember{ConflictID: f.ID, ReservationID: side.ReservationID}).Error; err != nil {
						return err
					}
				}
				if err := s.queueConflictNotices(tx, *f, f.ID, now); err != nil {
					return err
				}
				res.Opened++
				continue
			}
			upd := map[string]any{"office_id": f.OfficeID, "room_id": f.RoomID, "starts_at": f.Start, "ends_at": f.End,
				"rule": f.Rule, "rule_args": f.RuleArgs, "sides": f.Sides, "suggest_action": f.SuggestAction, "suggest_keep": f.SuggestKeep}
			if old.Status == ConflictResolved {
				upd["status"], upd["closed_at"] = ConflictOpen, nil
				upd["resolution"], upd["resolution_arg"], upd["outcome"], upd["resolved_by"] = "", "", "", ""
				if err := s.queueConflictNotices(tx, *f, old.ID+"@"+now.Format(time.RFC3339Nano), now); err != nil {
					return err
				}
				res.Reopened++
			} else if sameEvidence(old, *f) {
				continue
			} else {
				res.Updated++
			}
			upd["updated_at"] = now
			if err := tx.Model(&Conflict{}).Where("id = ?", old.ID).Updates(upd).Error; err != nil {
				return err
			}
		}
		if len(superseded) > 0 {
			var drop []Conflict
			if err := tx.Where("cause IN ? AND status = ? AND resolution = ''", superseded, ConflictOpen).Find(&drop).Error; err != nil {
				return err
			}
			for _, c := range drop {
				if err := tx.Where("conflict_id = ?", c.ID).Delete(&ConflictMember{}).Error; err != nil {
					return err
				}
				if err := tx.Where("id = ?", c.ID).Delete(&Conflict{}).Error; err != nil {
					return err
				}
				res.Merged++
			}
		}
		for start := 0; start < len(scope); start += chunk {
			var open []Conflict
			err := tx.Where("status = ? AND id IN (?)", ConflictOpen,
				tx.Model(&ConflictMember{}).Select("conflict_id").Where("reservation_id IN ?", scope[start:min(start+chunk, len(scope))])).
				Find(&open).Error
			if err != nil {
				return err
			}
			for _, c := range open {
				if _, still := byCause[c.Cause]; still {
					continue
				}
				upd := map[string]any{"status": ConflictResolved, "closed_at": now, "updated_at": now}
				if c.Resolution == "" {
					upd["resolution"] = "gone"
				}
				if c.Outcome == OutcomeRunning {
					upd["outcome"] = OutcomeDone
				}
				if err := tx.Model(&Conflict{}).Where("id = ? AND status = ?", c.ID, ConflictOpen).Updates(upd).Error; err != nil {
					return err
				}
				res.Closed++
			}
		}
		if res == (ReconcileResult{}) {
			return nil
		}
		return s.touch(tx, ScopeConflicts)
	})
	return res, storeErr("reconcile conflicts", err)
}

func normalizeConflict(c *Conflict) {
	c.Start, c.End = c.Start.UTC().Truncate(time.Second), c.End.UTC().Truncate(time.Second)
	for i := range c.Sides {
		sd := &c.Sides[i]
		sd.Start, sd.End, sd.CreatedAt = sd.Start.UTC().Truncate(time.Second), sd.End.UTC().Truncate(time.Second), sd.CreatedAt.UTC().Truncate(time.Second)
	}
	if c.RuleArgs == nil {
		c.RuleArgs = Args{}
	}
}

// sameEvidence reports whether re-detection found nothing new about a stored conflict.
func sameEvidence(old, f Conflict) bool {
	a, _ := old.Sides.Value()
	b, _ := f.Sides.Value()
	ra, _ := old.RuleArgs.Value()
	rb, _ := f.RuleArgs.Value()
	return a == b && ra == rb && old.Rule == f.Rule && old.SuggestAction == f.SuggestAction && old.SuggestKeep == f.SuggestKeep &&
		old.Start.Equal(f.Start) && old.End.Equal(f.End) && old.RoomID == f.RoomID && old.OfficeID == f.OfficeID
}

// ConflictFilter selects conflicts. Zero fields do not filter.
type ConflictFilter struct {
	Status      ConflictStatus
	Kind        ConflictKind
	OfficeID    string
	Reservation string
	Limit       int
}

// Conflicts lists conflicts matching f, soonest first.
func (s *Store) Conflicts(ctx context.Context, f ConflictFilter) ([]Conflict, error) {
	q := s.db.WithContext(ctx).Model(&Conflict{})
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	if f.OfficeID != "" {
		q = q.Where("office_id = ?", f.OfficeID)
	}
	if f.Reservation != "" {
		q = q.Where("id IN (?)", s.db.Model(&ConflictMember{}).Select("conflict_id").Where("reservation_id = ?", f.Reservation))
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var out []Conflict
	err := q.Order("starts_at, id").Find(&out).Error
	return out, storeErr("list conflicts", err)
}

// Conflict returns one conflict, or ErrNotFound.
func (s *Store) Conflict(ctx context.Context, id string) (Conflict, error) {
	var c Conflict
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&c).Error
	return c, storeErr("get conflict "+id, err)
}

// ConflictCount is how many conflicts share a status, kind and office.
type ConflictCount struct {
	Status   ConflictStatus
	Kind     ConflictKind
	OfficeID string
	N        int
}

// ConflictCounts counts conflicts by status, kind and office.
func (s *Store) ConflictCounts(ctx context.Context) ([]ConflictCount, error) {
	var out []ConflictCount
	err := s.db.WithContext(ctx).Model(&Conflict{}).Select("status, kind, office_id, COUNT(*) AS n").
		Group("status, kind, office_id").Scan(&out).Error
	return out, storeErr("count conflicts", err)
}

// OpenConflictsOf returns the open conflicts concerning each of the given reservations.
func (s *Store) OpenConflictsOf(ctx context.Context, ids []string) (map[string][]Conflict, error) {
	out := map[string][]Conflict{}
	for start := 0; start < len(ids); start += chunk {
		var members []ConflictMember
		if err := s.rdb.WithContext(ctx).Where("reservation_id IN ?", ids[start:min(start+chunk, len(ids))]).Find(&members).Error; err != nil {
			return nil, storeErr("list conflict members", err)
		}
		if len(members) == 0 {
			continue
		}
		var cids []string
		for _, m := range members {
			cids = append(cids, m.ConflictID)
		}
		// By id alone: with the status in the query, SQLite may walk every open conflict
		// through the status index instead of looking up these few.
		var cs []Conflict
		if err := s.rdb.WithContext(ctx).Where("id IN ?", cids).Find(&cs).Error; err != nil {
			return nil, storeErr("list open conflicts", err)
		}
		byID := map[string]Conflict{}
		for _, c := range cs {
			if c.Status == ConflictOpen {
				byID[c.ID] = c
			}
		}
		for _, m := range members {
			if c, ok := byID[m.ConflictID]; ok {
				out[m.ReservationID] = append(out[m.ReservationID], c)
			}
		}
	}
	return out, nil
}

// Resolving is an admin's resolution of a conflict, applied by ResolveConflict.
type Resolving struct {
	Action string
	// Arg is the reservation kept, moved or migrated.
	Arg  string
	By   string
	Note string
	// Changes are applied to reservations (by id) in the same transaction: each may
	// enqueue the backend writes that carry the resolution out.
	Changes map[string]Change
	// Done marks a resolution that needs no backend write (dismiss): the conflict
	// closes at once.
	Done bool
}

// ResolveConflict records an admin's resolution and applies its reservation changes
// and jobs in one transaction. A dismissal closes the conflict as dismissed; any other
// resolution leaves it open with outcome "running" until detection sees its cause gone
// (or FinishResolution records a failure). Errors: ErrNotFound, ErrConflict
// ("conflict_closed") for a conflict that is no longer open, or whatever a Change
// returned.
func (s *Store) ResolveConflict(ctx context.Context, id string, r Resolving) (Conflict, error) {
	now := s.stamp()
	var out Conflict
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		var c Conflict
		if err := s.forUpdate(tx).Where("id = ?", id).Take(&c).Error; err != nil {
			return err
		}
		if c.Status != ConflictOpen {
			return &Error{Kind: ErrConflict, Code: "conflict_closed"}
		}
		for _, rid := range sortedKeys(r.Changes) {
			if _, err := s.applyChange(tx, rid, r.Changes[rid], now); err != nil {
				return err
			}
		}
		upd := map[string]any{"resolution": r.Action, "resolution_arg": r.Arg, "resolved_by": r.By, "note": r.Note,
			"error_code": "", "error_detail": "", "updated_at": now, "outcome": OutcomeRunning}
		if r.Done {
			upd["outcome"], upd["status"], upd["closed_at"] = OutcomeDone, ConflictDismissed, now
		}
		if err := tx.Model(&Conflict{}).Where("id = ?", id).Updates(upd).Error; err != nil {
			return err
		}
		if err := s.touch(tx, ScopeConflicts); err != nil {
			return err
		}
		return tx.Where("id = ?", id).Take(&out).Error
	})
	return out, storeErr("resolve conflict "+id, err)
}

func sortedKeys(m map[string]Change) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sortStrings(ks)
	return ks
}

// FinishResolution records how carrying out a conflict's resolution is going: outcome
// OutcomeFailed keeps (or puts) the conflict open with the error code and the backend's
// answer, so an admin can retry; OutcomeRunning with a code notes a write that will be
// retried, and without one clears the error. Detection closes the conflict once its
// cause is gone.
func (s *Store) FinishResolution(ctx context.Context, id, outcome, code, detail string) error {
	upd := map[string]any{"updated_at": s.stamp(), "error_code": code, "error_detail": detail}
	if outcome != OutcomeFailed {
		q := s.db.WithContext(ctx).Model(&Conflict{}).Where("id = ? AND status = ?", id, ConflictOpen)
		return storeErr("finish resolution of conflict "+id, q.Updates(upd).Error)
	}
	// A failure may open the conflict again, which its bookings' availability shows.
	upd["outcome"], upd["status"], upd["closed_at"] = OutcomeFailed, ConflictOpen, nil
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Conflict{}).Where("id = ? AND status <> ?", id, ConflictDismissed).Updates(upd)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		return s.touch(tx, ScopeConflicts)
	})
	return storeErr("finish resolution of conflict "+id, err)
}

// ChangedReservations returns the reservations (any status) changed at or after since.
// It reads on the read pool: on SQLite a read of the whole table on the one writer
// connection would hold every booking (and the readiness check) until it ends.
func (s *Store) ChangedReservations(ctx context.Context, since time.Time) ([]Reservation, error) {
	var out []Reservation
	err := s.rdb.WithContext(ctx).Where("updated_at >= ?", since.UTC().Truncate(time.Second)).Find(&out).Error
	return out, storeErr("list changed reservations", err)
}

// detectionBackend and detectionMark name the row of sync_state that holds how far
// conflict detection has looked (not a backend's state: no backend has that name).
const (
	detectionBackend Backend = "conflicts"
	detectionMark            = "swept_through"
)

// DetectionMark is how far conflict detection has looked at the table: every
// reservation whose updated_at is before At was looked at by a sweep whose inputs (the
// routing and the catalog it detected with) have the fingerprint Inputs.
type DetectionMark struct {
	At     time.Time
	Inputs string
}

// DetectionMark returns the recorded mark (the zero mark when no sweep was recorded).
func (s *Store) DetectionMark(ctx context.Context) (DetectionMark, error) {
	v, err := s.State(ctx, detectionBackend, detectionMark)
	if err != nil || v == "" {
		return DetectionMark{}, err
	}
	at, inputs, _ := strings.Cut(v, " ")
	t, perr := time.Parse(time.RFC3339, at)
	if perr != nil {
		return DetectionMark{}, nil // unreadable: as if none was recorded
	}
	return DetectionMark{At: t.UTC(), Inputs: inputs}, nil
}

// SetDetectionMark records m (see DetectionMark).
func (s *Store) SetDetectionMark(ctx context.Context, m DetectionMark) error {
	return s.SetState(ctx, detectionBackend, detectionMark, m.At.UTC().Truncate(time.Second).Format(time.RFC3339)+" "+m.Inputs)
}

// Now is the store's clock as it stamps updated_at (UTC, to the second).
func (s *Store) Now() time.Time { return s.stamp() }

// ReservationsByID returns the reservations with these ids (missing ones are left out).
func (s *Store) ReservationsByID(ctx context.Context, ids []string) ([]Reservation, error) {
	var out []Reservation
	for start := 0; start < len(ids); start += chunk {
		var part []Reservation
		if err := s.rdb.WithContext(ctx).Where("id IN ?", ids[start:min(start+chunk, len(ids))]).Find(&part).Error; err != nil {
			return nil, storeErr("list reservations by id", err)
		}
		out = append(out, part...)
	}
	return out, nil
}

// RoomWindow is a stretch of time in one room.
type RoomWindow struct {
	RoomID   string
	From, To time.Time
}

// MaxSpan bounds how long a reservation may last and still be found by HoldingIn: the
// lower bound on starts_at keeps each lookup of the bookings longer than ShortSpan a
// short range of their own index instead of the room's whole history.
const MaxSpan = 7 * 24 * time.Hour

// HoldingIn returns the reservations holding their room that overlap any of the
// windows (those lasting longer than MaxSpan are not looked for). Like the overlap check
// of a booking (findHolding), bookings up to ShortSpan long are looked for by start
// times from ShortSpan before a window and longer ones through their own index, so a
// lookup reads the bookings near the window, not the week of bookings before it.
func (s *Store) HoldingIn(ctx context.Context, windows []RoomWindow) ([]Reservation, error) {
	seen := map[string]bool{}
	var out []Reservation
	// Windows go to the database in batches, one range of the index each, OR-ed. On
	// MySQL the batches stay small: MariaDB's range optimizer spends time that grows with
	// the square of the OR-ed ranges (100 windows: ~110 ms in one statement of 100
	// ranges, ~15 ms in ten statements of 10), far more than the round trips saved.
	// SQLite plans each OR-ed range on its own and costs a call per statement.
	batch := 100
	if s.dialect == DialectMySQL {
		batch = 10
	}
	for start := 0; start < len(windows); start += batch {
		var (
			short, long         []string
			shortArgs, longArgs []any
		)
		for _, w := range windows[start:min(start+batch, len(windows))] {
			short = append(short, "(room_id = ? AND starts_at >= ? AND starts_at < ? AND ends_at > ?)")
			shortArgs = append(shortArgs, w.RoomID, w.From.Add(-ShortSpan).UTC(), w.To.UTC(), w.From.UTC())
			long = append(long, "(room_id = ? AND starts_at > ? AND starts_at < ? AND ends_at > ?)")
			longArgs = append(longArgs, w.RoomID, w.From.Add(-MaxSpan).UTC(), w.To.UTC(), w.From.UTC())
		}
		half := func(index string, isLong bool, conds []string, cargs []any) (string, []any) {
			return "SELECT * FROM reservations" + s.byIndex(index) + " WHERE long_span = ? AND status IN ? AND (" + strings.Join(conds, " OR ") + ")",
				append([]any{isLong, HoldingStatuses}, cargs...)
		}
		q1, a1 := half("reservations_room_span", false, short, shortArgs)
		q2, a2 := half("reservations_long", true, long, longArgs)
		var part []Reservation
		if err := s.rdb.WithContext(ctx).Raw(q1+" UNION ALL "+q2, append(a1, a2...)...).Scan(&part).Error; err != nil {
			return nil, storeErr("list holding reservations", err)
		}
		for _, r := range part {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// FreeRooms returns the rooms (of office, when set, with at least capacity seats) that
// no reservation of either system holds during [from, to), except the one reservation
// ignore (which is the booking to be moved).
func (s *Store) FreeRooms(ctx context.Context, from, to time.Time, office string, capacity int, ignore string) ([]Room, error) {
	rooms, err := s.Rooms(ctx)
	if err != nil {
		return nil, err
	}
	var busy []string
	q := s.db.WithContext(ctx).Model(&Reservation{}).Distinct("room_id").
		Where("status IN ? AND starts_at < ? AND ends_at > ?", HoldingStatuses, to.UTC(), from.UTC())
	if ignore != "" {
		q = q.Where("id <> ?", ignore)
	}
	if err := q.Pluck("room_id", &busy).Error; err != nil {
		return nil, storeErr("list busy rooms", err)
	}
	taken := map[string]bool{}
	for _, id := range busy {
		taken[id] = true
	}
	var out []Room
	for _, r := range rooms {
		if taken[r.ID] || (office != "" && r.OfficeID != office) || r.Capacity < capacity {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// AuditFilter selects audit entries. Zero fields do not filter.
type AuditFilter struct {
	Actor, Action, Reservation string
	Limit                      int
}

// AuditLog lists audit entries matching f, newest first.
func (s *Store) AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	q := s.db.WithContext(ctx).Model(&AuditEntry{})
	if f.Actor != "" {
		q = q.Where("actor = ?", f.Actor)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.Reservation != "" {
		q = q.Where("reservation_id = ?", f.Reservation)
	}
	if f.Limit <= 0 {
		f.Limit = 200
	}
	var out []AuditEntry
	err := q.Order("at DESC, reservation_id, seq DESC").Limit(f.Limit).Find(&out).Error
	return out, storeErr("list audit log", err)
}

// FailedJobs lists the outbox jobs that gave up, newest first.
func (s *Store) FailedJobs(ctx context.Context, limit int) ([]Job, error) {
	if limit <= 0 {
		limit = 200
	}
	var out []Job
	err := s.db.WithContext(ctx).Where("state = ?", JobFailed).Order("updated_at DESC, id").Limit(limit).Find(&out).Error
	return out, storeErr("list failed jobs", err)
}

// RetryJob puts a job that gave up back in the queue, due now, and audits who asked.
// Errors: ErrNotFound, ErrConflict ("job_not_failed") for a job that has not given up.
func (s *Store) RetryJob(ctx context.Context, id, by string) (Job, error) {
	now := s.stamp()
	var j Job
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if err := s.forUpdate(tx).Where("id = ?", id).Take(&j).Error; err != nil {
			return err
		}
		if j.State != JobFailed {
			return &Error{Kind: ErrConflict, Code: "job_not_failed"}
		}
		j.State, j.NextAttemptAt, j.LockedUntil, j.UpdatedAt = JobPending, now, nil, now
		if err := tx.Model(&Job{}).Where("id = ?", id).Updates(map[string]any{"state": JobPending, "next_attempt_at": now, "locked_until": nil, "updated_at": now}).Error; err != nil {
			return err
		}
		return s.insertAudit(tx, &AuditEntry{Actor: by, Action: "retry_job", ReservationID: j.ReservationID,
			Detail: fmt.Sprintf("job=%s kind=%s backend=%s", j.ID, j.Kind, j.Backend)}, now)
	})
	return j, storeErr("retry job "+id, err)
}

// queueConflictNotices queues, when conflict notifications are on, one notification per
// side of c booked through roombridge; key names this opening of the conflict, so
// detecting the same open conflict again queues nothing.
func (s *Store) queueConflictNotices(tx *gorm.DB, c Conflict, key string, now time.Time) error {
	if !s.notifyConflicts {
		return nil
	}
	for _, side := range c.Sides {
		if side.Origin != OriginBridge || side.ReservationID == "" {
			continue
		}
		if err := insertNotify(tx, NotifyJob(side.ReservationID, NoticeConflict, key), now); err != nil {
			return err
		}
	}
	return nil
}
