package models

import (
	"fmt"
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
		return E(ErrInvalid, "room_required", "room_id", "请选择会议室。", "Choose a room.")
	case b.Title == "":
		return E(ErrInvalid, "title_required", "title", "请填写会议主题。", "Enter a title.")
	case utf8.RuneCountInString(b.Title) > MaxTitleRunes:
		return E(ErrInvalid, "title_too_long", "title",
			fmt.Sprintf("会议主题不能超过 %d 个字。", MaxTitleRunes), fmt.Sprintf("The title may have at most %d characters.", MaxTitleRunes))
	case strings.ContainsAny(b.Title, "\r\n"):
		return E(ErrInvalid, "title_multiline", "title", "会议主题只能有一行。", "The title must be a single line.")
	case utf8.RuneCountInString(b.Description) > MaxDescriptionRunes:
		return E(ErrInvalid, "description_too_long", "description",
			fmt.Sprintf("说明不能超过 %d 个字。", MaxDescriptionRunes), fmt.Sprintf("The description may have at most %d characters.", MaxDescriptionRunes))
	case !utf8.ValidString(b.Title) || !utf8.ValidString(b.Description):
		return E(ErrInvalid, "bad_encoding", "title", "文字编码无效。", "The text is not valid UTF-8.")
	case HasControl(b.Title, ""):
		return E(ErrInvalid, "control_characters", "title", "会议主题含有不可见的控制字符。", "The title contains invisible control characters.")
	case HasControl(b.Description, "\t\n"):
		return E(ErrInvalid, "control_characters", "description", "说明含有不可见的控制字符（只允许换行和制表符）。", "The description contains invisible control characters (only line breaks and tabs are allowed).")
	case b.Start.IsZero():
		return E(ErrInvalid, "start_required", "start", "请填写开始时间。", "Enter a start time.")
	case b.End.IsZero():
		return E(ErrInvalid, "end_required", "end", "请填写结束时间。", "Enter an end time.")
	case !b.End.After(b.Start):
		return E(ErrInvalid, "end_before_start", "end", "结束时间必须晚于开始时间。", "The end must be after the start.")
	case b.End.Sub(b.Start) < MinDuration:
		return E(ErrInvalid, "too_short", "end", "会议至少 5 分钟。", "A meeting lasts at least 5 minutes.")
	case b.End.Sub(b.Start) > MaxDuration:
		return E(ErrInvalid, "too_long", "end", "单次预订不能超过 12 小时。", "One booking may last at most 12 hours.")
	case b.Start.Before(now.Add(-PastGrace)):
		return E(ErrInvalid, "start_in_past", "start", "开始时间已经过去。", "The start time is in the past.")
	case b.Start.After(now.Add(MaxAdvance)):
		return E(ErrInvalid, "too_far_ahead", "start", "最多只能提前一年预订。", "Bookings can be made at most a year ahead.")
	case len(b.Attendees) > MaxAttendees:
		return E(ErrInvalid, "too_many_attendees", "attendees",
			fmt.Sprintf("参会人不能超过 %d 位。", MaxAttendees), fmt.Sprintf("At most %d attendees.", MaxAttendees))
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
