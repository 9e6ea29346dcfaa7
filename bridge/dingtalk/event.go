package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	calendar "github.com/alibabacloud-go/dingtalk/calendar_1_0"
	"github.com/alibabacloud-go/tea/tea"

	"roombridge/models"
)

// Event statuses. DingTalk reports deleted events as cancelled too.
const (
	StatusConfirmed = "confirmed"
	StatusCancelled = "cancelled"
)

// Event is a DingTalk calendar event as the bridge needs it. All-day events have Start and
// End at midnight in their time zone.
type Event struct {
	ID               string
	Summary          string
	Description      string
	Status           string // StatusConfirmed or StatusCancelled
	Start, End       time.Time
	OrganizerUnionID string
	OrganizerName    string // the organiser's display name, as DingTalk shows it
	Rooms            []EventRoom
	UpdateTime       time.Time
	// SeriesMasterID is set on an occurrence of a recurring event.
	SeriesMasterID string
	// Recurrence is set on a recurring event (the series itself); Start and End are then
	// its first occurrence.
	Recurrence *Recurrence
}

// EventRoom is a meeting room attached to an event. ResponseStatus is "accepted" (booked),
// "tentative" (awaiting approval) or "declined" (approval refused).
type EventRoom struct {
	RoomID         string
	Name           string
	ResponseStatus string
}

// holds reports whether the room is booked or awaiting approval for e.
func (e Event) holds(roomID string) bool {
	for _, r := range e.Rooms {
		if r.RoomID == roomID && r.ResponseStatus != "declined" {
			return true
		}
	}
	return false
}

// BookRequest is a room booking to place in DingTalk.
type BookRequest struct {
	// Key is the bridge's stable idempotency key for this booking attempt. Calls with the
	// same Key within a day create at most one event; after an error other than
	// ErrUnavailable, use a new Key for a new attempt.
	Key              string
	OrganizerUnionID string
	Summary          string
	Description      string
	Start, End       time.Time
	Zone             *time.Location // the event's time zone; nil means Asia/Shanghai
	AttendeeUnionIDs []string
	RoomID           string
	RoomName         string // shown as the event's location
	// Recurrence makes the event a recurring series whose first occurrence is Start–End
	// (BookSeries only).
	Recurrence *Recurrence
}

// chinaStandardTime is Asia/Shanghai, which has kept UTC+8 without daylight saving since
// 1991, so it needs no time zone database.
func chinaStandardTime() *time.Location { return time.FixedZone("Asia/Shanghai", 8*3600) }

func (r BookRequest) zone() (*time.Location, error) {
	if r.Zone == nil {
		return chinaStandardTime(), nil
	}
	if name := r.Zone.String(); name == "" || name == "Local" {
		return nil, fmt.Errorf("time zone %q is not an IANA name: %w", name, models.ErrInvalid)
	}
	return r.Zone, nil
}

func (r BookRequest) validate() error {
	switch {
	case r.Key == "":
		return fmt.Errorf("booking key is required: %w", models.ErrInvalid)
	case r.OrganizerUnionID == "":
		return fmt.Errorf("organiser unionId is required: %w", models.ErrInvalid)
	case r.RoomID == "":
		return fmt.Errorf("room id is required: %w", models.ErrInvalid)
	case strings.TrimSpace(r.Summary) == "":
		return fmt.Errorf("summary is required: %w", models.ErrInvalid)
	case !r.End.After(r.Start):
		return fmt.Errorf("end %s is not after start %s: %w", r.End.Format(time.RFC3339), r.Start.Format(time.RFC3339), models.ErrInvalid)
	}
	_, err := r.zone()
	return err
}

// BookRoom creates an event on the organiser's primary calendar and books req.RoomID for
// it, returning the event id. The two steps carry x-client-tokens derived from req.Key, so
// calling BookRoom again with the same Key returns the same event and never books twice.
//
// It returns an error wrapping models.ErrConflict if the room is taken (the event is then
// deleted again), models.ErrInvalid for a malformed request, models.ErrForbidden if the app
// may not act for the organiser, models.ErrNotFound if the event vanished before the room
// was added, and models.ErrUnavailable when DingTalk cannot be reached
// or a quota is used up (see IsQuotaExhausted). After ErrUnavailable the event may exist
// without the room; call BookRoom again with the same Key, or CancelBooking.
func (c *Client) BookRoom(ctx context.Context, req BookRequest) (string, error) {
	if err := req.validate(); err != nil {
		return "", fmt.Errorf("dingtalk book room %s: %w", req.RoomID, err)
	}
	retried := c.seenKey(req.Key)
	id, err := c.createEvent(ctx, req)
	if hasCode(err, codeDuplicateToken) {
		// DingTalk may answer a repeated x-client-token with 409 instead of the first
		// answer: the create was done, so look the event up.
		id, err = c.findCreated(ctx, req)
		retried = true
	}
	if err != nil {
		return "", err
	}
	c.rememberKey(req.Key)

	err = c.addRoom(ctx, req, id, retried)
	switch {
	case err == nil:
		return id, nil
	case errors.Is(err, models.ErrUnavailable), ctx.Err() != nil:
		return "", fmt.Errorf("%w (event %s is kept for a retry with key %s)", err, id, req.Key)
	case hasCode(err, codeRoomBusy):
		// An earlier attempt with this key may have booked the room already.
		if ev, gerr := c.GetEvent(ctx, req.OrganizerUnionID, id); gerr == nil && ev.holds(req.RoomID) {
			return id, nil
		}
	case hasCode(err, codeDuplicateToken):
		// A repeated room add answered 409 instead of its first answer: it was done
		// unless the event says otherwise; either way the event is kept for a retry.
		if ev, gerr := c.GetEvent(ctx, req.OrganizerUnionID, id); gerr == nil && ev.holds(req.RoomID) {
			return id, nil
		}
		return "", fmt.Errorf("%w: %v (event %s is kept for a retry with key %s)", models.ErrUnavailable, err, id, req.Key)
	}
	if derr := c.deleteEvent(ctx, req.OrganizerUnionID, id, clientToken(req.Key, "undo")); derr != nil {
		return "", fmt.Errorf("%w; event %s is left without the room: %w", err, id, derr)
	}
	return "", err
}

// findCreated finds the event an earlier create with req.Key made: a live event on the
// organiser's calendar with req's summary and times, preferring one that already holds
// the room. DingTalk gives no other handle on it. None found is ErrUnavailable (the
// create may still be settling); after a day the key's x-client-token expires and a
// retry creates afresh.
func (c *Client) findCreated(ctx context.Context, req BookRequest) (string, error) {
	op := fmt.Sprintf("dingtalk find the event created for booking %s", req.Key)
	events, _, err := c.ListEvents(ctx, req.OrganizerUnionID, ListQuery{TimeMin: req.Start, TimeMax: req.End})
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	found := ""
	for _, ev := range events {
		if ev.Status == StatusCancelled || ev.Summary != req.Summary || !ev.Start.Equal(req.Start) || !ev.End.Equal(req.End) {
			continue
		}
		if ev.holds(req.RoomID) {
			return ev.ID, nil
		}
		if found == "" {
			found = ev.ID
		}
	}
	if found == "" {
		return "", fmt.Errorf("%s: DingTalk answered duplicateClientToken but lists no such event: %w", op, models.ErrUnavailable)
	}
	return found, nil
}

func (c *Client) createEvent(ctx context.Context, req BookRequest) (string, error) {
	loc, _ := req.zone()
	tz := loc.String()
	body := &calendar.CreateEventRequest{
		Summary: tea.String(req.Summary),
		Start:   &calendar.CreateEventRequestStart{DateTime: tea.String(req.Start.In(loc).Format(time.RFC3339)), TimeZone: tea.String(tz)},
		End:     &calendar.CreateEventRequestEnd{DateTime: tea.String(req.End.In(loc).Format(time.RFC3339)), TimeZone: tea.String(tz)},
	}
	if req.Description != "" {
		body.Description = tea.String(req.Description)
	}
	if req.RoomName != "" {
		body.Location = &calendar.CreateEventRequestLocation{DisplayName: tea.String(req.RoomName)}
	}
	for _, a := range req.AttendeeUnionIDs {
		body.Attendees = append(body.Attendees, &calendar.CreateEventRequestAttendees{Id: tea.String(a)})
	}
	if req.Recurrence != nil {
		body.Recurrence = &calendar.CreateEventRequestRecurrence{}
		if err := sdkCopy(req.Recurrence, body.Recurrence); err != nil {
			return "", fmt.Errorf("dingtalk recurrence of booking %s: %w: %w", req.Key, models.ErrInvalid, err)
		}
	}
	var id string
	err := c.run(ctx, call{
		op:      fmt.Sprintf("dingtalk create event for booking %s", req.Key),
		api:     apiCreateEvent,
		metered: true,
		send: func(ctx context.Context, token string) error {
			h := &calendar.CreateEventHeaders{XAcsDingtalkAccessToken: tea.String(token), XClientToken: clientToken(req.Key, "create")}
			resp, err := within(ctx, func() (*calendar.CreateEventResponse, error) {
				return c.calendarSDK().CreateEventWithOptions(tea.String(url.PathEscape(req.OrganizerUnionID)), tea.String(primary), body, h, c.runtime)
			})
			if err != nil {
				return err
			}
			if resp.Body == nil || tea.StringValue(resp.Body.Id) == "" {
				return fmt.Errorf("%w: event without id", errBadAnswer)
			}
			id = *resp.Body.Id
			return nil
		},
	})
	return id, err
}

// addRoom books req.RoomID for the event. When the room may already be on the event (a
// retry), it reads the event first and skips the add if so.
func (c *Client) addRoom(ctx context.Context, req BookRequest, eventID string, mayHoldRoom bool) error {
	alreadyHeld := func(ctx context.Context) bool {
		ev, err := c.GetEvent(ctx, req.OrganizerUnionID, eventID)
		return err == nil && ev.holds(req.RoomID)
	}
	if mayHoldRoom && alreadyHeld(ctx) {
		return nil
	}
	body := &calendar.AddMeetingRoomsRequest{
		MeetingRoomsToAdd: []*calendar.AddMeetingRoomsRequestMeetingRoomsToAdd{{RoomId: tea.String(req.RoomID)}},
	}
	return c.run(ctx, call{
		op:          fmt.Sprintf("dingtalk add room %s to event %s", req.RoomID, eventID),
		api:         apiAddMeetingRooms,
		metered:     true,
		beforeRetry: alreadyHeld,
		send: func(ctx context.Context, token string) error {
			h := &calendar.AddMeetingRoomsHeaders{XAcsDingtalkAccessToken: tea.String(token), XClientToken: clientToken(req.Key, "room")}
			_, err := within(ctx, func() (*calendar.AddMeetingRoomsResponse, error) {
				return c.calendarSDK().AddMeetingRoomsWithOptions(tea.String(url.PathEscape(req.OrganizerUnionID)), tea.String(primary), tea.String(url.PathEscape(eventID)), body, h, c.runtime)
			})
			return err
		},
	})
}

// seenKey reports whether this Client created an event for key within the last day.
func (c *Client) seenKey(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, seen := c.keys[key]
	return seen && c.cfg.Now().Sub(at) < clientTokenTTL
}

func (c *Client) rememberKey(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	for k, at := range c.keys {
		if now.Sub(at) >= clientTokenTTL {
			delete(c.keys, k)
		}
	}
	c.keys[key] = now
}

// CancelBooking releases roomID (if not empty) from the event and deletes the event,
// notifying its attendees. An event or room that is already gone counts as cancelled. key
// derives the x-client-tokens, so a retried cancel is harmless.
//
// It returns an error wrapping models.ErrInvalid for missing ids, models.ErrForbidden if
// the app may not act for the organiser, and models.ErrUnavailable when DingTalk cannot be
// reached.
func (c *Client) CancelBooking(ctx context.Context, key, organizerUnionID, eventID, roomID string) error {
	if organizerUnionID == "" || eventID == "" {
		return fmt.Errorf("dingtalk cancel event %q of %q: organiser and event id are required: %w", eventID, organizerUnionID, models.ErrInvalid)
	}
	if roomID != "" {
		err := c.removeRoom(ctx, organizerUnionID, eventID, roomID, clientToken(key, "release"))
		switch {
		case errors.Is(err, models.ErrNotFound):
			return nil
		case err != nil:
			return err
		}
	}
	return c.deleteEvent(ctx, organizerUnionID, eventID, clientToken(key, "cancel"))
}

func (c *Client) removeRoom(ctx context.Context, organizerUnionID, eventID, roomID string, xClientToken *string) error {
	body := &calendar.RemoveMeetingRoomsRequest{
		MeetingRoomsToRemove: []*calendar.RemoveMeetingRoomsRequestMeetingRoomsToRemove{{RoomId: tea.String(roomID)}},
	}
	return c.run(ctx, call{
		op:      fmt.Sprintf("dingtalk remove room %s from event %s", roomID, eventID),
		api:     apiRemoveMeetingRooms,
		metered: true,
		send: func(ctx context.Context, token string) error {
			h := &calendar.RemoveMeetingRoomsHeaders{XAcsDingtalkAccessToken: tea.String(token), XClientToken: xClientToken}
			_, err := within(ctx, func() (*calendar.RemoveMeetingRoomsResponse, error) {
				return c.calendarSDK().RemoveMeetingRoomsWithOptions(tea.String(url.PathEscape(organizerUnionID)), tea.String(primary), tea.String(url.PathEscape(eventID)), body, h, c.runtime)
			})
			return err
		},
	})
}

// deleteEvent deletes the event as its organiser, notifying attendees. An event that is
// already gone is not an error.
func (c *Client) deleteEvent(ctx context.Context, organizerUnionID, eventID string, xClientToken *string) error {
	err := c.run(ctx, call{
		op:      fmt.Sprintf("dingtalk delete event %s", eventID),
		api:     apiDeleteEvent,
		metered: true,
		send: func(ctx context.Context, token string) error {
			h := &calendar.DeleteEventHeaders{XAcsDingtalkAccessToken: tea.String(token), XClientToken: xClientToken}
			req := &calendar.DeleteEventRequest{PushNotification: tea.Bool(true)}
			_, err := within(ctx, func() (*calendar.DeleteEventResponse, error) {
				return c.calendarSDK().DeleteEventWithOptions(tea.String(url.PathEscape(organizerUnionID)), tea.String(primary), tea.String(url.PathEscape(eventID)), req, h, c.runtime)
			})
			return err
		},
	})
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	return err
}

// GetEvent reads one event from unionID's primary calendar. It returns an error wrapping
// models.ErrNotFound if the event does not exist or was deleted, models.ErrForbidden if
// the app may not read that calendar, and models.ErrUnavailable when DingTalk cannot be
// reached.
func (c *Client) GetEvent(ctx context.Context, unionID, eventID string) (Event, error) {
	op := fmt.Sprintf("dingtalk get event %s of %s", eventID, unionID)
	var body *calendar.GetEventResponseBody
	err := c.run(ctx, call{
		op:      op,
		api:     apiGetEvent,
		metered: true,
		send: func(ctx context.Context, token string) error {
			h := &calendar.GetEventHeaders{XAcsDingtalkAccessToken: tea.String(token)}
			resp, err := within(ctx, func() (*calendar.GetEventResponse, error) {
				return c.calendarSDK().GetEventWithOptions(tea.String(url.PathEscape(unionID)), tea.String(primary), tea.String(url.PathEscape(eventID)), &calendar.GetEventRequest{}, h, c.runtime)
			})
			if err != nil {
				return err
			}
			if resp.Body == nil {
				return fmt.Errorf("%w: empty event", errBadAnswer)
			}
			body = resp.Body
			return nil
		},
	})
	if err != nil {
		return Event{}, err
	}
	ev, err := toEvent(body)
	if err != nil {
		return Event{}, fmt.Errorf("%s: %w: %w", op, models.ErrUnavailable, err)
	}
	return ev, nil
}

// ListQuery selects the events ListEvents returns.
type ListQuery struct {
	// TimeMin limits a full listing to events starting at or after it; zero means no limit.
	TimeMin time.Time
	// TimeMax limits a full listing to events starting before it; zero means no limit.
	TimeMax time.Time
	// SyncToken, from an earlier ListEvents, asks only for events changed since; TimeMin
	// and TimeMax are then ignored.
	SyncToken string
}

// ListEvents lists unionID's primary calendar, deleted events included (with status
// StatusCancelled), reading every page. It returns the sync token for the next incremental
// call. It returns an error wrapping models.ErrInvalid if DingTalk rejects the query, and
// also ErrSyncTokenExpired when the query had a sync token DingTalk no longer accepts
// (start over with a full listing), models.ErrForbidden if the app may not read the
// calendar, and models.ErrUnavailable when DingTalk cannot be reached.
func (c *Client) ListEvents(ctx context.Context, unionID string, q ListQuery) ([]Event, string, error) {
	op := fmt.Sprintf("dingtalk list events of %s", unionID)
	var events []Event
	seen := make(map[string]bool)
	next := ""
	for {
		req := &calendar.ListEventsRequest{MaxResults: tea.Int32(100), ShowDeleted: tea.Bool(true)}
		switch {
		case q.SyncToken != "":
			req.SyncToken = tea.String(q.SyncToken)
		default:
			if !q.TimeMin.IsZero() {
				req.TimeMin = tea.String(q.TimeMin.UTC().Format(time.RFC3339))
			}
			if !q.TimeMax.IsZero() {
				req.TimeMax = tea.String(q.TimeMax.UTC().Format(time.RFC3339))
			}
		}
		if next != "" {
			req.NextToken = tea.String(next)
		}
		var body *calendar.ListEventsResponseBody
		err := c.run(ctx, call{
			op:      op,
			api:     apiListEvents,
			metered: true,
			send: func(ctx context.Context, token string) error {
				h := &calendar.ListEventsHeaders{XAcsDingtalkAccessToken: tea.String(token)}
				resp, err := within(ctx, func() (*calendar.ListEventsResponse, error) {
					return c.calendarSDK().ListEventsWithOptions(tea.String(url.PathEscape(unionID)), tea.String(primary), req, h, c.runtime)
				})
				if err != nil {
					return err
				}
				if resp.Body == nil {
					return fmt.Errorf("%w: empty list", errBadAnswer)
				}
				body = resp.Body
				return nil
			},
		})
		if err != nil {
			if q.SyncToken != "" && hasCode(err, codeSyncTokenExpired) {
				return nil, "", fmt.Errorf("%w: %w", ErrSyncTokenExpired, err)
			}
			return nil, "", err
		}
		for _, raw := range body.Events {
			ev, err := toEvent(raw)
			if err != nil {
				return nil, "", fmt.Errorf("%s: %w: %w", op, models.ErrUnavailable, err)
			}
			events = append(events, ev)
		}
		token := tea.StringValue(body.NextToken)
		if token == "" {
			return events, tea.StringValue(body.SyncToken), nil
		}
		if seen[token] {
			return nil, "", fmt.Errorf("%s: page token %q repeats: %w", op, token, models.ErrUnavailable)
		}
		seen[token] = true
		next = token
	}
}

// wireEvent is the part of DingTalk's event JSON the bridge reads. GetEvent and ListEvents
// answer with different SDK types of the same shape, so both are read through it.
type wireEvent struct {
	ID          string   `json:"id"`
	Summary     string   `json:"summary"`
	Description string   `json:"description"`
	Status      string   `json:"status"`
	Start       wireTime `json:"start"`
	End         wireTime `json:"end"`
	Organizer   struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
	} `json:"organizer"`
	SeriesMasterID string      `json:"seriesMasterId"`
	Recurrence     *Recurrence `json:"recurrence"`
	MeetingRooms   []struct {
		RoomID         string `json:"roomId"`
		DisplayName    string `json:"displayName"`
		ResponseStatus string `json:"responseStatus"`
	} `json:"meetingRooms"`
	UpdateTime string `json:"updateTime"`
}

type wireTime struct {
	Date     string `json:"date"`
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

func location(name string) *time.Location {
	if name == "" || name == "Asia/Shanghai" {
		return chinaStandardTime()
	}
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return time.UTC
}

func (w wireTime) parse() (time.Time, error) {
	loc := location(w.TimeZone)
	if w.DateTime != "" {
		for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00"} {
			if t, err := time.Parse(layout, w.DateTime); err == nil {
				return t.In(loc), nil
			}
		}
		return time.ParseInLocation("2006-01-02T15:04:05", w.DateTime, loc)
	}
	if w.Date != "" {
		return time.ParseInLocation(time.DateOnly, w.Date, loc)
	}
	return time.Time{}, errors.New("time without date or dateTime")
}

func toEvent(sdkValue any) (Event, error) {
	raw, err := json.Marshal(sdkValue)
	if err != nil {
		return Event{}, err
	}
	var w wireEvent
	if err := json.Unmarshal(raw, &w); err != nil {
		return Event{}, err
	}
	ev := Event{
		ID:               w.ID,
		Summary:          w.Summary,
		Description:      w.Description,
		Status:           w.Status,
		OrganizerUnionID: w.Organizer.ID,
		OrganizerName:    w.Organizer.DisplayName,
		SeriesMasterID:   w.SeriesMasterID,
		Recurrence:       w.Recurrence,
	}
	if ev.Start, err = w.Start.parse(); err != nil {
		return Event{}, fmt.Errorf("event %s start: %w", w.ID, err)
	}
	if ev.End, err = w.End.parse(); err != nil {
		return Event{}, fmt.Errorf("event %s end: %w", w.ID, err)
	}
	if w.UpdateTime != "" {
		if ev.UpdateTime, err = time.Parse(time.RFC3339, w.UpdateTime); err != nil {
			return Event{}, fmt.Errorf("event %s updateTime: %w", w.ID, err)
		}
	}
	for _, r := range w.MeetingRooms {
		ev.Rooms = append(ev.Rooms, EventRoom{RoomID: r.RoomID, Name: r.DisplayName, ResponseStatus: r.ResponseStatus})
	}
	return ev, nil
}
