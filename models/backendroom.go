package models

import "time"

// BackendRoom is a meeting room as one backend lists it.
type BackendRoom struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Capacity int    `json:"capacity,omitempty"`
}

// RoomList is the room list one backend gave at Read. Err is the error of the latest
// attempt to read it (nil when that attempt succeeded), or an error with code
// CodeBudgetSpent when the read was held back by the backend's monthly call budget;
// Rooms are then the list of the last good read, if any (Read is zero when there was
// none).
type RoomList struct {
	Backend Backend
	Rooms   []BackendRoom
	Read    time.Time
	Err     error
}

// Listed reports whether the list holds what the backend said at some point (a read
// succeeded), so a mapped id missing from it is really unknown to the backend.
func (l RoomList) Listed() bool { return !l.Read.IsZero() }

// CodeBudgetSpent is the code of the ErrUnavailable error of a read held back because
// the backend's monthly call budget is spent (ArgBackend).
const CodeBudgetSpent = "budget_spent"
