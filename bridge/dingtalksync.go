package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"roombridge/bridge/dingtalk"
	"roombridge/models"
)

// Delta is what changed in a backend since its last incremental read.
type Delta struct {
	// Remotes are the bookings created or changed in the catalog's rooms.
	Remotes []models.Remote
	// Gone are the remote ids of events deleted, or no longer holding a catalog room.
	Gone []string
	// Tokens are the cursors to store, by calendar owner, once the delta is applied.
	Tokens map[string]string
	// Full counts the calendars read in full (no cursor, or the cursor had expired);
	// Skipped counts recurring events left to reconciliation.
	Full, Skipped int
}

// DeltaSource is a Source that can also read only what changed since its last read.
type DeltaSource interface {
	Source
	// Changes reads what changed on each calendar it follows since the cursors in
	// tokens (by calendar owner); a calendar without one, or whose cursor the backend no
	// longer accepts, is read in full from from on. Errors are classified as for List.
	Changes(ctx context.Context, rooms []models.Room, tokens map[string]string, from time.Time) (Delta, error)
	// DeltaCalendars is how many calendars Changes reads: the least metered calls one
	// incremental read costs.
	DeltaCalendars() int
}

// DeltaCalendars returns how many calendars an incremental read follows.
func (d *DingTalk) DeltaCalendars() int { return max(len(d.Calendars), 1) }

// calendarOwners are the catalog users whose calendars are read by changes: Calendars,
// or the operator.
func (d *DingTalk) calendarOwners() []string {
	if len(d.Calendars) > 0 {
		return d.Calendars
	}
	return []string{d.Operator}
}

// Changes reads each followed calendar's events changed since its syncToken (or, with
// none or an expired one, every event from from on) and maps them to the catalog's
// rooms: an event holding a catalog room (not declined) is a Remote in the first such
// room, a deleted event or one holding no catalog room is Gone. A recurring event is left
// to the room-schedule reconciliation, which lists each occurrence under its own id.
func (d *DingTalk) Changes(ctx context.Context, rooms []models.Room, tokens map[string]string, from time.Time) (Delta, error) {
	byDT := map[string]models.Room{}
	for _, r := range rooms {
		if r.DingTalkRoomID != "" {
			byDT[r.DingTalkRoomID] = r
		}
	}
	dir, err := d.usersByUnion(ctx)
	if err != nil {
		return Delta{}, err
	}
	out := Delta{Tokens: map[string]string{}}
	for _, owner := range d.calendarOwners() {
		u, err := d.Store.User(ctx, owner)
		if err != nil {
			return Delta{}, fmt.Errorf("DingTalk calendar owner %q: %w", owner, err)
		}
		cal, err := d.unionID(ctx, u)
		if err != nil {
			return Delta{}, err
		}
		q := dingtalk.ListQuery{SyncToken: tokens[cal]}
		if q.SyncToken == "" {
			q.TimeMin = from
			out.Full++
		}
		events, next, err := d.Client.ListEvents(ctx, cal, q)
		if errors.Is(err, dingtalk.ErrSyncTokenExpired) {
			if d.Log != nil {
				d.Log.Warn("dingtalk syncToken expired; reading the calendar in full", "calendar", cal)
			}
			out.Full++
			events, next, err = d.Client.ListEvents(ctx, cal, dingtalk.ListQuery{TimeMin: from})
		}
		if err != nil {
			return Delta{}, fmt.Errorf("read changes of DingTalk calendar %s: %w", cal, err)
		}
		out.Tokens[cal] = next
		for _, e := range events {
			switch rm, ok := eventRemote(e, byDT, dir); {
			case e.Recurrence != nil:
				out.Skipped++
			case e.Status == dingtalk.StatusCancelled || !ok:
				out.Gone = append(out.Gone, e.ID)
			default:
				out.Remotes = append(out.Remotes, rm)
			}
		}
	}
	return out, nil
}

// eventRemote maps a DingTalk event to the booking it is in the catalog: in the first
// catalog room it holds and that did not decline it. ok is false when it holds none.
func eventRemote(e dingtalk.Event, byDT map[string]models.Room, dir *models.Directory) (rm models.Remote, ok bool) {
	for _, held := range e.Rooms {
		room, known := byDT[held.RoomID]
		if !known || held.ResponseStatus == "declined" {
			continue
		}
		rm = models.Remote{RemoteID: e.ID, RoomID: room.ID, Start: e.Start, End: e.End, Title: e.Summary, Status: models.StatusConfirmed}
		if held.ResponseStatus == "tentative" {
			rm.Status = models.StatusTentative
		}
		if dir != nil {
			rm.OrganizerID, rm.OrganizerName, rm.OrganizerRef = mapDingTalkOrganizer(dir, e.OrganizerUnionID)
		}
		if rm.OrganizerName == "" {
			rm.OrganizerName = e.OrganizerName
		}
		if rm.Title == "" {
			rm.Title = "钉钉预订"
		}
		return rm, true
	}
	return models.Remote{}, false
}
