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

// roomQuery is what the room finder asks: rooms free in both systems for [From, To),
// of one office (empty: all) and for at least Capacity people (0: any size).
type roomQuery struct {
	From, To time.Time
	Office   string
	Capacity int
}

// roomHit is one room the finder offers, with its office.
type roomHit struct {
	Room   models.Room
	Office models.Office
}

// freeRooms answers q (without From: every room that fits, busy or not): every room of the office (or all offices) with enough seats and no
// holding reservation overlapping [From, To) in either system, best fit first (the fewest
// seats that are enough; catalog order among equals). A room whose capacity is unknown (0)
// is offered only when no capacity is asked for.
func (s *server) freeRooms(ctx context.Context, q roomQuery) ([]roomHit, error) {
	offices, err := s.store.Offices(ctx)
	if err != nil {
		return nil, err
	}
	var hits []roomHit
	var ids []string
	for _, o := range offices {
		if q.Office != "" && o.ID != q.Office {
			continue
		}
		for _, r := range o.Rooms {
			if q.Capacity > 0 && r.Capacity < q.Capacity {
				continue
			}
			hits = append(hits, roomHit{Room: r, Office: o})
			ids = append(ids, r.ID)
		}
	}
	slices.SortStableFunc(hits, func(a, b roomHit) int { return a.Room.Capacity - b.Room.Capacity })
	if len(ids) == 0 || q.From.IsZero() {
		return hits, nil
	}
	busy, err := s.store.Reservations(ctx, models.Filter{RoomIDs: ids, Statuses: models.HoldingStatuses, From: q.From, To: q.To})
	if err != nil {
		return nil, err
	}
	taken := map[string]bool{}
	for _, r := range busy {
		if r.Overlaps(q.From, q.To) {
			taken[r.RoomID] = true
		}
	}
	return slices.DeleteFunc(hits, func(h roomHit) bool { return taken[h.Room.ID] }), nil
}

// checkOffice returns a 404 user error (field office) for an office id that does not exist.
func (s *server) checkOffice(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	offices, err := s.store.Offices(ctx)
	if err != nil {
		return err
	}
	for _, o := range offices {
		if o.ID == id {
			return nil
		}
	}
	return models.E(models.ErrNotFound, "unknown_office", "office")
}

// readCapacity reads a head count: empty is 0 (any size), otherwise a whole number from 1
// to 1000.
func readCapacity(field, v string) (int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, models.E(models.ErrInvalid, "bad_capacity", field)
	}
	return n, nil
}

// bookable refuses a room search starting where a booking may not (the finder offers
// rooms to book): in the past, or further ahead than a booking may, with the booking
// rule's code.
func (s *server) bookable(field string, start time.Time) error {
	now := s.now()
	switch {
	case start.Before(now.Add(-models.PastGrace)):
		return models.E(models.ErrInvalid, "start_in_past", field)
	case start.After(now.Add(models.MaxAdvance)):
		return models.E(models.ErrInvalid, "too_far_ahead", field)
	}
	return nil
}

// listRooms handles GET /api/v1/rooms: every room in catalog order; with
// ?free_from=T&free_to=T only the rooms free in both systems for that interval, best fit
// first, narrowed by &office=ID and &capacity=N (the room finder). Times without a zone
// are read in the configured zone.
func (s *server) listRooms(c echo.Context) error {
	ctx := c.Request().Context()
	fromQ, toQ := c.QueryParam("free_from"), c.QueryParam("free_to")
	office, capQ := c.QueryParam("office"), c.QueryParam("capacity")
	if fromQ == "" && toQ == "" && office == "" && capQ == "" {
		offices, err := s.store.Offices(ctx)
		if err != nil {
			return err
		}
		out := []roomJSON{}
		for _, o := range offices {
			for _, r := range o.Rooms {
				out = append(out, s.roomJSON(langOf(c), o, r))
			}
		}
		return c.JSON(http.StatusOK, out)
	}
	q := roomQuery{Office: office}
	var err error
	if q.Capacity, err = readCapacity("capacity", capQ); err != nil {
		return err
	}
	if err := s.checkOffice(ctx, office); err != nil {
		return err
	}
	switch {
	case fromQ == "" && toQ == "":
		// Only office or capacity: every such room, best fit first, busy or not.
	case fromQ == "":
		return badRequest("free_from", "param", models.ArgName, "free_from")
	case toQ == "":
		return badRequest("free_to", "param", models.ArgName, "free_to")
	default:
		if q.From, err = s.parseQueryTime("free_from", fromQ); err != nil {
			return err
		}
		if q.To, err = s.parseQueryTime("free_to", toQ); err != nil {
			return err
		}
		if !q.To.After(q.From) {
			return models.E(models.ErrInvalid, "free_to_before_free_from", "free_to")
		}
		if q.To.Sub(q.From) > maxWindow {
			return models.E(models.ErrInvalid, "window_too_long", "free_to")
		}
		if err := s.bookable("free_from", q.From); err != nil {
			return err
		}
	}
	hits, err := s.freeRooms(ctx, q)
	if err != nil {
		return err
	}
	out := make([]roomJSON, 0, len(hits))
	for _, h := range hits {
		out = append(out, s.roomJSON(langOf(c), h.Office, h.Room))
	}
	return c.JSON(http.StatusOK, out)
}
