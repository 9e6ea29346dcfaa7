package models

import (
	"crypto/rand"
	"database/sql/driver"
	"encoding/base32"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Status is where a reservation stands.
type Status string

// Reservation statuses. Pending, Tentative and Confirmed hold the room.
const (
	StatusPending   Status = "pending"   // accepted by the bridge, not yet confirmed by its backend
	StatusConfirmed Status = "confirmed" // the backend holds the room
	StatusTentative Status = "tentative" // the backend holds the room, awaiting its approval
	StatusRejected  Status = "rejected"  // the backend refused; Reason says why
	StatusCancelled Status = "cancelled"
)

// Holds reports whether a reservation in this status occupies its room.
func (s Status) Holds() bool {
	return s == StatusPending || s == StatusConfirmed || s == StatusTentative
}

// HoldingStatuses lists the statuses that occupy a room.
var HoldingStatuses = []Status{StatusPending, StatusConfirmed, StatusTentative}

// Origin says who made a reservation.
type Origin string

// Origins.
const (
	OriginBridge Origin = "bridge" // booked through roombridge
	OriginNative Origin = "native" // booked directly in the OA or DingTalk, found by sync
)

// Reservation is one booking of one room, from either system. Times are UTC.
type Reservation struct {
	ID            string    `gorm:"primaryKey"`
	UID           string    `gorm:"column:uid"`
	RoomID        string    `gorm:"column:room_id"`
	Start         time.Time `gorm:"column:starts_at"`
	End           time.Time `gorm:"column:ends_at"`
	Title         string
	Description   string
	OrganizerID   string
	OrganizerName string
	Attendees     StringList `gorm:"type:text"`
	Backend       Backend
	RemoteID      *string
	Origin        Origin
	Status        Status
	// ReasonCode and ReasonArgs say why the backend rejected the booking or why it was
	// put back (empty when nothing needs saying); see Reason and SetReason.
	ReasonCode string `gorm:"column:reason_code"`
	ReasonArgs Args   `gorm:"column:reason_args;type:text"`
	// LegacyReason is the free text of rows written before reasons had codes; it is
	// shown as it is when ReasonCode is empty. Nothing writes it any more.
	LegacyReason   string `gorm:"column:reason"`
	Sequence       int
	IdempotencyKey *string
	// SeriesID links an occurrence of a recurring booking to its Series.
	SeriesID *string
	// RecurrenceID is an occurrence's original start in its series (RECURRENCE-ID); it
	// stays when the occurrence alone is moved.
	RecurrenceID *time.Time
	// OwnEvent marks an occurrence of a series that is booked in DingTalk as an event of
	// its own (or, while pending, is being booked so) instead of as an occurrence of the
	// series' recurring event: moved or renamed alone, or booked again in its slot after
	// a move of it was refused. A later change to the whole series releases that event by
	// itself. Unset on every other row; rows written before migration 00017 carry it
	// unset whatever they are (see the bridge's inRecurringEvent).
	OwnEvent  bool `gorm:"column:own_event"`
	CreatedAt time.Time
	UpdatedAt time.Time

	// OrganizerRef is the backend's own name for the organizer of a native booking
	// (OrganizerRef.String), kept whether or not it maps to a catalog user.
	OrganizerRef string
	// LongSpan marks a booking longer than ShortSpan; normalize sets it on every write.
	// Reads by time look for the others in a bounded range of start times.
	LongSpan bool `gorm:"column:long_span"`
}

// ShortSpan is the longest a booking may last and still be found by its start time alone:
// one that overlaps a window starts no earlier than ShortSpan before it.
const ShortSpan = 24 * time.Hour

// Series returns the id of the series r belongs to, or "".
func (r Reservation) Series() string {
	if r.SeriesID == nil {
		return ""
	}
	return *r.SeriesID
}

// Remote returns the backend id or "".
func (r Reservation) Remote() string {
	if r.RemoteID == nil {
		return ""
	}
	return *r.RemoteID
}

// Reason returns why the reservation was rejected or put back (zero Code when there is
// no coded reason; LegacyReason may still hold an old free text).
func (r Reservation) Reason() Reason { return Reason{Code: r.ReasonCode, Args: r.ReasonArgs} }

// SetReason records why (a zero Reason clears it) and drops any legacy text.
func (r *Reservation) SetReason(why Reason) {
	r.ReasonCode, r.ReasonArgs, r.LegacyReason = why.Code, why.Args, ""
}

// normalize makes the row storable: times in UTC whole seconds, no nil list, LongSpan
// set.
func (r *Reservation) normalize() {
	if r.Attendees == nil {
		r.Attendees = StringList{}
	}
	r.Start = r.Start.UTC().Truncate(time.Second)
	r.End = r.End.UTC().Truncate(time.Second)
	r.LongSpan = r.End.Sub(r.Start) > ShortSpan
	if r.RecurrenceID != nil {
		t := r.RecurrenceID.UTC().Truncate(time.Second)
		r.RecurrenceID = &t
	}
}

// Involves reports whether userID organises or attends r.
func (r Reservation) Involves(userID string) bool {
	return userID != "" && (r.OrganizerID == userID || slices.Contains(r.Attendees, userID))
}

// Overlaps reports whether r and [start, end) share any instant.
func (r Reservation) Overlaps(start, end time.Time) bool {
	return r.Start.Before(end) && start.Before(r.End)
}

// StringList is a list of strings stored as a JSON array in a TEXT column.
type StringList []string

// Scan implements sql.Scanner.
func (l *StringList) Scan(v any) error {
	*l = nil
	return scanJSON(v, (*[]string)(l))
}

// Value implements driver.Valuer.
func (l StringList) Value() (driver.Value, error) {
	if l == nil {
		return "[]", nil
	}
	b, err := json.Marshal([]string(l))
	return string(b), err
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a random 20-character id (100 bits) for any row.
func NewID() string {
	var b [13]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return idEncoding.EncodeToString(b[:])[:20]
}

// BridgeUID is the iCalendar UID of a reservation made through the bridge.
func BridgeUID(id string) string { return "rb-" + id + "@roombridge" }

// NativeUID is the deterministic iCalendar UID of a reservation found in a backend.
func NativeUID(b Backend, remoteID string) string {
	return string(b) + "-" + strings.ReplaceAll(remoteID, "@", "_") + "@roombridge"
}

// nativeUIDBeside is the UID of a reservation found in a backend whose NativeUID
// reservation holder holds: holder came from that very booking and moved away keeping
// its UID (a conflict's move or a migration), and the booking stayed (its release gave
// up). Deterministic, so the same booking gets the same UID however often it is found.
func nativeUIDBeside(b Backend, remoteID, holder string) string {
	return string(b) + "-" + strings.ReplaceAll(remoteID, "@", "_") + "-" + holder + "@roombridge"
}
