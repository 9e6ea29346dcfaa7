package dingtalk

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	calendar "github.com/alibabacloud-go/dingtalk/calendar_1_0"
	"github.com/alibabacloud-go/tea/tea"

	"roombridge/models"
)

// Limits of one room schedule query: DingTalk accepts at most 5 rooms (its recommendation;
// the hard limit is not published) and a window of at most 90 days.
const (
	scheduleRooms  = 5
	scheduleWindow = 90 * 24 * time.Hour
)

// ScheduleItem is one busy period of a room.
type ScheduleItem struct {
	EventID          string
	OrganizerUnionID string
	Status           string // "BUSY", or "TENTATIVE" while approval is pending
	Start, End       time.Time
}

// RoomError is DingTalk's complaint about one room in a schedule query. It wraps
// models.ErrNotFound when DingTalk calls the room invalid or unknown, models.ErrForbidden
// when it mentions permission ("无权限"), and models.ErrUnavailable otherwise.
type RoomError struct {
	RoomID  string
	Message string
}

// Error names the room and quotes DingTalk's message.
func (e *RoomError) Error() string { return fmt.Sprintf("room %s: %s", e.RoomID, e.Message) }

// Unwrap returns the error kind guessed from DingTalk's free-text message.
func (e *RoomError) Unwrap() error {
	m := strings.ToLower(e.Message)
	switch {
	case strings.Contains(m, "invalid"), strings.Contains(m, "not exist"), strings.Contains(m, "not found"):
		return models.ErrNotFound
	case strings.Contains(m, "permission"), strings.Contains(m, "auth"), strings.Contains(m, "权限"):
		// DingTalk's documented example is "无权限" (no permission).
		return models.ErrForbidden
	}
	return models.ErrUnavailable
}

// MeteredCallsPerScheduleQuery returns how many metered calls one RoomSchedules over the
// given number of rooms and window length costs when nothing is retried: one per group of
// up to 5 rooms per 90-day slice of the window.
func MeteredCallsPerScheduleQuery(rooms int, window time.Duration) int {
	if rooms <= 0 || window <= 0 {
		return 0
	}
	groups := (rooms + scheduleRooms - 1) / scheduleRooms
	windows := int((window + scheduleWindow - 1) / scheduleWindow)
	return groups * windows
}

// RoomSchedules returns the busy periods of each room in [from, to), as seen by
// operatorUnionID, sorted by start. It splits the query into calls of at most 5 rooms and
// 90 days and merges the answers. Every room that was read has an entry, empty when it is
// free.
//
// If DingTalk reports an error for some rooms, their entries are missing and the returned
// error joins one *RoomError per such room; the map still holds the other rooms. If a call
// fails as a whole, the map is nil and the error wraps models.ErrForbidden,
// models.ErrInvalid or models.ErrUnavailable. It returns an error wrapping
// models.ErrInvalid if to is not after from.
func (c *Client) RoomSchedules(ctx context.Context, operatorUnionID string, roomIDs []string, from, to time.Time) (map[string][]ScheduleItem, error) {
	op := fmt.Sprintf("dingtalk room schedules %s..%s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	if operatorUnionID == "" || !to.After(from) {
		return nil, fmt.Errorf("%s: need an operator and a window that ends after it starts: %w", op, models.ErrInvalid)
	}
	var ids []string
	for _, id := range roomIDs {
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	out := make(map[string][]ScheduleItem, len(ids))
	failed := make(map[string]*RoomError)
	for start := from; start.Before(to); {
		end := start.Add(scheduleWindow)
		if end.After(to) {
			end = to
		}
		for group := range slices.Chunk(ids, scheduleRooms) {
			infos, err := c.querySchedules(ctx, op, operatorUnionID, group, start, end)
			if err != nil {
				return nil, err
			}
			answered := make(map[string]bool)
			for _, info := range infos {
				room := tea.StringValue(info.RoomId)
				answered[room] = true
				if msg := tea.StringValue(info.Error); msg != "" {
					failed[room] = &RoomError{RoomID: room, Message: msg}
					continue
				}
				items, err := toScheduleItems(info.ScheduleItems)
				if err != nil {
					return nil, fmt.Errorf("%s: room %s: %w: %w", op, room, models.ErrUnavailable, err)
				}
				out[room] = append(out[room], items...)
			}
			for _, room := range group {
				if !answered[room] {
					failed[room] = &RoomError{RoomID: room, Message: "missing from DingTalk's answer"}
				}
			}
		}
		start = end
	}

	var errs []error
	for _, id := range ids {
		if re, bad := failed[id]; bad {
			delete(out, id)
			errs = append(errs, re)
			continue
		}
		out[id] = mergeItems(out[id])
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("%s: %w", op, errors.Join(errs...))
	}
	return out, nil
}

func (c *Client) querySchedules(ctx context.Context, op, operatorUnionID string, roomIDs []string, from, to time.Time) ([]*calendar.GetMeetingRoomsScheduleResponseBodyScheduleInformation, error) {
	req := &calendar.GetMeetingRoomsScheduleRequest{
		RoomIds:   tea.StringSlice(roomIDs),
		StartTime: tea.String(from.Format(time.RFC3339)),
		EndTime:   tea.String(to.Format(time.RFC3339)),
	}
	var infos []*calendar.GetMeetingRoomsScheduleResponseBodyScheduleInformation
	err := c.run(ctx, call{
		op:      op,
		api:     apiGetMeetingRoomsSchedule,
		metered: true,
		send: func(ctx context.Context, token string) error {
			h := &calendar.GetMeetingRoomsScheduleHeaders{XAcsDingtalkAccessToken: tea.String(token)}
			resp, err := within(ctx, func() (*calendar.GetMeetingRoomsScheduleResponse, error) {
				return c.calendarSDK().GetMeetingRoomsScheduleWithOptions(tea.String(url.PathEscape(operatorUnionID)), req, h, c.runtime)
			})
			if err != nil {
				return err
			}
			if resp.Body == nil {
				return fmt.Errorf("%w: empty schedule", errBadAnswer)
			}
			infos = resp.Body.ScheduleInformation
			return nil
		},
	})
	if hasCode(err, codeRoomBusy) {
		// Documented for this read-only query too, where it cannot mean that a booking
		// conflicts: an answer to try again later.
		return nil, fmt.Errorf("%w: %v", models.ErrUnavailable, err)
	}
	return infos, err
}

func toScheduleItems(raw []*calendar.GetMeetingRoomsScheduleResponseBodyScheduleInformationScheduleItems) ([]ScheduleItem, error) {
	items := make([]ScheduleItem, 0, len(raw))
	for _, r := range raw {
		if r == nil {
			continue
		}
		it := ScheduleItem{EventID: tea.StringValue(r.EventId), Status: tea.StringValue(r.Status)}
		if r.Organizer != nil {
			it.OrganizerUnionID = tea.StringValue(r.Organizer.Id)
		}
		var start, end wireTime
		if r.Start != nil {
			start = wireTime{DateTime: tea.StringValue(r.Start.DateTime), TimeZone: tea.StringValue(r.Start.TimeZone)}
		}
		if r.End != nil {
			end = wireTime{DateTime: tea.StringValue(r.End.DateTime), TimeZone: tea.StringValue(r.End.TimeZone)}
		}
		var err error
		if it.Start, err = start.parse(); err != nil {
			return nil, fmt.Errorf("event %s start: %w", it.EventID, err)
		}
		if it.End, err = end.parse(); err != nil {
			return nil, fmt.Errorf("event %s end: %w", it.EventID, err)
		}
		items = append(items, it)
	}
	return items, nil
}

// mergeItems sorts items by start and drops the copies an event spanning two 90-day slices
// leaves behind.
func mergeItems(items []ScheduleItem) []ScheduleItem {
	slices.SortFunc(items, func(a, b ScheduleItem) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	return slices.CompactFunc(items, func(a, b ScheduleItem) bool {
		return a.EventID == b.EventID && a.Start.Equal(b.Start) && a.End.Equal(b.End)
	})
}

// MeteredCallsPerScheduleQuery is the package function of the same name, for callers that
// hold a Client.
func (c *Client) MeteredCallsPerScheduleQuery(rooms int, window time.Duration) int {
	return MeteredCallsPerScheduleQuery(rooms, window)
}
