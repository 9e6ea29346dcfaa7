package models

import (
	"database/sql/driver"
	"fmt"
	"slices"
	"time"
)

// SeriesStatus is where a series stands as a whole.
type SeriesStatus string

// Series statuses.
const (
	SeriesActive    SeriesStatus = "active"
	SeriesCancelled SeriesStatus = "cancelled" // every occurrence is cancelled
)

// OnConflict says what booking a series does with occurrences whose slot is taken.
type OnConflict string

// The two answers to a taken occurrence.
const (
	// ConflictRefuse books nothing when any occurrence is taken.
	ConflictRefuse OnConflict = "refuse"
	// ConflictSkip books the free occurrences and leaves the taken ones out.
	ConflictSkip OnConflict = "skip"
)

// Valid reports whether o is one of the two answers.
func (o OnConflict) Valid() bool { return o == ConflictRefuse || o == ConflictSkip }

// Series is a recurring booking: one RRULE over one room, started at Start (DTSTART, the
// first occurrence, ending at End). Its occurrences are reservations linked by SeriesID;
// the ones before the cutover live in the OA as individual bookings, the rest in one
// DingTalk recurring event (DingTalkEventID). ExDates are original starts left out of
// the series (skipped because taken, or cancelled). In feeds the series is one UID.
type Series struct {
	ID              string `gorm:"primaryKey"`
	UID             string `gorm:"column:uid"`
	RoomID          string
	Title           string
	Description     string
	OrganizerID     string
	OrganizerName   string
	Attendees       StringList `gorm:"type:text"`
	RRule           string     `gorm:"column:rrule"`
	Start           time.Time  `gorm:"column:starts_at"`
	End             time.Time  `gorm:"column:ends_at"`
	TimeZone        string
	ExDates         TimeList `gorm:"column:exdates;type:text"`
	DingTalkEventID *string  `gorm:"column:dingtalk_event_id"`
	// DingTalkOlderEvents are the recurring events the series made before its current one
	// that may still hold some of its occurrences (see OlderDingTalkEvents).
	DingTalkOlderEvents StringList `gorm:"column:dingtalk_older_events;type:text"`
	// Cutover is the cutover the occurrences were split with (nil: not recorded).
	Cutover        *time.Time `gorm:"column:cutover"`
	Status         SeriesStatus
	Sequence       int
	IdempotencyKey *string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// TableName maps Series to its table.
func (Series) TableName() string { return "series" }

// Rule parses the stored RRULE.
func (s Series) Rule() (RRule, error) {
	return ParseRRule(s.RRule, s.Zone())
}

// Zone is the series' time zone (UTC if unknown).
func (s Series) Zone() *time.Location {
	if z, err := time.LoadLocation(s.TimeZone); err == nil && s.TimeZone != "" {
		return z
	}
	return time.UTC
}

// DingTalkEvent returns the id of the DingTalk recurring event, or "".
func (s Series) DingTalkEvent() string {
	if s.DingTalkEventID == nil {
		return ""
	}
	return *s.DingTalkEventID
}

// OlderDingTalkEvents are the series' DingTalk recurring events other than its current
// one that may still hold occurrences.
func (s Series) OlderDingTalkEvents() []string {
	var out []string
	for _, id := range s.DingTalkOlderEvents {
		if id != "" && id != s.DingTalkEvent() && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// RetireDingTalkEvent makes the current DingTalk recurring event an older one (it may
// still hold occurrences) and replaces it with next ("": none).
func (s *Series) RetireDingTalkEvent(next string) {
	if cur := s.DingTalkEvent(); cur != "" && cur != next && !slices.Contains(s.DingTalkOlderEvents, cur) {
		s.DingTalkOlderEvents = append(s.DingTalkOlderEvents, cur)
	}
	s.DingTalkEventID = nil
	if next != "" {
		s.DingTalkEventID = &next
		s.DingTalkOlderEvents = slices.DeleteFunc(s.DingTalkOlderEvents, func(id string) bool { return id == next })
	}
}

// ForgetDingTalkEvents drops ids, gone from DingTalk, from the series' events.
func (s *Series) ForgetDingTalkEvents(ids ...string) {
	s.DingTalkOlderEvents = slices.DeleteFunc(s.DingTalkOlderEvents, func(id string) bool { return slices.Contains(ids, id) })
	if slices.Contains(ids, s.DingTalkEvent()) {
		s.DingTalkEventID = nil
	}
}

// Occurrences expands the series' rule from Start: every original start, excluded ones
// included.
func (s Series) Occurrences() ([]time.Time, error) {
	r, err := s.Rule()
	if err != nil {
		return nil, err
	}
	starts, _ := r.Expand(s.Start, s.Zone(), MaxOccurrences)
	return starts, nil
}

// Excluded reports whether the original start t is one of the ExDates.
func (s Series) Excluded(t time.Time) bool {
	return slices.ContainsFunc(s.ExDates, func(x time.Time) bool { return x.Equal(t) })
}

// Exclude adds t to the ExDates (once).
func (s *Series) Exclude(t time.Time) {
	if !s.Excluded(t) {
		s.ExDates = append(s.ExDates, t.UTC().Truncate(time.Second))
		slices.SortFunc(s.ExDates, func(a, b time.Time) int { return a.Compare(b) })
	}
}

func (s *Series) normalize() {
	if s.Attendees == nil {
		s.Attendees = StringList{}
	}
	if s.ExDates == nil {
		s.ExDates = TimeList{}
	}
	if s.DingTalkOlderEvents == nil {
		s.DingTalkOlderEvents = StringList{}
	}
	s.Start = s.Start.UTC().Truncate(time.Second)
	s.End = s.End.UTC().Truncate(time.Second)
	if s.Cutover != nil {
		c := s.Cutover.UTC().Truncate(time.Second)
		s.Cutover = &c
	}
}

// SeriesUID is the iCalendar UID of a series made through the bridge.
func SeriesUID(id string) string { return "rs-" + id + "@roombridge" }

// OccurrenceUID is the UID of one occurrence's row. Feeds never show it: they show the
// occurrence under its series' UID with a RECURRENCE-ID.
func OccurrenceUID(seriesID string, at time.Time) string {
	return "rs-" + seriesID + "-" + at.UTC().Format("20060102T150405Z") + "@roombridge"
}

// SeriesResult is the outcome of booking a series: the series, its occurrences as
// reservations (in order) and the occurrences left out because their slot was taken.
// Created is false when an earlier request with the same idempotency key made it.
type SeriesResult struct {
	Series      Series
	Occurrences []Reservation
	Skipped     []Taken
	Created     bool
}

// Taken is one occurrence of a series whose slot another reservation holds.
type Taken struct {
	Start, End time.Time
	With       Reservation
}

// SeriesConflictError lists the occurrences of a series whose slots are taken. It
// unwraps to ErrConflict.
type SeriesConflictError struct {
	Taken []Taken
}

func (e *SeriesConflictError) Error() string {
	return fmt.Sprintf("%d occurrences of the series are taken, the first at %s", len(e.Taken), e.Taken[0].Start.Format(time.RFC3339))
}

// Unwrap makes errors.Is(err, ErrConflict) hold.
func (e *SeriesConflictError) Unwrap() error { return ErrConflict }

// TimeList is a list of instants stored as a JSON array of RFC 3339 UTC strings.
type TimeList []time.Time

// Scan implements sql.Scanner.
func (l *TimeList) Scan(v any) error {
	var ss StringList
	if err := ss.Scan(v); err != nil {
		return err
	}
	*l = nil
	for _, s := range ss {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return fmt.Errorf("time list entry %q: %w", s, err)
		}
		*l = append(*l, t.UTC())
	}
	return nil
}

// Value implements driver.Valuer.
func (l TimeList) Value() (driver.Value, error) {
	ss := StringList{}
	for _, t := range l {
		ss = append(ss, t.UTC().Format(time.RFC3339))
	}
	return ss.Value()
}

// Scope is which occurrences of a series a change applies to.
type Scope string

// Edit scopes, as calendar apps offer them.
const (
	ScopeThis      Scope = "this"      // this occurrence only
	ScopeFollowing Scope = "following" // this occurrence and every later one
	ScopeAll       Scope = "all"       // the whole series
)

// Valid reports whether s is one of the scopes.
func (s Scope) Valid() bool { return s == ScopeThis || s == ScopeFollowing || s == ScopeAll }

// OccurrencePlan is one occurrence of a series being planned: where it would go and what
// holds its slot already (nil when free).
type OccurrencePlan struct {
	Start, End time.Time
	Backend    Backend
	Taken      *Reservation
}

// Outcomes of re-splitting a series at the configured cutover (SeriesResplit.Outcome).
const (
	// ResplitToMove: a dry run; some occurrences would move.
	ResplitToMove = "to_move"
	// ResplitMoved: the occurrences that could move were moved (or queued).
	ResplitMoved = "moved"
	// ResplitKept: nothing could move; every occurrence in the wrong system stays where it
	// is (Frozen).
	ResplitKept = "kept"
	// ResplitFailed: the re-split was refused (Err).
	ResplitFailed = "failed"
)

// SeriesResplit is what re-splitting one series at the configured cutover did or would
// do (a series booked when another cutover was configured).
type SeriesResplit struct {
	Series Series
	// Moves are the occurrences in the system the configured cutover does not give them,
	// as they were before the re-split; Frozen ones included.
	Moves []Reservation
	// Skipped are occurrences whose slot someone else holds in the system they move to:
	// cancelled and left out of the series (in a dry run: those that would be).
	Skipped []Taken
	// Frozen are occurrences of Moves that now belong to the OA but stay in DingTalk:
	// after the OA freeze nothing can be booked in the OA (reason code "oa_frozen").
	Frozen []Reservation
	// FromSnapshot: the OA is frozen, so occurrences leaving it are booked in DingTalk
	// from the stored rows and their OA bookings are not cancelled (the OA still lists
	// them).
	FromSnapshot bool
	// Done: a real run (not a dry run) handled the series.
	Done bool
	// Err is why the series could not be re-split (nil: done, or nothing to do).
	Err error
}

// Outcome is ResplitToMove, ResplitMoved, ResplitKept or ResplitFailed.
func (r SeriesResplit) Outcome() string {
	switch {
	case r.Err != nil:
		return ResplitFailed
	case len(r.Frozen) == len(r.Moves):
		return ResplitKept
	case !r.Done:
		return ResplitToMove
	}
	return ResplitMoved
}

// IsFrozen reports whether occurrence id stays where it is because the OA is frozen.
func (r SeriesResplit) IsFrozen(id string) bool {
	for _, f := range r.Frozen {
		if f.ID == id {
			return true
		}
	}
	return false
}

// SkippedAt returns the skipped occurrence starting at start, if any.
func (r SeriesResplit) SkippedAt(start time.Time) (Taken, bool) {
	for _, t := range r.Skipped {
		if t.Start.Equal(start) {
			return t, true
		}
	}
	return Taken{}, false
}
