package models

import "slices"

// Access is the one access policy for reservations. Every page, API route and feed asks
// it; nothing else decides who may see or touch a booking.
//
//   - Details (title, description, organizer, attendees) of a reservation: its
//     organizer, its attendees and admins. Everyone else sees only that the room is busy.
//   - Change (reschedule) and cancel: its organizer and admins. Attendees may not.
//   - Admins: the user ids named at start (ROOMBRIDGE_ADMINS).
//
// Whether a reservation can still be changed at all (not over, not cancelled, made
// through the bridge) is its state, decided by the engine, not by this policy. The zero
// Access has no admins.
type Access struct {
	admins map[string]bool
}

// NewAccess returns the policy with the given admin user ids.
func NewAccess(admins ...string) Access {
	a := Access{admins: make(map[string]bool, len(admins))}
	for _, id := range admins {
		if id != "" {
			a.admins[id] = true
		}
	}
	return a
}

// Admins lists the admin user ids, sorted.
func (a Access) Admins() []string {
	out := make([]string, 0, len(a.admins))
	for id := range a.admins {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// IsAdmin reports whether userID has the admin role.
func (a Access) IsAdmin(userID string) bool { return userID != "" && a.admins[userID] }

// MaySee reports whether userID may see the details of r.
func (a Access) MaySee(userID string, r Reservation) bool {
	return userID != "" && (r.Involves(userID) || a.admins[userID])
}

// MayChange reports whether userID may reschedule r.
func (a Access) MayChange(userID string, r Reservation) bool {
	return userID != "" && (r.OrganizerID == userID || a.admins[userID])
}

// MayCancel reports whether userID may cancel r.
func (a Access) MayCancel(userID string, r Reservation) bool {
	return userID != "" && (r.OrganizerID == userID || a.admins[userID])
}

// CheckChange returns nil when userID may reschedule r, else the ErrForbidden user error
// "not_organizer".
func (a Access) CheckChange(userID string, r Reservation) error {
	if a.MayChange(userID, r) {
		return nil
	}
	return E(ErrForbidden, "not_organizer", "")
}

// CheckCancel returns nil when userID may cancel r, else the ErrForbidden user error
// "not_organizer".
func (a Access) CheckCancel(userID string, r Reservation) error {
	if a.MayCancel(userID, r) {
		return nil
	}
	return E(ErrForbidden, "not_organizer", "")
}
