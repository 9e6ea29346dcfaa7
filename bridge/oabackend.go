package bridge

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"roombridge/bridge/oa"
	"roombridge/models"
)

// OA is the Seeyon OA as a Backend (bookings) and a Source (sync).
type OA struct {
	Client *oa.Client
	// SyncLogin is the OA login room occupancy is read as.
	SyncLogin string
}

// Name returns models.BackendOA.
func (o *OA) Name() models.Backend { return models.BackendOA }

// Create books the room as the organizer's OA login. The job key goes into the booking's
// description as a marker, which is how a retry finds an earlier attempt.
func (o *OA) Create(ctx context.Context, w Write) (string, error) {
	if w.Organizer.OALogin == "" {
		return "", models.E(models.ErrForbidden, "no_oa_login", "")
	}
	if w.Room.OARoomID == "" {
		return "", models.E(models.ErrInvalid, "room_not_in_backend", "room_id", models.ArgRoom, w.Room.Name, models.ArgBackend, string(models.BackendOA))
	}
	return o.Client.Book(ctx, w.Organizer.OALogin, oa.BookRequest{
		RoomID: w.Room.OARoomID, Start: w.Reservation.Start, End: w.Reservation.End,
		Description: oaDescription(w.Reservation), Marker: marker(w.Key),
	})
}

// oaDescription is what the OA shows as the booking's purpose: the title, then the
// description, kept short enough for the marker to fit after it.
func oaDescription(r models.Reservation) string {
	s := r.Title
	if d := strings.Join(strings.Fields(r.Description), " "); d != "" {
		s += " — " + d
	}
	const max = 150
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max-1]) + "…"
	}
	return s
}

// Cancel releases the booking as the organizer's OA login.
func (o *OA) Cancel(ctx context.Context, w Write) error {
	login := w.Organizer.OALogin
	if login == "" {
		login = o.SyncLogin
	}
	return o.Client.Cancel(ctx, login, w.RemoteID, w.Reason)
}

// occupancyChunk keeps each Occupancy call within the client's range limit.
const occupancyChunk = 90 * 24 * time.Hour

// List reads the occupancy of every room over [from, to): only on the days the OA says
// have bookings (getOrderDate), or every day when the OA cannot say.
func (o *OA) List(ctx context.Context, rooms []models.Room, from, to time.Time) ([]models.Remote, error) {
	var out []models.Remote
	for _, room := range rooms {
		occ, err := o.occupancy(ctx, room, from, to)
		if err != nil {
			return nil, fmt.Errorf("read OA room %s: %w", room.ID, err)
		}
		seen := map[string]bool{}
		for _, x := range occ {
			if seen[x.AppID] {
				continue
			}
			seen[x.AppID] = true
			st := models.StatusConfirmed
			switch x.Status {
			case 0:
				st = models.StatusTentative
			case 1:
			default:
				continue // rejected by the room's approver: holds nothing
			}
			out = append(out, models.Remote{RemoteID: x.AppID, RoomID: room.ID, Start: x.Start, End: x.End,
				Title: stripMarker(x.Description), OrganizerName: x.ApplicantName, Status: st})
		}
	}
	return out, nil
}

func (o *OA) occupancy(ctx context.Context, room models.Room, from, to time.Time) ([]oa.Occupancy, error) {
	days, err := o.Client.OrderDates(ctx, o.SyncLogin, room.OARoomID)
	if err != nil {
		var all []oa.Occupancy
		for a := from; a.Before(to); a = a.Add(occupancyChunk) {
			occ, err := o.Client.Occupancy(ctx, o.SyncLogin, room.OARoomID, a, earlier(a.Add(occupancyChunk), to))
			if err != nil {
				return nil, err
			}
			all = append(all, occ...)
		}
		return all, nil
	}
	var all []oa.Occupancy
	for _, d := range days {
		next := d.AddDate(0, 0, 1)
		if !d.Before(to) || !next.After(from) {
			continue
		}
		occ, err := o.Client.Occupancy(ctx, o.SyncLogin, room.OARoomID, d, next)
		if err != nil {
			return nil, err
		}
		all = append(all, occ...)
	}
	return all, nil
}

// CallsPerPass is 0: the OA does not meter calls.
func (o *OA) CallsPerPass(int, time.Duration) int { return 0 }

// stripMarker removes the bridge's idempotency marker from an OA description.
func stripMarker(s string) string {
	if i := strings.LastIndex(s, "[rb:"); i >= 0 && strings.HasSuffix(s, "]") {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// earlier returns the earlier of two times.
func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
