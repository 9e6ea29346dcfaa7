package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"roombridge/bridge/dingtalk"
	"roombridge/models"
)

// DingTalk is DingTalk calendar as a Backend (bookings) and a Source (sync).
type DingTalk struct {
	Client *dingtalk.Client
	Store  *models.Store
	Zone   *time.Location
	Log    *slog.Logger
	// Operator is the catalog user whose DingTalk identity reads room schedules.
	Operator string
	// Calendars are the catalog users whose calendars sync reads by changes (syncToken);
	// empty means the operator's. See DeltaSource.
	Calendars []string
	// TitleLookups caps the event reads one sync pass spends on titles of bookings it
	// has not seen before (each is a metered call; default 20).
	TitleLookups int
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	// roomEventsAt and calendarEventsAt are when the last meetingroom_book and
	// calendar_event_change arrived; streamAt when the Stream connection last came up or
	// dropped (UnixNano; 0: never).
	roomEventsAt, calendarEventsAt, streamAt atomic.Int64
	streamUp                                 atomic.Bool
}

// NoteStream records that the Stream connection came up (up) or dropped.
func (d *DingTalk) NoteStream(up bool) {
	d.streamUp.Store(up)
	d.streamAt.Store(d.clock().UnixNano())
}

// StreamStatus reports the Stream connection and the events this process saw.
func (d *DingTalk) StreamStatus() models.StreamStatus {
	at := func(v *atomic.Int64) time.Time {
		if n := v.Load(); n != 0 {
			return time.Unix(0, n)
		}
		return time.Time{}
	}
	st := models.StreamStatus{Connected: d.streamUp.Load(), Since: at(&d.streamAt),
		RoomEventsAt: at(&d.roomEventsAt), CalendarEventsAt: at(&d.calendarEventsAt)}
	st.RoomEventsTrusted = !st.RoomEventsAt.IsZero() && d.clock().Sub(st.RoomEventsAt) < roomEventsTrusted
	return st
}

// Name returns models.BackendDingTalk.
func (d *DingTalk) Name() models.Backend { return models.BackendDingTalk }

// unionID returns the user's DingTalk unionId, resolving it from the directory (a call
// that is not metered) and remembering it when the catalog only has the userid.
func (d *DingTalk) unionID(ctx context.Context, u models.User) (string, error) {
	if u.DingTalkUnionID != "" {
		return u.DingTalkUnionID, nil
	}
	if u.DingTalkUserID == "" {
		return "", models.E(models.ErrForbidden, "no_dingtalk_account", "", models.ArgName, u.Name)
	}
	// u may come from a catalog view older than a unionId another process stored.
	if id, err := d.Store.UnionID(ctx, u.ID); err == nil && id != "" {
		return id, nil
	}
	id, err := d.Client.UnionID(ctx, u.DingTalkUserID)
	if err != nil {
		return "", fmt.Errorf("resolve DingTalk unionId of %s: %w", u.ID, err)
	}
	if err := d.Store.SetUnionID(ctx, u.ID, id); err != nil && d.Log != nil {
		d.Log.Warn("remember unionId", "user", u.ID, "err", err)
	}
	return id, nil
}

// Create makes the event on the organizer's calendar and adds the room (two steps, both
// idempotent by the job key).
func (d *DingTalk) Create(ctx context.Context, w Write) (string, error) {
	if w.Room.DingTalkRoomID == "" {
		return "", models.E(models.ErrInvalid, "room_not_in_backend", "room_id", models.ArgRoom, w.Room.Name, models.ArgBackend, string(models.BackendDingTalk))
	}
	org, err := d.unionID(ctx, w.Organizer)
	if err != nil {
		return "", err
	}
	var attendees []string
	for _, a := range w.Attendees {
		if a.ID == w.Organizer.ID {
			continue
		}
		id, err := d.unionID(ctx, a)
		if err != nil {
			if errors.Is(err, models.ErrUnavailable) {
				return "", err
			}
			continue // an attendee without DingTalk does not stop the booking
		}
		attendees = append(attendees, id)
	}
	id, err := d.Client.BookRoom(ctx, dingtalk.BookRequest{
		Key: w.Key, OrganizerUnionID: org, Summary: w.Reservation.Title, Description: w.Reservation.Description,
		Start: w.Reservation.Start, End: w.Reservation.End, Zone: d.Zone, AttendeeUnionIDs: attendees,
		RoomID: w.Room.DingTalkRoomID, RoomName: w.Room.Name,
	})
	if dingtalk.IsQuotaExhausted(err) {
		// The organisation's monthly quota (or the organiser's 100 events a day) is used
		// up: retrying will not help for a long time, so the booking is refused with the
		// reason instead of waiting silently.
		return "", models.E(models.ErrForbidden, "dingtalk_quota", "").Wrap(err)
	}
	return id, err
}

// Cancel removes the room from the event, then deletes the event.
func (d *DingTalk) Cancel(ctx context.Context, w Write) error {
	org, err := d.unionID(ctx, w.Organizer)
	if err != nil {
		return err
	}
	if w.Reservation.Series() != "" {
		// An occurrence of a series may be one occurrence of a recurring event (then only
		// that occurrence goes) or an event of its own (after it alone was moved).
		ev, err := d.Client.GetEvent(ctx, org, w.RemoteID)
		switch {
		case errors.Is(err, models.ErrNotFound):
			return nil
		case err != nil:
			return err
		case ev.SeriesMasterID != "":
			return d.Client.DeleteOccurrence(ctx, w.Key, org, w.RemoteID)
		}
	}
	return d.Client.CancelBooking(ctx, w.Key, org, w.RemoteID, w.Room.DingTalkRoomID)
}

// operatorUnionID is the unionId of the catalog user DingTalk is read as.
func (d *DingTalk) operatorUnionID(ctx context.Context) (string, error) {
	op, err := d.Store.User(ctx, d.Operator)
	if err != nil {
		return "", fmt.Errorf("DingTalk operator %q: %w", d.Operator, err)
	}
	return d.unionID(ctx, op)
}

// List reads the rooms' schedules over [from, to) and fills in titles: from the
// reservation already known, else from the event (a limited number per pass).
func (d *DingTalk) List(ctx context.Context, rooms []models.Room, from, to time.Time) ([]models.Remote, error) {
	opID, err := d.operatorUnionID(ctx)
	if err != nil {
		return nil, err
	}
	byDT := map[string]models.Room{}
	var ids []string
	for _, r := range rooms {
		byDT[r.DingTalkRoomID] = r
		ids = append(ids, r.DingTalkRoomID)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	sched, err := d.Client.RoomSchedules(ctx, opID, ids, from, to)
	if err != nil {
		return nil, fmt.Errorf("read DingTalk room schedules: %w", err)
	}
	byUnion, err := d.usersByUnion(ctx)
	if err != nil {
		return nil, err
	}
	lookups := d.TitleLookups
	if lookups <= 0 {
		lookups = 20
	}
	var out []models.Remote
	for dtRoom, items := range sched {
		room, ok := byDT[dtRoom]
		if !ok {
			continue
		}
		for _, it := range items {
			rm := models.Remote{RemoteID: it.EventID, RoomID: room.ID, Start: it.Start, End: it.End, Status: models.StatusConfirmed}
			if it.Status == "TENTATIVE" {
				rm.Status = models.StatusTentative
			}
			rm.OrganizerID, rm.OrganizerName, rm.OrganizerRef = mapDingTalkOrganizer(byUnion, it.OrganizerUnionID)
			if known, err := d.Store.ReservationByRemote(ctx, models.BackendDingTalk, it.EventID); err == nil {
				rm.Title = known.Title
			} else if lookups > 0 && it.OrganizerUnionID != "" {
				lookups--
				if ev, err := d.Client.GetEvent(ctx, it.OrganizerUnionID, it.EventID); err == nil {
					rm.Title = ev.Summary
					if rm.OrganizerName == "" {
						rm.OrganizerName = ev.OrganizerName // unmapped: keep DingTalk's name
					}
				}
			}
			if rm.Title == "" {
				rm.Title = "钉钉预订"
				if rm.OrganizerName != "" {
					rm.Title += " · " + rm.OrganizerName
				}
			}
			out = append(out, rm)
		}
	}
	return out, nil
}

// mapDingTalkOrganizer names an event's organizer: the catalog user when the directory
// maps the unionId, and in any case the unionId as the organizer reference.
func mapDingTalkOrganizer(dir *models.Directory, unionID string) (id, name, ref string) {
	r := models.OrganizerRef{DingTalkUnionID: unionID}
	if u, ok := dir.Map(r); ok {
		id, name = u.ID, u.Name
	}
	return id, name, r.String()
}

// usersByUnion maps unionIds to catalog users, first learning the unionId of every user
// the catalog gives only a userid for (directory reads are not metered; they are stored,
// so this happens once per user). Sync and events then name organisers alike. The
// unionIds learnt are stored in one transaction.
func (d *DingTalk) usersByUnion(ctx context.Context) (*models.Directory, error) {
	users, err := d.Store.Users(ctx)
	if err != nil {
		return nil, err
	}
	found := map[string]string{}
	for i, u := range users {
		if u.DingTalkUnionID == "" && u.DingTalkUserID != "" {
			if id, err := d.Client.UnionID(ctx, u.DingTalkUserID); err == nil {
				users[i].DingTalkUnionID = id
				found[u.ID] = id
			}
		}
	}
	if err := d.Store.SetUnionIDs(ctx, found); err != nil && d.Log != nil {
		d.Log.Warn("remember unionIds", "users", len(found), "err", err)
	}
	return models.NewDirectory(users), nil
}

// CallsPerPass is what one List costs in metered calls (title reads not counted: they
// are capped and only for bookings not seen before).
func (d *DingTalk) CallsPerPass(rooms int, window time.Duration) int {
	return d.Client.MeteredCallsPerScheduleQuery(rooms, window)
}

// roomEventsTrusted is how long after a meetingroom_book event calendar_event_change
// events are acknowledged unread. While DingTalk delivers room events, every room
// booking arrives as one of them, and reading each changed calendar event (most hold no
// room at all) would spend a metered call for nothing. Whether an org's Stream delivers
// meetingroom_book is unconfirmed; without it, calendar_event_change is read as before.
const roomEventsTrusted = 7 * 24 * time.Hour

// HandleEvent applies one DingTalk Stream event, so that a room booked directly in
// DingTalk is busy in the form without waiting for the next sync pass:
//
//   - meetingroom_book: a new booking (bookSuccess, or appvaral when it awaits approval)
//     carries its room, times, title and organizer and is applied as it is, without a
//     metered call; any other subtype (updated, cancelled, refused, attendees changed,
//     and subtypes added later) has its calendar event read again (one call);
//   - calendar_event_change: the event is read again (one call), unless room events
//     arrived within roomEventsTrusted.
//
// Other events are acknowledged and ignored. An error makes DingTalk deliver the event
// again later.
func (d *DingTalk) HandleEvent(ctx context.Context, ev dingtalk.StreamEvent) error {
	now := d.clock()
	switch ev.Type {
	case dingtalk.EventRoomBooking:
		return d.handleRoomBooking(ctx, ev, now)
	case dingtalk.EventCalendarChange:
		d.calendarEventsAt.Store(now.UnixNano())
		if at := d.roomEventsAt.Load(); at != 0 && now.Sub(time.Unix(0, at)) < roomEventsTrusted {
			return nil
		}
		var ch dingtalk.CalendarEventChange
		if err := json.Unmarshal(ev.Data, &ch); err != nil || ch.EventID == "" || len(ch.UnionIDs) == 0 {
			return nil // nothing to act on; redelivery would not help
		}
		return d.readChanged(ctx, ch.UnionIDs[0], ch.EventID, now)
	}
	return nil
}

// clock is the current time (d.Now when set).
func (d *DingTalk) clock() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// handleRoomBooking applies a meetingroom_book event (see HandleEvent).
func (d *DingTalk) handleRoomBooking(ctx context.Context, ev dingtalk.StreamEvent, now time.Time) error {
	var b dingtalk.RoomBooking
	if err := json.Unmarshal(ev.Data, &b); err != nil || b.EventID() == "" {
		return nil // nothing to act on; redelivery would not help
	}
	d.roomEventsAt.Store(now.UnixNano())
	if b.SubType == dingtalk.RoomBooked || b.SubType == dingtalk.RoomSentToApprove {
		if start, end, ok := b.Times(); ok && b.RoomID != "" {
			return d.applyRoomBooking(ctx, b, start, end, ev.At, now)
		}
	}
	unionID, err := d.readerOf(ctx, b)
	if err != nil {
		return err
	}
	if unionID == "" {
		// Nobody known can read the event; the next reconciliation finds the change.
		d.Log.Debug("dingtalk room event left to reconciliation", "subtype", b.SubType, "event", b.EventID())
		return nil
	}
	return d.readChanged(ctx, unionID, b.EventID(), now)
}

// applyRoomBooking stores a new booking from the event's own fields. The answer is as
// of the event's birth (readAt), so a change the bridge made since is not undone.
func (d *DingTalk) applyRoomBooking(ctx context.Context, b dingtalk.RoomBooking, start, end, bornAt, now time.Time) error {
	rooms, err := d.Store.Rooms(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(rooms, func(r models.Room) bool { return r.DingTalkRoomID == b.RoomID })
	if i < 0 {
		return nil // a room the catalog does not map
	}
	room := rooms[i]
	rm := models.Remote{RemoteID: b.EventID(), RoomID: room.ID, Start: start, End: end, Title: b.Title, Status: models.StatusConfirmed}
	if b.SubType == dingtalk.RoomSentToApprove {
		rm.Status = models.StatusTentative
	}
	// Sync names organizers by unionId; the event gives the org userId, which the
	// directory (not metered) turns into one.
	ref := models.OrganizerRef{DingTalkUserID: b.UserID}
	if dir, err := d.usersByUnion(ctx); err == nil {
		if u, ok := dir.Map(ref); ok {
			rm.OrganizerID, rm.OrganizerName = u.ID, u.Name
			ref.DingTalkUnionID = u.DingTalkUnionID
		}
	}
	if ref.DingTalkUnionID == "" && b.UserID != "" {
		ref.DingTalkUnionID, _ = d.Client.UnionID(ctx, b.UserID)
	}
	if ref.DingTalkUnionID != "" {
		ref.DingTalkUserID = ""
	}
	rm.OrganizerRef = ref.String()
	if rm.OrganizerName == "" {
		rm.OrganizerName = b.UserName
	}
	if rm.Title == "" {
		rm.Title = "钉钉预订"
		if rm.OrganizerName != "" {
			rm.Title += " · " + rm.OrganizerName
		}
	}
	readAt := bornAt
	if readAt.IsZero() || readAt.After(now) {
		readAt = now
	}
	_, err = d.Store.ApplyRemote(ctx, models.BackendDingTalk, rm, readAt)
	return err
}

// readerOf is a unionId that may read the booking's calendar event: its organizer's as
// the reservations table knows it, else the event's user's (org userId, resolved through
// the directory, which is not metered); "" when neither is known.
func (d *DingTalk) readerOf(ctx context.Context, b dingtalk.RoomBooking) (string, error) {
	known, err := d.Store.ReservationByRemote(ctx, models.BackendDingTalk, b.EventID())
	switch {
	case err == nil:
		ref := models.ParseOrganizerRef(known.OrganizerRef)
		if ref.DingTalkUnionID != "" {
			return ref.DingTalkUnionID, nil
		}
		if ref.DingTalkUserID != "" {
			if id, err := d.Client.UnionID(ctx, ref.DingTalkUserID); err == nil {
				return id, nil
			}
		}
		if known.OrganizerID != "" {
			if u, err := d.Store.User(ctx, known.OrganizerID); err == nil {
				if id, err := d.unionID(ctx, u); err == nil {
					return id, nil
				}
			}
		}
	case !errors.Is(err, models.ErrNotFound):
		return "", err
	}
	if b.UserID != "" {
		if id, err := d.Client.UnionID(ctx, b.UserID); err == nil {
			return id, nil
		}
	}
	return "", nil
}

// readChanged reads the calendar event eventID as unionID and brings it into the
// reservations table: cancelled when it is gone or holds none of the catalog's rooms.
func (d *DingTalk) readChanged(ctx context.Context, unionID, eventID string, readAt time.Time) error {
	e, err := d.Client.GetEvent(ctx, unionID, eventID)
	if errors.Is(err, models.ErrNotFound) {
		_, err = d.Store.CancelRemote(ctx, models.BackendDingTalk, eventID, readAt)
		return err
	}
	if err != nil {
		return fmt.Errorf("read changed DingTalk event %s: %w", eventID, err)
	}
	if e.Status == dingtalk.StatusCancelled {
		_, err = d.Store.CancelRemote(ctx, models.BackendDingTalk, e.ID, readAt)
		return err
	}
	rooms, err := d.Store.Rooms(ctx)
	if err != nil {
		return err
	}
	byDT := map[string]models.Room{}
	for _, r := range rooms {
		if r.DingTalkRoomID != "" {
			byDT[r.DingTalkRoomID] = r
		}
	}
	if e.Recurrence != nil {
		return d.applyRecurring(ctx, unionID, e, byDT, readAt)
	}
	dir, _ := d.usersByUnion(ctx) // without the directory the organiser is named as DingTalk names them
	if rm, ok := eventRemote(e, byDT, dir); ok {
		_, err := d.Store.ApplyRemote(ctx, models.BackendDingTalk, rm, readAt)
		return err
	}
	// The event holds none of the catalog's rooms (any more).
	_, err = d.Store.CancelRemote(ctx, models.BackendDingTalk, e.ID, readAt)
	return err
}

// applyRecurring brings every occurrence of a recurring event into the table, each under
// the occurrence's own id (as room schedules list them, so a later sync pass matches
// them). Occurrences deleted from the series are cancelled by the next sync pass.
func (d *DingTalk) applyRecurring(ctx context.Context, unionID string, e dingtalk.Event, byDT map[string]models.Room, readAt time.Time) error {
	var room models.Room
	status := models.StatusConfirmed
	for _, held := range e.Rooms {
		if r, ok := byDT[held.RoomID]; ok && held.ResponseStatus != "declined" {
			room = r
			if held.ResponseStatus == "tentative" {
				status = models.StatusTentative
			}
			break
		}
	}
	if room.ID == "" {
		return nil // holds none of the catalog's rooms
	}
	inst, err := d.Client.Instances(ctx, unionID, e.ID)
	if err != nil {
		return fmt.Errorf("read occurrences of DingTalk event %s: %w", e.ID, err)
	}
	var orgID, orgName, orgRef string
	if dir, err := d.usersByUnion(ctx); err == nil {
		orgID, orgName, orgRef = mapDingTalkOrganizer(dir, e.OrganizerUnionID)
	}
	if orgName == "" {
		orgName = e.OrganizerName
	}
	title := e.Summary
	if title == "" {
		title = "钉钉预订"
	}
	// One occurrence that cannot be written does not keep the others out.
	var errs []error
	for _, in := range inst {
		rm := models.Remote{RemoteID: in.ID, RoomID: room.ID, Start: in.Start, End: in.End, Title: title, Status: status,
			OrganizerID: orgID, OrganizerName: orgName, OrganizerRef: orgRef}
		if _, err := d.Store.ApplyRemote(ctx, models.BackendDingTalk, rm, readAt); err != nil {
			if !errors.Is(err, models.ErrConflict) && !errors.Is(err, models.ErrInvalid) {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
