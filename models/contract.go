package models

import (
	"encoding/json"
	"time"
)

// The types in this file cross the seam between web and bridge: bridge produces them,
// web shows them, and neither keeps a copy of its own.

// SyncSummary is what one sync pass of one backend did (also the JSON of POST
// /api/v1/sync and of the runs in GET /api/v1/admin/status).
type SyncSummary struct {
	Backend      Backend   `json:"backend"`
	StartedAt    time.Time `json:"started_at"`
	DurationMS   int64     `json:"duration_ms"`
	Seen         int       `json:"seen"`
	Created      int       `json:"created"`
	Updated      int       `json:"updated"`
	Cancelled    int       `json:"cancelled"`
	Errors       int       `json:"errors"`
	MeteredCalls int       `json:"metered_calls"`
	// Guarded counts the cancellations a pass refused because the backend suddenly
	// returned nothing (a forced pass applies them).
	Guarded int    `json:"guarded"`
	Skipped bool   `json:"skipped"`
	Note    string `json:"note,omitempty"`
}

// Summary returns the pass recorded in run.
func (run SyncRun) Summary() SyncSummary {
	return SyncSummary{Backend: run.Backend, StartedAt: run.StartedAt, DurationMS: run.DurationMS, Seen: run.Seen,
		Created: run.Created, Updated: run.Updated, Cancelled: run.Cancelled, Errors: run.Errors,
		MeteredCalls: run.MeteredCalls, Guarded: run.Guarded, Note: run.Note}
}

// UsageStatus is the monthly budget of a metered backend (DingTalk). Its JSON names the
// fields in snake case and gives Interval as interval_seconds.
type UsageStatus struct {
	Backend Backend `json:"backend"`
	Month   string  `json:"month"`
	Budget  int     `json:"budget"`
	Used    int     `json:"used"`
	// PerPass is what one sync pass costs now.
	PerPass int `json:"per_pass"`
	// Projected is the month's expected total: used so far plus the passes still to come
	// at the current interval.
	Projected int `json:"projected"`
	// SteadyMonth is what a whole 30-day month costs at the current interval.
	SteadyMonth int `json:"steady_month"`
	// Interval is the current time between passes.
	Interval time.Duration `json:"-"`
	// Overage is what sync may spend past Budget to keep one pass a day once bookings
	// have used the budget up.
	Overage int `json:"overage"`
	// State is SyncRunning, SyncThrottled or SyncPaused; Until is when the next pass runs
	// when throttled or paused (zero when running).
	State string    `json:"state"`
	Until time.Time `json:"until,omitzero"`
}

// Sync states of a metered backend, as UsageStatus.State reports them.
const (
	// SyncRunning: passes run at the base interval.
	SyncRunning = "running"
	// SyncThrottled: the budget stretches the time between passes beyond the base
	// interval; the next pass is at Until.
	SyncThrottled = "throttled"
	// SyncPaused: the month's budget is spent (bookings come first); the next pass is at
	// Until: the daily pass the overage allows, or the month's turn.
	SyncPaused = "paused"
)

// usageJSON is UsageStatus without its methods, for MarshalJSON and UnmarshalJSON.
type usageJSON UsageStatus

// MarshalJSON writes the status with the interval in seconds.
func (u UsageStatus) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		usageJSON
		IntervalSeconds float64 `json:"interval_seconds"`
	}{usageJSON(u), u.Interval.Seconds()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (u *UsageStatus) UnmarshalJSON(b []byte) error {
	var v struct {
		usageJSON
		IntervalSeconds float64 `json:"interval_seconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*u = UsageStatus(v.usageJSON)
	u.Interval = time.Duration(v.IntervalSeconds * float64(time.Second))
	return nil
}

// FeedScope names which reservations an iCalendar feed holds; the values are the path
// elements under /ical/{token}/.
type FeedScope string

// Feed scopes.
const (
	FeedAll     FeedScope = "all"     // every room
	FeedMe      FeedScope = "me"      // the token owner's bookings, as organizer or attendee
	FeedRooms   FeedScope = "rooms"   // one room (id = room id)
	FeedOffices FeedScope = "offices" // the rooms of one office (id = office id)
)

// FeedContentType is the Content-Type of every feed response.
const FeedContentType = "text/calendar; charset=utf-8"

// Feed is one rendered calendar, ready to serve with http.ServeContent.
type Feed struct {
	Body []byte
	// Gzip is Body compressed with gzip, served to clients that accept it; nil while it
	// is not ready.
	Gzip []byte
	// ETag is a strong entity tag derived from Body (quoted or not; web quotes a bare one).
	ETag string
	// LastModified is the newest change the feed reflects, cancellations and removals
	// included; zero when the feed never had an event (no Last-Modified is sent then).
	LastModified time.Time
	// Filename goes in Content-Disposition (none when empty).
	Filename string
}

// AdminStatus is the state of the engine an admin watches (GET /api/v1/admin/status).
type AdminStatus struct {
	// Runs are the latest passes, newest first, both backends.
	Runs []SyncSummary `json:"runs"`
	// Usage is one entry per metered backend (DingTalk).
	Usage []UsageStatus `json:"usage"`
	// Outbox counts jobs by state: pending, done, failed.
	Outbox  map[string]int `json:"outbox"`
	Cutover time.Time      `json:"cutover"`
	Freeze  time.Time      `json:"freeze"`
	Demo    bool           `json:"demo"`
	// UnmappedOrganizers counts native bookings not yet over whose organizer the catalog
	// cannot map.
	UnmappedOrganizers int `json:"unmapped_organizers"`
	// Stream is what DingTalk's Stream-mode events have done in this process (nil when
	// Stream mode is off).
	Stream *StreamStatus `json:"stream,omitempty"`
}

// StreamStatus is the DingTalk Stream connection of one process and the events it saw.
type StreamStatus struct {
	// Connected says whether the connection is up; Since is when it came up or dropped
	// (zero: it never came up).
	Connected bool      `json:"connected"`
	Since     time.Time `json:"since,omitzero"`
	// RoomEventsAt and CalendarEventsAt are when the last meetingroom_book and the last
	// calendar_event_change arrived (zero: none since the process started).
	RoomEventsAt     time.Time `json:"room_events_at,omitzero"`
	CalendarEventsAt time.Time `json:"calendar_events_at,omitzero"`
	// RoomEventsTrusted says room events arrive, so calendar_event_change is left unread.
	RoomEventsTrusted bool `json:"room_events_trusted"`
}
