package oa

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"roombridge/models"
)

const (
	// pageSize is how many rows one list page asks for.
	pageSize = 100
	// maxPages stops paging through a list that never ends (a server that ignores
	// pageNo would otherwise loop forever).
	maxPages = 200
	// maxDescription bounds the description sent with a booking, marker included.
	// The column size is not known; the marker goes last, so it must fit.
	maxDescription = 200
	// defaultCancelReason is sent when the caller gives none: Seeyon requires one.
	defaultCancelReason = "cancelled via roombridge"
)

// BookRequest asks for one room booking.
type BookRequest struct {
	// RoomID is the Seeyon room id.
	RoomID string
	// Start and End bound the booking; Seeyon keeps whole minutes only.
	Start, End time.Time
	// Description is the booking's purpose as people will read it in the OA.
	Description string
	// Marker is a stable idempotency marker, e.g. "[rb:abc123]". It is appended to
	// the description and is how a retried Book finds an earlier attempt. It must
	// not contain spaces or HTML special characters.
	Marker string
	// FirstAttempt says no earlier attempt with this Marker can have reached the OA: Book
	// then skips looking for one before it books (one occupancy read less).
	FirstAttempt bool
}

// Booking is one room booking as listed for its applicant.
type Booking struct {
	AppID     string // roomAppId
	RoomID    string
	RoomName  string
	MeetingID string // the meeting the booking belongs to, if any
	Start     time.Time
	End       time.Time
	// Status is Seeyon's approval state: 0 waiting, 1 approved, 2 rejected (2 is
	// not confirmed).
	Status        int
	ApplicantID   string
	ApplicantName string
	Description   string
	// Cancellable is Seeyon's cancelMRApp: whether the OA offers to cancel it.
	Cancellable bool
}

// roomAppVO is MeetingRoomRestVO, the row of getApplyMeemtingRooms.
type roomAppVO struct {
	RoomID        id       `json:"roomId"`
	RoomAppID     id       `json:"roomAppId"`
	MeetingID     id       `json:"meetingId"`
	RoomName      string   `json:"roomName"`
	AppStatus     num      `json:"appStatus"`
	StartDatetime wireTime `json:"startDatetime"`
	EndDatetime   wireTime `json:"endDatetime"`
	AppPerName    string   `json:"appPerName"`
	AppPerID      id       `json:"appPerId"`
	Description   string   `json:"description"`
	// Jackson names the getter isCancelMRApp() "cancelMRApp"; the other spelling is
	// read too in case a build serialises the field itself.
	CancelMRApp   flag `json:"cancelMRApp"`
	IsCancelMRApp flag `json:"isCancelMRApp"`
}

// flipInfo is Seeyon's page wrapper.
type flipInfo[T any] struct {
	Page  num `json:"page"`
	Size  num `json:"size"`
	Total num `json:"total"`
	Data  []T `json:"data"`
}

// Book books req.RoomID for loginName and returns the new booking's roomAppId. If
// a booking of this user with req.Marker at the same room and times already
// exists, Book returns its id and books nothing, so retrying after any failure is
// safe (unless req.FirstAttempt claims there was no earlier try).
//
// Errors wrap models.ErrConflict if the slot is taken, models.ErrForbidden if the
// user may not book the room (or has no OA login), models.ErrInvalid for a bad
// request or another refusal (Seeyon's text kept), and models.ErrUnavailable when
// the OA is unreachable, busy, or the outcome is unknown; retry on that.
func (c *Client) Book(ctx context.Context, loginName string, req BookRequest) (string, error) {
	if err := c.checkBook(req); err != nil {
		return "", fmt.Errorf("seeyon book room %s: %w", req.RoomID, err)
	}
	if !req.FirstAttempt {
		if appID, err := c.findBooked(ctx, loginName, req); err != nil {
			return "", fmt.Errorf("seeyon look up booking %s in room %s: %w", req.Marker, req.RoomID, err)
		} else if appID != "" {
			return appID, nil
		}
	}

	check := map[string]string{
		"roomId":    req.RoomID,
		"beginDate": req.Start.In(c.zone).Format(layoutSecond),
		"endDate":   req.End.In(c.zone).Format(layoutSecond),
	}
	if err := c.call(ctx, loginName, "meeting/checkMeetingRoomConflict", check, nil); err != nil {
		var e *Error
		// Any refusal here other than a permission or parameter problem means the
		// slot is taken, whatever words this OA version uses for it.
		if errors.As(err, &e) && e.Msg != "" && errors.Is(e.Kind, models.ErrInvalid) && !isParamMsg(e.Msg) {
			err = userError(&Error{Endpoint: e.Endpoint, Status: e.Status, Msg: e.Msg, Kind: models.ErrConflict})
		}
		return "", fmt.Errorf("seeyon checkMeetingRoomConflict room %s: %w", req.RoomID, err)
	}

	app := map[string]string{
		"roomId":        req.RoomID,
		"startDatetime": req.Start.In(c.zone).Format(layoutMinute),
		"endDatetime":   req.End.In(c.zone).Format(layoutMinute),
		"description":   description(req),
	}
	var answer struct {
		RoomAppState *num `json:"roomAppState"`
	}
	if err := c.call(ctx, loginName, "meeting/execApp", app, &answer); err != nil {
		return "", fmt.Errorf("seeyon execApp room %s: %w", req.RoomID, err)
	}
	if answer.RoomAppState == nil {
		// Neither an error nor a state: the booking may or may not exist.
		return "", fmt.Errorf("seeyon execApp room %s: %w", req.RoomID,
			unavailable("meeting/execApp", "answer without roomAppState", nil))
	}

	appID, err := c.findBooked(ctx, loginName, req)
	switch {
	case err != nil:
		return "", fmt.Errorf("seeyon find new booking %s in room %s: %w", req.Marker, req.RoomID,
			unavailable(occupancyOld, "booked, but the room's day could not be read: "+err.Error(), nil))
	case appID == "":
		return "", fmt.Errorf("seeyon find new booking %s in room %s: %w", req.Marker, req.RoomID,
			unavailable(occupancyOld, "booked, but the booking is not listed yet", nil))
	}
	return appID, nil
}

func (c *Client) checkBook(req BookRequest) error {
	switch {
	case !validID(req.RoomID):
		return fmt.Errorf("room id %q is not a Seeyon id: %w", req.RoomID, models.ErrInvalid)
	case req.Marker == "" || strings.ContainsAny(req.Marker, " \t\r\n<>&\"'"):
		return fmt.Errorf("marker %q must be non-empty, without spaces or HTML special characters: %w", req.Marker, models.ErrInvalid)
	case !req.End.After(req.Start):
		return fmt.Errorf("end %v is not after start %v: %w", req.End, req.Start, models.ErrInvalid)
	case req.Start.Second() != 0 || req.Start.Nanosecond() != 0 || req.End.Second() != 0 || req.End.Nanosecond() != 0:
		return fmt.Errorf("start and end must be whole minutes: %w", models.ErrInvalid)
	}
	return nil
}

// description is what goes into the booking's description: the text, then the
// marker, cut so the marker always fits.
func description(req BookRequest) string {
	text := strings.TrimSpace(req.Description)
	room := maxDescription - utf8.RuneCountInString(req.Marker) - 1
	if utf8.RuneCountInString(text) > room {
		text = string([]rune(text)[:max(room, 0)])
	}
	if text == "" {
		return req.Marker
	}
	return text + " " + req.Marker
}

// findBooked returns the roomAppId of the booking carrying req.Marker at req's room
// and times, or "" if there is none. It reads the room's applications on the
// meeting's days (getMeetingRoomApps, which every version has and which lists
// appId and description): getApplyMeemtingRooms cannot find it, because its time
// condition filters on when a booking was applied for, not when it takes place.
// The marker is unique to one booking job, so whoever the row names as applicant,
// a row with the marker is this job's booking.
func (c *Client) findBooked(ctx context.Context, loginName string, req BookRequest) (string, error) {
	first := dayStart(req.Start, c.zone)
	last := dayStart(req.End.Add(-time.Nanosecond), c.zone)
	for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
		rows, err := c.occupancyOn(ctx, loginName, req.RoomID, day)
		if err != nil {
			return "", err
		}
		for _, r := range rows {
			o, err := c.toOccupancy(req.RoomID, r)
			if err != nil {
				return "", err
			}
			if o.AppID != "" && o.Start.Equal(req.Start) && o.End.Equal(req.End) &&
				slices.Contains(strings.Fields(o.Description), req.Marker) {
				return o.AppID, nil
			}
		}
	}
	return "", nil
}

// Cancel cancels loginName's booking appID, giving reason (Seeyon requires one; a
// default is sent if it is empty). Cancelling a booking that is already gone
// succeeds.
//
// Errors wrap models.ErrInvalid for a bad id, a booking that has already ended or
// another refusal, models.ErrForbidden if the user has no OA login, and
// models.ErrUnavailable when the OA is unreachable or busy, or refused for no
// stated reason; retry on that.
func (c *Client) Cancel(ctx context.Context, loginName, appID, reason string) error {
	if !validID(appID) {
		return fmt.Errorf("seeyon cancelMeetRoomApp %q: not a Seeyon id: %w", appID, models.ErrInvalid)
	}
	if strings.TrimSpace(reason) == "" {
		reason = defaultCancelReason
	}
	var ok flag
	body := map[string]string{"roomAppId": appID, "cancelContent": reason}
	if err := c.call(ctx, loginName, "meeting/cancelMeetRoomApp", body, &ok); err != nil {
		return fmt.Errorf("seeyon cancelMeetRoomApp %s: %w", appID, err)
	}
	if ok {
		return nil
	}
	// Seeyon answers false both for a booking that no longer exists and for a
	// refusal, so look whether it is still there.
	b, found, err := c.findApp(ctx, loginName, appID)
	switch {
	case err != nil:
		return fmt.Errorf("seeyon look up booking %s after a refused cancel: %w", appID, err)
	case !found:
		return nil
	case !b.End.After(c.now()):
		return fmt.Errorf("seeyon cancelMeetRoomApp %s: %w", appID, userError(&Error{
			Endpoint: "meeting/cancelMeetRoomApp", Status: 200, Kind: models.ErrInvalid, detail: "the booking has already ended"}))
	default:
		return fmt.Errorf("seeyon cancelMeetRoomApp %s: %w", appID, userError(&Error{
			Endpoint: "meeting/cancelMeetRoomApp", Status: 200, Kind: models.ErrUnavailable, detail: "the OA refused without a reason"}))
	}
}

// findApp looks for appID among all of loginName's bookings.
func (c *Client) findApp(ctx context.Context, loginName, appID string) (Booking, bool, error) {
	var found Booking
	ok := false
	err := c.eachPage(ctx, loginName, map[string]any{}, func(rows []roomAppVO) (bool, error) {
		for _, r := range rows {
			if string(r.RoomAppID) == appID {
				b, err := c.booking(r)
				if err != nil {
					return false, err
				}
				found, ok = b, true
				return false, nil
			}
		}
		return true, nil
	})
	return found, ok, err
}

// MyBookings returns loginName's bookings that overlap [from, to), sorted by start.
// It pages through all of the user's bookings.
// Errors wrap models.ErrInvalid for a bad range, models.ErrForbidden if the user
// has no OA login, and models.ErrUnavailable when the OA is unreachable.
func (c *Client) MyBookings(ctx context.Context, loginName string, from, to time.Time) ([]Booking, error) {
	if !to.After(from) {
		return nil, fmt.Errorf("seeyon getApplyMeemtingRooms: range end %v is not after %v: %w", to, from, models.ErrInvalid)
	}
	// Seeyon's time condition filters on when a booking was applied for (and older
	// builds ignore it), so the whole list is read and filtered by meeting time here.
	params := map[string]any{"openFrom": "meetingRoomList"}
	var out []Booking
	err := c.eachPage(ctx, loginName, params, func(rows []roomAppVO) (bool, error) {
		for _, r := range rows {
			b, err := c.booking(r)
			if err != nil {
				return false, err
			}
			if b.Start.Before(to) && b.End.After(from) {
				out = append(out, b)
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("seeyon getApplyMeemtingRooms for %s: %w", loginName, err)
	}
	out = slices.CompactFunc(sortBookings(out), func(a, b Booking) bool { return a.AppID == b.AppID })
	return out, nil
}

func sortBookings(bs []Booking) []Booking {
	slices.SortFunc(bs, func(a, b Booking) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.AppID, b.AppID)
	})
	return bs
}

// eachPage pages through getApplyMeemtingRooms with params, handing each page to
// fn until fn says stop or the list ends.
func (c *Client) eachPage(ctx context.Context, loginName string, params map[string]any, fn func([]roomAppVO) (bool, error)) error {
	const endpoint = "meeting/getApplyMeemtingRooms"
	return pages(ctx, endpoint, func(ctx context.Context, page int) (flipInfo[roomAppVO], error) {
		body := map[string]any{"pageNo": page, "pageSize": pageSize}
		for k, v := range params {
			body[k] = v
		}
		var fi flipInfo[roomAppVO]
		err := c.call(ctx, loginName, endpoint, body, &fi)
		return fi, err
	}, fn)
}

// pages drives a paged Seeyon list: it fetches page 1, 2, ... and hands each to
// fn, until an empty page, the total is reached (or, without a total, a short
// page), or fn says stop.
func pages[T any](ctx context.Context, endpoint string, fetch func(context.Context, int) (flipInfo[T], error), fn func([]T) (bool, error)) error {
	seen := 0
	for page := 1; ; page++ {
		if err := ctx.Err(); err != nil {
			return unavailable(endpoint, "cancelled", err)
		}
		if page > maxPages {
			return unavailable(endpoint, fmt.Sprintf("more than %d pages", maxPages), nil)
		}
		fi, err := fetch(ctx, page)
		if err != nil {
			return err
		}
		more, err := fn(fi.Data)
		if err != nil || !more {
			return err
		}
		seen += len(fi.Data)
		// The OA may serve fewer rows than asked for, so a short page only ends
		// the list when there is no total to go by.
		size := cmp.Or(int(fi.Size), pageSize)
		switch {
		case len(fi.Data) == 0:
			return nil
		case fi.Total > 0 && seen >= int(fi.Total):
			return nil
		case fi.Total <= 0 && len(fi.Data) < size:
			return nil
		}
	}
}

// booking converts a list row.
func (c *Client) booking(r roomAppVO) (Booking, error) {
	start, err := r.StartDatetime.in(c.zone)
	if err != nil {
		return Booking{}, unavailable("meeting/getApplyMeemtingRooms", "bad startDatetime", err)
	}
	end, err := r.EndDatetime.in(c.zone)
	if err != nil {
		return Booking{}, unavailable("meeting/getApplyMeemtingRooms", "bad endDatetime", err)
	}
	if start.IsZero() || end.IsZero() {
		return Booking{}, unavailable("meeting/getApplyMeemtingRooms", "missing startDatetime or endDatetime", nil)
	}
	return Booking{
		AppID:         string(r.RoomAppID),
		RoomID:        string(r.RoomID),
		RoomName:      r.RoomName,
		MeetingID:     string(r.MeetingID),
		Start:         start,
		End:           end,
		Status:        int(r.AppStatus),
		ApplicantID:   string(r.AppPerID),
		ApplicantName: r.AppPerName,
		Description:   plainText(r.Description),
		Cancellable:   bool(r.CancelMRApp || r.IsCancelMRApp),
	}, nil
}
