package bridge

import (
	"bytes"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
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
	// first is where the series sorts among the events: its first shown occurrence.
	first feedRecord
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
		master.R.UpdatedAt = feedMaxTime(master.R.UpdatedAt, feedChanged(&it.R))
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

// feedSeriesBytes is feedSeriesEvents encoded and folded as BuildFeed writes them.
func feedSeriesBytes(spec FeedSpec, g *feedGroup) ([]byte, error) {
	evs, err := feedSeriesEvents(spec, g)
	if err != nil {
		return nil, err
	}
	cal := ical.NewCalendar()
	cal.Props.Set(icalRaw(ical.PropVersion, "2.0"))
	cal.Props.Set(icalRaw(ical.PropProductID, FeedProductID))
	cal.Children = evs
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, fmt.Errorf("encode series %s: %w", g.ser.ID, err)
	}
	folded := foldICal(buf.Bytes())
	begin := bytes.Index(folded, []byte("BEGIN:VEVENT\r\n"))
	end := bytes.LastIndex(folded, []byte(feedTail))
	if begin < 0 || end < begin {
		return nil, fmt.Errorf("encode series %s: no events", g.ser.ID)
	}
	return folded[begin:end], nil
}

// feedEvent is the VEVENT of one row as go-ical builds it; a series' master and
// overrides start from it. appendEvent writes the same properties straight to bytes for
// single bookings.
func feedEvent(spec FeedSpec, it FeedItem) (*ical.Component, error) {
	r := it.R
	ev := ical.NewEvent()
	p := ev.Props
	p.Set(icalText(ical.PropUID, feedText(r.UID)))
	changed := feedChanged(&r)
	p.Set(icalUTC(ical.PropDateTimeStamp, changed))
	p.Set(icalUTC(ical.PropLastModified, changed))
	if !r.CreatedAt.IsZero() {
		p.Set(icalUTC(ical.PropCreated, r.CreatedAt))
	}
	p.Set(icalLocal(ical.PropDateTimeStart, r.Start, spec.Zone))
	p.Set(icalLocal(ical.PropDateTimeEnd, r.End, spec.Zone))
	p.Set(icalRaw(ical.PropSequence, strconv.Itoa(max(r.Sequence, 0))))
	switch r.Status {
	case models.StatusConfirmed:
		ev.SetStatus(ical.EventConfirmed)
	case models.StatusCancelled:
		ev.SetStatus(ical.EventCancelled)
	default:
		ev.SetStatus(ical.EventTentative)
	}
	transp := "TRANSPARENT"
	if it.Mine && r.Status.Holds() {
		transp = "OPAQUE"
	}
	p.Set(icalRaw(ical.PropTransparency, transp))
	if loc := feedLocation(it); loc != "" {
		p.Set(icalText(ical.PropLocation, loc))
	}
	backend, origin := feedBackendName(r.Backend), feedOriginName(r.Origin)
	cats := ical.NewProp(ical.PropCategories)
	cats.SetTextList([]string{backend, origin})
	p.Set(cats)

	source := "来源：" + backend + "（直接预订）"
	if r.Origin == models.OriginBridge {
		source = "来源：" + backend + "（经 roombridge 预订）"
	}
	if !it.Details {
		room := it.Room.Name
		if room == "" {
			room = r.RoomID
		}
		p.Set(icalText(ical.PropSummary, BusyTitle(room)))
		p.Set(icalText(ical.PropDescription, source))
		return ev.Component, nil
	}

	title := feedText(r.Title)
	if strings.TrimSpace(title) == "" {
		title = "（无主题）"
	}
	p.Set(icalText(ical.PropSummary, title))
	var desc []string
	if d := strings.TrimSpace(feedText(r.Description)); d != "" {
		desc = append(desc, d, "")
	}
	organizer := it.OrganizerName
	if organizer == "" {
		organizer = r.OrganizerName
	}
	if organizer = strings.TrimSpace(feedText(organizer)); organizer != "" {
		desc = append(desc, "预订人："+organizer)
	}
	var link string
	if spec.URL != nil {
		if link = spec.URL(r.ID); link != "" {
			parsed, err := url.Parse(link)
			if err != nil || !parsed.IsAbs() || strings.ContainsAny(link, "\r\n\" ") {
				return nil, fmt.Errorf("%w: booking link %q for reservation %s is not an absolute URL", models.ErrInvalid, link, r.ID)
			}
			p.Set(icalRaw(ical.PropURL, link))
		}
	}
	if it.Mine {
		var names []string
		for _, a := range it.Attendees {
			name := strings.TrimSpace(feedText(a.Name))
			if name == "" {
				name = feedText(a.ID)
			}
			names = append(names, name)
			// A catalog user has no e-mail address here: the cal-address is a URN of the user id.
			att := ical.NewProp(ical.PropAttendee)
			att.Value = "urn:x-roombridge:user:" + url.PathEscape(a.ID)
			// A parameter value may not hold a double quote (RFC 5545 §3.1).
			att.Params.Set(ical.ParamCommonName, strings.ReplaceAll(name, `"`, "'"))
			att.Params.Set(ical.ParamRole, "REQ-PARTICIPANT")
			p.Add(att)
		}
		if len(names) > 0 {
			desc = append(desc, "参会人："+strings.Join(names, "、"))
		}
		// Many calendar apps do not show URL: the link goes into the text as well.
		if link != "" {
			desc = append(desc, "预订页面："+link)
		}
	}
	desc = append(desc, source)
	p.Set(icalText(ical.PropDescription, strings.Join(desc, "\n")))
	return ev.Component, nil
}
