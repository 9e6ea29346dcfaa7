package models

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on booking input.
const (
	MaxTitleRunes       = 200
	MaxDescriptionRunes = 5000
	MaxAttendees        = 100
	MaxDuration         = 12 * time.Hour
	MinDuration         = 5 * time.Minute
	MaxAdvance          = 366 * 24 * time.Hour
	// PastGrace lets a booking start a little in the past (a form filled in slowly).
	PastGrace = 5 * time.Minute
)

// BookingRequest is what a member of staff asks for.
type BookingRequest struct {
	RoomID      string
	Title       string
	Description string
	Start, End  time.Time
	Attendees   []string
}

// Normalize trims text, drops empty and duplicate attendees and truncates times to whole
// minutes in UTC (the OA keeps minutes only).
func (b BookingRequest) Normalize() BookingRequest {
	b.RoomID = strings.TrimSpace(b.RoomID)
	b.Title = strings.TrimSpace(b.Title)
	b.Description = strings.TrimSpace(strings.ReplaceAll(b.Description, "\r\n", "\n"))
	seen := map[string]bool{}
	var att []string
	for _, a := range b.Attendees {
		a = strings.TrimSpace(a)
		if a != "" && !seen[a] {
			seen[a] = true
			att = append(att, a)
		}
	}
	b.Attendees = att
	b.Start = b.Start.UTC().Truncate(time.Minute)
	b.End = b.End.UTC().Truncate(time.Minute)
	return b
}

// Validate checks the request on its own (the room's existence and availability are the
// store's business). It returns an ErrInvalid user error naming the first bad field.
func (b BookingRequest) Validate(now time.Time) error {
	switch {
	case b.RoomID == "":
		return E(ErrInvalid, "room_required", "room_id")
	case b.Title == "":
		return E(ErrInvalid, "title_required", "title")
	case utf8.RuneCountInString(b.Title) > MaxTitleRunes:
		return E(ErrInvalid, "title_too_long", "title", ArgLimit, strconv.Itoa(MaxTitleRunes))
	case strings.ContainsAny(b.Title, "\r\n"):
		return E(ErrInvalid, "title_multiline", "title")
	case utf8.RuneCountInString(b.Description) > MaxDescriptionRunes:
		return E(ErrInvalid, "description_too_long", "description", ArgLimit, strconv.Itoa(MaxDescriptionRunes))
	case !utf8.ValidString(b.Title) || !utf8.ValidString(b.Description):
		return E(ErrInvalid, "bad_encoding", "title")
	case HasControl(b.Title, ""):
		return E(ErrInvalid, "control_characters", "title")
	case HasControl(b.Description, "\t\n"):
		return E(ErrInvalid, "control_characters", "description")
	case b.Start.IsZero():
		return E(ErrInvalid, "start_required", "start")
	case b.End.IsZero():
		return E(ErrInvalid, "end_required", "end")
	case !b.End.After(b.Start):
		return E(ErrInvalid, "end_before_start", "end")
	case b.End.Sub(b.Start) < MinDuration:
		return E(ErrInvalid, "too_short", "end")
	case b.End.Sub(b.Start) > MaxDuration:
		return E(ErrInvalid, "too_long", "end")
	case b.Start.Before(now.Add(-PastGrace)):
		return E(ErrInvalid, "start_in_past", "start")
	case b.Start.After(now.Add(MaxAdvance)):
		return E(ErrInvalid, "too_far_ahead", "start")
	case len(b.Attendees) > MaxAttendees:
		return E(ErrInvalid, "too_many_attendees", "attendees", ArgLimit, strconv.Itoa(MaxAttendees))
	}
	return nil
}

// HasControl reports whether s holds a control character (C0, DEL or C1: NUL, ESC, VT
// and the like) other than those in allowed. Such characters would reach the OA,
// DingTalk and every calendar client.
func HasControl(s, allowed string) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && !strings.ContainsRune(allowed, r)
	})
}

// ConflictError says which reservation holds a slot. It unwraps to ErrConflict.
type ConflictError struct {
	With Reservation
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("room %s is taken by reservation %s (%s)", e.With.RoomID, e.With.ID, e.With.Backend)
}

// Unwrap makes errors.Is(err, ErrConflict) hold.
func (e *ConflictError) Unwrap() error { return ErrConflict }
