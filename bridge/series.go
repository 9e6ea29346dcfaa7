package bridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"roombridge/bridge/dingtalk"
	"roombridge/models"
)

// BookSeries books a recurring meeting: req is its first occurrence and rrule (RFC 5545,
// see models.ParseRRule) how it repeats. Every occurrence is checked against the
// reservations of both systems; with on_conflict "refuse" a taken occurrence books
// nothing, with "skip" the taken ones are left out (and listed). Occurrences before the
// cutover go to the OA as linked individual bookings, the rest become one DingTalk
// recurring event. The same idempotency key returns the first series. Errors: as Book,
// plus ErrInvalid user errors on "rrule" (rrule_syntax, rrule_unsupported,
// rrule_unbounded, rrule_start_mismatch, rrule_not_in_dingtalk, series_too_long,
// series_beyond_window) and on "on_conflict", and ErrConflict "series_taken" (args: the
// taken starts) wrapping a *models.SeriesConflictError.
func (s *Service) BookSeries(ctx context.Context, by models.User, req models.BookingRequest, rrule string, onConflict models.OnConflict, key string) (models.SeriesResult, error) {
	now := s.now()
	req = req.Normalize()
	zone := s.routing.Zone
	if onConflict == "" {
		onConflict = models.ConflictRefuse
	}
	if !onConflict.Valid() {
		return models.SeriesResult{}, models.E(models.ErrInvalid, "on_conflict_invalid", "on_conflict", models.ArgValue, string(onConflict))
	}
	if err := models.CheckIdempotencyKey(key); err != nil {
		return models.SeriesResult{}, err
	}
	if err := req.Validate(now); err != nil {
		return models.SeriesResult{}, err
	}
	rule, err := models.ParseRRule(rrule, zone)
	if err != nil {
		return models.SeriesResult{}, err
	}
	if !rule.Matches(req.Start, zone) {
		return models.SeriesResult{}, models.E(models.ErrInvalid, "rrule_start_mismatch", "rrule", models.ArgAt, models.TimeArg(req.Start))
	}
	starts, err := s.occurrences(rule, req.Start, zone, now)
	if err != nil {
		return models.SeriesResult{}, err
	}
	room, attendees, err := s.resolve(ctx, req)
	if err != nil {
		return models.SeriesResult{}, err
	}
	id := models.NewID()
	sid := id
	dur := req.End.Sub(req.Start)
	ser := models.Series{
		ID: id, UID: models.SeriesUID(id), RoomID: room.ID, Title: req.Title, Description: req.Description,
		OrganizerID: by.ID, OrganizerName: by.Name, Attendees: attendees, RRule: rule.String(),
		Start: req.Start, End: req.End, TimeZone: zone.String(), Status: models.SeriesActive,
	}
	if cut := s.routing.Cutover(); !cut.IsZero() {
		ser.Cutover = &cut
	}
	if key != "" {
		ser.IdempotencyKey = &key
	}
	var rows []models.Reservation
	checked := map[models.Backend]bool{}
	for _, st := range starts {
		backend := s.routing.Owner(st)
		if !checked[backend] {
			checked[backend] = true
			if _, err := s.writableOwner(room, st, now); err != nil {
				return models.SeriesResult{}, err
			}
		}
		at := st
		rows = append(rows, models.Reservation{
			ID: models.NewID(), UID: models.OccurrenceUID(id, st), RoomID: room.ID, Start: st, End: st.Add(dur),
			Title: req.Title, Description: req.Description, OrganizerID: by.ID, OrganizerName: by.Name, Attendees: attendees,
			Backend: backend, Origin: models.OriginBridge, Status: models.StatusPending, SeriesID: &sid, RecurrenceID: &at,
		})
	}
	// The DingTalk part must be expressible as DingTalk's recurrence before anything is stored.
	if part, ok, err := dingTalkPart(ser, s.routing, time.Time{}); err != nil {
		return models.SeriesResult{}, err
	} else if ok {
		if _, err := dingtalk.RecurrenceOf(part.Rule, part.Start, part.Zone); err != nil {
			return models.SeriesResult{}, err
		}
	}
	got, kept, taken, created, err := s.store.BookSeries(ctx, models.SeriesBooking{
		Series: ser, Rows: rows, Skip: onConflict == models.ConflictSkip,
		Jobs: seriesCreateJobs,
		Audit: &models.AuditEntry{Actor: by.ID, Action: "book_series", ReservationID: id,
			Detail: fmt.Sprintf("%s %s from %s, %d occurrences", room.ID, rule, req.Start.Format(time.RFC3339), len(starts))},
	})
	var sce *models.SeriesConflictError
	if errors.As(err, &sce) {
		var dates []string
		for _, t := range sce.Taken {
			dates = append(dates, models.TimeArg(t.Start))
		}
		return models.SeriesResult{Skipped: sce.Taken}, models.E(models.ErrConflict, "series_taken", "start", models.ArgTimes, strings.Join(dates, ",")).Wrap(sce)
	}
	if err != nil {
		return models.SeriesResult{}, err
	}
	if created {
		s.log.Info("series accepted", "series", got.ID, "room", room.ID, "occurrences", len(kept), "skipped", len(taken), "user", by.ID)
		s.kick()
	} else {
		taken = nil
		for _, t := range got.ExDates {
			taken = append(taken, models.Taken{Start: t, End: t.Add(got.End.Sub(got.Start))})
		}
	}
	return models.SeriesResult{Series: got, Occurrences: kept, Skipped: taken, Created: created}, nil
}

// seriesCreateJobs are the writes of a new series: one create per OA occurrence and one
// recurring event for the DingTalk occurrences.
func seriesCreateJobs(ser models.Series, kept []models.Reservation) []models.Job {
	var jobs []models.Job
	dt := false
	for _, r := range kept {
		switch r.Backend {
		case models.BackendDingTalk:
			dt = true
		default:
			jobs = append(jobs, models.Job{ReservationID: r.ID, Kind: models.JobCreate, Backend: r.Backend})
		}
	}
	if dt {
		jobs = append(jobs, models.Job{ReservationID: ser.ID, Kind: models.JobSeriesCreate, Backend: models.BackendDingTalk})
	}
	return jobs
}

// dingTalkPart is the share of ser's occurrences (by its current rule) from original
// start from on (zero: all) that DingTalk owns, with the ExDates among them excluded. ok
// is false when DingTalk owns none.
func dingTalkPart(ser models.Series, routing models.Routing, from time.Time) (SeriesPart, bool, error) {
	rule, err := ser.Rule()
	if err != nil {
		return SeriesPart{}, false, err
	}
	zone := ser.Zone()
	starts, _ := rule.Expand(ser.Start, zone, models.MaxOccurrences)
	var dt []time.Time
	for _, st := range starts {
		if routing.Owner(st) == models.BackendDingTalk && !st.Before(from) {
			dt = append(dt, st)
		}
	}
	if len(dt) == 0 {
		return SeriesPart{}, false, nil
	}
	part := SeriesPart{Start: dt[0], End: dt[0].Add(ser.End.Sub(ser.Start)), Rule: rule, Zone: zone}
	if rule.Count > 0 {
		part.Rule.Count = len(dt)
	}
	for _, st := range dt {
		if ser.Excluded(st) {
			part.Exclude = append(part.Exclude, st)
		}
	}
	return part, true, nil
}

// PlanSeries lists the occurrences a series would have (req is its first one, rrule how
// it repeats): the system each goes to and the reservation, from either system, already
// holding its slot. It books nothing. Errors: the ErrInvalid user errors of BookSeries
// about the rule and the window, ErrInvalid/ErrNotFound for the room.
func (s *Service) PlanSeries(ctx context.Context, req models.BookingRequest, rrule string) ([]models.OccurrencePlan, error) {
	now := s.now()
	req = req.Normalize()
	zone := s.routing.Zone
	rule, err := models.ParseRRule(rrule, zone)
	if err != nil {
		return nil, err
	}
	if req.Start.IsZero() || !req.End.After(req.Start) {
		return nil, models.E(models.ErrInvalid, "end_before_start", "end")
	}
	if !rule.Matches(req.Start, zone) {
		return nil, models.E(models.ErrInvalid, "rrule_start_mismatch", "rrule", models.ArgAt, models.TimeArg(req.Start))
	}
	starts, err := s.occurrences(rule, req.Start, zone, now)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.Room(ctx, req.RoomID); err != nil {
		return nil, err
	}
	d := req.End.Sub(req.Start)
	busy, err := s.store.Reservations(ctx, models.Filter{RoomIDs: []string{req.RoomID}, Statuses: models.HoldingStatuses,
		From: starts[0], To: starts[len(starts)-1].Add(d)})
	if err != nil {
		return nil, err
	}
	out := make([]models.OccurrencePlan, 0, len(starts))
	for _, st := range starts {
		p := models.OccurrencePlan{Start: st, End: st.Add(d), Backend: s.routing.Owner(st)}
		for i := range busy {
			if busy[i].Overlaps(p.Start, p.End) {
				p.Taken = &busy[i]
				break
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// occurrences expands rule from start for a new series: refused when the rule ends
// before its first meeting (an UNTIL before the start), has more than MaxOccurrences, or
// runs past the booking window.
func (s *Service) occurrences(rule models.RRule, start time.Time, zone *time.Location, now time.Time) ([]time.Time, error) {
	starts, truncated := rule.Expand(start, zone, models.MaxOccurrences)
	switch {
	case truncated:
		return nil, models.E(models.ErrInvalid, "series_too_long", "rrule", models.ArgLimit, strconv.Itoa(models.MaxOccurrences))
	case len(starts) == 0:
		return nil, models.E(models.ErrInvalid, "rrule_ends_before_start", "rrule", models.ArgAt, models.TimeArg(start))
	}
	if last := starts[len(starts)-1]; last.After(now.Add(s.seriesWindow)) {
		return nil, models.E(models.ErrInvalid, "series_beyond_window", "rrule",
			models.ArgLimit, strconv.Itoa(int(s.seriesWindow.Hours()/24)), models.ArgAt, models.TimeArg(last))
	}
	return starts, nil
}
