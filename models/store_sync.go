package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ApplyOptions tune one ApplySync call.
type ApplyOptions struct {
	// From and To bound the window the backend was read over: reservations starting in
	// [From, To) that the backend no longer reports are cancelled.
	From, To time.Time
	// Rooms are the rooms that were read; reservations in other rooms are left alone.
	Rooms []string
	// Force cancels even when the backend suddenly reports nothing at all.
	Force bool
	// ReadAt is when the backend was read. A reservation changed at or after it (booked
	// or moved through the bridge while the pass ran) is left alone: the answer predates
	// it. Zero means no such protection.
	ReadAt time.Time
	// Before are the backend's reservations written in ReadAt's second before the backend
	// was read (Store.WrittenIn). With it, a native reservation written in that second
	// and not among them, as it was, is left alone too: it was written while the backend
	// was read (by a Stream event), and the answer may predate it. Nil: a native
	// reservation written in ReadAt's second counts as older than the answer.
	Before WriteMarks
	// GuardMin is how many reservations must be at stake before an empty answer is
	// distrusted (default 2: one booking cancelled natively is an ordinary event, every
	// booking vanishing at once is more likely an outage).
	GuardMin int
}

// ApplyResult counts what ApplySync changed.
type ApplyResult struct {
	Seen, Created, Updated, Cancelled int
	// Guarded is the number of reservations left alone because the backend returned
	// nothing for rooms that had reservations (see ApplyOptions.Force).
	Guarded int
	// Deferred counts listings not imported because they match a bridge booking whose
	// write is still waiting for its outcome, or are the old booking of a reservation
	// that moved and whose release is still to run (see releasing).
	Deferred int
	// Held are the remote ids of the Deferred listings. A pass that reads only what
	// changed offers them again (ChangeSet.Again) until their outcome is known: the
	// backend reports them no more unless they change.
	Held []string
	// ReleaseFailed counts the listings imported although a job was to release them: it
	// gave up, so the backend still holds the booking (say, the old booking of a
	// conflict's side that moved, which the backend refused to cancel). The reservation
	// that moved away keeps its UID; the imported one gets one of its own.
	ReleaseFailed int
	// Skipped are the listings the pass could not write, each with why; the rest of the
	// pass applies.
	Skipped []RowError
}

// RowError is a backend booking a sync pass left out because writing its row failed.
type RowError struct {
	RemoteID string
	Err      error
}

// ApplySync makes the reservations of backend b match what it reported: new remote
// bookings become native reservations with a deterministic UID, changed ones are
// updated (SEQUENCE rises), and ones gone from the backend are cancelled. Bridge-made
// reservations are matched by remote id, so nothing is imported twice; a bridge
// reservation still pending (no remote id yet) is never touched.
//
// The backend's rows in the window are compared with the answer first, on the read
// pool and without locks: most listings match their rows, and a pass over a large table
// would otherwise hold the writer (all of it, on SQLite) while it reads every row. Only
// the rows the pass may change are then read again, locked, in its transaction, and
// judged as they stand there.
func (s *Store) ApplySync(ctx context.Context, b Backend, remotes []Remote, o ApplyOptions) (ApplyResult, error) {
	now := s.stamp()
	res := ApplyResult{Seen: len(remotes)}
	mark := readMark{at: o.ReadAt, before: o.Before}
	var existing []Reservation
	q := s.rdb.WithContext(ctx).Where("backend = ? AND remote_id IS NOT NULL AND starts_at < ? AND ends_at > ?", b, o.To.UTC(), o.From.UTC())
	if len(o.Rooms) > 0 {
		q = q.Where("room_id IN ?", o.Rooms)
	}
	if err := q.Find(&existing).Error; err != nil {
		return res, storeErr(fmt.Sprintf("apply %s sync", b), err)
	}
	byRemote := make(map[string]*Reservation, len(existing))
	for i := range existing {
		byRemote[existing[i].Remote()] = &existing[i]
	}
	// The listings that may change the table (new, or differing from their row), and the
	// rows to read again locked: theirs and those of rows no listing names. A row left
	// out matches its listing, or changed after the read (newer, which the pass keeps);
	// a row that changes after this read changes after the backend's read too.
	var (
		apply []Remote
		lock  []string
	)
	seen := map[string]bool{}
	for _, rm := range remotes {
		if rm.RemoteID == "" || seen[rm.RemoteID] {
			continue
		}
		seen[rm.RemoteID] = true
		if r := byRemote[rm.RemoteID]; r != nil {
			cp := *r
			if mark.newer(&cp) || !syncChanges(&cp, rm) {
				continue
			}
			lock = append(lock, r.ID)
		}
		apply = append(apply, rm)
	}
	inRooms := map[string]bool{}
	for _, id := range o.Rooms {
		inRooms[id] = true
	}
	// goneNow reports whether r, as it stands, is to be cancelled for missing from the
	// answer. A meeting that is already over is never cancelled for missing from an
	// answer: backends list history unreliably (a day list may start today), and a past
	// meeting turning "cancelled" in every calendar helps nobody.
	goneNow := func(r *Reservation) bool {
		over := !o.ReadAt.IsZero() && !r.End.After(o.ReadAt)
		return r.Backend == b && r.Remote() != "" && !seen[r.Remote()] && r.Status.Holds() && !r.Start.Before(o.From) && r.Start.Before(o.To) &&
			(len(o.Rooms) == 0 || inRooms[r.RoomID]) && !mark.newer(r) && !over
	}
	var goneIDs []string
	for i := range existing {
		if r := &existing[i]; goneNow(r) {
			goneIDs = append(goneIDs, r.ID)
			lock = append(lock, r.ID)
		}
	}
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res = ApplyResult{Seen: len(remotes)}
		// The rows are read again locked: a cancel or move committed since the read above
		// (or while the backend was read) is then seen and kept (see fresh) instead of
		// being overwritten by this pass.
		current := make(map[string]*Reservation, len(lock))
		for start := 0; start < len(lock); start += chunk {
			var part []Reservation
			if err := s.forUpdate(tx).Where("id IN ?", lock[start:min(start+chunk, len(lock))]).Find(&part).Error; err != nil {
				return err
			}
			for i := range part {
				current[part[i].ID] = &part[i]
			}
		}
		touched := map[string]bool{} // rooms whose feeds change
		// Bridge bookings whose backend write has no recorded answer yet (in flight, or its
		// answer was lost): the backend may already list them under an id the bridge does
		// not know. Such a listing is not imported; once the write's outcome is recorded
		// the next pass matches it by id (or imports it, if the write was refused).
		var unsent []Reservation
		uq := tx.Where("backend = ? AND remote_id IS NULL AND origin = ? AND status = ? AND starts_at < ? AND ends_at > ?",
			b, OriginBridge, StatusPending, o.To.UTC(), o.From.UTC())
		if err := uq.Find(&unsent).Error; err != nil {
			return err
		}
		inFlight := map[string]bool{}
		for _, u := range unsent {
			inFlight[slotKey(u.RoomID, u.Start, u.End)] = true
		}
		var added []Reservation
		for _, rm := range apply {
			var r *Reservation // nil: applyOne looks it up by remote id
			if old := byRemote[rm.RemoteID]; old != nil {
				if cur := current[old.ID]; cur != nil && cur.Backend == b && cur.Remote() == rm.RemoteID {
					r = cur
				}
			}
			n, err := s.applyOne(tx, b, rm, r, inFlight, mark, now, touched, &res)
			if err != nil {
				return err
			}
			if n != nil {
				added = append(added, *n)
			}
		}
		if err := s.importNative(tx, b, added, nil, touched, &res); err != nil {
			return err
		}
		var gone []*Reservation
		for _, id := range goneIDs {
			if r := current[id]; r != nil && goneNow(r) {
				gone = append(gone, r)
			}
		}
		guardMin := o.GuardMin
		if guardMin <= 0 {
			guardMin = 2
		}
		if len(remotes) == 0 && len(gone) >= guardMin && !o.Force {
			res.Guarded = len(gone)
			return s.touchRooms(tx, setKeys(touched)...)
		}
		for _, r := range gone {
			if err := cancelSynced(tx, r, now); err != nil {
				return err
			}
			touched[r.RoomID] = true
			res.Cancelled++
		}
		return s.touchRooms(tx, setKeys(touched)...)
	})
	return res, storeErr(fmt.Sprintf("apply %s sync", b), err)
}

func slotKey(room string, start, end time.Time) string {
	return room + "|" + start.UTC().Truncate(time.Second).Format(time.RFC3339) + "|" + end.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// setKeys returns the keys of a set.
func setKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// applyOne brings one listing into the table: r is its reservation when already known
// (nil: looked up by remote id here, locked). A listing no reservation holds comes back
// as the native reservation it would become (n), for the caller to hand to importNative
// with the others; otherwise applyOne counts what it did in res (a row it could not
// write among res.Skipped) and adds the rooms it changed to touched.
func (s *Store) applyOne(tx *gorm.DB, b Backend, rm Remote, r *Reservation, inFlight map[string]bool, mark readMark, now time.Time, touched map[string]bool, res *ApplyResult) (n *Reservation, err error) {
	if r == nil {
		var found Reservation
		if err := s.forUpdate(tx).Where("backend = ? AND remote_id = ?", b, rm.RemoteID).Limit(1).Find(&found).Error; err != nil {
			return nil, err
		}
		if found.ID != "" {
			r = &found
		}
	}
	if r == nil && inFlight[slotKey(rm.RoomID, rm.Start, rm.End)] {
		res.Deferred++
		res.Held = append(res.Held, rm.RemoteID)
		return nil, nil
	}
	if r == nil {
		native := newNative(b, rm, now)
		return &native, nil
	}
	oldRoom := r.RoomID
	if mark.newer(r) || !syncChanges(r, rm) {
		return nil, nil
	}
	r.Sequence++
	r.UpdatedAt = now
	r.normalize()
	if err := tx.Save(r).Error; err != nil {
		if !rowError(err) {
			return nil, err
		}
		// A failed statement leaves the transaction as it was on both databases.
		res.Skipped = append(res.Skipped, RowError{RemoteID: rm.RemoteID, Err: err})
		return nil, nil
	}
	touched[oldRoom], touched[r.RoomID] = true, true
	res.Updated++
	return nil, nil
}

// importNative inserts added, the backend bookings of b no reservation holds (looked up
// by remote id, locked, in tx before), as native reservations, except those a pending
// release still names (see releases), which it counts in res as Deferred and Held. again
// are the remote ids among them that an earlier pass left alone and the backend has not
// reported since (ChangeSet.Again): one of them whose release ran is gone from the
// backend and is dropped. A booking whose release gave up is imported (counted as
// ReleaseFailed); a row that cannot be written is left out (res.Skipped) and the others
// are inserted. It adds the rooms it changed to touched.
func (s *Store) importNative(tx *gorm.DB, b Backend, added []Reservation, again map[string]bool, touched map[string]bool, res *ApplyResult) error {
	if len(added) == 0 {
		return nil
	}
	ids := make([]string, len(added))
	for i := range added {
		ids[i] = added[i].Remote()
	}
	rel, err := s.releases(tx, b, ids)
	if err != nil {
		return err
	}
	keep := added[:0:0]
	failed := map[string]bool{}
	for _, n := range added {
		switch st := rel[n.Remote()]; {
		case st.State == JobPending:
			res.Deferred++
			res.Held = append(res.Held, n.Remote())
		case again[n.Remote()] && st.State == JobDone:
			// Released since it was read: gone from the backend.
		default:
			failed[n.Remote()] = st.State == JobFailed
			keep = append(keep, n)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	inserted, skipped, err := s.insertNatives(tx, b, keep)
	if err != nil {
		return err
	}
	for _, n := range inserted {
		touched[n.RoomID] = true
		res.Created++
		if failed[n.Remote()] {
			res.ReleaseFailed++
		}
	}
	res.Skipped = append(res.Skipped, skipped...)
	return nil
}

// nativeBatch is how many native reservations one insert writes.
const nativeBatch = 50

// insertNatives inserts rows, new native reservations of backend b, in batches, and
// returns those inserted and those it could not write. A batch that fails on a row (a
// key already taken, a value the column refuses) is written again row by row, so one
// bad row does not keep the others out; a failed statement leaves the transaction as it
// was on both databases. A row whose native UID another reservation holds gets a UID of
// its own (nativeUIDBeside): that reservation came from this very booking and moved away
// keeping its UID (a conflict's move or a migration), and its release did not happen.
func (s *Store) insertNatives(tx *gorm.DB, b Backend, rows []Reservation) (inserted []Reservation, skipped []RowError, err error) {
	for start := 0; start < len(rows); start += nativeBatch {
		batch := rows[start:min(start+nativeBatch, len(rows))]
		err := tx.Create(&batch).Error
		if err == nil {
			inserted = append(inserted, batch...)
			continue
		}
		if !rowError(err) {
			return nil, nil, err
		}
		for _, n := range batch {
			err := tx.Create(&n).Error
			if err != nil && isDuplicate(err) {
				var holder Reservation
				if ferr := tx.Select("id").Where("uid = ?", n.UID).Limit(1).Find(&holder).Error; ferr != nil {
					return nil, nil, ferr
				}
				if holder.ID != "" {
					n.UID = nativeUIDBeside(b, n.Remote(), holder.ID)
					err = tx.Create(&n).Error
				}
			}
			switch {
			case err == nil:
				inserted = append(inserted, n)
			case rowError(err):
				skipped = append(skipped, RowError{RemoteID: n.Remote(), Err: err})
			default:
				return nil, nil, err
			}
		}
	}
	return inserted, skipped, nil
}

// Release is where the release of one backend booking stands: the latest job releasing
// it (a pending one first), its state and, for one that gave up, why.
type Release struct {
	Job   string
	Kind  JobKind
	State JobState
	Error string
}

// releaseRow is a job naming a backend id, as releases reads it.
type releaseRow struct {
	JobID     string
	RemoteID  string
	Kind      JobKind
	State     JobState
	LastError string
	CreatedAt time.Time
}

// releases returns, for those of ids (backend ids of b) that a job releases, where the
// release stands (see Release): a pending job first, else the latest that ran (a job
// dropped because its reservation took the id back released nothing and does not
// count). Cancel jobs carry the id they release in outbox_jobs.remote_id, series jobs in
// outbox_releases; both are read in one statement.
//
// When a reservation moves (a reschedule, a conflict's move or migration, an occurrence
// of a series moved alone or with its series) it lets go of its backend id at once, and
// a job releases the old booking, usually after the new one is made, which may take long
// while the new slot's backend is down. Until then the backend still lists the old
// booking, which is the moving reservation's and not a booking of someone else: a sync
// pass does not import it. Once released it is gone from the backend; put back instead
// (the new slot refused), the reservation takes its id again and the job is dropped. A
// release that gave up leaves the booking in the backend, holding its room: a pass
// imports it. The jobs are read locked where the database locks (MySQL: a locking read
// sees what is committed, not the transaction's snapshot), after the reservations were
// looked up by these ids, locked too: a move committed before that look-up is seen here
// with its release, one in progress made the look-up wait for it, and one that starts
// later waits for this transaction (the look-up found and locked the reservation).
func (s *Store) releases(tx *gorm.DB, b Backend, ids []string) (map[string]Release, error) {
	out := map[string]Release{}
	at := map[string]time.Time{}
	direct := "SELECT id AS job_id, remote_id, kind, state, last_error, created_at FROM outbox_jobs WHERE backend = ? AND remote_id IN ?"
	listed := "SELECT j.id AS job_id, r.remote_id, j.kind, j.state, j.last_error, j.created_at FROM outbox_releases r JOIN outbox_jobs j ON j.id = r.job_id WHERE r.backend = ? AND r.remote_id IN ?"
	q := direct + " UNION ALL " + listed
	if s.dialect == DialectMySQL {
		q = "(" + direct + " FOR UPDATE) UNION ALL (" + listed + " FOR UPDATE)"
	}
	for start := 0; start < len(ids); start += chunk {
		// Kind and state are judged here, not in the query: a condition on state would
		// let the planner pick outbox_due and read every pending job; a backend id has
		// a job or two.
		part := ids[start:min(start+chunk, len(ids))]
		var rows []releaseRow
		if err := tx.Raw(q, b, part, b, part).Scan(&rows).Error; err != nil {
			return nil, err
		}
		for _, j := range rows {
			if j.Kind != JobCancel && !j.Kind.SeriesJob() || j.State == JobDone && j.LastError == JobDroppedError {
				continue
			}
			cur, seen := out[j.RemoteID]
			switch {
			case seen && cur.State == JobPending:
				continue
			case seen && j.State != JobPending && j.CreatedAt.Before(at[j.RemoteID]):
				continue
			case seen && j.State == JobDone && j.CreatedAt.Equal(at[j.RemoteID]):
				// Queued together (a series' cut and prune both name what moves): the one
				// that gave up says the booking stayed.
				continue
			}
			out[j.RemoteID] = Release{Job: j.JobID, Kind: j.Kind, State: j.State, Error: j.LastError}
			at[j.RemoteID] = j.CreatedAt
		}
	}
	return out, nil
}

// ReleasesOf returns where the release of each of ids, backend ids of b, stands, for
// those a job releases (roombridge verify): the jobs naming the id (see releases), and,
// for an id that rows, reservations of b, hold while no longer holding a room
// (cancelled), the cancel jobs of that reservation and the release jobs of its series.
// Errors: ErrUnavailable.
func (s *Store) ReleasesOf(ctx context.Context, b Backend, ids []string, rows []Reservation) (map[string]Release, error) {
	out := map[string]Release{}
	if len(ids) == 0 {
		return out, nil
	}
	db := s.rdb.WithContext(ctx)
	out, err := s.releases(db, b, ids)
	if err != nil {
		return nil, storeErr("read the releases of backend bookings", err)
	}
	asked := map[string]bool{}
	for _, id := range ids {
		asked[id] = true
	}
	byQueue := map[string][]string{} // job queue (reservation or series id) → remote ids
	var queues []string
	for _, r := range rows {
		if r.Backend != b || r.Remote() == "" || r.Status.Holds() || !asked[r.Remote()] || out[r.Remote()].State == JobPending {
			continue
		}
		for _, q := range []string{r.ID, r.Series()} {
			if q == "" {
				continue
			}
			if byQueue[q] == nil {
				queues = append(queues, q)
			}
			byQueue[q] = append(byQueue[q], r.Remote())
		}
	}
	for start := 0; start < len(queues); start += chunk {
		var jobs []Job
		err := db.Select("id", "reservation_id", "kind", "state", "last_error", "created_at").
			Where("reservation_id IN ? AND backend = ?", queues[start:min(start+chunk, len(queues))], b).Order("created_at, seq").Find(&jobs).Error
		if err != nil {
			return nil, storeErr("read the releases of backend bookings", err)
		}
		for _, j := range jobs {
			if j.Kind != JobCancel && j.Kind != JobSeriesCancel && j.Kind != JobSeriesExclude && j.Kind != JobSeriesPrune ||
				j.State == JobDone && j.LastError == JobDroppedError {
				continue
			}
			for _, id := range byQueue[j.ReservationID] {
				if out[id].State != JobPending {
					out[id] = Release{Job: j.ID, Kind: j.Kind, State: j.State, Error: j.LastError}
				}
			}
		}
	}
	return out, nil
}

// newNative is the reservation a backend booking the bridge does not know becomes.
func newNative(b Backend, rm Remote, now time.Time) Reservation {
	remote := rm.RemoteID
	n := Reservation{ID: NewID(), UID: NativeUID(b, remote), RoomID: rm.RoomID, Start: rm.Start, End: rm.End,
		Title: rm.Title, OrganizerID: rm.OrganizerID, OrganizerName: rm.OrganizerName, OrganizerRef: rm.OrganizerRef,
		Backend: b, RemoteID: &remote, Origin: OriginNative, Status: rm.Status, CreatedAt: now, UpdatedAt: now}
	n.normalize()
	return n
}

// ApplyRemote brings one backend booking up to date outside a full pass (on an event
// from the backend): a new one is imported, a changed one updated. Nothing else is
// touched. readAt is when the backend was read (see ApplyOptions.ReadAt).
func (s *Store) ApplyRemote(ctx context.Context, b Backend, rm Remote, readAt time.Time) (ApplyResult, error) {
	now := s.stamp()
	res := ApplyResult{Seen: 1}
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		var unsent int64
		if err := tx.Model(&Reservation{}).Where("backend = ? AND remote_id IS NULL AND origin = ? AND status = ? AND room_id = ? AND starts_at = ? AND ends_at = ?",
			b, OriginBridge, StatusPending, rm.RoomID, rm.Start.UTC().Truncate(time.Second), rm.End.UTC().Truncate(time.Second)).Count(&unsent).Error; err != nil {
			return err
		}
		inFlight := map[string]bool{slotKey(rm.RoomID, rm.Start, rm.End): unsent > 0}
		touched := map[string]bool{}
		res = ApplyResult{Seen: 1}
		n, err := s.applyOne(tx, b, rm, nil, inFlight, readMark{at: readAt}, now, touched, &res)
		if err != nil {
			return err
		}
		if n != nil {
			if err := s.importNative(tx, b, []Reservation{*n}, nil, touched, &res); err != nil {
				return err
			}
		}
		return s.touchRooms(tx, setKeys(touched)...)
	})
	if err == nil && len(res.Skipped) > 0 {
		err = res.Skipped[0].Err
	}
	return res, storeErr(fmt.Sprintf("apply %s booking %s", b, rm.RemoteID), err)
}

// CancelRemote records that backend b no longer holds remoteID: its reservation, if it
// holds its room and was not changed by the bridge at or after readAt, is cancelled and
// its SEQUENCE rises. It reports whether anything changed.
func (s *Store) CancelRemote(ctx context.Context, b Backend, remoteID string, readAt time.Time) (bool, error) {
	now := s.stamp()
	changed := false
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		var r Reservation
		if err := s.forUpdate(tx).Where("backend = ? AND remote_id = ?", b, remoteID).Limit(1).Find(&r).Error; err != nil {
			return err
		}
		if r.ID == "" || !r.Status.Holds() || fresh(&r, readAt) {
			return nil
		}
		changed = true
		if err := cancelSynced(tx, &r, now); err != nil {
			return err
		}
		return s.touchRooms(tx, r.RoomID)
	})
	return changed, storeErr(fmt.Sprintf("cancel %s booking %s", b, remoteID), err)
}

// cancelSynced records that r's backend no longer holds it: cancelled, SEQUENCE up.
func cancelSynced(tx *gorm.DB, r *Reservation, now time.Time) error {
	r.Status = StatusCancelled
	r.Sequence++
	r.UpdatedAt = now
	r.normalize()
	return tx.Save(r).Error
}

// WriteMarks are the reservations of one backend written in one second, each with what
// it then was (its SEQUENCE and status); see Store.WrittenIn.
type WriteMarks map[string]string

// writeMark is what WriteMarks keep of r.
func writeMark(r *Reservation) string { return fmt.Sprintf("%d|%s", r.Sequence, r.Status) }

// WrittenIn returns the reservations of backend b written in at's second so far. A sync
// pass takes it just before reading the backend and hands it to ApplySync or
// ApplyChanges (ApplyOptions.Before), which can then tell a write in that second before
// the read from one during it. Errors: ErrUnavailable.
func (s *Store) WrittenIn(ctx context.Context, b Backend, at time.Time) (WriteMarks, error) {
	var rows []Reservation
	err := s.db.WithContext(ctx).Select("id", "sequence", "status").
		Where("updated_at >= ? AND backend = ?", at.UTC().Truncate(time.Second), b).Find(&rows).Error
	if err != nil {
		return nil, storeErr("read reservations written just now", err)
	}
	out := make(WriteMarks, len(rows))
	for i := range rows {
		out[rows[i].ID] = writeMark(&rows[i])
	}
	return out, nil
}

// readMark is what a backend answer is checked against before it changes a row: when
// the backend was read, and what was written in that second before the read.
type readMark struct {
	at     time.Time
	before WriteMarks
}

// newer reports whether r may hold something newer than the answer: it changed after
// the read (see fresh), or, native, in the read's second but not before the read began.
func (m readMark) newer(r *Reservation) bool {
	if fresh(r, m.at) {
		return true
	}
	if m.before == nil || m.at.IsZero() || r.Origin == OriginBridge {
		return false
	}
	return r.UpdatedAt.Equal(m.at.UTC().Truncate(time.Second)) && m.before[r.ID] != writeMark(r)
}

// fresh reports whether r changed after readAt, so that a backend answer read at readAt
// may be older than what the row holds. Times are compared in whole seconds, as stored.
// A bridge-made row counts as fresh from the very second of the read (the bridge changes
// it without the backend's answer in hand); a native row changes only from backend data
// (sync passes and events), so only a change in a later second is newer than the read.
func fresh(r *Reservation, readAt time.Time) bool {
	if readAt.IsZero() {
		return false
	}
	at := readAt.UTC().Truncate(time.Second)
	if r.Origin == OriginBridge {
		return !r.UpdatedAt.Before(at)
	}
	return r.UpdatedAt.After(at)
}

// syncChanges copies what the backend says onto r and reports whether anything changed.
// A bridge-made reservation keeps its own title (backends add markers and prefixes).
func syncChanges(r *Reservation, rm Remote) bool {
	changed := false
	if !r.Start.Equal(rm.Start.UTC().Truncate(time.Second)) || !r.End.Equal(rm.End.UTC().Truncate(time.Second)) {
		r.Start, r.End = rm.Start, rm.End
		changed = true
	}
	if rm.RoomID != "" && r.RoomID != rm.RoomID {
		r.RoomID = rm.RoomID
		changed = true
	}
	if r.Origin == OriginNative && rm.Title != "" && r.Title != rm.Title {
		r.Title = rm.Title
		changed = true
	}
	if r.Origin == OriginNative && rm.OrganizerName != "" && r.OrganizerName != rm.OrganizerName {
		r.OrganizerName = rm.OrganizerName
		changed = true
	}
	// A native booking belongs to whoever the backend names once the catalog maps them.
	if r.Origin == OriginNative && rm.OrganizerID != "" && r.OrganizerID != rm.OrganizerID {
		r.OrganizerID = rm.OrganizerID
		changed = true
	}
	if r.Origin == OriginNative && rm.OrganizerRef != "" && r.OrganizerRef != rm.OrganizerRef {
		r.OrganizerRef = rm.OrganizerRef
		changed = true
	}
	want := rm.Status
	if want == "" {
		want = StatusConfirmed
	}
	switch {
	case r.Status == StatusCancelled && r.Origin == OriginNative:
		// It came back (an undone cancellation).
		r.Status = want
		changed = true
	case r.Status.Holds() && r.Status != StatusPending && r.Status != want:
		r.Status = want
		changed = true
	}
	return changed
}

// RecordSyncRun stores a sync pass.
func (s *Store) RecordSyncRun(ctx context.Context, run SyncRun) error {
	if run.ID == "" {
		run.ID = NewID()
	}
	run.StartedAt = run.StartedAt.UTC().Truncate(time.Second)
	run.WindowFrom = run.WindowFrom.UTC().Truncate(time.Second)
	run.WindowTo = run.WindowTo.UTC().Truncate(time.Second)
	return storeErr("record sync run", s.db.WithContext(ctx).Create(&run).Error)
}

// SyncRuns returns the latest limit passes of backend b (all backends if empty), newest
// first.
func (s *Store) SyncRuns(ctx context.Context, b Backend, limit int) ([]SyncRun, error) {
	q := s.rdb.WithContext(ctx).Order("started_at DESC, id DESC").Limit(limit)
	if b != "" {
		q = q.Where("backend = ?", b)
	}
	var out []SyncRun
	return out, storeErr("list sync runs", q.Find(&out).Error)
}

// State returns a named value of backend b ("" when unset).
func (s *Store) State(ctx context.Context, b Backend, name string) (string, error) {
	var st SyncState
	err := s.rdb.WithContext(ctx).Where("backend = ? AND name = ?", b, name).Limit(1).Find(&st).Error
	return st.Value, storeErr("get sync state", err)
}

// SetState stores a named value of backend b.
func (s *Store) SetState(ctx context.Context, b Backend, name, value string) error {
	st := SyncState{Backend: b, Name: name, Value: value, UpdatedAt: s.stamp()}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&st).Error
	return storeErr("set sync state", err)
}

// AddState atomically adds delta to a numeric named value and returns the new total.
func (s *Store) AddState(ctx context.Context, b Backend, name string, delta int) (int, error) {
	var total int
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		// The row exists before it is locked: on MySQL, locking a missing row takes a
		// gap lock, and two processes adding to a new name would deadlock.
		seed := SyncState{Backend: b, Name: name, Value: "0", UpdatedAt: s.stamp()}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&seed).Error; err != nil {
			return err
		}
		var st SyncState
		if err := s.forUpdate(tx).Where("backend = ? AND name = ?", b, name).Limit(1).Find(&st).Error; err != nil {
			return err
		}
		fmt.Sscanf(st.Value, "%d", &total)
		total += delta
		st = SyncState{Backend: b, Name: name, Value: fmt.Sprint(total), UpdatedAt: s.stamp()}
		return tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&st).Error
	})
	return total, storeErr("add sync state", err)
}
