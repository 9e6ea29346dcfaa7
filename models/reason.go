package models

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Argument keys with a meaning web knows how to show. Any other key is shown as is.
const (
	ArgBackend = "backend" // a Backend: shown as the system's name
	ArgOrigin  = "origin"  // an Origin: shown as how the booking was made
	ArgStart   = "start"   // a TimeArg: shown with ArgEnd as one span in the reader's zone
	ArgEnd     = "end"     // a TimeArg
	ArgAt      = "at"      // a TimeArg: shown as a date and time
	ArgDay     = "day"     // a TimeArg: shown as a date
	ArgRoom    = "room"    // a room's name
	ArgName    = "name"    // a person's name or account
	ArgLimit   = "limit"   // a number
	ArgCause   = "cause"   // the code of an inner reason, shown with the same arguments
	ArgTimes   = "times"   // TimeArgs joined by commas: shown as a list of dates and times
	ArgPart    = "part"    // a piece of input quoted back, such as part of an RRULE
	ArgValue   = "value"   // a value given for a parameter, quoted back
)

// TimeArg writes t as an argument value (RFC 3339, UTC).
func TimeArg(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Args are the named values of an error code or reason. They are stored as a JSON
// object in a TEXT column.
type Args map[string]string

// String writes the arguments as key=value in key order, for logs.
func (a Args) String() string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(a)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%q", k, a[k])
	}
	return b.String()
}

// Scan implements sql.Scanner.
func (a *Args) Scan(v any) error {
	*a = nil
	return scanJSON(v, (*map[string]string)(a))
}

// Value implements driver.Valuer.
func (a Args) Value() (driver.Value, error) {
	if a == nil {
		return "{}", nil
	}
	b, err := json.Marshal(map[string]string(a))
	return string(b), err
}

// Reason says why a reservation was rejected or put back: a code and its arguments,
// rendered by web in the reader's language. The codes are those of Error.
type Reason struct {
	Code string
	Args Args
}

// Reason codes that are reasons only (never the code of an Error).
const (
	// ReasonRescheduleRefused: a reschedule was refused and the booking put back;
	// ArgCause holds the refusal's code.
	ReasonRescheduleRefused = "reschedule_refused"
	// ReasonRestoreRefused: a reschedule was refused after the old slot had been
	// released, and booking the old slot again was refused too: the booking is lost.
	// ArgCause holds the second refusal's code.
	ReasonRestoreRefused = "restore_refused"
	// ReasonBackendRefused: the backend refused the booking without saying why in a way
	// the bridge understands (ArgBackend).
	ReasonBackendRefused = "backend_refused"
	// ReasonUnreachable: the backend could not be reached before the meeting started
	// (ArgBackend).
	ReasonUnreachable = "backend_unreachable"
	// CodeRoomTaken: the room is already booked (ArgBackend; ArgStart, ArgEnd and
	// ArgOrigin when the holding booking is known). Also an Error code.
	CodeRoomTaken = "room_taken"
)

// RoomTaken is the ErrConflict user error for a slot held by w: it names w's system,
// times and origin, never its title (the caller may not be allowed to see it).
func RoomTaken(w Reservation) *Error {
	return E(ErrConflict, CodeRoomTaken, "start", ArgBackend, string(w.Backend), ArgOrigin, string(w.Origin),
		ArgStart, TimeArg(w.Start), ArgEnd, TimeArg(w.End))
}
