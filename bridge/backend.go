package bridge

import (
	"context"

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
	Key         string
	Reservation models.Reservation
	Room        models.Room
	Organizer   models.User
	Attendees   []models.User
	// RemoteID is the backend booking to cancel (Cancel only).
	RemoteID string
	// Reason is shown to the people of a cancelled booking (Cancel only).
	Reason string
}
