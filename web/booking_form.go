package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

// bookingForm is the booking form exactly as the user typed it.
type bookingForm struct {
	Office      string
	RoomID      string
	Date        string // 2006-01-02 in the zone
	Start, End  string // 15:04 in the zone
	Title       string
	Description string
	Attendees   []string
	// Key is the idempotency key of this rendering of the form.
	Key string
	// Repeat is "" (once), daily, weekly, monthly_date or monthly_last; Weekdays (MO..SU)
	// are a weekly series' days; it ends on Until (a date) or after Count times. Skip
	// books a series without its taken dates instead of refusing it.
	Repeat   string
	Weekdays []string
	Until    string
	Count    string
	Skip     bool
	// Scope is which occurrences of a series a change applies to (this, following or
	// all; empty: this one).
	Scope string
}

// formFields are the fields a user error can be shown next to; others go on top.
var formFields = []string{"room_id", "date", "start", "end", "title", "attendees", "description", "rrule", "scope"}

// formPage is the view model of form.html, for a new booking and for a reschedule.
type formPage struct {
	page
	Action string
	EditID string
	// InSeries offers the scope of the change: the booking is an occurrence of a series.
	InSeries bool
	Form     bookingForm
	Offices  []officeOption
	People   []personOption
	// Errors maps a field to the message shown next to it; FormError is shown on top.
	Errors    map[string]string
	FormError string
	Route     *routeInfo
	Timeline  *timeline
	// Plan lists the occurrences of a repeating booking (nil when it does not repeat).
	Plan     []planRow
	Weekdays []weekdayOption
	// Labels are the texts form.js needs, as JSON.
	Labels string
	// Except is the slot of the booking being rescheduled, which form.js does not
	// count as a clash.
	ExceptStart, ExceptEnd string
	// Taken says the room is taken at the chosen time; Suggest offers other times in the
	// room and other rooms of its office.
	Taken   string
	Suggest *suggestion
}

type officeOption struct {
	ID, Name string
	Selected bool
	Rooms    []roomOption
}

type roomOption struct {
	ID, Label string
	Selected  bool
}

type weekdayOption struct {
	Code, Label string
	Checked     bool
}

type personOption struct {
	ID, Name string
	Checked  bool
}

// formLabels are the texts form.js shows.
type formLabels struct {
	OA       string `json:"oa"`
	DingTalk string `json:"dingtalk"`
	Bridge   string `json:"bridge"`
	Native   string `json:"native"`
	Mine     string `json:"mine"`
	Free     string `json:"free"`
	Clash    string `json:"clash"`
	GoesTo   string `json:"goesTo"`
	Failed   string `json:"failed"`
	Choose   string `json:"choose"`
	Sending  string `json:"sending"`
	Plan     string `json:"plan"`
	PlanFree string `json:"planFree"`
	Conflict string `json:"conflict"`
}

// newBookingForm handles GET /: an empty form, or one pre-filled from the query
// (room, date, start, end), by default today at the next half hour.
func (s *server) newBookingForm(c echo.Context) error {
	start := s.now().In(s.zone)
	m := (start.Hour()*60+start.Minute())/30*30 + 30
	start = startOfDay(start).Add(time.Duration(m) * time.Minute)
	f := bookingForm{
		RoomID: c.QueryParam("room"), Date: start.Format(time.DateOnly),
		Start: start.Format("15:04"), End: start.Add(time.Hour).Format("15:04"), Key: models.NewID(),
	}
	for param, v := range map[string]*string{"date": &f.Date, "start": &f.Start, "end": &f.End, "title": &f.Title, "description": &f.Description, "office": &f.Office} {
		if q := c.QueryParam(param); q != "" {
			*v = q
		}
	}
	f.Attendees = c.QueryParams()["attendees"]
	return s.renderForm(c, http.StatusOK, f, nil)
}

// createBookingForm handles POST /bookings: book, then show the outcome (303); a user
// error re-renders the form with what was typed.
func (s *server) createBookingForm(c echo.Context) error {
	f, req, err := s.readBookingForm(c)
	var r models.Reservation
	var rrule string
	if err == nil {
		rrule, err = s.formRRule(f, req.Start)
	}
	if err == nil && rrule != "" {
		onConflict := models.ConflictRefuse
		if f.Skip {
			onConflict = models.ConflictSkip
		}
		_, err = s.booker.BookSeries(c.Request().Context(), user(c), req, rrule, onConflict, f.Key)
		if err == nil {
			return redirect(c, "/bookings")
		}
	} else if err == nil {
		r, err = s.booker.Book(c.Request().Context(), user(c), req, f.Key)
	}
	if err != nil {
		return s.formFailed(c, f, nil, err)
	}
	return redirect(c, "/bookings/"+r.ID)
}

// editBookingForm handles GET /bookings/{id}/edit: the form pre-filled to reschedule.
func (s *server) editBookingForm(c echo.Context) error {
	r, err := s.changeable(c, s.access.CheckChange)
	if err != nil {
		return err
	}
	a, b := r.Start.In(s.zone), r.End.In(s.zone)
	f := bookingForm{
		RoomID: r.RoomID, Date: a.Format(time.DateOnly), Start: a.Format("15:04"), End: b.Format("15:04"),
		Title: r.Title, Description: r.Description, Attendees: r.Attendees,
	}
	return s.renderForm(c, http.StatusOK, f, &r)
}

// rescheduleBookingForm handles POST /bookings/{id}/edit.
func (s *server) rescheduleBookingForm(c echo.Context) error {
	r, err := s.changeable(c, s.access.CheckChange)
	if err != nil {
		return err
	}
	f, req, err := s.readBookingForm(c)
	if err == nil && r.Series() != "" && f.Scope != "" && f.Scope != string(models.ScopeThis) {
		onConflict := models.ConflictRefuse
		if f.Skip {
			onConflict = models.ConflictSkip
		}
		if _, err = s.booker.EditSeries(c.Request().Context(), user(c), r.ID, models.Scope(f.Scope), req, onConflict); err != nil {
			return s.formFailed(c, f, &r, err)
		}
		return redirect(c, "/bookings")
	}
	var moved models.Reservation
	if err == nil {
		moved, err = s.booker.Reschedule(c.Request().Context(), user(c), r.ID, req)
	}
	if err != nil {
		return s.formFailed(c, f, &r, err)
	}
	if moved.Backend != r.Backend {
		// The outcome says the booking changed system.
		return redirect(c, "/bookings/"+r.ID+"?moved_from="+url.QueryEscape(string(r.Backend)))
	}
	return redirect(c, "/bookings/"+r.ID)
}

// changeable loads the booking of the :id route parameter if the user may see it, and
// refuses with 403 when check (the policy's CheckChange or CheckCancel) refuses them.
func (s *server) changeable(c echo.Context, check func(userID string, r models.Reservation) error) (models.Reservation, error) {
	u := user(c)
	r, err := s.visible(c.Request().Context(), u, c.Param("id"))
	if err != nil {
		return r, err
	}
	return r, check(u.ID, r)
}

// readBookingForm returns the posted form as typed, and the request it makes once its
// date, times and room are checked. Its error lists every problem found (errors.Join of
// user errors, one per field), so the form shows them all at once.
func (s *server) readBookingForm(c echo.Context) (bookingForm, models.BookingRequest, error) {
	params, _ := c.FormParams()
	f := bookingForm{
		Office: params.Get("office"), RoomID: params.Get("room_id"), Date: strings.TrimSpace(params.Get("date")),
		Start: strings.TrimSpace(params.Get("start")), End: strings.TrimSpace(params.Get("end")),
		Title: params.Get("title"), Description: params.Get("description"), Attendees: params["attendees"],
		Key:    params.Get("idempotency_key"),
		Repeat: params.Get("repeat"), Weekdays: params["weekdays"], Until: params.Get("until"), Count: params.Get("count"),
		Skip:  params.Get("on_conflict") == string(models.ConflictSkip),
		Scope: params.Get("scope"),
	}
	req, errs := s.bookingRequest(f)
	if f.Scope != "" && !models.Scope(f.Scope).Valid() {
		errs = append(errs, models.E(models.ErrInvalid, "scope_invalid", "scope", models.ArgValue, f.Scope))
	}
	if err := s.checkRoom(c.Request().Context(), req.RoomID); err != nil {
		errs = append(errs, err)
	}
	bad := map[string]bool{}
	for _, e := range errs {
		var ue *models.Error
		if errors.As(e, &ue) {
			bad[ue.Field] = true
		}
	}
	for _, p := range req.Normalize().Problems(s.now()) {
		if !bad[p.Field] && !(p.Field == "start" && bad["date"]) {
			bad[p.Field] = true
			errs = append(errs, p)
		}
	}
	return f, req, errors.Join(errs...)
}

// bookingRequest reads the form's date and clock times in the zone. Errors are ErrInvalid
// user errors on the date, start or end field.
func (s *server) bookingRequest(f bookingForm) (models.BookingRequest, []error) {
	req := models.BookingRequest{RoomID: f.RoomID, Title: f.Title, Description: f.Description, Attendees: f.Attendees}
	if f.Date == "" {
		return req, []error{models.E(models.ErrInvalid, "date_required", "date")}
	}
	day, err := s.parseDate("date", f.Date)
	if err != nil {
		return req, []error{err}
	}
	var errs []error
	if req.Start, err = clock(day, f.Start, "start"); err != nil {
		errs = append(errs, err)
	}
	if req.End, err = clock(day, f.End, "end"); err != nil {
		errs = append(errs, err)
	}
	return req, errs
}

// clock returns day at the time of day v ("09:30" or "09:30:00"). A time the zone skips
// (the hour lost when clocks spring forward) is refused rather than moved.
func clock(day time.Time, v, field string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil // the booking rules ask for it
	}
	var t time.Time
	var err error
	for _, layout := range []string{"15:04", "15:04:05"} {
		if t, err = time.Parse(layout, v); err == nil {
			at := time.Date(day.Year(), day.Month(), day.Day(), t.Hour(), t.Minute(), t.Second(), 0, day.Location())
			if at.Hour() != t.Hour() || at.Minute() != t.Minute() || at.Day() != day.Day() {
				return time.Time{}, models.E(models.ErrInvalid, "nonexistent_time", field,
					"date", day.Format(time.DateOnly), "time", v, "zone", day.Location().String())
			}
			return at, nil
		}
	}
	return time.Time{}, models.E(models.ErrInvalid, "bad_time", field)
}

// formFailed re-renders the form with each message next to its field when err is about
// the user's input (one user error, or several joined); other errors go to the error page.
func (s *server) formFailed(c echo.Context, f bookingForm, editing *models.Reservation, err error) error {
	list := []error{err}
	// A joined list of problems, not one user error (which unwraps to its kind and cause).
	if j, ok := err.(interface{ Unwrap() []error }); ok && !isUserError(err) {
		list = j.Unwrap()
	}
	var ps []problem
	for _, e := range list {
		p := s.explain(e, langOf(c))
		if !p.Specific {
			return e
		}
		ps = append(ps, p)
	}
	return s.renderForm(c, ps[0].Status, f, editing, ps...)
}

// renderForm renders form.html with f, the errors ps (none: a fresh form) and the live panel
// (route and timeline) computed for what f holds. editing is the booking being
// rescheduled (nil for a new one).
func (s *server) renderForm(c echo.Context, status int, f bookingForm, editing *models.Reservation, ps ...problem) error {
	ctx, u, l := c.Request().Context(), user(c), langOf(c)
	offices, err := s.store.Offices(ctx)
	if err != nil {
		return err
	}
	users, err := s.store.Users(ctx)
	if err != nil {
		return err
	}
	pg := formPage{page: s.page(c, "form.title"), Action: "/bookings", Form: f, Errors: map[string]string{}}
	if editing != nil {
		pg.page = s.page(c, "form.edit_title")
		pg.Action, pg.EditID = "/bookings/"+editing.ID+"/edit", editing.ID
		pg.InSeries = editing.Series() != ""
		pg.ExceptStart, pg.ExceptEnd = s.rfc3339(editing.Start), s.rfc3339(editing.End)
		pg.Here = pg.Action
	}
	for _, o := range offices {
		oo := officeOption{ID: o.ID, Name: officeTitle(l, o)}
		for _, r := range o.Rooms {
			sel := r.ID == f.RoomID
			oo.Selected = oo.Selected || sel
			oo.Rooms = append(oo.Rooms, roomOption{ID: r.ID, Label: l.Tf("form.room_label", roomName(l, r), r.Floor, r.Capacity), Selected: sel})
		}
		oo.Selected = oo.Selected || (f.RoomID == "" && o.ID == f.Office)
		pg.Offices = append(pg.Offices, oo)
	}
	for _, p := range users {
		if p.ID != u.ID {
			pg.People = append(pg.People, personOption{ID: p.ID, Name: p.Name, Checked: slices.Contains(f.Attendees, p.ID)})
		}
	}
	for _, p := range ps {
		switch {
		case p.Code == "room_taken":
			// The room is taken: say so under the times, with other times and rooms.
			pg.Taken = p.Message
		case slices.Contains(formFields, p.Field) && (p.Field != "scope" || pg.InSeries) && (p.Field != "rrule" || editing == nil):
			// A field this form shows: the message goes next to it (others on top).
			if _, dup := pg.Errors[p.Field]; !dup {
				pg.Errors[p.Field] = p.Message
			}
		default:
			pg.FormError = p.Message
		}
	}
	if err := s.preview(c, &pg); err != nil {
		return err
	}
	if editing == nil {
		for _, code := range weekdayCodes {
			pg.Weekdays = append(pg.Weekdays, weekdayOption{Code: code, Label: l.T("weekday." + code), Checked: slices.Contains(f.Weekdays, code)})
		}
	}
	labels, _ := json.Marshal(formLabels{
		OA: backendName(l, models.BackendOA), DingTalk: backendName(l, models.BackendDingTalk),
		Bridge: l.T("origin.bridge"), Native: l.T("origin.native"), Mine: l.T("timeline.mine"),
		Free: l.T("timeline.free"), Clash: l.T("timeline.clash"), GoesTo: l.T("route.goes_to"),
		Failed: l.T("timeline.failed"), Choose: l.T("timeline.choose"), Conflict: l.T("warn.timeline"), Sending: l.T("form.sending"),
		Plan: l.T("form.plan"), PlanFree: l.T("form.plan_free"),
	})
	pg.Labels = string(labels)
	return s.render(c, status, "form.html", pg)
}

// preview fills the route line and the timeline for the room, date and times in the
// form, as far as they can be read.
func (s *server) preview(c echo.Context, pg *formPage) error {
	l := langOf(c)
	day, err := s.parseDate("date", pg.Form.Date)
	if err != nil {
		return nil
	}
	start, _ := clock(day, pg.Form.Start, "start")
	end, _ := clock(day, pg.Form.End, "end")
	if !start.IsZero() {
		ri := s.routeInfo(l, start)
		pg.Route = &ri
	}
	if pg.Form.RoomID == "" || s.checkRoom(c.Request().Context(), pg.Form.RoomID) != nil {
		return nil
	}
	busy, err := s.busy(c.Request().Context(), user(c), pg.Form.RoomID, day, day.AddDate(0, 0, 1))
	if err != nil {
		return err
	}
	if pg.EditID != "" {
		busy = slices.DeleteFunc(busy, func(r models.Reservation) bool { return r.ID == pg.EditID })
	}
	pg.Timeline = s.newTimeline(l, day, busy, start, end)
	if pg.Taken != "" || (pg.Timeline.Mine != nil && pg.Timeline.Mine.Clash) {
		room, err := s.store.Room(c.Request().Context(), pg.Form.RoomID)
		if err != nil {
			return err
		}
		if pg.Suggest, err = s.suggest(c.Request().Context(), l, room, start, end, pg.EditID); err != nil {
			return err
		}
	}
	if pg.EditID == "" && pg.Form.Repeat != "" && !start.IsZero() {
		rrule, err := s.formRRule(pg.Form, start)
		if err == nil && rrule != "" {
			// A rule the engine refuses is reported when the form is submitted.
			pg.Plan, _ = s.plan(c.Request().Context(), l, models.BookingRequest{RoomID: pg.Form.RoomID, Start: start, End: end}, rrule)
		}
	}
	return nil
}

func isUserError(err error) bool {
	_, ok := err.(*models.Error)
	return ok
}
