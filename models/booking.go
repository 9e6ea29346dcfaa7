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
	if ps := b.Problems(now); len(ps) > 0 {
		return ps[0]
	}
	return nil
}

// Problems lists every rule the request breaks, at most one per field, in the order of the
// form (room, title, description, start, end, attendees): what a form shows all at once.
func (b BookingRequest) Problems(now time.Time) []*Error {
	var out []*Error
	seen := map[string]bool{}
	add := func(e *Error) {
		if e != nil && !seen[e.Field] {
			seen[e.Field] = true
			out = append(out, e)
		}
	}
	if b.RoomID == "" {
		add(E(ErrInvalid, "room_required", "room_id"))
	}
	switch {
	case b.Title == "":
		add(E(ErrInvalid, "title_required", "title"))
	case utf8.RuneCountInString(b.Title) > MaxTitleRunes:
		add(E(ErrInvalid, "title_too_long", "title", ArgLimit, strconv.Itoa(MaxTitleRunes)))
	case strings.ContainsAny(b.Title, "\r\n"):
		add(E(ErrInvalid, "title_multiline", "title"))
	case HasControl(b.Title, ""):
		add(E(ErrInvalid, "control_characters", "title"))
	}
	switch {
	case utf8.RuneCountInString(b.Description) > MaxDescriptionRunes:
		add(E(ErrInvalid, "description_too_long", "description", ArgLimit, strconv.Itoa(MaxDescriptionRunes)))
	case HasControl(b.Description, "\t\n"):
		add(E(ErrInvalid, "control_characters", "description"))
	}
	if !utf8.ValidString(b.Title) || !utf8.ValidString(b.Description) {
		add(E(ErrInvalid, "bad_encoding", "title"))
	}
	switch {
	case b.Start.IsZero():
		add(E(ErrInvalid, "start_required", "start"))
	case b.Start.Before(now.Add(-PastGrace)):
		add(E(ErrInvalid, "start_in_past", "start"))
	case b.Start.After(now.Add(MaxAdvance)):
		add(E(ErrInvalid, "too_far_ahead", "start"))
	}
	switch {
	case b.End.IsZero():
		add(E(ErrInvalid, "end_required", "end"))
	case b.Start.IsZero():
	case !b.End.After(b.Start):
		add(E(ErrInvalid, "end_before_start", "end"))
	case b.End.Sub(b.Start) < MinDuration:
		add(E(ErrInvalid, "too_short", "end"))
	case b.End.Sub(b.Start) > MaxDuration:
		add(E(ErrInvalid, "too_long", "end"))
	}
	if len(b.Attendees) > MaxAttendees {
		add(E(ErrInvalid, "too_many_attendees", "attendees", ArgLimit, strconv.Itoa(MaxAttendees)))
	}
	return out
}

// MaxIdempotencyKeyLen is the longest idempotency key a client may send, in bytes.
const MaxIdempotencyKeyLen = 128

// CheckIdempotencyKey refuses a key that is too long, not UTF-8 or holds control
// characters (ErrInvalid "bad_idempotency_key"); "" (no key) passes.
func CheckIdempotencyKey(key string) error {
	if len(key) > MaxIdempotencyKeyLen || !utf8.ValidString(key) || HasControl(key, "") {
		return E(ErrInvalid, "bad_idempotency_key", "", ArgLimit, strconv.Itoa(MaxIdempotencyKeyLen))
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
