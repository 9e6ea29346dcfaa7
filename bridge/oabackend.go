package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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
	// Store, when set, lets sync name the catalog user who applied for a native
	// booking (nil: bookings keep only the applicant's name).
	Store *models.Store

	mu sync.Mutex
	// applicants caches each booking's applicant member id (it never changes).
	applicants map[string]string
	// members caches each catalog login's member id ("" when the OA does not know it).
	members map[string]string
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
		Description: oaDescription(w.Reservation), Marker: marker(w.Key), FirstAttempt: w.FirstAttempt,
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

// List reads the occupancy of every room over [from, to), day by day. getOrderDate is
// not used to skip days: older builds stop counting after about 300 booking-days of a
// room's history, so a busy room's later days would be read as empty (and their bookings
// cancelled). Each native booking's applicant is mapped to a catalog user.
func (o *OA) List(ctx context.Context, rooms []models.Room, from, to time.Time) ([]models.Remote, error) {
	dir, err := o.directory(ctx)
	if err != nil {
		return nil, err
	}
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
				continue // 2 is 审核未通过, rejected by the room's approver: holds nothing
			}
			rm := models.Remote{RemoteID: x.AppID, RoomID: room.ID, Start: x.Start, End: x.End,
				Title: stripMarker(x.Description), OrganizerName: x.ApplicantName, Status: st}
			if err := o.organizer(ctx, dir, &rm); err != nil {
				return nil, fmt.Errorf("read OA booking %s: %w", x.AppID, err)
			}
			out = append(out, rm)
		}
	}
	return out, nil
}

// directory maps OA member ids to catalog users: each catalog login's member id comes
// from the bindingUser of its token (asked once per login and remembered).
func (o *OA) directory(ctx context.Context) (*models.Directory, error) {
	if o.Store == nil {
		return nil, nil
	}
	users, err := o.Store.Users(ctx)
	if err != nil {
		return nil, err
	}
	dir := models.NewDirectory(users)
	for _, u := range users {
		if u.OALogin == "" {
			continue
		}
		o.mu.Lock()
		m, known := o.members[u.OALogin]
		o.mu.Unlock()
		if !known {
			m, err = o.Client.MemberID(ctx, u.OALogin)
			switch {
			case errors.Is(err, models.ErrForbidden), errors.Is(err, models.ErrInvalid):
				m = "" // the OA does not know this login: nothing to map
			case err != nil:
				return nil, fmt.Errorf("OA member id of %s: %w", u.ID, err)
			}
			o.mu.Lock()
			if o.members == nil {
				o.members = map[string]string{}
			}
			o.members[u.OALogin] = m
			o.mu.Unlock()
		}
		dir.LearnOAMember(m, u.OALogin)
	}
	return dir, nil
}

// organizer fills in who applied for a native booking: the applicant's member id
// (getMeetingRoomAppDetail, asked once per booking) and, when the catalog maps it, the
// catalog user. A booking the bridge made keeps its organizer and costs no call.
func (o *OA) organizer(ctx context.Context, dir *models.Directory, rm *models.Remote) error {
	if dir == nil {
		return nil
	}
	if known, err := o.Store.ReservationByRemote(ctx, models.BackendOA, rm.RemoteID); err == nil {
		if known.Origin == models.OriginBridge {
			return nil
		}
	} else if !errors.Is(err, models.ErrNotFound) {
		return err
	}
	o.mu.Lock()
	per, ok := o.applicants[rm.RemoteID]
	o.mu.Unlock()
	if !ok {
		d, err := o.Client.AppDetail(ctx, o.SyncLogin, rm.RemoteID)
		if err != nil {
			if errors.Is(err, models.ErrUnavailable) {
				return err
			}
			return nil // a detail the OA will not give: the name is all there is
		}
		per = d.ApplicantID
		o.mu.Lock()
		if o.applicants == nil {
			o.applicants = map[string]string{}
		}
		o.applicants[rm.RemoteID] = per
		o.mu.Unlock()
	}
	ref := models.OrganizerRef{OAMemberID: per}
	rm.OrganizerRef = ref.String()
	if u, ok := dir.Map(ref); ok {
		rm.OrganizerID, rm.OrganizerName = u.ID, u.Name
	}
	return nil
}

func (o *OA) occupancy(ctx context.Context, room models.Room, from, to time.Time) ([]oa.Occupancy, error) {
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
