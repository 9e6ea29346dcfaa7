package bridge

import (
	"context"
	"fmt"
	"time"

	"roombridge/models"
)

// CancelSeries cancels occurrences of the series that reservation id belongs to, on
// behalf of by (its organizer or an admin): the occurrence alone (ScopeThis), it and
// every later one (ScopeFollowing: the series then ends before it), or the whole series
// (ScopeAll: every occurrence not over yet). OA occurrences are released one by one; the
// DingTalk recurring event loses the occurrence, is shortened, or is deleted; a recurring
// event the series made before its current one (see models.Series.OlderDingTalkEvents)
// loses the occurrences cancelled in it and is deleted once none is left; a DingTalk
// occurrence that is an event of its own (see inRecurringEvent) is released by itself,
// on the series' queue. The series keeps its UID and its SEQUENCE rises. Errors:
// ErrNotFound, ErrForbidden, ErrInvalid ("scope_invalid", or "not_in_series" for a scope
// other than ScopeThis on a single booking), ErrFrozen.
func (s *Service) CancelSeries(ctx context.Context, by models.User, id string, scope models.Scope) (models.Series, error) {
	if !scope.Valid() {
		return models.Series{}, models.E(models.ErrInvalid, "scope_invalid", "scope", models.ArgValue, string(scope))
	}
	r, err := s.store.Reservation(ctx, id)
	if err != nil {
		return models.Series{}, err
	}
	if err := s.access.CheckCancel(by.ID, r); err != nil {
		return models.Series{}, err
	}
	if r.Series() == "" || r.RecurrenceID == nil {
		return models.Series{}, models.E(models.ErrInvalid, "not_in_series", "scope")
	}
	now := s.now()
	ser, err := s.store.UpdateSeries(ctx, r.Series(), func(ser *models.Series, rows []models.Reservation, _ func(time.Time, time.Time) (*models.Reservation, error)) ([]models.Reservation, []models.Job, *models.AuditEntry, error) {
		from := *r.RecurrenceID
		if scope == models.ScopeAll {
			// The whole series is what is still to come: occurrences already over stay as
			// the record (the OA may take no changes to them after its freeze anyway). An
			// occurrence moved alone counts where it now is.
			from = ser.Start
			if starts, err := ser.Occurrences(); err == nil {
				from = starts[len(starts)-1].Add(time.Second)
				for _, st := range starts {
					if st.Add(ser.End.Sub(ser.Start)).After(now) {
						from = st
						break
					}
				}
			}
			if first, ok := firstToCome(rows, time.Time{}, now); ok && first.Before(from) {
				from = first
			}
		}
		var (
			changed []models.Reservation
			jobs    []models.Job
			dtGone  bool
			dtLeft  []string     // own ids of the DingTalk occurrences released
			alone   []models.Job // releases of DingTalk occurrences booked on their own
		)
		for _, row := range rows {
			target := row.ID == r.ID
			if scope != models.ScopeThis && row.RecurrenceID != nil {
				target = !row.RecurrenceID.Before(from)
			}
			if !target || !row.Status.Holds() || scope == models.ScopeAll && !row.End.After(now) {
				continue
			}
			if err := s.routing.CheckWritable(row.Backend, now); err != nil {
				return nil, nil, nil, err
			}
			sending := row.Status == models.StatusPending && row.Remote() == ""
			row.Status = models.StatusCancelled
			row.Sequence++
			changed = append(changed, row)
			if row.Backend == models.BackendDingTalk && row.Remote() != "" {
				dtLeft = append(dtLeft, row.Remote())
			}
			switch {
			case row.Backend == models.BackendDingTalk && !inRecurringEvent(*ser, row):
				// An event of its own (moved or renamed alone, or booked again alone after a
				// refused move), or an occurrence of an older recurring event: neither the
				// cut nor the deletion of the recurring event releases it. It is released on
				// the series' queue, after the series' earlier writes (a create of it among
				// them); its booking is read when the release runs.
				alone = append(alone, occurrenceJob(row, models.JobCancel, row.Backend, ""))
				if sending {
					// Its create may be queued under the occurrence itself (a move of it
					// alone): released after that one too, whichever runs last.
					alone = append(alone, models.Job{ReservationID: row.ID, Kind: models.JobCancel, Backend: row.Backend})
				}
			case !inRecurringEvent(*ser, row):
				// An OA occurrence: a booking of its own.
				jobs = append(jobs, models.Job{ReservationID: row.ID, Kind: models.JobCancel, Backend: row.Backend})
			case scope == models.ScopeThis:
				jobs = append(jobs, models.Job{ReservationID: ser.ID, Kind: models.JobSeriesExclude, Backend: row.Backend,
					Payload: encodeSeriesPayload(seriesPayload{Reservation: row.ID})})
			default:
				dtGone = true
			}
		}
		if scope == models.ScopeThis {
			ser.Exclude(from)
		} else if err := endSeriesBefore(ser, from); err != nil {
			return nil, nil, nil, err
		}
		if dtGone {
			jobs = append(jobs, models.Job{ReservationID: ser.ID, Kind: models.JobSeriesCancel, Backend: models.BackendDingTalk,
				Payload: encodeSeriesPayload(seriesPayload{From: from})})
		}
		jobs = append(jobs, alone...)
		if len(ser.OlderDingTalkEvents()) > 0 && len(dtLeft) > 0 {
			// Some may be occurrences of a recurring event the series made before its
			// current one: they are released there, and an event left empty is deleted.
			jobs = append(jobs, models.Job{ReservationID: ser.ID, Kind: models.JobSeriesPrune, Backend: models.BackendDingTalk,
				Payload: encodeSeriesPayload(seriesPayload{Prune: dtLeft})})
		}
		ser.Sequence++
		return changed, jobs, &models.AuditEntry{Actor: by.ID, Action: "cancel_series", ReservationID: ser.ID,
			Detail: fmt.Sprintf("%s from %s", scope, from.Format(time.RFC3339))}, nil
	})
	if err != nil {
		return models.Series{}, err
	}
	s.log.Info("series cancelled", "series", ser.ID, "scope", scope, "from", id, "user", by.ID)
	s.changes.notify()
	s.kick()
	return ser, nil
}

// endSeriesBefore makes ser's rule end with the last occurrence before from; with none
// left the series is cancelled as a whole (its rule is kept, for the record).
func endSeriesBefore(ser *models.Series, from time.Time) error {
	rule, err := ser.Rule()
	if err != nil {
		return err
	}
	starts, _ := rule.Expand(ser.Start, ser.Zone(), models.MaxOccurrences)
	var last time.Time
	for _, st := range starts {
		if st.Before(from) {
			last = st
		}
	}
	if last.IsZero() {
		ser.Status = models.SeriesCancelled
		return nil
	}
	rule.Count, rule.Until = 0, last
	ser.RRule = rule.String()
	return nil
}
