package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

// Repeat choices of the booking form.
const (
	repeatNone        = ""
	repeatDaily       = "daily"
	repeatWeekly      = "weekly"
	repeatMonthlyDate = "monthly_date" // on the same day of the month
	repeatMonthlyLast = "monthly_last" // on the last such weekday of the month ("the last Friday")
)

// weekdayCodes are the form's weekday checkboxes, Monday first.
var weekdayCodes = []string{"MO", "TU", "WE", "TH", "FR", "SA", "SU"}

// formRRule turns the form's repeat fields into an RRULE for a series whose first
// occurrence starts at start; "" when the booking does not repeat. Errors are ErrInvalid
// user errors on "rrule".
func (s *server) formRRule(f bookingForm, start time.Time) (string, error) {
	if f.Repeat == repeatNone {
		return "", nil
	}
	var parts []string
	switch f.Repeat {
	case repeatDaily:
		parts = append(parts, "FREQ=DAILY")
	case repeatWeekly:
		days := f.Weekdays
		if len(days) == 0 {
			days = []string{models.WeekdayCode(start.In(s.zone).Weekday())}
		}
		for _, d := range days {
			if !slices.Contains(weekdayCodes, d) {
				return "", models.E(models.ErrInvalid, "rrule_syntax", "rrule", models.ArgPart, d)
			}
		}
		parts = append(parts, "FREQ=WEEKLY", "BYDAY="+strings.Join(days, ","))
	case repeatMonthlyDate:
		parts = append(parts, "FREQ=MONTHLY", "BYMONTHDAY="+strconv.Itoa(start.In(s.zone).Day()))
	case repeatMonthlyLast:
		parts = append(parts, "FREQ=MONTHLY", "BYDAY=-1"+models.WeekdayCode(start.In(s.zone).Weekday()))
	default:
		return "", models.E(models.ErrInvalid, "rrule_unsupported", "rrule", models.ArgPart, f.Repeat)
	}
	switch {
	case strings.TrimSpace(f.Count) != "":
		n, err := strconv.Atoi(strings.TrimSpace(f.Count))
		if err != nil || n < 1 {
			return "", models.E(models.ErrInvalid, "rrule_syntax", "rrule", models.ArgPart, "COUNT="+f.Count)
		}
		parts = append(parts, "COUNT="+strconv.Itoa(n))
	case strings.TrimSpace(f.Until) != "":
		day, err := s.parseDate("rrule", strings.TrimSpace(f.Until))
		if err != nil {
			return "", models.E(models.ErrInvalid, "rrule_syntax", "rrule", models.ArgPart, "UNTIL="+f.Until)
		}
		parts = append(parts, "UNTIL="+day.AddDate(0, 0, 1).Add(-time.Second).UTC().Format("20060102T150405Z"))
	}
	return strings.Join(parts, ";"), nil
}

// planRow is one planned occurrence as the form lists it.
type planRow struct {
	When   string `json:"when"`
	Start  string `json:"start"`
	System string `json:"system"`
	// Backend is oa or dingtalk (the CSS class of System).
	Backend models.Backend `json:"backend"`
	// Taken names the system and kind of the booking holding the slot ("" when free).
	Taken string `json:"taken,omitempty"`
}

// plan lists the occurrences of the series in the form for the form's preview.
func (s *server) plan(ctx context.Context, l lang, req models.BookingRequest, rrule string) ([]planRow, error) {
	plans, err := s.booker.PlanSeries(ctx, req, rrule)
	if err != nil {
		return nil, err
	}
	out := make([]planRow, 0, len(plans))
	for _, p := range plans {
		row := planRow{When: s.span(l, p.Start, p.End), Start: s.rfc3339(p.Start), System: backendName(l, p.Backend), Backend: p.Backend}
		if w := p.Taken; w != nil {
			row.Taken = l.Tf("series.taken_by", backendName(l, w.Backend), l.T("origin."+string(w.Origin)))
		}
		out = append(out, row)
	}
	return out, nil
}

// planSeriesAPI handles GET /api/v1/series/plan?room=ID&start=T&end=T&rrule=R: the
// occurrences a series would have, the system each goes to and whether its slot is taken
// (by which system; never by whom).
func (s *server) planSeriesAPI(c echo.Context) error {
	req := models.BookingRequest{RoomID: strings.TrimSpace(c.QueryParam("room"))}
	var err error
	if req.Start, err = s.parseQueryTime("start", c.QueryParam("start")); err != nil {
		return err
	}
	if req.End, err = s.parseQueryTime("end", c.QueryParam("end")); err != nil {
		return err
	}
	if err := s.checkRoom(c.Request().Context(), req.RoomID); err != nil {
		return err
	}
	rows, err := s.plan(c.Request().Context(), langOf(c), req, c.QueryParam("rrule"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rows)
}
