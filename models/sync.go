package models

import "time"

// Remote is one booking as a backend reports it during sync.
type Remote struct {
	RemoteID      string
	RoomID        string // the catalog room it is in
	Start, End    time.Time
	Title         string
	OrganizerID   string // catalog user id when known
	OrganizerName string
	// OrganizerRef is how the backend names the organizer (OrganizerRef.String).
	OrganizerRef string
	Status       Status // StatusConfirmed or StatusTentative
}

// SyncRun records one sync pass of one backend.
type SyncRun struct {
	ID           string `gorm:"primaryKey"`
	Backend      Backend
	StartedAt    time.Time
	DurationMS   int64 `gorm:"column:duration_ms"`
	WindowFrom   time.Time
	WindowTo     time.Time
	Seen         int
	Created      int
	Updated      int
	Cancelled    int
	Errors       int
	MeteredCalls int
	// Guarded counts reservations the empty-answer guard refused to cancel.
	Guarded int
	Note    string
}

// SyncState is a small named value kept per backend.
type SyncState struct {
	Backend   Backend `gorm:"primaryKey"`
	Name      string  `gorm:"primaryKey"`
	Value     string
	UpdatedAt time.Time
}

// TableName maps SyncState to its table.
func (SyncState) TableName() string { return "sync_state" }

// SyncToken is the cursor of one calendar a backend's sync reads by changes (DingTalk's
// syncToken), keyed by backend and the calendar's owner.
type SyncToken struct {
	Backend   Backend `gorm:"primaryKey"`
	Calendar  string  `gorm:"primaryKey"`
	Token     string
	UpdatedAt time.Time
}

// TableName maps SyncToken to its table.
func (SyncToken) TableName() string { return "sync_tokens" }
