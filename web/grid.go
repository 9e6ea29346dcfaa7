package web

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

// The day grid shows at least these hours; it widens to show every booking of the day.
const (
	gridFirstHour = 7
	gridLastHour  = 22
	// gridMinFree is the shortest free piece the grid offers to book.
	gridMinFree = 15 * time.Minute
)

// gridPage is the view model of grid.html: one office, one day, a row per room.
type gridPage struct {
	page
	Office models.Office
	// OfficeName is the office's name in the page's language.
	OfficeName string
	Offices    []officeOption
	Date       string // 2006-01-02
	Day        string // "2023-04-17 周一"
	Prev       string // URL of the day before
	Next       string
	Today      string
	// Hours is the number of hour columns; Ticks label them.
	Hours int
	Ticks []tick
	Rows  []gridRow
	// Now is the current time's position in percent, or negative when not on this day.
	Now float64
	// NowLabel is the current time ("14:05") when Now is shown.
	NowLabel string
}

// gridRow is one room: its busy blocks from both systems and the free pieces that open
// the form.
type gridRow struct {
	Room  models.Room
	Name  string
	Busy  []gridBlock
	Free  []gridBlock
	Count int // holding reservations that day
}

// gridBlock is a busy or free stretch of a row.
type gridBlock struct {
	Left, Width float64 // percent of the track
	Class       string  // "oa native", "dingtalk bridge", "free"
	Start, End  string  // 15:04
	Text        string  // what a screen reader and the tooltip say
	Href        string  // free pieces: the form pre-filled
	// Clash marks a block overlapping another of the same room (a double booking,
	// often across the two systems); overlapping blocks share the row in two lanes.
	Clash bool
	Lane  int
}

// gridHandler handles GET /grid?office=ID&date=2006-01-02: the day grid (default: the
// first office, today).
func (s *server) gridPage(c echo.Context) error {
	ctx, u, l := c.Request().Context(), user(c), langOf(c)
	offices, err := s.store.Offices(ctx)
	if err != nil {
		return err
	}
	if len(offices) == 0 {
		return models.E(models.ErrNotFound, "unknown_office", "office")
	}
	office := offices[0]
	if id := c.QueryParam("office"); id != "" {
		i := slices.IndexFunc(offices, func(o models.Office) bool { return o.ID == id })
		if i < 0 {
			return models.E(models.ErrNotFound, "unknown_office", "office")
		}
		office = offices[i]
	}
	now := s.now().In(s.zone)
	day := startOfDay(now)
	if v := c.QueryParam("date"); v != "" {
		if day, err = s.parseDate("date", v); err != nil {
			return err
		}
	}
	next := day.AddDate(0, 0, 1)
	pg := gridPage{page: s.page(c, "grid.title"), Office: office, OfficeName: officeTitle(l, office), Date: day.Format(time.DateOnly), Now: -1}
	pg.Day = day.Format(time.DateOnly) + " " + weekday(l, day)
	if l == langEN {
		pg.Day = weekday(l, day) + " " + day.Format(time.DateOnly)
	}
	link := func(d time.Time) string {
		return "/grid?" + url.Values{"office": {office.ID}, "date": {d.Format(time.DateOnly)}}.Encode()
	}
	pg.Prev, pg.Next, pg.Today = link(day.AddDate(0, 0, -1)), link(next), link(startOfDay(now))
	for _, o := range offices {
		pg.Offices = append(pg.Offices, officeOption{ID: o.ID, Name: officeTitle(l, o), Selected: o.ID == office.ID})
	}
	ids := make([]string, 0, len(office.Rooms))
	for _, r := range office.Rooms {
		ids = append(ids, r.ID)
	}
	var busy []models.Reservation
	if len(ids) > 0 {
		if busy, err = s.store.Reservations(ctx, models.Filter{RoomIDs: ids, Statuses: models.HoldingStatuses, From: day, To: next}); err != nil {
			return err
		}
	}
	// The hours shown: 07–22, widened to every booking of the day.
	firstH, lastH := time.Duration(gridFirstHour), time.Duration(gridLastHour)
	for _, r := range busy {
		a, b := maxTime(r.Start, day).Sub(day), minTime(r.End, next).Sub(day)
		firstH = min(firstH, a/time.Hour)
		lastH = max(lastH, (b+time.Hour-1)/time.Hour)
	}
	first, last := day.Add(firstH*time.Hour), minTime(day.Add(lastH*time.Hour), next)
	span := last.Sub(first).Minutes()
	pct := func(t time.Time) float64 {
		return math.Round(t.Sub(first).Minutes()/span*10000) / 100
	}
	pg.Hours = int(last.Sub(first).Hours())
	for t := first; !t.After(last); t = t.Add(time.Hour) {
		pg.Ticks = append(pg.Ticks, tick{Label: t.In(s.zone).Format("15"), Left: pct(t)})
	}
	if !now.Before(first) && now.Before(last) {
		pg.Now, pg.NowLabel = pct(now), now.Format("15:04")
	}
	for _, room := range office.Rooms {
		row := gridRow{Room: room, Name: roomName(l, room)}
		var mine []models.Reservation
		for _, r := range busy {
			if r.RoomID == room.ID {
				mine = append(mine, r)
			}
		}
		row.Count = len(mine)
		for _, r := range mine {
			a, b := maxTime(r.Start, first), minTime(r.End, last)
			if !b.After(a) {
				continue
			}
			text := fmt.Sprintf("%s–%s %s · %s", r.Start.In(s.zone).Format("15:04"), r.End.In(s.zone).Format("15:04"), backendName(l, r.Backend), l.T("origin."+string(r.Origin)))
			if s.access.MaySee(u.ID, r) && r.Title != "" {
				text += " · " + r.Title
			}
			row.Busy = append(row.Busy, gridBlock{
				Left: pct(a), Width: math.Round((pct(b)-pct(a))*100) / 100, Class: string(r.Backend) + " " + string(r.Origin),
				Start: a.In(s.zone).Format("15:04"), End: b.In(s.zone).Format("15:04"), Text: text,
			})
		}
		// Free from the next quarter hour on.
		soon := day.Add((now.Sub(day) + 15*time.Minute - 1) / (15 * time.Minute) * (15 * time.Minute))
		markClashes(mine, row.Busy)
		for _, g := range freePieces(mine, day, maxTime(first, soon), last) {
			a, b := g[0].In(s.zone), g[1].In(s.zone)
			q := url.Values{"room": {room.ID}, "date": {pg.Date}, "start": {a.Format("15:04")}, "end": {b.Format("15:04")}}
			if b.Equal(next) {
				q.Set("end", "23:59")
			}
			row.Free = append(row.Free, gridBlock{
				Left: pct(g[0]), Width: math.Round((pct(g[1])-pct(g[0]))*100) / 100, Class: "free",
				Start: a.Format("15:04"), End: q.Get("end"), Href: "/?" + q.Encode(),
				Text: l.Tf("grid.book_free", row.Name, a.Format("15:04"), q.Get("end")),
			})
		}
		pg.Rows = append(pg.Rows, row)
	}
	return s.render(c, http.StatusOK, "grid.html", pg)
}

// freePieces returns the stretches of [from, to) that no reservation of busy holds, cut
// at every full hour after day (the day's midnight) so that each piece books at most an
// hour; pieces shorter than gridMinFree are left out.
func freePieces(busy []models.Reservation, day, from, to time.Time) [][2]time.Time {
	var out [][2]time.Time
	t := from
	for t.Before(to) {
		// Skip what is held at t.
		held := false
		for _, r := range busy {
			if !r.Start.After(t) && r.End.After(t) {
				t, held = r.End, true
			}
		}
		if held {
			continue
		}
		end := minTime(day.Add((t.Sub(day)/time.Hour+1)*time.Hour), to)
		for _, r := range busy {
			if r.Start.After(t) && r.Start.Before(end) {
				end = r.Start
			}
		}
		if end.Sub(t) >= gridMinFree {
			out = append(out, [2]time.Time{t, end})
		}
		t = end
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// markClashes marks the blocks (made from busy in the same order) whose reservation
// overlaps another one of the room, alternating their lanes so both stay visible.
func markClashes(busy []models.Reservation, blocks []gridBlock) {
	if len(busy) != len(blocks) {
		return // a block was clipped away; keep the plain layout
	}
	lane := 0
	for i := range busy {
		for j := range busy {
			if i != j && busy[i].Overlaps(busy[j].Start, busy[j].End) {
				blocks[i].Clash, blocks[i].Lane = true, lane%2
				lane++
				break
			}
		}
	}
}
