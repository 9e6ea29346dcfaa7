package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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
	// Prune are the own ids of the occurrences a series_prune releases from the series'
	// older recurring events.
	Prune []string `json:"prune,omitempty"`
	// Kept are, on a series_create made by a change to the series, the original starts
	// (after the change) of the occurrences it leaves booked on their own: events of their
	// own, or occurrences of a recurring event the series had before. The new recurring
	// event leaves them out, so that each slot is held once.
	Kept []time.Time `json:"kept,omitempty"`
	// Was is, on a series_create made by a change to the series, what each occurrence
	// it books (by reservation id) was before the change; WasTitle, WasDescription and
	// WasAttendees are the series' own before it (an occurrence's are kept only where
	// they differ). A refused event puts these occurrences back.
	Was            map[string]occurrenceWas `json:"was,omitempty"`
	WasTitle       string                   `json:"was_title,omitempty"`
	WasDescription string                   `json:"was_description,omitempty"`
	WasAttendees   models.StringList        `json:"was_attendees,omitempty"`
}

// occurrenceWas is an occurrence of a series as it was before a change moved it, and
// the job releasing its old slot ("": nothing held it).
type occurrenceWas struct {
	Start       time.Time          `json:"start"`
	End         time.Time          `json:"end"`
	Backend     models.Backend     `json:"backend"`
	RemoteID    string             `json:"remote_id,omitempty"`
	Status      models.Status      `json:"status"`
	Release     string             `json:"release,omitempty"`
	Title       *string            `json:"title,omitempty"`
	Description *string            `json:"description,omitempty"`
	Attendees   *models.StringList `json:"attendees,omitempty"`
	// OwnEvent: it was booked in DingTalk as an event of its own.
	OwnEvent bool `json:"own_event,omitempty"`
}

// wasOf is r as it was before a change of series old, released by job release.
func wasOf(r models.Reservation, old models.Series, release string) occurrenceWas {
	w := occurrenceWas{Start: r.Start, End: r.End, Backend: r.Backend, RemoteID: r.Remote(), Status: r.Status, Release: release, OwnEvent: r.OwnEvent}
	if r.Title != old.Title {
		w.Title = &r.Title
	}
	if r.Description != old.Description {
		w.Description = &r.Description
	}
	if !slices.Equal(r.Attendees, old.Attendees) {
		a := r.Attendees
		w.Attendees = &a
	}
	return w
}

// snapshot is w, in room, as a reschedule's snapshot, with the series' texts p where w
// has none.
func (w occurrenceWas) snapshot(p seriesPayload, room string) snapshot {
	s := snapshot{RoomID: room, Title: p.WasTitle, Description: p.WasDescription, Attendees: p.WasAttendees,
		Start: w.Start, End: w.End, Backend: w.Backend, RemoteID: w.RemoteID, Status: w.Status, OwnEvent: w.OwnEvent}
	if w.Title != nil {
		s.Title = *w.Title
	}
	if w.Description != nil {
		s.Description = *w.Description
	}
	if w.Attendees != nil {
		s.Attendees = *w.Attendees
	}
	return s
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
		return d.createSeries(cctx, j, b, w, ser, p, now)
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
				res := models.JobResult{Job: j, State: models.JobDone,
					Audit: &models.AuditEntry{Actor: "system", Action: "series_ended", ReservationID: ser.ID, Detail: fmt.Sprintf("%s id %s from %s", j.Backend, remote, p.From.Format(time.RFC3339))}}
				if partEmpty(part) {
					res.SeriesUpdate = func(s *models.Series) bool {
						s.ForgetDingTalkEvents(remote)
						return true
					}
				}
				return res, "released"
			}
		}
		return d.seriesFailure(j, err)
	case models.JobSeriesPrune:
		events := ser.OlderDingTalkEvents()
		if len(events) == 0 {
			return models.JobResult{Job: j, State: models.JobDone, Error: "no older event"}, "skipped"
		}
		gone, err := b.PruneSeries(cctx, w, events, p.Prune)
		if err != nil && len(gone) == 0 {
			return d.seriesFailure(j, err)
		}
		res := models.JobResult{Job: j, State: models.JobDone,
			SeriesUpdate: func(s *models.Series) bool {
				s.ForgetDingTalkEvents(gone...)
				return len(gone) > 0
			},
			Audit: &models.AuditEntry{Actor: "system", Action: "series_pruned", ReservationID: ser.ID,
				Detail: fmt.Sprintf("%s: %d occurrences released from %v, events gone: %v", j.Backend, len(p.Prune), events, gone)}}
		if err != nil {
			// What is gone is recorded; the rest is tried again.
			res.State, res.NextAttemptAt, res.Error = models.JobPending, d.now().Add(d.backoff(j.Attempts)), err.Error()
			return res, "retry"
		}
		return res, "released"
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

// createSeries books the DingTalk part of a series (from original start p.From on) as
// one recurring event and records each occurrence's id on its reservation; a refusal
// puts the occurrences a change moved there back where they were (p.Was) and rejects
// the others, and, when it came after the booking form stopped waiting, queues one
// notice (models.NoticeRejected) to the organizer.
func (d *Dispatcher) createSeries(ctx context.Context, j models.Job, b SeriesBackend, w Write, ser models.Series, p seriesPayload, now time.Time) (models.JobResult, string) {
	from := p.From
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
		// Slots the change left booked on their own stay out of the new event.
		for _, k := range p.Kept {
			if !slices.ContainsFunc(part.Exclude, k.Equal) {
				part.Exclude = append(part.Exclude, k)
			}
		}
		remote, occ, err = b.CreateSeries(ctx, w, part)
	}
	if err == nil {
		return models.JobResult{Job: j, State: models.JobDone,
			SeriesUpdate: func(s *models.Series) bool {
				// The event the series had before may still hold occurrences (a change
				// from one occurrence on shortened it): it is kept track of.
				s.RetireDingTalkEvent(remote)
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
				r.OwnEvent = false // an occurrence of the recurring event
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
	res := models.JobResult{Job: j, State: models.JobDone, Error: err.Error(),
		Audit: &models.AuditEntry{Actor: "system", Action: "rejected", ReservationID: ser.ID, Detail: err.Error()}}
	late := d.lateOutcome(j.CreatedAt, now)
	var rows []models.Reservation
	if len(p.Was) > 0 || late {
		var rerr error
		if rows, rerr = d.store.SeriesOccurrences(ctx, ser.ID); rerr != nil {
			return d.retry(j, fmt.Errorf("refused (%v), but the series' occurrences could not be read: %w", err, rerr)), "retry"
		}
	}
	if late {
		// The organizer stopped waiting: one notice for the whole refusal, on the first
		// occurrence it concerns (the rows below are in order of original start).
		for _, r := range rows {
			if r.Status == models.StatusPending && r.Backend == j.Backend {
				res.Then = append(res.Then, d.notifyJobs(r, models.NoticeRejected, j.ID)...)
				break
			}
		}
	}
	// Occurrences a change moved into the refused event go back where they were: still
	// held there (their release is dropped) or booked there again.
	var held map[string]bool
	if len(p.Was) > 0 {
		jobs, jerr := d.store.Jobs(ctx, ser.ID)
		if jerr != nil {
			return d.retry(j, fmt.Errorf("refused (%v), but the series' jobs could not be read: %w", err, jerr)), "retry"
		}
		held = map[string]bool{}
		for _, r := range rows {
			w, ok := p.Was[r.ID]
			if !ok || r.Status != models.StatusPending || r.Backend != j.Backend {
				continue
			}
			h, drop := d.oldSlotHeld(jobs, w.Release)
			held[r.ID] = h
			if drop != "" {
				if res.Drop == nil {
					res.Drop = map[string][]string{}
				}
				res.Drop[drop] = append(res.Drop[drop], r.ID)
			}
			if !h {
				res.Then = append(res.Then, restoreJob(r, w.Backend))
			}
		}
		res.Audit.Action = "reschedule_refused"
		// The series' rule changed, its event did not: the event is one it had before
		// (holding the occurrences put back, or those before the change).
		res.SeriesUpdate = func(s *models.Series) bool {
			s.RetireDingTalkEvent("")
			return true
		}
	}
	res.SeriesRows = func(r *models.Reservation) bool {
		if r.Status != models.StatusPending {
			return false
		}
		if h, ok := held[r.ID]; ok {
			return putBack(r, p.Was[r.ID].snapshot(p, r.RoomID), reason, !h)
		}
		r.Status = models.StatusRejected
		r.SetReason(reason)
		r.Sequence++
		return true
	}
	return res, "rejected"
}

// oldSlotHeld tells whether the old slot of an occurrence moved with series is still
// held at its backend, by the job release that releases it ("": nothing held it), and
// the job to drop so that it stays held.
func (d *Dispatcher) oldSlotHeld(jobs []models.Job, release string) (held bool, drop string) {
	switch release {
	case "":
		return false, ""
	case keptRelease:
		return true, ""
	}
	for _, o := range jobs {
		if o.ID != release {
			continue
		}
		switch {
		case o.State == models.JobPending:
			return true, o.ID // not run yet: booked new first, released after
		case o.State == models.JobFailed, o.LastError == models.JobDroppedError:
			return true, ""
		}
		return false, ""
	}
	return false, ""
}

// keptRelease names, as the release of an occurrence moved with its series, an old
// booking the change leaves where it is (in the frozen OA, see seriesMove.snapshot).
const keptRelease = "kept"

// restoreJob books occurrence r of a series again in its old slot at backend, queued
// under its series after the writes of the change.
func restoreJob(r models.Reservation, backend models.Backend) models.Job {
	return models.Job{ReservationID: r.Series(), Kind: models.JobCreate, Backend: backend,
		Payload: encodePayload(jobPayload{Occurrence: r.ID, Restore: true})}
}

// putBack is the change that puts occurrence x back as prev after its move was refused
// for reason; released says its old slot is no longer held (it is booked again).
func putBack(x *models.Reservation, prev snapshot, reason models.Reason, released bool) bool {
	if x.Status == models.StatusCancelled {
		return false
	}
	restoreRefused(x, prev, reason, released)
	return true
}

// restoreRefused puts x back as prev after its move was refused for reason (SEQUENCE
// raised); released says its old slot is no longer held, so it is to be booked again:
// alone, so an occurrence of a series booked again in DingTalk becomes an event of its
// own, even in a slot its recurring event had.
func restoreRefused(x *models.Reservation, prev snapshot, reason models.Reason, released bool) {
	prev.restore(x)
	x.SetReason(rescheduleRefused(reason))
	x.Sequence++
	if released {
		x.Status, x.RemoteID = models.StatusPending, nil
		x.OwnEvent = bookedAlone(*x)
	}
}

// refuseMoved records that the backend refused the new slot of occurrence r moved with
// its series: r goes back to prev, where it is still held, or is booked there again
// when the change released it already.
func (d *Dispatcher) refuseMoved(ctx context.Context, j models.Job, r models.Reservation, prev snapshot, release string, reason models.Reason, res models.JobResult, cause error) models.JobResult {
	jobs, err := d.store.Jobs(ctx, r.Series())
	if err != nil {
		return d.retry(j, fmt.Errorf("refused (%v), but the series' jobs could not be read: %w", cause, err))
	}
	held, drop := d.oldSlotHeld(jobs, release)
	if drop != "" {
		res.Drop = map[string][]string{drop: {r.ID}}
	}
	res.AbsorbImported = true // as for a single booking (see refuse)
	res.Update = func(x *models.Reservation) bool { return putBack(x, prev, reason, !held) }
	if !held {
		res.Then = append(res.Then, restoreJob(r, prev.Backend))
	}
	res.Audit = &models.AuditEntry{Actor: "system", Action: "reschedule_refused", ReservationID: r.ID, Detail: cause.Error()}
	return res
}

// partEmpty reports whether part holds no occurrence (a series_cancel deletes the event).
func partEmpty(part SeriesPart) bool {
	starts, _ := part.Rule.Expand(part.Start, part.Zone, 0)
	return len(starts) == 0 || part.Rule.Count == 0 && part.Rule.Until.Before(part.Start)
}
