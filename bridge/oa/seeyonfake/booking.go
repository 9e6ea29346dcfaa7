package seeyonfake

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"roombridge/models"
)

// errIDs is returned when the id generator keeps producing ids in use.
var errIDs = errors.New("no free booking id")

// AddNative books roomID for loginName as if someone used the OA directly, and
// returns the new booking's id. It ignores the room's Applicants but not other
// bookings. Errors wrap models.ErrNotFound for an unknown room or user,
// models.ErrInvalid if end is not after start, and models.ErrConflict if the room
// is taken.
func (s *Server) AddNative(roomID, loginName string, start, end time.Time, description string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.roomLocked(roomID); !ok {
		return "", fmt.Errorf("add native booking: room %s: %w", roomID, models.ErrNotFound)
	}
	u, ok := s.userLocked(loginName, "")
	if !ok {
		return "", fmt.Errorf("add native booking: user %s: %w", loginName, models.ErrNotFound)
	}
	if !end.After(start) {
		return "", fmt.Errorf("add native booking: end %v is not after start %v: %w", end, start, models.ErrInvalid)
	}
	if s.takenLocked(roomID, start, end, "") {
		return "", fmt.Errorf("add native booking: room %s at %v: %w", roomID, start, models.ErrConflict)
	}
	b, err := s.addLocked(roomID, u, start, end, description, true)
	if err != nil {
		return "", fmt.Errorf("add native booking: %w", err)
	}
	return b.AppID, nil
}

// CancelNative cancels booking appID as if its owner did so in the OA. Cancelling
// a cancelled booking succeeds. Errors wrap models.ErrNotFound for an unknown id.
func (s *Server) CancelNative(appID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bookings[appID]
	if b == nil {
		return fmt.Errorf("cancel native booking %s: %w", appID, models.ErrNotFound)
	}
	if !b.Cancelled {
		b.Cancelled, b.CancelReason = true, "cancelled in the OA"
	}
	return nil
}

// MoveNative moves booking appID to [start, end) as if its owner did so in the OA.
// Errors wrap models.ErrNotFound for an unknown or cancelled booking,
// models.ErrInvalid if end is not after start, and models.ErrConflict if the room
// is taken then.
func (s *Server) MoveNative(appID string, start, end time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bookings[appID]
	switch {
	case b == nil || b.Cancelled:
		return fmt.Errorf("move native booking %s: %w", appID, models.ErrNotFound)
	case !end.After(start):
		return fmt.Errorf("move native booking %s: end %v is not after start %v: %w", appID, end, start, models.ErrInvalid)
	case s.takenLocked(b.RoomID, start, end, appID):
		return fmt.Errorf("move native booking %s to %v: %w", appID, start, models.ErrConflict)
	}
	b.Start, b.End = start.In(s.zone), end.In(s.zone)
	return nil
}

// Bookings returns a snapshot of every booking, cancelled ones included, sorted by
// start.
func (s *Server) Bookings() []Booking {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Booking, 0, len(s.bookings))
	for _, b := range s.bookings {
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b Booking) int {
		return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.AppID, b.AppID))
	})
	return out
}

// Reject sets booking appID to approval status 2 (审核未通过), as the room's
// approver does in the OA. Errors wrap models.ErrNotFound for an unknown id.
func (s *Server) Reject(appID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bookings[appID]
	if b == nil {
		return fmt.Errorf("reject booking %s: %w", appID, models.ErrNotFound)
	}
	b.Status = 2
	return nil
}
