package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

// bookingJSON is a booking in the API's answers.
type bookingJSON struct {
	ID          string         `json:"id"`
	UID         string         `json:"uid"`
	Status      models.Status  `json:"status"`
	Backend     models.Backend `json:"backend"`
	RemoteID    *string        `json:"remote_id"`
	RoomID      string         `json:"room_id"`
	Start       string         `json:"start"`
	End         string         `json:"end"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Attendees   []string       `json:"attendees"`
	OrganizerID string         `json:"organizer_id"`
	Origin      models.Origin  `json:"origin"`
	// Reason says, in the caller's language, why the backend refused a rejected booking
	// (or why a refused reschedule was put back); ReasonCode is its stable code.
	Reason     string `json:"reason,omitempty"`
	ReasonCode string `json:"reason_code,omitempty"`
	// SeriesID and RecurrenceID are set on an occurrence of a series (its original start).
	SeriesID     string `json:"series_id,omitempty"`
	RecurrenceID string `json:"recurrence_id,omitempty"`
}

// seriesJSON is a series in the API's answers: its first listed occurrence, the series'
// UID and rule, and every occurrence; skipped lists the occurrences left out because
// their slot was taken (only in the answer to booking it).
type seriesJSON struct {
	bookingJSON
	RRule       string        `json:"rrule"`
	Occurrences []bookingJSON `json:"occurrences"`
	Skipped     []slotJSON    `json:"skipped"`
}

// slotJSON is an interval of time.
type slotJSON struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

func (s *server) seriesJSON(l lang, ser models.Series, rows []models.Reservation, skipped []models.Taken) seriesJSON {
	out := seriesJSON{RRule: ser.RRule, Occurrences: []bookingJSON{}, Skipped: []slotJSON{}}
	for _, r := range rows {
		out.Occurrences = append(out.Occurrences, s.bookingJSON(l, r))
	}
	if len(rows) > 0 {
		out.bookingJSON = s.bookingJSON(l, rows[0])
	} else {
		out.bookingJSON = s.bookingJSON(l, models.Reservation{ID: ser.ID, RoomID: ser.RoomID, Start: ser.Start, End: ser.End, Title: ser.Title,
			Description: ser.Description, Attendees: ser.Attendees, OrganizerID: ser.OrganizerID, Origin: models.OriginBridge, Status: models.StatusCancelled})
		out.RecurrenceID = ""
	}
	out.UID, out.SeriesID = ser.UID, ser.ID
	for _, t := range skipped {
		out.Skipped = append(out.Skipped, slotJSON{Start: s.rfc3339(t.Start), End: s.rfc3339(t.End)})
	}
	return out
}

func (s *server) bookingJSON(l lang, r models.Reservation) bookingJSON {
	att := []string(r.Attendees)
	if att == nil {
		att = []string{}
	}
	b := bookingJSON{
		ID: r.ID, UID: r.UID, Status: r.Status, Backend: r.Backend, RemoteID: r.RemoteID, RoomID: r.RoomID,
		Start: s.rfc3339(r.Start), End: s.rfc3339(r.End), Title: r.Title, Description: r.Description,
		Attendees: att, OrganizerID: r.OrganizerID, Origin: r.Origin, Reason: s.reasonText(l, r), ReasonCode: r.ReasonCode,
		SeriesID: r.Series(),
	}
	if r.RecurrenceID != nil {
		b.RecurrenceID = s.rfc3339(*r.RecurrenceID)
	}
	return b
}

// bookingBody is the body of POST /api/v1/bookings.
type bookingBody struct {
	RoomID      string   `json:"room_id"`
	Title       string   `json:"title"`
	Start       string   `json:"start"`
	End         string   `json:"end"`
	Attendees   []string `json:"attendees"`
	Description string   `json:"description"`
	// RRule (RFC 5545) makes the booking the first occurrence of a series; OnConflict
	// ("refuse", the default, or "skip") says what a taken occurrence does.
	RRule      string `json:"rrule"`
	OnConflict string `json:"on_conflict"`
}

// bookingPatch is the body of PATCH /api/v1/bookings/{id}: absent fields keep their value.
type bookingPatch struct {
	RoomID      *string   `json:"room_id"`
	Title       *string   `json:"title"`
	Start       *string   `json:"start"`
	End         *string   `json:"end"`
	Attendees   *[]string `json:"attendees"`
	Description *string   `json:"description"`
	// OnConflict ("refuse", the default, or "skip") says what an occurrence whose new
	// slot is taken does when a series is changed (scope following or all).
	OnConflict *string `json:"on_conflict"`
}

// createBookingAPI handles POST /api/v1/bookings: 201 with the new booking, or 200 with
// the earlier one when the Idempotency-Key was used before by the same caller.
func (s *server) createBookingAPI(c echo.Context) error {
	ctx, u := c.Request().Context(), user(c)
	var body bookingBody
	if err := decodeJSON(c.Request().Body, &body); err != nil {
		return err
	}
	req := models.BookingRequest{RoomID: body.RoomID, Title: body.Title, Description: body.Description, Attendees: body.Attendees}
	var err error
	if req.Start, err = s.parseBodyTime("start", body.Start); err != nil {
		return err
	}
	if req.End, err = s.parseBodyTime("end", body.End); err != nil {
		return err
	}
	key := strings.TrimSpace(c.Request().Header.Get("Idempotency-Key"))
	if err := models.CheckIdempotencyKey(key); err != nil {
		return err
	}
	// Only Book checks the caller itself (see bookingChecksUser).
	if key != "" || strings.TrimSpace(body.RRule) != "" {
		if err := s.confirmUser(c); err != nil {
			return err
		}
	}
	if strings.TrimSpace(body.RRule) != "" {
		if err := s.checkRoom(ctx, strings.TrimSpace(req.RoomID)); err != nil {
			return err
		}
		res, err := s.booker.BookSeries(ctx, u, req, body.RRule, models.OnConflict(strings.TrimSpace(body.OnConflict)), key)
		if err != nil {
			return err
		}
		status := http.StatusCreated
		if !res.Created {
			status = http.StatusOK
		}
		return c.JSON(status, s.seriesJSON(langOf(c), res.Series, res.Occurrences, res.Skipped))
	}
	if body.OnConflict != "" {
		return badRequest("on_conflict", "on_conflict")
	}
	if key != "" {
		prev, err := s.store.ReservationByKey(ctx, u.ID, key)
		if err == nil {
			return c.JSON(http.StatusOK, s.bookingJSON(langOf(c), prev))
		}
		if !errors.Is(err, models.ErrNotFound) {
			return err
		}
	}
	// The booking reads its room itself (no second lookup here); an unknown room is a
	// 404, as everywhere else in the API.
	r, err := s.booker.Book(ctx, u, req, key)
	if ue := models.UserError(err); ue != nil && ue.Code == "unknown_room" {
		return models.E(models.ErrNotFound, "unknown_room", "room_id")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, s.bookingJSON(langOf(c), r))
}

// listBookingsAPI handles GET /api/v1/bookings?mine=1: the bookings the caller organises
// or attends, optionally within from/to, ordered by start.
func (s *server) listBookingsAPI(c echo.Context) error {
	f := models.Filter{Participant: user(c).ID, Limit: 1000}
	var err error
	if v := c.QueryParam("from"); v != "" {
		if f.From, err = s.parseQueryTime("from", v); err != nil {
			return err
		}
	}
	if v := c.QueryParam("to"); v != "" {
		if f.To, err = s.parseQueryTime("to", v); err != nil {
			return err
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return models.E(models.ErrInvalid, "to_before_from", "to")
	}
	rs, err := s.store.Reservations(c.Request().Context(), f)
	if err != nil {
		return err
	}
	// A series is one entry, with its occurrences.
	out := make([]any, 0, len(rs))
	bySeries := map[string][]models.Reservation{}
	var order []string
	for _, r := range rs {
		if id := r.Series(); id != "" {
			if _, seen := bySeries[id]; !seen {
				order = append(order, id)
				out = append(out, id)
			}
			bySeries[id] = append(bySeries[id], r)
			continue
		}
		out = append(out, s.bookingJSON(langOf(c), r))
	}
	series, err := s.store.SeriesByIDs(c.Request().Context(), order)
	if err != nil {
		return err
	}
	for i, v := range out {
		if id, ok := v.(string); ok {
			out[i] = s.seriesJSON(langOf(c), series[id], bySeries[id], nil)
		}
	}
	return c.JSON(http.StatusOK, out)
}

// maxLongPoll bounds GET /api/v1/bookings/{id}?wait=.
const maxLongPoll = 30 * time.Second

// getBookingAPI handles GET /api/v1/bookings/{id} (organizer, attendee or admin; else
// 404). With ?wait=DURATION (e.g. 10s, at most 30s) a pending booking is answered once
// its backend has decided, or when the wait is over: clients long-poll instead of
// polling.
func (s *server) getBookingAPI(c echo.Context) error {
	ctx := c.Request().Context()
	var wait time.Duration
	if v := c.QueryParam("wait"); v != "" {
		// Read whatever the booking's state, so a client learns of a bad value at once.
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return badRequest("wait", "wait")
		}
		wait = min(d, maxLongPoll)
	}
	r, err := s.visible(ctx, user(c), c.Param("id"))
	if err != nil {
		return err
	}
	if wait > 0 && r.Status == models.StatusPending {
		if r, err = s.booker.Wait(ctx, r.ID, wait); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, s.bookingJSON(langOf(c), r))
}

// patchBookingAPI handles PATCH /api/v1/bookings/{id}: the given fields replace the
// current ones and the result is rescheduled.
func (s *server) patchBookingAPI(c echo.Context) error {
	ctx, u := c.Request().Context(), user(c)
	// POSTs in another type are refused as forgeries (see csrf); a PATCH cannot be
	// forged, but a body that is not JSON is still the client's mistake.
	if !isJSON(c.Request()) {
		return badRequest("", "content_type")
	}
	r, err := s.visible(ctx, u, c.Param("id"))
	if err != nil {
		return err
	}
	var p bookingPatch
	if err := decodeJSON(c.Request().Body, &p); err != nil {
		return err
	}
	req := models.BookingRequest{RoomID: r.RoomID, Title: r.Title, Description: r.Description, Start: r.Start, End: r.End, Attendees: r.Attendees}
	if p.RoomID != nil {
		req.RoomID = *p.RoomID
	}
	if p.Title != nil {
		req.Title = *p.Title
	}
	if p.Description != nil {
		req.Description = *p.Description
	}
	if p.Attendees != nil {
		req.Attendees = *p.Attendees
	}
	if p.Start != nil {
		if req.Start, err = s.parseBodyTime("start", *p.Start); err != nil {
			return err
		}
	}
	if p.End != nil {
		if req.End, err = s.parseBodyTime("end", *p.End); err != nil {
			return err
		}
	}
	if err := s.checkRoom(ctx, strings.TrimSpace(req.RoomID)); err != nil {
		return err
	}
	// Changing an occurrence changes that occurrence only (scope=this, the default: it
	// stays in its series as an override); following and all change the series.
	if scope := c.QueryParam("scope"); scope != "" && scope != string(models.ScopeThis) {
		onConflict := ""
		if p.OnConflict != nil {
			onConflict = *p.OnConflict
		}
		res, err := s.booker.EditSeries(ctx, u, r.ID, models.Scope(scope), req, models.OnConflict(onConflict))
		if err != nil {
			return err
		}
		out := s.seriesJSON(langOf(c), res.Series, res.Occurrences, res.Skipped)
		for _, o := range res.Occurrences {
			if o.ID == r.ID {
				out.bookingJSON = s.bookingJSON(langOf(c), o)
			}
		}
		return c.JSON(http.StatusOK, out)
	}
	if p.OnConflict != nil {
		return models.E(models.ErrInvalid, "on_conflict_series_only", "on_conflict")
	}
	r, err = s.booker.Reschedule(ctx, u, r.ID, req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.bookingJSON(langOf(c), r))
}

// cancelBookingAPI handles DELETE /api/v1/bookings/{id}: 200 with the cancelled booking.
func (s *server) cancelBookingAPI(c echo.Context) error {
	ctx, u := c.Request().Context(), user(c)
	r, err := s.visible(ctx, u, c.Param("id"))
	if err != nil {
		return err
	}
	if scope := c.QueryParam("scope"); scope != "" && scope != string(models.ScopeThis) || scope == string(models.ScopeThis) && r.Series() != "" {
		if _, err := s.booker.CancelSeries(ctx, u, r.ID, models.Scope(scope)); err != nil {
			return err
		}
		if r, err = s.store.Reservation(ctx, r.ID); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, s.bookingJSON(langOf(c), r))
	}
	if r, err = s.booker.Cancel(ctx, u, r.ID); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.bookingJSON(langOf(c), r))
}

// decodeJSON reads exactly one JSON object into v, refusing unknown fields. Errors are
// 400 user errors naming the problem, or the body limit's 413.
func decodeJSON(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	var (
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
		msg string
	)
	switch {
	case err == nil:
		return nil
	case tooLarge(err):
		return err
	case errors.Is(err, io.EOF):
		return badRequest("", "body_empty")
	case errors.As(err, &te) && te.Field == "":
		return badRequest("", "body_object")
	case errors.As(err, &te):
		return badRequest(te.Field, "field_type", models.ArgName, te.Field, "want", te.Type.String())
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		msg = err.Error()
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest(f, "unknown_field", models.ArgName, f)
	default:
		msg = err.Error()
	}
	return badRequest("", "json").Wrap(errors.New(msg))
}

// parseBodyTime reads a time from the JSON body as every API route reads one (see
// parseTime); "" is the zero time (the booking rules then ask for it).
func (s *server) parseBodyTime(field, v string) (time.Time, error) {
	if strings.TrimSpace(v) == "" {
		return time.Time{}, nil
	}
	return s.parseTime(field, v)
}
