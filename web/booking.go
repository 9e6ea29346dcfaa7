package web

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"roombridge/models"
)

// visible loads reservation id if u may see it; otherwise (or when it does not exist)
// the error is a 404, so ids of other people's bookings reveal nothing.
func (s *server) visible(ctx context.Context, u models.User, id string) (models.Reservation, error) {
	r, err := s.store.Reservation(ctx, id)
	if err == nil && !s.access.MaySee(u.ID, r) {
		err = models.ErrNotFound
	}
	if errors.Is(err, models.ErrNotFound) {
		return r, models.E(models.ErrNotFound, "booking_not_found", "").Wrap(err)
	}
	return r, err
}

// live tells whether r still holds its room and has not ended: only then do reschedule
// and cancel make sense (the engine decides for real; this only hides buttons that would
// fail).
func (s *server) live(r models.Reservation) bool {
	return r.Status.Holds() && r.End.After(s.now())
}

// bookingView is a reservation as the pages show it, in the viewer's language and zone.
type bookingView struct {
	ID          string
	Title       string
	Room        string
	Office      string
	When        string
	System      string
	Origin      string
	RemoteID    string
	Status      models.Status
	StatusLabel string
	Reason      string
	Organizer   string
	Attendees   string
	Description string
	CanEdit     bool
	CanCancel   bool
	// Rebook opens the form pre-filled with this booking (offered after a rejection or
	// a cancellation).
	Rebook string
	// InSeries marks an occurrence of a series; Occurrences, on the one entry that stands
	// for a series in a list, are all its listed occurrences (this one included).
	InSeries    bool
	Occurrences []bookingView
	// Warnings say the booking is part of an open conflict, one line per kind.
	Warnings []string
}

// views turns reservations into views for u; names come from the catalog.
func (s *server) views(ctx context.Context, l lang, u models.User, rs []models.Reservation) ([]bookingView, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	where, err := s.places(ctx)
	if err != nil {
		return nil, err
	}
	users, err := s.store.Users(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, p := range users {
		names[p.ID] = p.Name
	}
	name := func(id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		return id
	}
	ids := make([]string, 0, len(rs))
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	warn := s.warnings(ctx, ids)
	out := make([]bookingView, 0, len(rs))
	for _, r := range rs {
		v := bookingView{
			ID: r.ID, Title: r.Title, When: s.span(l, r.Start, r.End), System: backendName(l, r.Backend),
			Origin: l.T("origin." + string(r.Origin)), Status: r.Status,
			StatusLabel: l.T("status." + string(r.Status)), Reason: s.reasonText(l, r), Description: r.Description,
			Room: r.RoomID, CanCancel: s.live(r) && s.access.MayCancel(u.ID, r), InSeries: r.Series() != "",
		}
		// A pending booking is still being sent; the engine refuses to move it until then.
		v.CanEdit = s.live(r) && s.access.MayChange(u.ID, r) && r.Origin == models.OriginBridge && r.Status != models.StatusPending
		if p, ok := where[r.RoomID]; ok {
			v.Room, v.Office = roomName(l, p.Room), officeTitle(l, p.Office)
		}
		// Backend ids mean something to admins only.
		if s.access.IsAdmin(u.ID) {
			v.RemoteID = r.Remote()
		}
		if !r.Status.Holds() && r.Origin == models.OriginBridge && s.access.MayChange(u.ID, r) {
			v.Rebook = s.rebookURL(r)
		}
		v.Organizer = r.OrganizerName
		if v.Organizer == "" {
			v.Organizer = name(r.OrganizerID)
		}
		var att []string
		for _, a := range r.Attendees {
			att = append(att, name(a))
		}
		v.Attendees = strings.Join(att, l.T("list.sep"))
		for _, k := range warn[r.ID] {
			key := "warn.conflict"
			if k != string(models.KindOverlap) {
				key = "warn." + k
			}
			v.Warnings = append(v.Warnings, l.T(key))
		}
		out = append(out, v)
	}
	return out, nil
}

// rebookURL is the booking form pre-filled with r: room, day, times, title, attendees and
// description.
func (s *server) rebookURL(r models.Reservation) string {
	a, b := r.Start.In(s.zone), r.End.In(s.zone)
	q := url.Values{"room": {r.RoomID}, "date": {a.Format(time.DateOnly)}, "start": {a.Format("15:04")}, "end": {b.Format("15:04")}, "title": {r.Title}}
	if r.Description != "" {
		q.Set("description", r.Description)
	}
	for _, p := range r.Attendees {
		q.Add("attendees", p)
	}
	return "/?" + q.Encode()
}

func (s *server) view(ctx context.Context, l lang, u models.User, r models.Reservation) (bookingView, error) {
	vs, err := s.views(ctx, l, u, []models.Reservation{r})
	if err != nil {
		return bookingView{}, err
	}
	return vs[0], nil
}
