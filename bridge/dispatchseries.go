package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"roombridge/models"
)

// seriesPayload is the payload of a series job.
type seriesPayload struct {
	// From is the first original start a series_cancel releases (and everything after),
	// or the first one a series_create books (zero: all of the DingTalk part).
	From time.Time `json:"from,omitempty"`
	// Reservation is the occurrence a series_exclude releases.
	Reservation string `json:"reservation,omitempty"`
	// Event, when set, is the recurring event a series_cancel cuts, and Start, End and
	// RRule what it keeps: its first occurrence and its rule ending before From (a rule
	// ending before Start deletes it). A series that was moved no longer describes the
	// event it had.
	Event string    `json:"event,omitempty"`
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	RRule string    `json:"rrule,omitempty"`
}

func encodeSeriesPayload(p seriesPayload) string {
	b, _ := json.Marshal(p)
	return string(b)
}

// performSeries runs a job on a series' recurring booking (ReservationID is the series id).
func (d *Dispatcher) performSeries(ctx context.Context, j models.Job, now time.Time) (models.JobResult, string) {
	ser, err := d.store.Series(ctx, j.ReservationID)
	if err != nil {
		return d.retry(j, fmt.Errorf("load series: %w", err)), "retry"
	}
	var p seriesPayload
	if j.Payload != "" && j.Payload != "{}" {
		if err := json.Unmarshal([]byte(j.Payload), &p); err != nil {
			return models.JobResult{Job: j, State: models.JobFailed, Error: "bad payload: " + err.Error()}, "failed"
		}
	}
	raw, ok := d.backends[j.Backend]
	if !ok {
		return d.retry(j, fmt.Errorf("%w: backend %s is not configured", models.ErrUnavailable, j.Backend)), "retry"
	}
	b, ok := raw.(SeriesBackend)
	if !ok {
		return models.JobResult{Job: j, State: models.JobFailed, Error: fmt.Sprintf("backend %s cannot hold a series", j.Backend)}, "failed"
	}
	// The series' own details stand in for a reservation when the write is built.
	whole := models.Reservation{ID: ser.ID, RoomID: ser.RoomID, Title: ser.Title, Description: ser.Description,
		OrganizerID: ser.OrganizerID, Attendees: ser.Attendees, Start: ser.Start, End: ser.End}
	w, _, err := d.write(ctx, j, whole, nil)
	if err != nil {
		return d.retry(j, err), "retry"
	}
	if err := d.routing.CheckWritable(j.Backend, now); err != nil {
		return models.JobResult{Job: j, State: models.JobFailed, Error: err.Error()}, "failed"
	}
	cctx, cancel := context.WithTimeout(ctx, d.jobTimeout)
	defer cancel()
	switch j.Kind {
	case models.JobSeriesCreate:
		return d.createSeries(cctx, j, b, w, ser, p.From, now)
	case models.JobSeriesCancel:
		remote := ser.DingTalkEvent()
		var (
			part SeriesPart
			any  bool
			err  error
		)
		if p.Event != "" {
			remote, part = p.Event, SeriesPart{Start: p.Start, End: p.End, Zone: ser.Zone()}
			part.Rule, err = models.ParseRRule(p.RRule, part.Zone)
		} else {
			part, any, err = dingTalkPart(ser, d.routing.SplitAt(ser.Cutover), time.Time{})
			if err == nil && (!any || ser.Status == models.SeriesCancelled) {
				part = SeriesPart{Start: p.From, Rule: models.RRule{Freq: models.Daily, Count: 0, Until: p.From.Add(-time.Second)}, Zone: ser.Zone()}
			}
		}
		if remote == "" {
			return models.JobResult{Job: j, State: models.JobDone, Error: "nothing booked at the backend"}, "skipped"
		}
		if err == nil {
			if err = b.EndSeries(cctx, w, remote, part); err == nil {
				return models.JobResult{Job: j, State: models.JobDone,
					Audit: &models.AuditEntry{Actor: "system", Action: "series_ended", ReservationID: ser.ID, Detail: fmt.Sprintf("%s id %s from %s", j.Backend, remote, p.From.Format(time.RFC3339))}}, "released"
			}
		}
		return d.seriesFailure(j, err)
	case models.JobSeriesExclude:
		r, err := d.store.Reservation(ctx, p.Reservation)
		if err != nil {
			return d.retry(j, fmt.Errorf("load occurrence: %w", err)), "retry"
		}
		if r.Remote() == "" {
			return models.JobResult{Job: j, State: models.JobDone, Error: "nothing booked at the backend"}, "skipped"
		}
		if err := b.CancelOccurrence(cctx, w, r.Remote()); err != nil {
			return d.seriesFailure(j, err)
		}
		return models.JobResult{Job: j, State: models.JobDone,
			Audit: &models.AuditEntry{Actor: "system", Action: "released", ReservationID: r.ID, Detail: fmt.Sprintf("%s occurrence %s", j.Backend, r.Remote())}}, "released"
	}
	return models.JobResult{Job: j, State: models.JobFailed, Error: "unknown job kind " + string(j.Kind)}, "failed"
}

func (d *Dispatcher) seriesFailure(j models.Job, err error) (models.JobResult, string) {
	if permanent(err) {
		return models.JobResult{Job: j, State: models.JobFailed, Error: err.Error(),
			Audit: &models.AuditEntry{Actor: "system", Action: "release_failed", ReservationID: j.ReservationID, Detail: err.Error()}}, "failed"
	}
	return d.retry(j, err), "retry"
}

// createSeries books the DingTalk part of a series (from original start from on) as one
// recurring event and records each occurrence's id on its reservation; a refusal
// rejects the part's occurrences.
func (d *Dispatcher) createSeries(ctx context.Context, j models.Job, b SeriesBackend, w Write, ser models.Series, from, now time.Time) (models.JobResult, string) {
	// The series says where it is split: a dispatcher still configured with another
	// cutover books the part the series was given.
	part, any, err := dingTalkPart(ser, d.routing.SplitAt(ser.Cutover), from)
	if err == nil && (!any || ser.Status == models.SeriesCancelled) {
		return models.JobResult{Job: j, State: models.JobDone, Error: "no occurrence in this backend"}, "skipped"
	}
	var (
		remote string
		occ    map[int64]string
	)
	if err == nil {
		remote, occ, err = b.CreateSeries(ctx, w, part)
	}
	if err == nil {
		return models.JobResult{Job: j, State: models.JobDone,
			SeriesUpdate: func(s *models.Series) bool {
				s.DingTalkEventID = &remote
				return true
			},
			SeriesRows: func(r *models.Reservation) bool {
				if r.RecurrenceID == nil {
					return false
				}
				id, ok := occ[r.RecurrenceID.Unix()]
				if !ok {
					return false
				}
				r.RemoteID = &id
				if r.Status == models.StatusPending {
					r.Status = models.StatusConfirmed
					r.SetReason(models.Reason{})
				}
				return true
			},
			Audit: &models.AuditEntry{Actor: "system", Action: "confirmed", ReservationID: ser.ID, Detail: fmt.Sprintf("%s recurring event %s, %d occurrences", j.Backend, remote, len(occ))},
		}, "confirmed"
	}
	reject := permanent(err) || !part.Start.After(now)
	if !reject {
		return d.retry(j, err), "retry"
	}
	reason := reasonOf(j.Backend, err)
	return models.JobResult{Job: j, State: models.JobDone, Error: err.Error(),
		SeriesRows: func(r *models.Reservation) bool {
			if r.Status != models.StatusPending {
				return false
			}
			r.Status = models.StatusRejected
			r.SetReason(reason)
			r.Sequence++
			return true
		},
		Audit: &models.AuditEntry{Actor: "system", Action: "rejected", ReservationID: ser.ID, Detail: err.Error()},
	}, "rejected"
}
