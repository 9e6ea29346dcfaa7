package models

import "time"

// JobKind is what an outbox job does at its backend.
type JobKind string

// Job kinds.
const (
	JobCreate JobKind = "create" // book the reservation at its backend
	JobCancel JobKind = "cancel" // release RemoteID (or the reservation's booking) at Backend

	// Jobs of a series' DingTalk part: ReservationID is the series id, so they run in order.
	JobSeriesCreate  JobKind = "series_create"  // create the recurring event with the room
	JobSeriesCancel  JobKind = "series_cancel"  // end the recurring event before an occurrence (payload), or delete it
	JobSeriesExclude JobKind = "series_exclude" // delete one occurrence of the recurring event (payload)
)

// SeriesJob reports whether k acts on a series rather than one reservation.
func (k JobKind) SeriesJob() bool {
	return k == JobSeriesCreate || k == JobSeriesCancel || k == JobSeriesExclude
}

// JobState is where an outbox job stands.
type JobState string

// Job states.
const (
	JobPending JobState = "pending"
	JobDone    JobState = "done"
	JobFailed  JobState = "failed" // gave up; needs an admin
)

// Job is one backend write waiting in the outbox. Jobs of one reservation run in the
// order they were created.
type Job struct {
	ID            string `gorm:"primaryKey"`
	ReservationID string
	Kind          JobKind
	Backend       Backend
	RemoteID      string
	Seq           int    // position among the reservation's jobs
	Payload       string // JSON; see bridge for the shapes
	State         JobState
	Attempts      int
	NextAttemptAt time.Time
	LockedUntil   *time.Time
	LockedBy      *string // the instance that holds the lease
	LastError     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// TableName maps Job to its table.
func (Job) TableName() string { return "outbox_jobs" }

// AuditEntry records who did what to which reservation.
type AuditEntry struct {
	ID            string `gorm:"primaryKey"`
	At            time.Time
	Actor         string
	Action        string
	ReservationID string
	Seq           int
	Detail        string
}

// TableName maps AuditEntry to its table.
func (AuditEntry) TableName() string { return "audit_log" }
