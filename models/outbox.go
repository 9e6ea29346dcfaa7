package models

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

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
	JobSeriesPrune   JobKind = "series_prune"   // release occurrences (payload) of the series' older recurring events; delete the emptied ones

	// JobNotify tells a reservation's organizer that its outcome changed (a DingTalk work
	// notification). See NotifyJob.
	JobNotify JobKind = "notify"
)

// Notice codes: which change of a reservation a JobNotify job reports (its payload's
// "change"). The message text is rendered from them where it is sent.
const (
	NoticeConfirmed = "confirmed" // pending → confirmed after the form stopped waiting
	NoticeRejected  = "rejected"  // pending → rejected (or a reschedule, or a series' recurring event, refused) after the form stopped waiting
	NoticeConflict  = "conflict"  // the reservation is a side of a newly opened conflict
	NoticeCancelled = "cancelled" // released by an admin resolving a conflict
	NoticeMigrated  = "migrated"  // moved from the OA to DingTalk
)

// NotifyJob is the outbox job that reports change of reservation resID once. Its id is
// derived from the reservation, the change and key (what makes this occurrence of the
// change unique: the job or conflict that caused it), and storing a job whose id exists
// does nothing, so a retried step or a second detection of the same change never queues
// a second message. Notify jobs use their own queue ("n:" + reservation id) with Seq 0,
// so they neither wait for nor hold up the reservation's backend writes.
func NotifyJob(resID, change, key string) Job {
	sum := sha256.Sum256([]byte(resID + "|" + change + "|" + key))
	return Job{ID: "n" + hex.EncodeToString(sum[:])[:31], ReservationID: NotifyQueue(resID), Kind: JobNotify,
		Backend: BackendDingTalk, Payload: fmt.Sprintf(`{"change":%q,"reservation":%q}`, change, resID)}
}

// NotifyQueue is the outbox queue (Job.ReservationID) of resID's notifications.
func NotifyQueue(resID string) string { return "n:" + resID }

// SeriesJob reports whether k acts on a series rather than one reservation.
func (k JobKind) SeriesJob() bool {
	return k == JobSeriesCreate || k == JobSeriesCancel || k == JobSeriesExclude || k == JobSeriesPrune
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
	// Releases are further backend ids of Backend the job releases, stored beside it
	// (outbox_releases) when it is queued: the occurrences of a DingTalk recurring event
	// that a series_cancel cuts off or a series_prune deletes after their reservations let
	// go of them. Sync leaves them alone while the job is pending, as it does RemoteID.
	Releases []string `gorm:"-"`
}

// TableName maps Job to its table.
func (Job) TableName() string { return "outbox_jobs" }

// JobRelease is one of the backend ids a job releases besides its RemoteID (see
// Job.Releases).
type JobRelease struct {
	JobID    string `gorm:"primaryKey"`
	Backend  Backend
	RemoteID string `gorm:"primaryKey"`
}

// TableName maps JobRelease to its table.
func (JobRelease) TableName() string { return "outbox_releases" }

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
