package web

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

// maxWindow bounds an availability query.
const maxWindow = 62 * 24 * time.Hour

// busyJSON is one busy interval in GET /api/v1/availability.
type busyJSON struct {
	Start   string         `json:"start"`
	End     string         `json:"end"`
	Backend models.Backend `json:"backend"`
	Origin  models.Origin  `json:"origin"`
	// Title is empty unless the caller organizes or attends the meeting, or is an admin.
	Title string `json:"title"`
	// Conflict is set when the booking is part of an open conflict (two bookings on one
	// track: an admin is sorting it out).
	Conflict bool `json:"conflict,omitempty"`
}

// availability handles GET /api/v1/availability?room=ID&from=T&to=T: what holds the room
// in both systems (default: today in the zone).
func (s *server) availability(c echo.Context) error {
	ctx := c.Request().Context()
	room := c.QueryParam("room")
	if room == "" {
		return badRequest("room", "param", models.ArgName, "room")
	}
	if err := s.checkRoomNow(ctx, room); err != nil {
		return err
	}
	from, to, err := s.window(c.QueryParam("from"), c.QueryParam("to"))
	if err != nil {
		return err
	}
	busy, err := s.roomBusy(ctx, user(c), room, from, to)
	if err != nil {
		return err
	}
	out := make([]busyJSON, 0, len(busy.Rows))
	for _, r := range busy.Rows {
		out = append(out, busyJSON{Start: s.rfc3339(r.Start), End: s.rfc3339(r.End), Backend: r.Backend, Origin: r.Origin, Title: r.Title,
			Conflict: busy.Conflicted[r.ID]})
	}
	return c.JSON(http.StatusOK, out)
}

// checkRoomNow is checkRoom answered from the catalog as committed now
// (models.Store.CurrentCatalogView), which costs no statement while nothing changed.
func (s *server) checkRoomNow(ctx context.Context, id string) error {
	if v, err := s.store.CurrentCatalogView(ctx); err == nil {
		if _, err := v.Room(id); err == nil {
			return nil
		}
	}
	return s.checkRoom(ctx, id)
}

// window reads the from/to query parameters: from defaults to the start of today in the
// zone, to to one day after from.
func (s *server) window(fromQ, toQ string) (from, to time.Time, err error) {
	if fromQ == "" {
		from = startOfDay(s.now().In(s.zone))
	} else if from, err = s.parseQueryTime("from", fromQ); err != nil {
		return from, to, err
	}
	if toQ == "" {
		to = from.Add(24 * time.Hour)
	} else if to, err = s.parseQueryTime("to", toQ); err != nil {
		return from, to, err
	}
	switch {
	case !to.After(from):
		return from, to, models.E(models.ErrInvalid, "to_before_from", "to")
	case to.Sub(from) > maxWindow:
		return from, to, models.E(models.ErrInvalid, "window_too_long", "to")
	}
	return from, to, nil
}

// parseQueryTime reads a time from a query parameter (see parseTime).
func (s *server) parseQueryTime(field, v string) (time.Time, error) {
	// An unencoded "+08:00" in a query string arrives as " 08:00".
	return s.parseTime(field, strings.ReplaceAll(strings.TrimSpace(v), " ", "+"))
}

// parseTime reads a time the way every API route does, query and body alike: RFC 3339,
// or a date-time without a zone ("2023-04-17T09:00", "2023-04-17T09:00:00") or a date,
// read in the configured zone.
func (s *server) parseTime(field, v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	t, err := time.Parse(time.RFC3339, v)
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", time.DateOnly} {
		if err == nil {
			break
		}
		t, err = time.ParseInLocation(layout, v, s.zone)
	}
	if err != nil {
		return time.Time{}, badRequest(field, "time", models.ArgName, field)
	}
	if !inYears(t) {
		return time.Time{}, badRequest(field, "time_range", models.ArgName, field, models.ArgLimit, strconv.Itoa(maxYear))
	}
	return t, nil
}

// maxYear is the last year a time may have: a window or a series read from it must not
// run past year 9999, the last one MariaDB's DATETIME holds.
const maxYear = 9998

// inYears tells whether t is in the years a request may name. Years before 1970 are no
// booking's, and in them zones fall back to local mean time, whose offsets in seconds
// RFC 3339 cannot write back.
func inYears(t time.Time) bool { return t.Year() >= 1970 && t.Year() <= maxYear }

// parseDate reads a date of a form or page (2006-01-02) in the zone, in the years
// parseTime accepts. Errors are ErrInvalid "bad_date" or "date_out_of_range" on field.
func (s *server) parseDate(field, v string) (time.Time, error) {
	d, err := time.ParseInLocation(time.DateOnly, v, s.zone)
	if err != nil {
		return time.Time{}, models.E(models.ErrInvalid, "bad_date", field)
	}
	if !inYears(d) {
		return time.Time{}, models.E(models.ErrInvalid, "date_out_of_range", field, models.ArgLimit, strconv.Itoa(maxYear))
	}
	return d, nil
}

// busy lists the reservations holding room in [from, to) in both systems, with the
// titles u may not see blanked.
func (s *server) busy(ctx context.Context, u models.User, room string, from, to time.Time) ([]models.Reservation, error) {
	b, err := s.roomBusy(ctx, u, room, from, to)
	return b.Rows, err
}

// roomBusy is busy with the bookings in an open conflict.
func (s *server) roomBusy(ctx context.Context, u models.User, room string, from, to time.Time) (models.Busy, error) {
	b, err := s.store.RoomBusy(ctx, room, from, to)
	if err != nil {
		return models.Busy{}, err
	}
	for i := range b.Rows {
		if !s.access.MaySee(u.ID, b.Rows[i]) {
			b.Rows[i].Title = ""
		}
	}
	return b, nil
}

func (s *server) rfc3339(t time.Time) string { return t.In(s.zone).Format(time.RFC3339) }

func startOfDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// The timeline shows at least these hours of the day; it widens to show every booking.
const (
	timelineFirstHour = 7
	timelineLastHour  = 22
)

// timeline is the server-rendered day view of one room under the booking form; the
// form's script redraws the same thing from the API as the user types.
type timeline struct {
	Ticks []tick
	Bars  []bar
	// Mine is the slot being booked, if its times are known.
	Mine *bar
}

type tick struct {
	Label string
	Left  float64
}

type bar struct {
	Left, Width float64
	Class       string // "oa native", "dingtalk bridge", "mine"
	Text        string // "09:00–10:00 钉钉 · 通过本系统预订 · 周会"
	Clash       bool   // Mine overlaps a busy bar
}

// newTimeline lays out busy (and the slot [start, end) when known) on day in the zone.
func (s *server) newTimeline(l lang, day time.Time, busy []models.Reservation, start, end time.Time) *timeline {
	d0 := startOfDay(day.In(s.zone))
	d1 := d0.AddDate(0, 0, 1)
	minute := func(t time.Time) float64 {
		switch {
		case t.Before(d0):
			return 0
		case t.After(d1):
			return d1.Sub(d0).Minutes()
		}
		return t.Sub(d0).Minutes()
	}
	first, last := float64(timelineFirstHour*60), float64(timelineLastHour*60)
	widen := func(a, b time.Time) {
		first = math.Min(first, math.Floor(minute(a)/60)*60)
		last = math.Max(last, math.Ceil(minute(b)/60)*60)
	}
	for _, r := range busy {
		widen(r.Start, r.End)
	}
	hasMine := !start.IsZero() && end.After(start) && start.Before(d1) && end.After(d0)
	if hasMine {
		widen(start, end)
	}
	pos := func(a, b time.Time) (float64, float64) {
		left := (minute(a) - first) / (last - first) * 100
		return math.Round(left*100) / 100, math.Round((minute(b)-minute(a))/(last-first)*10000) / 100
	}
	tl := &timeline{}
	for m := first; m <= last; m += 60 {
		tl.Ticks = append(tl.Ticks, tick{Label: fmt.Sprintf("%02d", int(m/60)), Left: math.Round((m-first)/(last-first)*10000) / 100})
	}
	for _, r := range busy {
		b := bar{Class: string(r.Backend) + " " + string(r.Origin)}
		b.Left, b.Width = pos(r.Start, r.End)
		how := l.T("origin." + string(r.Origin))
		b.Text = fmt.Sprintf("%s–%s %s · %s", r.Start.In(s.zone).Format("15:04"), r.End.In(s.zone).Format("15:04"), backendName(l, r.Backend), how)
		if r.Title != "" {
			b.Text += " · " + r.Title
		}
		tl.Bars = append(tl.Bars, b)
	}
	if hasMine {
		m := bar{Class: "mine", Text: l.T("timeline.mine")}
		m.Left, m.Width = pos(start, end)
		for _, r := range busy {
			m.Clash = m.Clash || r.Overlaps(start, end)
		}
		tl.Mine = &m
	}
	return tl
}
