package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

// durations are the meeting lengths the finder offers, in minutes.
var durations = []int{30, 60, 90, 120, 180, 240}

// findPage is the view model of find.html: the room finder's question and its answer.
type findPage struct {
	page
	Date, Start string
	Duration    int
	Durations   []durationOption
	Capacity    string
	Offices     []officeOption
	Errors      map[string]string
	// Asked is set once a question was asked; Hits are then the free rooms, best fit first.
	Asked bool
	Span  string
	Hits  []findHit
}

type durationOption struct {
	Minutes  int
	Label    string
	Selected bool
}

// findHit is one free room with the links that book it or show its office's day.
type findHit struct {
	Name, Office, Floor string
	Capacity            int
	Book, Grid          string
	ID                  string
}

// findRooms handles GET /find?date=&start=&duration=&capacity=&office=: "when, how long,
// how many, which office" → the rooms free in both systems, best fit first. Without
// date and start it shows the empty question (today, the next half hour, an hour).
func (s *server) findRooms(c echo.Context) error {
	ctx, l := c.Request().Context(), langOf(c)
	now := s.now().In(s.zone)
	m := (now.Hour()*60+now.Minute())/30*30 + 30
	next := startOfDay(now).Add(time.Duration(m) * time.Minute)
	pg := findPage{
		page: s.page(c, "find.title"), Date: next.Format(time.DateOnly), Start: next.Format("15:04"), Duration: 60,
		Capacity: strings.TrimSpace(c.QueryParam("capacity")), Errors: map[string]string{},
	}
	q := c.QueryParams()
	pg.Asked = q.Has("date") || q.Has("start")
	if v := strings.TrimSpace(q.Get("date")); pg.Asked {
		pg.Date = v
	}
	if v := strings.TrimSpace(q.Get("start")); pg.Asked {
		pg.Start = v
	}
	var errs []error
	if v := q.Get("duration"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 5 && n <= 12*60 {
			pg.Duration = n
		} else {
			errs = append(errs, models.E(models.ErrInvalid, "bad_duration", "duration"))
		}
	}
	for _, d := range durations {
		pg.Durations = append(pg.Durations, durationOption{Minutes: d, Label: durationLabel(l, d), Selected: d == pg.Duration})
	}
	if !slices.Contains(durations, pg.Duration) {
		pg.Durations = append(pg.Durations, durationOption{Minutes: pg.Duration, Label: durationLabel(l, pg.Duration), Selected: true})
	}
	offices, err := s.store.Offices(ctx)
	if err != nil {
		return err
	}
	office := q.Get("office")
	for _, o := range offices {
		pg.Offices = append(pg.Offices, officeOption{ID: o.ID, Name: officeTitle(l, o), Selected: o.ID == office})
	}
	if !pg.Asked {
		return s.render(c, http.StatusOK, "find.html", pg)
	}
	query := roomQuery{Office: office}
	if query.Capacity, err = readCapacity("capacity", pg.Capacity); err != nil {
		errs = append(errs, err)
	}
	if err := s.checkOffice(ctx, office); err != nil {
		errs = append(errs, err)
	}
	day, err := s.parseDate("date", pg.Date)
	switch {
	case pg.Date == "":
		errs = append(errs, models.E(models.ErrInvalid, "date_required", "date"))
	case err != nil:
		errs = append(errs, err)
	}
	if pg.Start == "" {
		errs = append(errs, models.E(models.ErrInvalid, "start_required", "start"))
	} else if query.From, err = clock(day, pg.Start, "start"); err != nil {
		errs = append(errs, err)
	} else if err := s.bookable("date", query.From); err != nil {
		errs = append(errs, err)
	}
	status := http.StatusOK
	if len(errs) > 0 {
		for _, e := range errs {
			p := s.explain(e, l)
			if _, dup := pg.Errors[p.Field]; !dup {
				pg.Errors[p.Field] = p.Message
			}
			status = p.Status
		}
		pg.Asked = false
		return s.render(c, status, "find.html", pg)
	}
	query.To = query.From.Add(time.Duration(pg.Duration) * time.Minute)
	pg.Span = s.span(l, query.From, query.To)
	hits, err := s.freeRooms(ctx, query)
	if err != nil {
		return err
	}
	pg.Hits = s.findHits(l, hits, query.From, query.To)
	return s.render(c, status, "find.html", pg)
}

// findHits turns free rooms into links: book the room for [from, to), or see its
// office's day.
func (s *server) findHits(l lang, hits []roomHit, from, to time.Time) []findHit {
	a, b := from.In(s.zone), to.In(s.zone)
	out := make([]findHit, 0, len(hits))
	for _, h := range hits {
		book := url.Values{"room": {h.Room.ID}, "date": {a.Format(time.DateOnly)}, "start": {a.Format("15:04")}, "end": {b.Format("15:04")}}
		grid := url.Values{"office": {h.Office.ID}, "date": {a.Format(time.DateOnly)}}
		out = append(out, findHit{
			ID: h.Room.ID, Name: roomName(l, h.Room), Office: officeTitle(l, h.Office), Floor: h.Room.Floor, Capacity: h.Room.Capacity,
			Book: "/?" + book.Encode(), Grid: "/grid?" + grid.Encode() + "#room-" + h.Room.ID,
		})
	}
	return out
}

// durationLabel says minutes as people read them: "1 小时 30 分钟", "1 h 30 min".
func durationLabel(l lang, minutes int) string {
	h, m := minutes/60, minutes%60
	switch {
	case h == 0:
		return l.Tf("duration.minutes", m)
	case m == 0:
		return l.Tf("duration.hours", h)
	}
	return l.Tf("duration.hours_minutes", h, m)
}

// suggestion is what the form offers when the chosen room is taken: other times in that
// room the same day, and other rooms of its office at that time.
type suggestion struct {
	Times []findHit // Name holds the time span; Book pre-fills the form
	Rooms []findHit
}

// suggestionsLimit bounds each list of suggestions.
const suggestionsLimit = 3

// suggest finds, for a booking of room over [start, end) that the room cannot take, the
// nearest free slots of the same length in that room on the same day (within the grid's
// hours, not in the past) and the rooms of its office free at that time: rooms at least as
// big as the chosen one first (best fit), then the biggest of the smaller ones. except is
// a booking not to count (the one being rescheduled).
func (s *server) suggest(ctx context.Context, l lang, room models.Room, start, end time.Time, except string) (*suggestion, error) {
	d := end.Sub(start)
	if d <= 0 {
		return nil, nil
	}
	day := startOfDay(start.In(s.zone))
	busy, err := s.store.Reservations(ctx, models.Filter{RoomIDs: []string{room.ID}, Statuses: models.HoldingStatuses, From: day, To: day.AddDate(0, 0, 1)})
	if err != nil {
		return nil, err
	}
	busy = slices.DeleteFunc(busy, func(r models.Reservation) bool { return r.ID == except })
	free := func(a, b time.Time) bool {
		for _, r := range busy {
			if r.Overlaps(a, b) {
				return false
			}
		}
		return true
	}
	sg := &suggestion{}
	lo, hi := day.Add(gridFirstHour*time.Hour), day.Add(gridLastHour*time.Hour)
	now := s.now()
	const step = 30 * time.Minute
	for k := 1; len(sg.Times) < suggestionsLimit && k <= 48; k++ {
		for _, a := range []time.Time{start.Add(time.Duration(k) * step), start.Add(-time.Duration(k) * step)} { // later first on a tie
			b := a.Add(d)
			if a.Before(lo) || b.After(hi) || a.Before(now) || !free(a, b) || len(sg.Times) >= suggestionsLimit {
				continue
			}
			q := url.Values{"room": {room.ID}, "date": {a.In(s.zone).Format(time.DateOnly)}, "start": {a.In(s.zone).Format("15:04")}, "end": {b.In(s.zone).Format("15:04")}}
			sg.Times = append(sg.Times, findHit{ID: room.ID, Name: a.In(s.zone).Format("15:04") + "–" + b.In(s.zone).Format("15:04"), Book: "/?" + q.Encode()})
		}
	}
	slices.SortFunc(sg.Times, func(a, b findHit) int { return strings.Compare(a.Name, b.Name) })
	hits, err := s.freeRooms(ctx, roomQuery{Office: room.OfficeID, From: start, To: end})
	if err != nil {
		return nil, err
	}
	hits = slices.DeleteFunc(hits, func(h roomHit) bool { return h.Room.ID == room.ID })
	// Rooms as big as the chosen one first (best fit), then the smaller ones.
	slices.SortStableFunc(hits, func(a, b roomHit) int {
		ab, bb := a.Room.Capacity >= room.Capacity, b.Room.Capacity >= room.Capacity
		switch {
		case ab && !bb:
			return -1
		case bb && !ab:
			return 1
		case !ab: // both smaller: the biggest first
			return b.Room.Capacity - a.Room.Capacity
		}
		return 0
	})
	if len(hits) > suggestionsLimit {
		hits = hits[:suggestionsLimit]
	}
	sg.Rooms = s.findHits(l, hits, start, end)
	if len(sg.Times) == 0 && len(sg.Rooms) == 0 {
		return nil, nil
	}
	return sg, nil
}
