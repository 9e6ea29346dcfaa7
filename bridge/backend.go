package bridge

import (
	"context"
	"time"

	"roombridge/models"
)

// Backend is one booking system as the dispatcher sees it. Implementations wrap their
// failures in the models kinds: ErrConflict (the room is taken there), ErrInvalid,
// ErrForbidden or ErrNotFound (permanent: the booking cannot be made as asked) and
// ErrUnavailable (temporary: try again later). Any other error is treated as temporary.
type Backend interface {
	// Name says which system this is.
	Name() models.Backend
	// Create books the room and returns the backend's id for the booking. It must be
	// idempotent for a given Write.Key: a retry after a lost answer returns the booking
	// the first attempt made instead of making a second one.
	Create(ctx context.Context, w Write) (remoteID string, err error)
	// Cancel releases Write.RemoteID. Releasing something already gone is success.
	Cancel(ctx context.Context, w Write) error
}

// Write is everything a backend needs for one write.
type Write struct {
	// Key is stable across retries of the same outbox job (idempotency key).
	Key string
	// FirstAttempt is set when no earlier attempt of the job can have reached the
	// backend (the outbox counts an attempt before it starts it), so a backend need not
	// look for what an earlier attempt made.
	FirstAttempt bool
	Reservation  models.Reservation
	Room         models.Room
	Organizer    models.User
	Attendees    []models.User
	// RemoteID is the backend booking to cancel (Cancel only).
	RemoteID string
	// Reason is shown to the people of a cancelled booking (Cancel only).
	Reason string
}

// SeriesPart is the share of a series that one backend holds as one recurring booking:
// the occurrences of Rule from Start (COUNT counts from Start), less Exclude.
type SeriesPart struct {
	Start, End time.Time // its first occurrence
	Rule       models.RRule
	Zone       *time.Location
	// Exclude are original starts to leave out (taken by someone else, or cancelled).
	Exclude []time.Time
}

// SeriesBackend is a Backend that holds a series as one recurring booking (DingTalk's
// recurring events). Errors are classified as for Backend.
type SeriesBackend interface {
	Backend
	// CreateSeries books the room for every occurrence of part as one recurring booking,
	// idempotently for w.Key, and returns its id and each occurrence's own id by the
	// occurrence's start (Unix seconds).
	CreateSeries(ctx context.Context, w Write, part SeriesPart) (remoteID string, occurrences map[int64]string, err error)
	// EndSeries makes the recurring booking remoteID hold part (its rule now ending
	// earlier); with no occurrence left in part it releases the booking altogether.
	EndSeries(ctx context.Context, w Write, remoteID string, part SeriesPart) error
	// CancelOccurrence releases one occurrence by its own id; one already gone is success.
	CancelOccurrence(ctx context.Context, w Write, occurrenceID string) error
	// PruneSeries releases, in each of the recurring bookings events, the occurrences
	// whose own ids are among occurrenceIDs, and releases altogether each booking left
	// with no occurrence. It returns the bookings that are gone (released now or before).
	PruneSeries(ctx context.Context, w Write, events, occurrenceIDs []string) (gone []string, err error)
}
