package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"roombridge/models"
)

// seriesMove is what a change to a whole series, or to it from one occurrence on, does
// to the occurrences it covers.
type seriesMove struct {
	// from is the first original start covered (before the change).
	from time.Time
	// shift maps an original start before the change to the one after it.
	shift func(time.Time) time.Time
	// retime makes every covered occurrence take the series' times, title, description
	// and attendees (an edit); without it only occurrences in the wrong system move (a
	// re-split after the cutover changed).
	retime bool
	skip   bool
	// snapshot: the OA is frozen (a re-split after the freeze): OA occurrences leave it
	// without their OA bookings being cancelled (the OA can be neither read nor written).
	snapshot bool
	// old is the series before the change and oldRouting the split its DingTalk
	// recurring event was made with.
	old        models.Series
	oldRouting models.Routing
}

// inRecurringEvent reports whether occurrence r of ser is one occurrence of the series'
// DingTalk recurring event. An occurrence marked OwnEvent (moved or renamed alone, or
// booked again alone in its slot after a move of it was refused) is an event of its own,
// wherever it now is and whatever it is called. An unmarked one is in the event when it is
// in DingTalk and still as the series describes it: at its original start, as long and
// with the same title. That comparison also tells apart an occurrence left in a recurring
// event the series had before (see models.Series.OlderDingTalkEvents), which a change to
// the series releases by itself too, and it is all there is to go on for rows written
// before the mark existed (migration 00017): such an occurrence moved back to its time
// with its title, or booked again in its old slot, is taken for an occurrence of the event.
func inRecurringEvent(ser models.Series, r models.Reservation) bool {
	return r.Backend == models.BackendDingTalk && r.RecurrenceID != nil && !r.OwnEvent && r.Start.Equal(*r.RecurrenceID) &&
		r.End.Sub(r.Start) == ser.End.Sub(ser.Start) && r.Title == ser.Title
}

// bookedAlone reports whether r, to be booked (or booked) at its backend by a write of
// its own, is then an occurrence of a series held in DingTalk as an event of its own:
// the value of its OwnEvent mark.
func bookedAlone(r models.Reservation) bool {
	return r.Series() != "" && r.Backend == models.BackendDingTalk
}

// occurrenceJob is a write of occurrence r queued under its series, so that the writes
// of one change to the series run one after the other.
func occurrenceJob(r models.Reservation, kind models.JobKind, backend models.Backend, remote string) models.Job {
	return models.Job{ReservationID: r.Series(), Kind: kind, Backend: backend, RemoteID: remote,
		Payload: encodePayload(jobPayload{Occurrence: r.ID})}
}

// move applies m to ser (already changed to what it becomes) and its occurrences rows:
// every covered occurrence that changes is checked against the room's other bookings
// of both systems (taken), released where it is and booked where its new start
// belongs. OA occurrences move one by one; when any DingTalk occurrence changes, the
// recurring event is cut before m.from and a new one made for the DingTalk part from
// there on. It returns the changed occurrences, the jobs, and the occurrences whose new
// slot is taken (refused with a *models.SeriesConflictError unless m.skip; skipped ones
// are cancelled and left out of the series).
//
// An occurrence booked in DingTalk on its own (an event of its own, or an occurrence of a
// recurring event the series had before) is never released by the cut: when the change
// moves it, its own booking is released like an OA occurrence's and it joins the new
// recurring event; when the change leaves it where it is (already at its new time, or not
// moving system in a re-split), it keeps its booking and the new recurring event leaves
// its slot out (seriesPayload.Kept). Either way DingTalk holds each slot once, by the
// booking its row names; keeping the booking that already sits in the right place costs
// no write and never lets the slot go meanwhile.
func (s *Service) move(room models.Room, ser *models.Series, rows []models.Reservation, taken func(start, end time.Time) (*models.Reservation, error), m seriesMove, now time.Time) ([]models.Reservation, []models.Job, []models.Taken, error) {
	var (
		changed, moved    []models.Reservation
		releases, creates []models.Job
		clash             []models.Taken
		// kept are the new original starts of the DingTalk occurrences left booked on
		// their own, which the new recurring event leaves out; stayIn those of the
		// occurrences the change leaves in the recurring event, which it leaves out too
		// unless the event is cut (then they are made again in the new one).
		kept, stayIn []time.Time
		cut, dtNew   bool
		// left are the slots the change releases; was is what each moved occurrence was
		// before, with the job releasing it, for putting it back if its new slot is refused.
		left  []models.Reservation
		was   = map[string]occurrenceWas{}
		cutID = models.NewID()
		// The series' older recurring events lose the occurrences released from them by
		// one prune job (pruneID) after the cut.
		pruneID        = models.NewID()
		hasOlder       = len(m.old.OlderDingTalkEvents()) > 0
		inEventRelease = ""
		// cutAlone: every occurrence the cut releases moves into the new recurring event
		// (so the cut may be dropped when that event is refused).
		cutAlone = true
		// cutIDs are the own ids of the occurrences of the recurring event that move and
		// let go of them: the cut (or the prune) releases them (Job.Releases), and sync
		// leaves them alone until it has.
		cutIDs []string
	)
	dur := ser.End.Sub(ser.Start)
	// The occurrences the change leaves where they are hold their slots too.
	var stay []models.Reservation
	for _, row := range rows {
		if row.RecurrenceID != nil && row.Status.Holds() && (row.RecurrenceID.Before(m.from) || !row.End.After(now)) {
			stay = append(stay, row)
		}
	}
	clashes := func(start, end time.Time) (*models.Reservation, error) {
		for i := range stay {
			if stay[i].Overlaps(start, end) {
				return &stay[i], nil
			}
		}
		return taken(start, end)
	}
	switch {
	case m.old.DingTalkEvent() != "":
		inEventRelease = cutID
	case hasOlder:
		inEventRelease = pruneID
	}
	for _, row := range rows {
		if row.RecurrenceID == nil {
			continue
		}
		orig := *row.RecurrenceID
		rec := m.shift(orig)
		inEvent := inRecurringEvent(m.old, row)
		covered := !orig.Before(m.from) && row.Status.Holds() && row.End.After(now)
		if covered && row.Status == models.StatusPending {
			return nil, nil, nil, models.E(models.ErrConflict, "still_pending", "")
		}
		row.RecurrenceID = &rec
		start, end := row.Start, row.End
		if covered && m.retime {
			start, end = rec, rec.Add(dur)
		}
		backend := s.routing.Owner(start)
		same := start.Equal(row.Start) && end.Equal(row.End) && backend == row.Backend && (!m.retime || row.Title == ser.Title &&
			row.Description == ser.Description && slices.Equal(row.Attendees, ser.Attendees))
		// A re-split cuts the recurring event: its occurrences from m.from on are made again.
		if !covered || same && !(inEvent && !m.retime) {
			if !rec.Equal(orig) {
				changed = append(changed, row) // the occurrence stays; its original start follows the series
			}
			switch {
			case row.Backend != models.BackendDingTalk || !row.Status.Holds():
			case !inEvent:
				kept = append(kept, rec) // booked on its own: not again by the new recurring event
			case covered:
				stayIn = append(stayIn, rec) // left in the recurring event unless it is cut
			}
			continue
		}
		if m.retime && start.Before(now) {
			return nil, nil, nil, models.E(models.ErrInvalid, "start_in_past", "start")
		}
		if other, err := clashes(start, end); err != nil {
			return nil, nil, nil, err
		} else if other != nil {
			clash = append(clash, models.Taken{Start: start, End: end, With: *other})
			if !m.skip {
				continue
			}
			switch {
			case m.snapshot && row.Backend == models.BackendOA:
				// Left booked in the frozen OA.
			case inEvent:
				cut, cutAlone = true, false
				left = append(left, row)
			default:
				if err := s.routing.CheckWritable(row.Backend, now); err != nil {
					return nil, nil, nil, err
				}
				left = append(left, row)
				releases = append(releases, occurrenceJob(row, models.JobCancel, row.Backend, row.Remote()))
			}
			row.Status = models.StatusCancelled
			row.Sequence++
			ser.Exclude(rec)
			changed = append(changed, row)
			continue
		}
		leaveOA := m.snapshot && row.Backend == models.BackendOA
		if err := s.routing.CheckWritable(row.Backend, now); err != nil && !leaveOA {
			return nil, nil, nil, err
		}
		if _, err := s.writableOwner(room, start, now); err != nil {
			return nil, nil, nil, err
		}
		prev := row
		if m.retime {
			row.Title, row.Description, row.Attendees = ser.Title, ser.Description, ser.Attendees
		}
		row.Start, row.End, row.Backend, row.Status = start, end, backend, models.StatusPending
		row.RemoteID = nil
		row.OwnEvent = false // into the new recurring event, or to the OA
		row.SetReason(models.Reason{})
		row.Sequence++
		changed = append(changed, row)
		moved = append(moved, row)
		left = append(left, prev)
		release := inEventRelease
		switch {
		case inEvent:
			cut = true
			cutAlone = cutAlone && backend == models.BackendDingTalk
			if prev.Remote() != "" {
				cutIDs = append(cutIDs, prev.Remote())
			}
		case leaveOA:
			// The OA booking stays: a frozen OA cannot cancel it.
			release = keptRelease
		default:
			j := occurrenceJob(prev, models.JobCancel, prev.Backend, prev.Remote())
			j.ID = models.NewID()
			releases = append(releases, j)
			release = j.ID
		}
		if backend == models.BackendDingTalk {
			dtNew = true
			was[row.ID] = wasOf(prev, m.old, release)
		} else {
			snap := take(prev)
			creates = append(creates, models.Job{ReservationID: row.Series(), Kind: models.JobCreate, Backend: backend,
				Payload: encodePayload(jobPayload{Occurrence: row.ID, Prev: &snap, PrevRelease: release})})
		}
	}
	if len(clash) > 0 && (!m.skip || len(moved) == 0) {
		return nil, nil, clash, &models.SeriesConflictError{Taken: clash}
	}
	if cut && m.old.DingTalkEvent() != "" {
		j, err := cutJob(m.old, m.oldRouting, m.from)
		if err != nil {
			return nil, nil, nil, err
		}
		j.ID = cutID
		j.Releases = cutIDs
		releases = append(releases, j)
	}
	var dtLeft []string
	for _, l := range left {
		if l.Backend == models.BackendDingTalk && l.Remote() != "" {
			dtLeft = append(dtLeft, l.Remote())
		}
	}
	prune := hasOlder && len(dtLeft) > 0
	if prune {
		releases = append(releases, models.Job{ID: pruneID, ReservationID: ser.ID, Kind: models.JobSeriesPrune, Backend: models.BackendDingTalk,
			Payload: encodeSeriesPayload(seriesPayload{Prune: dtLeft}), Releases: dtLeft})
	}
	if dtNew {
		if !cut {
			kept = append(kept, stayIn...)
		}
		p := seriesPayload{From: m.shift(m.from), Was: was, Kept: kept}
		p.WasTitle, p.WasDescription, p.WasAttendees = m.old.Title, m.old.Description, m.old.Attendees
		creates = append(creates, models.Job{ReservationID: ser.ID, Kind: models.JobSeriesCreate, Backend: models.BackendDingTalk,
			Payload: encodeSeriesPayload(p)})
	}
	// The new slots are booked before the old ones are released, so that a refused one
	// leaves the occurrence where it was, still held. When an occurrence moves into a slot
	// the change releases (or the cut of the recurring event also releases occurrences
	// that do not move into the new one), everything is released first instead, and a
	// refused occurrence is booked again in its old slot. So it is when occurrences leave
	// an older recurring event of the series.
	var jobs []models.Job
	if cut && !cutAlone || prune || overlapsAny(moved, left) {
		jobs = append(append(jobs, releases...), creates...)
	} else {
		jobs = append(append(jobs, creates...), releases...)
	}
	if cut := s.routing.Cutover(); !cut.IsZero() {
		ser.Cutover = &cut
	}
	ser.Sequence++
	return changed, jobs, clash, nil
}

// overlapsAny reports whether the slot of any of moved overlaps the slot of any of left.
func overlapsAny(moved, left []models.Reservation) bool {
	for _, a := range moved {
		for _, b := range left {
			if a.RoomID == b.RoomID && a.Overlaps(b.Start, b.End) {
				return true
			}
		}
	}
	return false
}

// cutJob ends old's DingTalk recurring event (split with routing) before original start
// from, deleting it when nothing of it is left.
func cutJob(old models.Series, routing models.Routing, from time.Time) (models.Job, error) {
	part, ok, err := dingTalkPart(old, routing, time.Time{})
	if err != nil || !ok {
		return models.Job{}, err
	}
	rule := part.Rule
	rule.Count, rule.Until = 0, part.Start.Add(-time.Second)
	starts, _ := part.Rule.Expand(part.Start, part.Zone, models.MaxOccurrences)
	for _, st := range starts {
		if st.Before(from) {
			rule.Until = st
		}
	}
	return models.Job{ReservationID: old.ID, Kind: models.JobSeriesCancel, Backend: models.BackendDingTalk,
		Payload: encodeSeriesPayload(seriesPayload{From: from, Event: old.DingTalkEvent(), Start: part.Start, End: part.End, RRule: rule.String()})}, nil
}

// seriesTaken is the user error for occurrences of a series whose slot is taken.
func seriesTaken(sce *models.SeriesConflictError) error {
	var dates []string
	for _, t := range sce.Taken {
		dates = append(dates, models.TimeArg(t.Start))
	}
	return models.E(models.ErrConflict, "series_taken", "start", models.ArgTimes, strings.Join(dates, ",")).Wrap(sce)
}

// EditSeries changes the occurrence id of a series together with every later one
// (ScopeFollowing) or with the whole series (ScopeAll: every occurrence not over yet)
// to req: its title, description and attendees, and its times, which the other
// occurrences follow (the same shift of date, the same times of day and length).
// ScopeThis changes the occurrence alone (as Reschedule). Each occurrence is checked
// against both systems like a new booking: with on_conflict "refuse" a taken one
// changes nothing and is named, with "skip" it is cancelled and listed. An occurrence
// whose new start falls on the other side of the cutover moves system; the series keeps
// its UID and its SEQUENCE rises. Errors: as Reschedule, plus ErrInvalid ("scope_invalid",
// "not_in_series", "series_room_fixed", "series_move_unsupported" when the rule cannot
// follow the shift of date, "on_conflict_invalid", "series_beyond_window") and
// ErrConflict "series_taken" wrapping a *models.SeriesConflictError.
func (s *Service) EditSeries(ctx context.Context, by models.User, id string, scope models.Scope, req models.BookingRequest, onConflict models.OnConflict) (models.SeriesResult, error) {
	if !scope.Valid() {
		return models.SeriesResult{}, models.E(models.ErrInvalid, "scope_invalid", "scope", models.ArgValue, string(scope))
	}
	if onConflict == "" {
		onConflict = models.ConflictRefuse
	}
	if !onConflict.Valid() {
		return models.SeriesResult{}, models.E(models.ErrInvalid, "on_conflict_invalid", "on_conflict", models.ArgValue, string(onConflict))
	}
	r, err := s.store.Reservation(ctx, id)
	if err != nil {
		return models.SeriesResult{}, err
	}
	if scope == models.ScopeThis {
		got, err := s.Reschedule(ctx, by, id, req)
		return models.SeriesResult{Occurrences: []models.Reservation{got}}, err
	}
	if err := s.access.CheckChange(by.ID, r); err != nil {
		return models.SeriesResult{}, err
	}
	if r.Series() == "" || r.RecurrenceID == nil {
		return models.SeriesResult{}, models.E(models.ErrInvalid, "not_in_series", "scope")
	}
	now := s.now()
	req = req.Normalize()
	if err := req.Validate(now); err != nil {
		return models.SeriesResult{}, err
	}
	if req.RoomID != r.RoomID {
		return models.SeriesResult{}, models.E(models.ErrInvalid, "series_room_fixed", "room_id")
	}
	room, attendees, err := s.resolve(ctx, req)
	if err != nil {
		return models.SeriesResult{}, err
	}
	var clash []models.Taken
	ser, err := s.store.UpdateSeries(ctx, r.Series(), func(ser *models.Series, rows []models.Reservation, taken func(time.Time, time.Time) (*models.Reservation, error)) ([]models.Reservation, []models.Job, *models.AuditEntry, error) {
		if ser.Status != models.SeriesActive {
			return nil, nil, nil, models.E(models.ErrConflict, "not_active", "")
		}
		zone := ser.Zone()
		days := models.CalendarDays(*r.RecurrenceID, req.Start, zone)
		shift := func(t time.Time) time.Time { return models.MoveStart(t, days, req.Start, zone) }
		old := *ser
		rule, err := ser.Rule()
		if err != nil {
			return nil, nil, nil, err
		}
		starts, _ := rule.Expand(ser.Start, zone, models.MaxOccurrences)
		moved := rule.Moved(days)
		if !rule.Until.IsZero() {
			moved.Until = shift(starts[len(starts)-1]).UTC()
		}
		newStart := shift(ser.Start)
		got, _ := moved.Expand(newStart, zone, models.MaxOccurrences)
		if !slices.EqualFunc(starts, got, func(a, b time.Time) bool { return shift(a).Equal(b) }) {
			return nil, nil, nil, models.E(models.ErrInvalid, "series_move_unsupported", "start", models.ArgPart, moved.String())
		}
		if last := got[len(got)-1]; last.After(now.Add(s.seriesWindow)) {
			return nil, nil, nil, models.E(models.ErrInvalid, "series_beyond_window", "start", models.ArgLimit, fmt.Sprint(int(s.seriesWindow.Hours()/24)), models.ArgAt, models.TimeArg(last))
		}
		// The change covers what is still to come: from the first occurrence not over yet
		// (an occurrence moved alone included), at or after this one for ScopeFollowing.
		var lower time.Time
		if scope == models.ScopeFollowing {
			lower = *r.RecurrenceID
		}
		from, ok := firstToCome(rows, lower, now)
		if !ok {
			return nil, nil, nil, models.E(models.ErrConflict, "not_active", "")
		}
		ser.RRule, ser.Start, ser.End = moved.String(), newStart, newStart.Add(req.End.Sub(req.Start))
		ser.Title, ser.Description, ser.Attendees = req.Title, req.Description, attendees
		exdates := ser.ExDates
		ser.ExDates = nil
		for _, x := range exdates {
			ser.Exclude(shift(x))
		}
		changed, jobs, taken2, err := s.move(room, ser, rows, taken, seriesMove{from: from, shift: shift, retime: true, skip: onConflict == models.ConflictSkip,
			old: old, oldRouting: s.splitRouting(old)}, now)
		clash = taken2
		if err != nil {
			return nil, nil, nil, err
		}
		return changed, jobs, &models.AuditEntry{Actor: by.ID, Action: "edit_series", ReservationID: ser.ID,
			Detail: fmt.Sprintf("%s from %s: %s → %s %s–%s %q, %d changed, %d skipped", scope, from.Format(time.RFC3339), old.RRule, ser.RRule,
				ser.Start.Format(time.RFC3339), ser.End.Format(time.RFC3339), ser.Title, len(changed), len(clash))}, nil
	})
	var sce *models.SeriesConflictError
	if errors.As(err, &sce) {
		return models.SeriesResult{Skipped: sce.Taken}, seriesTaken(sce)
	}
	if err != nil {
		return models.SeriesResult{}, s.explainConflict(err)
	}
	s.log.Info("series changed", "series", ser.ID, "scope", scope, "from", id, "skipped", len(clash), "user", by.ID)
	s.changes.notify()
	s.kick()
	rows, err := s.store.SeriesOccurrences(ctx, ser.ID)
	if err != nil {
		return models.SeriesResult{}, err
	}
	return models.SeriesResult{Series: ser, Occurrences: rows, Skipped: clash}, nil
}

// firstToCome is the earliest original start, at or after lower, of the occurrences in
// rows that still hold their slot and are not over at now; ok is false when there is none.
func firstToCome(rows []models.Reservation, lower, now time.Time) (from time.Time, ok bool) {
	for _, row := range rows {
		if rec := row.RecurrenceID; rec != nil && row.Status.Holds() && row.End.After(now) && !rec.Before(lower) && (!ok || rec.Before(from)) {
			from, ok = *rec, true
		}
	}
	return from, ok
}

// splitRouting is the routing ser's occurrences were split with: the configured one
// with the series' recorded cutover.
func (s *Service) splitRouting(ser models.Series) models.Routing {
	return s.routing.SplitAt(ser.Cutover)
}

// ResplitSeries finds every active series with occurrences not over yet in the system
// the configured cutover does not give them (the cutover changed since they were
// booked) and, unless dryRun, moves them, as actor: OA occurrences now on or after the
// cutover are cancelled in the OA and join a DingTalk recurring event made again from
// the first moved occurrence on; DingTalk occurrences now before it are booked in the
// OA and the recurring event is cut and made again after them. The series keeps its UID,
// its SEQUENCE rises and the cutover is recorded on it. An occurrence whose slot is held
// by someone else in its new system is cancelled and listed (skip; a dry run lists those
// it would skip).
//
// After the OA freeze the OA can be neither read nor written: OA occurrences move into
// DingTalk from the stored rows and stay booked in the OA (FromSnapshot), and DingTalk
// occurrences that now belong to the OA stay in DingTalk (Frozen, "oa_frozen"); a series
// with nothing else to move is left as it is. Errors of one series are reported in its
// SeriesResplit; the error returned is for listing them.
func (s *Service) ResplitSeries(ctx context.Context, actor string, dryRun bool) ([]models.SeriesResplit, error) {
	list, err := s.store.ActiveSeries(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	frozen := s.routing.CheckWritable(models.BackendOA, now) != nil
	var out []models.SeriesResplit
	for _, ser := range list {
		rows, err := s.store.SeriesOccurrences(ctx, ser.ID)
		if err != nil {
			return out, err
		}
		res := models.SeriesResplit{Series: ser, Done: !dryRun}
		var from *time.Time // the first original start that moves (rows are in that order)
		var movable []models.Reservation
		for _, r := range rows {
			if r.RecurrenceID == nil || !r.Status.Holds() || !r.End.After(now) {
				continue
			}
			to := s.routing.Owner(r.Start)
			if r.Backend == to {
				continue
			}
			res.Moves = append(res.Moves, r)
			if frozen && to == models.BackendOA {
				res.Frozen = append(res.Frozen, r)
				continue
			}
			res.FromSnapshot = res.FromSnapshot || frozen && r.Backend == models.BackendOA
			movable = append(movable, r)
			if from == nil {
				from = r.RecurrenceID
			}
		}
		switch {
		case len(res.Moves) == 0:
			continue
		case from == nil:
			// Nothing can move: the series stays as it was split.
		case dryRun:
			if res.Skipped, err = s.resplitTaken(ctx, ser, movable); err != nil {
				return out, err
			}
		default:
			got, skipped, err := s.resplit(ctx, actor, ser.ID, *from, frozen, len(res.Frozen), now)
			res.Skipped, res.Err = skipped, err
			if err == nil {
				res.Series = got
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// resplitTaken lists the occurrences of ser among movable whose slot a booking outside
// the series holds (in either system): those a re-split would skip.
func (s *Service) resplitTaken(ctx context.Context, ser models.Series, movable []models.Reservation) ([]models.Taken, error) {
	if len(movable) == 0 {
		return nil, nil
	}
	first, last := movable[0].Start, movable[0].End
	for _, r := range movable {
		if r.Start.Before(first) {
			first = r.Start
		}
		if r.End.After(last) {
			last = r.End
		}
	}
	busy, err := s.store.Reservations(ctx, models.Filter{RoomIDs: []string{ser.RoomID}, Statuses: models.HoldingStatuses, From: first, To: last})
	if err != nil {
		return nil, err
	}
	var out []models.Taken
	for _, r := range movable {
		for _, b := range busy {
			if b.Series() != ser.ID && b.Overlaps(r.Start, r.End) {
				out = append(out, models.Taken{Start: r.Start, End: r.End, With: b})
				break
			}
		}
	}
	return out, nil
}

// Resplit re-splits, as admin by, every series the configured cutover splits otherwise
// (see ResplitSeries) and returns what happened to each (failures are also logged).
// Errors: ErrForbidden, ErrUnavailable.
func (s *Service) Resplit(ctx context.Context, by models.User) ([]models.SeriesResplit, error) {
	if err := s.mayResolve(by); err != nil {
		return nil, err
	}
	list, err := s.ResplitSeries(ctx, by.ID, false)
	for _, r := range list {
		if r.Err != nil {
			s.log.Warn("re-split series", "series", r.Series.ID, "err", r.Err)
		}
	}
	return list, err
}

// PlanResplit is the dry run of Resplit for the admin console: the series the
// configured cutover splits otherwise and what a re-split would do to each.
func (s *Service) PlanResplit(ctx context.Context) ([]models.SeriesResplit, error) {
	return s.ResplitSeries(ctx, "", true)
}

// resplit moves the occurrences of series id from original start from on into the
// systems the configured cutover gives them. snapshot: the OA is frozen, its bookings
// are left as they are (frozen counts the occurrences that stay in DingTalk for it).
func (s *Service) resplit(ctx context.Context, actor, id string, from time.Time, snapshot bool, frozen int, now time.Time) (models.Series, []models.Taken, error) {
	cur, err := s.store.Series(ctx, id)
	if err != nil {
		return models.Series{}, nil, err
	}
	room, err := s.store.Room(ctx, cur.RoomID)
	if err != nil {
		return models.Series{}, nil, err
	}
	var skipped []models.Taken
	ser, err := s.store.UpdateSeries(ctx, id, func(ser *models.Series, rows []models.Reservation, taken func(time.Time, time.Time) (*models.Reservation, error)) ([]models.Reservation, []models.Job, *models.AuditEntry, error) {
		old := *ser
		oldRouting := s.splitRouting(old)
		if old.Cutover == nil {
			// Booked before the split was recorded: its first DingTalk occurrence tells.
			for _, r := range rows {
				if r.Backend == models.BackendDingTalk && r.RecurrenceID != nil && inRecurringEvent(old, r) {
					oldRouting = models.NewRouting(s.routing.Zone, *r.RecurrenceID, s.routing.Freeze[models.BackendOA])
					break
				}
			}
		}
		changed, jobs, clash, err := s.move(room, ser, rows, taken, seriesMove{from: from, shift: func(t time.Time) time.Time { return t },
			skip: true, snapshot: snapshot, old: old, oldRouting: oldRouting}, now)
		skipped = clash
		if err != nil {
			return nil, nil, nil, err
		}
		d := fmt.Sprintf("cutover %s from %s: %d changed, %d skipped", s.routing.Cutover().Format(time.RFC3339), from.Format(time.RFC3339), len(changed), len(clash))
		if snapshot {
			d += " from_snapshot=1"
		}
		if frozen > 0 {
			d += fmt.Sprintf(" oa_frozen=%d", frozen)
		}
		return changed, jobs, &models.AuditEntry{Actor: actor, Action: "resplit_series", ReservationID: ser.ID, Detail: d}, nil
	})
	if err != nil {
		return models.Series{}, skipped, err
	}
	s.log.Info("series re-split", "series", id, "cutover", s.routing.Cutover(), "skipped", len(skipped), "actor", actor)
	s.changes.notify()
	s.kick()
	return ser, skipped, nil
}
