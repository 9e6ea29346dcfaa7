package dingtalkfake

import (
	"fmt"
	"time"

	"roombridge/models"
)

// AddNative books roomID for [start, end) as if organizerUnionID had used DingTalk directly,
// and returns the new event's id. It returns an error wrapping models.ErrNotFound for an
// unknown organiser or room, models.ErrInvalid if end is not after start, and
// models.ErrConflict if the room is taken.
func (s *Server) AddNative(organizerUnionID, roomID, title string, start, end time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, known := s.userByUnion(organizerUnionID); !known {
		return "", fmt.Errorf("add native booking: organiser %s: %w", organizerUnionID, models.ErrNotFound)
	}
	rm, known := s.room(roomID)
	if !known {
		return "", fmt.Errorf("add native booking: room %s: %w", roomID, models.ErrNotFound)
	}
	if !end.After(start) {
		return "", fmt.Errorf("add native booking: end %s not after start %s: %w", end, start, models.ErrInvalid)
	}
	if other := s.busyWith(roomID, start, end, ""); other != nil {
		return "", fmt.Errorf("add native booking: room %s is held by event %s: %w", roomID, other.ID, models.ErrConflict)
	}
	e := &event{Event: Event{
		OrganizerUnionID: organizerUnionID,
		Summary:          title,
		Location:         rm.Name,
		Start:            start.In(shanghai()),
		End:              end.In(shanghai()),
		TimeZone:         "Asia/Shanghai",
		RoomIDs:          []string{roomID},
		Native:           true,
	}}
	s.insert(e)
	s.pushChange(e, "create")
	s.pushRoomBooking(e, "bookSuccess", "INIT", e.RoomIDs)
	return e.ID, nil
}

// AddNativeRecurring books roomID for every occurrence of a recurring event whose first
// occurrence is [start, end), as if organizerUnionID had used DingTalk directly, and returns
// the event's id. Errors as AddNative; models.ErrInvalid also for a recurrence DingTalk
// would refuse, and models.ErrConflict if the room is taken on any occurrence.
func (s *Server) AddNativeRecurring(organizerUnionID, roomID, title string, start, end time.Time, rc Recurrence) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, known := s.userByUnion(organizerUnionID); !known {
		return "", fmt.Errorf("add native series: organiser %s: %w", organizerUnionID, models.ErrNotFound)
	}
	rm, known := s.room(roomID)
	if !known {
		return "", fmt.Errorf("add native series: room %s: %w", roomID, models.ErrNotFound)
	}
	if err := rc.check(); err != nil || !end.After(start) {
		return "", fmt.Errorf("add native series: %v: %w", err, models.ErrInvalid)
	}
	e := &event{Event: Event{OrganizerUnionID: organizerUnionID, Summary: title, Location: rm.Name,
		Start: start.In(shanghai()), End: end.In(shanghai()), TimeZone: "Asia/Shanghai", RoomIDs: []string{roomID}, Native: true, Recurrence: &rc}}
	if other := s.busyForAny(roomID, e, e.Start, e.End); other != nil {
		return "", fmt.Errorf("add native series: room %s is held by event %s: %w", roomID, other.ID, models.ErrConflict)
	}
	s.insert(e)
	s.pushChange(e, "create")
	s.pushRoomBooking(e, "bookSuccess", "INIT", e.RoomIDs)
	return e.ID, nil
}

// live returns the event with id unless it is unknown or cancelled. It runs with s.mu held.
func (s *Server) live(op, id string) (*event, error) {
	e, found := s.events[id]
	if !found || e.Status == StatusCancelled {
		return nil, fmt.Errorf("%s %s: %w", op, id, models.ErrNotFound)
	}
	return e, nil
}

// CancelNative cancels the event with the given id, as its organiser would in DingTalk. It
// returns an error wrapping models.ErrNotFound if the event is unknown or already cancelled.
func (s *Server) CancelNative(eventID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.live("cancel native event", eventID)
	if err != nil {
		return err
	}
	e.Status = StatusCancelled
	s.touch(e)
	s.pushChange(e, "delete")
	s.pushRoomBooking(e, "bookCancel", "SUCCESS", e.RoomIDs)
	return nil
}

// MoveNative moves the event with the given id to [start, end). It returns an error
// wrapping models.ErrNotFound if the event is unknown or cancelled, models.ErrInvalid if
// end is not after start, and models.ErrConflict if one of its rooms is taken then.
func (s *Server) MoveNative(eventID string, start, end time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.live("move native event", eventID)
	if err != nil {
		return err
	}
	if !end.After(start) {
		return fmt.Errorf("move native event %s: end %s not after start %s: %w", eventID, end, start, models.ErrInvalid)
	}
	for _, room := range e.RoomIDs {
		if other := s.busyWith(room, start, end, e.ID); other != nil {
			return fmt.Errorf("move native event %s: room %s is held by event %s: %w", eventID, room, other.ID, models.ErrConflict)
		}
	}
	e.Start, e.End = start.In(zone(e.TimeZone)), end.In(zone(e.TimeZone))
	s.touch(e)
	s.pushChange(e, "update")
	s.pushRoomBooking(e, "bookUpdate", "SUCCESS", e.RoomIDs)
	return nil
}

// RenameNative changes the title of the event with the given id. It returns an error
// wrapping models.ErrNotFound if the event is unknown or cancelled.
func (s *Server) RenameNative(eventID, title string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.live("rename native event", eventID)
	if err != nil {
		return err
	}
	e.Summary = title
	s.touch(e)
	s.pushChange(e, "update")
	s.pushRoomBooking(e, "bookUpdate", "SUCCESS", e.RoomIDs)
	return nil
}
