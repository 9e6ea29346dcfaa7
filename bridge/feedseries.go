package bridge

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/emersion/go-ical"

	"roombridge/models"
)

// feedGroup is one series as a feed shows it: the series, its occurrences the feed holds
// (by original start) and its pattern's starts.
type feedGroup struct {
	ser    models.Series
	items  map[int64]FeedItem // holding occurrences, by RecurrenceID
	any    FeedItem           // one of its rows, for room, office and visibility
	starts []time.Time
	lo, hi time.Time
}

// feedSeriesGroups gathers the shown occurrences of each series.
func feedSeriesGroups(spec FeedSpec, shown []FeedItem) (map[string]*feedGroup, error) {
	groups := map[string]*feedGroup{}
	for _, it := range shown {
		if it.Series == nil {
			continue
		}
		if it.R.RecurrenceID == nil || it.R.Series() != it.Series.ID {
			return nil, fmt.Errorf("%w: reservation %s is not an occurrence of series %s", models.ErrInvalid, it.R.ID, it.Series.ID)
		}
		g, ok := groups[it.Series.ID]
		if !ok {
			starts, err := it.Series.Occurrences()
			if err != nil {
				return nil, fmt.Errorf("series %s: %w", it.Series.ID, err)
			}
			d := it.Series.End.Sub(it.Series.Start)
			g = &feedGroup{ser: *it.Series, items: map[int64]FeedItem{}, any: it, starts: starts, lo: it.Series.Start, hi: it.Series.End}
			if len(starts) > 0 {
				g.hi = feedMaxTime(g.hi, starts[len(starts)-1].Add(d))
			}
			groups[it.Series.ID] = g
		}
		if it.R.Status.Holds() {
			g.items[it.R.RecurrenceID.Unix()] = it
		}
	}
	return groups, nil
}

// feedSeriesEvents is the master VEVENT of a series (RRULE and EXDATEs) followed by one
// RECURRENCE-ID override per occurrence that differs from the pattern. A series with no
// occurrence left is shown cancelled while cancelled bookings are kept.
func feedSeriesEvents(spec FeedSpec, g *feedGroup) ([]*ical.Component, error) {
	ser := g.ser
	d := ser.End.Sub(ser.Start)
	master := g.any
	master.R = models.Reservation{
		ID: ser.ID, UID: ser.UID, RoomID: ser.RoomID, Start: ser.Start, End: ser.End, Title: ser.Title,
		Description: ser.Description, OrganizerID: ser.OrganizerID, OrganizerName: ser.OrganizerName,
		Backend: g.any.R.Backend, Origin: models.OriginBridge, Status: models.StatusConfirmed, Sequence: ser.Sequence,
		CreatedAt: ser.CreatedAt, UpdatedAt: ser.UpdatedAt,
	}
	var backends []models.Backend
	for _, it := range g.items {
		master.R.UpdatedAt = feedMaxTime(master.R.UpdatedAt, feedChanged(it.R))
		if !slices.Contains(backends, it.R.Backend) {
			backends = append(backends, it.R.Backend)
		}
		if it.R.Status != models.StatusConfirmed {
			master.R.Status = models.StatusTentative
		}
	}
	if len(g.items) == 0 {
		master.R.Status = models.StatusCancelled
	}
	if len(backends) > 1 {
		// A series across the cutover lives in both systems; its source line says so.
		master.R.Backend = models.Backend(feedBackendName(models.BackendOA) + " 与 " + feedBackendName(models.BackendDingTalk))
	}
	ev, err := feedEvent(spec, master)
	if err != nil {
		return nil, err
	}
	p := ev.Props
	p.Set(icalRaw(ical.PropRecurrenceRule, ser.RRule))
	if len(backends) > 1 {
		cats := ical.NewProp(ical.PropCategories)
		cats.SetTextList([]string{"OA", "钉钉", "roombridge"})
		p.Set(cats)
	}
	out := []*ical.Component{ev}
	if len(g.items) == 0 {
		return out, nil
	}
	// Every start of the pattern the feed does not hold (skipped, cancelled, refused, or
	// outside the feed's window) is an EXDATE, so no client expands it.
	for _, st := range g.starts {
		if _, held := g.items[st.Unix()]; !held {
			p.Add(icalLocal(ical.PropExceptionDates, st, spec.Zone))
		}
	}
	keys := make([]int64, 0, len(g.items))
	for k := range g.items {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		it := g.items[k]
		r := it.R
		if r.Start.Equal(*r.RecurrenceID) && r.End.Sub(r.Start) == d && r.Title == ser.Title && r.RoomID == ser.RoomID &&
			(r.Status == models.StatusConfirmed) == (master.R.Status == models.StatusConfirmed) {
			continue
		}
		it.R.UID = ser.UID
		o, err := feedEvent(spec, it)
		if err != nil {
			return nil, err
		}
		o.Props.Set(icalLocal(ical.PropRecurrenceID, *r.RecurrenceID, spec.Zone))
		o.Props.Set(icalRaw(ical.PropSequence, strconv.Itoa(max(r.Sequence, ser.Sequence, 0))))
		out = append(out, o)
	}
	return out, nil
}
