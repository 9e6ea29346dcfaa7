package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// ClaimJobs leases up to limit due jobs for lease, skipping any job whose reservation
// still has an older unfinished job (jobs of one reservation run in order) and any job
// another worker holds. A job whose lease ran out (its worker died) is due again.
func (s *Store) ClaimJobs(ctx context.Context, lease time.Duration, limit int) ([]Job, error) {
	now := s.stamp()
	var candidates []Job
	err := s.db.WithContext(ctx).
		Where("state = ? AND next_attempt_at <= ? AND (locked_until IS NULL OR locked_until < ?)", JobPending, now, now).
		Order("next_attempt_at, seq, id").Limit(limit * 4).Find(&candidates).Error
	if err != nil {
		return nil, storeErr("find due jobs", err)
	}
	var claimed []Job
	blocked := map[string]bool{}
	for _, j := range candidates {
		if len(claimed) >= limit {
			break
		}
		if blocked[j.ReservationID] {
			continue
		}
		blocked[j.ReservationID] = true // later jobs of this reservation wait for this one
		var older int64
		if err := s.db.WithContext(ctx).Model(&Job{}).
			Where("reservation_id = ? AND state = ? AND seq < ?", j.ReservationID, JobPending, j.Seq).
			Count(&older).Error; err != nil {
			return nil, storeErr("check job order", err)
		}
		if older > 0 {
			continue
		}
		until := now.Add(lease)
		res := s.db.WithContext(ctx).Model(&Job{}).
			Where("id = ? AND state = ? AND (locked_until IS NULL OR locked_until < ?)", j.ID, JobPending, now).
			Updates(map[string]any{"locked_until": until, "attempts": gorm.Expr("attempts + 1"), "updated_at": now})
		if res.Error != nil {
			return nil, storeErr("claim job", res.Error)
		}
		if res.RowsAffected == 1 {
			j.LockedUntil = &until
			j.Attempts++
			claimed = append(claimed, j)
		}
	}
	return claimed, nil
}

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
	// DropLater marks the reservation's later pending jobs done without running them.
	DropLater bool
	// Absorb names another reservation that turned out to be this one's own booking,
	// imported by sync before the write's answer was recorded: it is cancelled and lets
	// go of the backend id, so the id can move to this reservation.
	Absorb string
	// Then enqueues follow-up jobs.
	Then  []Job
	Audit *AuditEntry
}

// FinishJob records a job's outcome and its effect on the reservation atomically.
func (s *Store) FinishJob(ctx context.Context, res JobResult) error {
	now := s.stamp()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		upd := map[string]any{"state": res.State, "last_error": res.Error, "locked_until": nil, "updated_at": now}
		if res.State == JobPending {
			upd["next_attempt_at"] = res.NextAttemptAt.UTC()
		}
		if err := tx.Model(&Job{}).Where("id = ?", res.Job.ID).Updates(upd).Error; err != nil {
			return err
		}
		if res.Absorb != "" {
			if err := tx.Model(&Reservation{}).Where("id = ? AND origin = ?", res.Absorb, OriginNative).
				Updates(map[string]any{"status": StatusCancelled, "remote_id": nil, "sequence": gorm.Expr("sequence + 1"), "updated_at": now}).Error; err != nil {
				return err
			}
		}
		if res.Update != nil {
			var r Reservation
			if err := s.forUpdate(tx).Where("id = ?", res.Job.ReservationID).Take(&r).Error; err != nil {
				return err
			}
			if res.Update(&r) {
				r.UpdatedAt = now
				r.normalize()
				if err := tx.Save(&r).Error; err != nil {
					return err
				}
			}
		}
		if res.DropLater {
			if err := tx.Model(&Job{}).
				Where("reservation_id = ? AND state = ? AND id <> ?", res.Job.ReservationID, JobPending, res.Job.ID).
				Updates(map[string]any{"state": JobDone, "last_error": "dropped: an earlier step was refused", "updated_at": now}).Error; err != nil {
				return err
			}
		}
		if err := s.insertJobs(tx, res.Then, now); err != nil {
			return err
		}
		return s.insertAudit(tx, res.Audit, now)
	})
	return storeErr("finish job "+res.Job.ID, err)
}

// Jobs lists the outbox jobs of one reservation in order.
func (s *Store) Jobs(ctx context.Context, reservationID string) ([]Job, error) {
	var out []Job
	err := s.db.WithContext(ctx).Where("reservation_id = ?", reservationID).Order("seq").Find(&out).Error
	return out, storeErr("list jobs", err)
}

// JobCounts returns how many jobs are in each state.
func (s *Store) JobCounts(ctx context.Context) (map[JobState]int, error) {
	var rows []struct {
		State JobState
		N     int
	}
	err := s.db.WithContext(ctx).Model(&Job{}).Select("state, COUNT(*) AS n").Group("state").Scan(&rows).Error
	out := map[JobState]int{}
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, storeErr("count jobs", err)
}
