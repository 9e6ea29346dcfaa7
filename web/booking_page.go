package web

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

// recentDays is how far back "my bookings" looks.
const recentDays = 30

// bookingPage is the view model of booking.html (the outcome page) and cancel.html.
type bookingPage struct {
	page
	B bookingView
	// Poll is the API URL booking.js polls while the booking is pending.
	Poll string
}

// bookingPage handles GET /bookings/{id}: where the booking stands. A pending booking
// gets a few seconds to be confirmed first, so a fast backend shows the outcome at once.
func (s *server) bookingPage(c echo.Context) error {
	ctx, u := c.Request().Context(), user(c)
	r, err := s.visible(ctx, u, c.Param("id"))
	if err != nil {
		return err
	}
	if r.Status == models.StatusPending {
		if r, err = s.booker.Wait(ctx, r.ID, s.waitMax); err != nil {
			return err
		}
	}
	v, err := s.view(ctx, langOf(c), u, r)
	if err != nil {
		return err
	}
	pg := bookingPage{page: s.page(c, "booking.title"), B: v}
	if r.Status == models.StatusPending {
		pg.Poll = "/api/v1/bookings/" + r.ID
	}
	return s.render(c, http.StatusOK, "booking.html", pg)
}

// bookingsPage is the view model of bookings.html: upcoming, then recent bookings.
type bookingsPage struct {
	page
	Sections []bookingSection
}

type bookingSection struct {
	Heading string
	Empty   string
	Items   []bookingView
}

// myBookings handles GET /bookings: the bookings the user organises or attends that have not ended (soonest
// first) and those of the last 30 days (latest first).
func (s *server) myBookings(c echo.Context) error {
	ctx, u, l := c.Request().Context(), user(c), langOf(c)
	now := s.now()
	rs, err := s.store.Reservations(ctx, models.Filter{Participant: u.ID, From: now.AddDate(0, 0, -recentDays), Limit: 500})
	if err != nil {
		return err
	}
	var upcoming, recent []models.Reservation
	for _, r := range rs {
		if r.End.After(now) {
			upcoming = append(upcoming, r)
		} else {
			recent = append(recent, r)
		}
	}
	slices.Reverse(recent)
	up, err := s.views(ctx, l, u, upcoming)
	if err != nil {
		return err
	}
	past, err := s.views(ctx, l, u, recent)
	if err != nil {
		return err
	}
	pg := bookingsPage{page: s.page(c, "bookings.title"), Sections: []bookingSection{
		{Heading: l.T("bookings.upcoming"), Empty: l.T("bookings.none_upcoming"), Items: bySeries(up, upcoming)},
		{Heading: l.Tf("bookings.recent", recentDays), Empty: l.T("bookings.none_recent"), Items: bySeries(past, recent)},
	}}
	return s.render(c, http.StatusOK, "bookings.html", pg)
}

// bySeries folds the occurrences of each series into one entry (its first listed
// occurrence), which carries them all; views[i] is the view of rs[i].
func bySeries(views []bookingView, rs []models.Reservation) []bookingView {
	var out []bookingView
	at := map[string]int{}
	for i, v := range views {
		id := rs[i].Series()
		if id == "" {
			out = append(out, v)
			continue
		}
		if j, seen := at[id]; seen {
			out[j].Occurrences = append(out[j].Occurrences, v)
			continue
		}
		at[id] = len(out)
		v.Occurrences = []bookingView{v}
		out = append(out, v)
	}
	return out
}

// cancelBookingPage handles GET /bookings/{id}/cancel: the confirm step.
func (s *server) cancelBookingPage(c echo.Context) error {
	ctx, u := c.Request().Context(), user(c)
	r, err := s.changeable(c, s.access.CheckCancel)
	if err != nil {
		return err
	}
	v, err := s.view(ctx, langOf(c), u, r)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "cancel.html", bookingPage{page: s.page(c, "cancel.title"), B: v})
}

// cancelBookingForm handles POST /bookings/{id}/cancel, then shows the booking.
func (s *server) cancelBookingForm(c echo.Context) error {
	r, err := s.changeable(c, s.access.CheckCancel)
	if err != nil {
		return err
	}
	if scope := c.FormValue("scope"); r.Series() != "" && scope != "" {
		if _, err := s.booker.CancelSeries(c.Request().Context(), user(c), r.ID, models.Scope(scope)); err != nil {
			return err
		}
		return redirect(c, "/bookings/"+r.ID)
	}
	if _, err := s.booker.Cancel(c.Request().Context(), user(c), r.ID); err != nil {
		return err
	}
	return redirect(c, "/bookings/"+r.ID)
}
