package models

import (
	"context"
	"errors"
	"slices"
	"time"

	"gorm.io/gorm"
)

// ClaimJobs leases up to limit due jobs to owner for lease. Only the first unfinished
// job of each reservation can be claimed (jobs of one reservation run in order), and
// that choice is made in SQL, so however many later jobs are due first, the first ones
// are always found. A job another worker holds is skipped; one whose lease ran out (its
// worker died) is due again. The claim is one conditional UPDATE of the chosen rows, so
// workers in several processes never hold the same job, on any of the databases.
func (s *Store) ClaimJobs(ctx context.Context, owner string, lease time.Duration, limit int) ([]Job, error) {
	now := s.stamp()
	var candidates []Job
	q, args := s.dueJobsQuery(now, limit)
	err := s.db.WithContext(ctx).Raw(q, args...).Scan(&candidates).Error
	if err != nil {
		return nil, storeErr("find due jobs", err)
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	ids := make([]string, len(candidates))
	for i, j := range candidates {
		ids[i] = j.ID
	}
	// One conditional UPDATE claims them all; a job another worker took meanwhile no
	// longer matches and is left out.
	until := now.Add(lease)
	res := s.db.WithContext(ctx).Model(&Job{}).
		Where("id IN ? AND state = ? AND (locked_until IS NULL OR locked_until < ?)", ids, JobPending, now).
		Updates(map[string]any{"locked_until": until, "locked_by": owner, "attempts": gorm.Expr("attempts + 1"), "updated_at": now})
	if res.Error != nil {
		return nil, storeErr("claim jobs", res.Error)
	}
	if int(res.RowsAffected) == len(candidates) {
		for i := range candidates {
			u, o := until, owner
			candidates[i].LockedUntil, candidates[i].LockedBy = &u, &o
			candidates[i].Attempts++
			candidates[i].UpdatedAt = now
		}
		return candidates, nil
	}
	if res.RowsAffected == 0 {
		return nil, nil
	}
	// Some were taken by another worker meanwhile. A chosen job now leased to owner was
	// claimed just now: it was free when chosen, and one instance (owner) claims from
	// one loop.
	var rows []Job
	if err := s.db.WithContext(ctx).Where("id IN ? AND state = ? AND locked_by = ? AND locked_until >= ?", ids, JobPending, owner, now).Find(&rows).Error; err != nil {
		return nil, storeErr("read claimed jobs", err)
	}
	byID := make(map[string]Job, len(rows))
	for _, j := range rows {
		byID[j.ID] = j
	}
	claimed := make([]Job, 0, len(rows))
	for _, id := range ids {
		if j, ok := byID[id]; ok {
			claimed = append(claimed, j)
		}
	}
	return claimed, nil
}

// dueJobsQuery is the statement that chooses up to limit jobs due at now: the first
// unfinished job of each reservation, not leased, oldest due first. It walks the due
// index (state, next_attempt_at) in its own order and stops at limit, so a claim reads
// about as many jobs as it takes however long the backlog is: an order the index does
// not hold (the reservation's seq, say) would make every claim read and sort every due
// job first. The index entries end in the primary key on MySQL and in the rowid on
// SQLite, which is the order among jobs due at the same second.
func (s *Store) dueJobsQuery(now time.Time, limit int) (string, []any) {
	tie := "j.id"
	if s.dialect == DialectSQLite {
		tie = "j.rowid"
	}
	return "SELECT j.* FROM outbox_jobs AS j" + s.byIndex("outbox_due") +
			" WHERE j.state = ? AND j.next_attempt_at <= ? AND (j.locked_until IS NULL OR j.locked_until < ?)" +
			" AND NOT EXISTS (SELECT 1 FROM outbox_jobs o WHERE o.reservation_id = j.reservation_id AND o.state = ? AND o.seq < j.seq)" +
			" ORDER BY j.next_attempt_at, " + tie + " LIMIT ?",
		[]any{JobPending, now, now, JobPending, limit}
}

// RenewJobs extends the lease of owner's running jobs ids to now+lease (the heartbeat of
// a worker that is still busy with them). It returns how many were still owner's.
func (s *Store) RenewJobs(ctx context.Context, owner string, ids []string, lease time.Duration) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	now := s.stamp()
	res := s.db.WithContext(ctx).Model(&Job{}).Where("id IN ? AND state = ? AND locked_by = ?", ids, JobPending, owner).
		Updates(map[string]any{"locked_until": now.Add(lease), "updated_at": now})
	return int(res.RowsAffected), storeErr("renew job leases", res.Error)
}

// ReleaseHandOff lets go of the lease owner took on job id when it stored the job for a
// hand-over that did not start (the booking's transaction failed, or its commit's answer
// was lost though it committed): the job is due again at once, its first attempt not
// counted. A job not stored, or claimed since (by anyone, its attempts counted again),
// is left alone. It reports whether it let go of a lease.
func (s *Store) ReleaseHandOff(ctx context.Context, id, owner string) (bool, error) {
	res := s.db.WithContext(ctx).Model(&Job{}).Where("id = ? AND state = ? AND locked_by = ? AND attempts = 1", id, JobPending, owner).
		Updates(map[string]any{"locked_until": nil, "locked_by": nil, "attempts": 0, "updated_at": s.stamp()})
	return res.RowsAffected > 0, storeErr("release handed-over job", res.Error)
}

// ReleaseOwnedJobs makes every pending job leased to owner due again at once. An
// instance calls it when it starts: whatever it held then was left by its previous
// life (a crash), so nothing needs to wait for those leases to run out. Owner ids must
// therefore be unique among the instances that run at the same time.
func (s *Store) ReleaseOwnedJobs(ctx context.Context, owner string) (int, error) {
	now := s.stamp()
	res := s.db.WithContext(ctx).Model(&Job{}).Where("state = ? AND locked_by = ?", JobPending, owner).
		Updates(map[string]any{"locked_until": nil, "locked_by": nil, "updated_at": now})
	return int(res.RowsAffected), storeErr("release owned jobs", res.Error)
}

// JobDroppedError is the error recorded on a job marked done without running (see
// JobResult.Drop).
const JobDroppedError = "dropped: an earlier step was refused"

// JobResult is the outcome of running one claimed job.
type JobResult struct {
	Job   Job
	State JobState // JobDone, JobFailed, or JobPending to retry at NextAttemptAt
	// NextAttemptAt is when a retried job becomes due again.
	NextAttemptAt time.Time
	Error         string
	// Update changes the job's reservation in the same transaction (may be nil). It
	// returns false to leave the reservation untouched.
	Update func(r *Reservation) bool
	// Drop marks jobs done without running them, if they are still pending: each job id
	// names the reservations the job goes with, and the job is dropped only when Update
	// or SeriesRows changed one of them here. (The release of an old slot is dropped with
	// the put-back that keeps the slot; when the reservation changed meanwhile and is not
	// put back, the release runs.)
	Drop map[string][]string
	// AbsorbImported is set when Update gives the reservation the backend id of a
	// booking just made, or gives it back the id of the booking it held before a move
	// that was refused: if sync imported that very booking (as a native reservation)
	// while the reservation did not carry its id, the imported copy is cancelled and
	// lets go of the id, so the id can move to this reservation. The unique index on the backend
	// id finds such a copy, so the common case costs no look-up.
	AbsorbImported bool
	// SeriesRows changes, in the same transaction, every occurrence held by Job.Backend of
	// the series a series job belongs to (its ReservationID is then the series id); it
	// returns false to leave an occurrence untouched.
	SeriesRows func(r *Reservation) bool
	// SeriesUpdate changes that series itself; false leaves it untouched.
	SeriesUpdate func(s *Series) bool
	// Then enqueues follow-up jobs.
	Then  []Job
	Audit *AuditEntry
}

// FinishJob records a job's outcome and its effect on the reservation atomically.
func (s *Store) FinishJob(ctx context.Context, res JobResult) error {
	_, err := s.FinishJobChanges(ctx, res)
	return err
}

// JobChanges is what recording a job's outcome changed.
type JobChanges struct {
	// Reservation is the job's reservation as saved (nil when it was left untouched).
	Reservation *Reservation
	// Absorbed is the imported copy cancelled by AbsorbImported ("" when none).
	Absorbed string
}

// FinishJobChanges is FinishJob, and says what changed.
func (s *Store) FinishJobChanges(ctx context.Context, res JobResult) (JobChanges, error) {
	now := s.stamp()
	var out JobChanges
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		out = JobChanges{}
		var touched []string         // rooms whose feeds change
		changed := map[string]bool{} // reservations changed (see Drop)
		upd := map[string]any{"state": res.State, "last_error": res.Error, "locked_until": nil, "locked_by": nil, "updated_at": now}
		if res.State == JobPending {
			upd["next_attempt_at"] = res.NextAttemptAt.UTC()
		}
		if err := tx.Model(&Job{}).Where("id = ?", res.Job.ID).Updates(upd).Error; err != nil {
			return err
		}
		auditSeq := -1 // the audit entry's number: counted when it is inserted
		if res.Update != nil {
			r, n, err := s.lockForOutcome(tx, res.Job.ReservationID, res.Audit)
			if err != nil {
				return err
			}
			auditSeq = n
			oldRoom := r.RoomID
			was, err := imageOf(tx, &r)
			if err != nil {
				return err
			}
			if res.Update(&r) {
				r.UpdatedAt = now
				r.normalize()
				err := saveChanged(tx, was, &r)
				if err != nil && res.AbsorbImported && isDuplicate(err) {
					// A failed statement leaves the transaction as it was on both databases.
					var room string
					if out.Absorbed, room, err = s.absorbImported(tx, r, now, err); err == nil {
						touched = append(touched, room)
						err = saveChanged(tx, was, &r)
					}
				}
				if err != nil {
					return err
				}
				touched = append(touched, oldRoom, r.RoomID)
				out.Reservation = &r
				changed[r.ID] = true
			}
		}
		if res.SeriesRows != nil {
			var rows []Reservation
			if err := s.forUpdate(tx).Where("series_id = ? AND backend = ?", res.Job.ReservationID, res.Job.Backend).Find(&rows).Error; err != nil {
				return err
			}
			for i := range rows {
				oldRoom := rows[i].RoomID
				if res.SeriesRows(&rows[i]) {
					changed[rows[i].ID] = true
					touched = append(touched, oldRoom, rows[i].RoomID)
					rows[i].UpdatedAt = now
					rows[i].normalize()
					if err := tx.Save(&rows[i]).Error; err != nil {
						return err
					}
				}
			}
		}
		if res.SeriesUpdate != nil {
			var ser Series
			if err := s.forUpdate(tx).Where("id = ?", res.Job.ReservationID).Take(&ser).Error; err != nil {
				return err
			}
			oldRoom := ser.RoomID
			if res.SeriesUpdate(&ser) {
				// The feed renders a series' RRULE and EXDATEs from this row.
				touched = append(touched, oldRoom, ser.RoomID)
				ser.UpdatedAt = now
				ser.normalize()
				if err := tx.Save(&ser).Error; err != nil {
					return err
				}
			}
		}
		var drop []string
		for id, with := range res.Drop {
			if slices.ContainsFunc(with, func(r string) bool { return changed[r] }) {
				drop = append(drop, id)
			}
		}
		if len(drop) > 0 {
			slices.Sort(drop)
			if err := tx.Model(&Job{}).
				Where("id IN ? AND state = ? AND id <> ?", drop, JobPending, res.Job.ID).
				Updates(map[string]any{"state": JobDone, "last_error": JobDroppedError, "updated_at": now}).Error; err != nil {
				return err
			}
		}
		if err := s.insertJobs(tx, res.Then, now); err != nil {
			return err
		}
		if err := s.insertAuditAt(tx, res.Audit, now, auditSeq); err != nil {
			return err
		}
		return s.touchRooms(tx, touched...)
	})
	if err != nil {
		return JobChanges{}, storeErr("finish job "+res.Job.ID, err)
	}
	return out, nil
}

// lockForOutcome reads reservation id for update. On MySQL, when audit is an entry of
// that reservation, the same statement counts the reservation's audit entries, which
// numbers audit (seq; -1 when not counted here): one round trip instead of two for
// every job outcome. (SQLite numbers it in its insert; see insertAuditAt.)
func (s *Store) lockForOutcome(tx *gorm.DB, id string, audit *AuditEntry) (Reservation, int, error) {
	if s.dialect != DialectMySQL || audit == nil || audit.ReservationID != id {
		var r Reservation
		err := s.forUpdate(tx).Where("id = ?", id).Take(&r).Error
		return r, -1, err
	}
	var rows []struct {
		Reservation
		AuditCount int `gorm:"column:audit_count"`
	}
	// The subquery is a plain read, as the count alone was: FOR UPDATE locks the
	// reservation row only.
	err := tx.Raw("SELECT r.*, (SELECT COUNT(*) FROM audit_log a WHERE a.reservation_id = r.id) AS audit_count FROM reservations r WHERE r.id = ? FOR UPDATE", id).Scan(&rows).Error
	if err != nil {
		return Reservation{}, -1, err
	}
	if len(rows) == 0 {
		return Reservation{}, -1, gorm.ErrRecordNotFound
	}
	return rows[0].Reservation, rows[0].AuditCount, nil
}

// absorbImported cancels the native reservation that holds r's backend id (sync
// imported r's own booking before its answer was recorded) and takes the id from it, so
// that r can be saved with it. It returns the absorbed reservation and its room, or
// dupErr when the id is held by a reservation made through roombridge.
func (s *Store) absorbImported(tx *gorm.DB, r Reservation, now time.Time, dupErr error) (id, room string, err error) {
	if r.RemoteID == nil {
		return "", "", dupErr
	}
	var dup Reservation
	if err := s.forUpdate(tx).Select("id", "room_id", "origin").Where("backend = ? AND remote_id = ? AND id <> ?", r.Backend, *r.RemoteID, r.ID).
		Take(&dup).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return "", "", dupErr // another of the table's unique keys
		}
		return "", "", err
	}
	if dup.Origin != OriginNative {
		return "", "", dupErr
	}
	err = tx.Model(&Reservation{}).Where("id = ?", dup.ID).
		Updates(map[string]any{"status": StatusCancelled, "remote_id": nil, "sequence": gorm.Expr("sequence + 1"), "updated_at": now}).Error
	return dup.ID, dup.RoomID, err
}

// Jobs lists the outbox jobs of one reservation in order.
func (s *Store) Jobs(ctx context.Context, reservationID string) ([]Job, error) {
	var out []Job
	err := s.rdb.WithContext(ctx).Where("reservation_id = ?", reservationID).Order("seq").Find(&out).Error
	return out, storeErr("list jobs", err)
}

// JobCounts returns how many jobs are in each state, or only in the given states (read
// through the state index, without counting the finished jobs).
func (s *Store) JobCounts(ctx context.Context, states ...JobState) (map[JobState]int, error) {
	var rows []struct {
		State JobState
		N     int
	}
	q := s.rdb.WithContext(ctx).Model(&Job{})
	if len(states) > 0 {
		q = q.Where("state IN ?", states)
	}
	err := q.Select("state, COUNT(*) AS n").Group("state").Scan(&rows).Error
	out := map[JobState]int{}
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, storeErr("count jobs", err)
}
