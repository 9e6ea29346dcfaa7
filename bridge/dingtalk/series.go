package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	calendar "github.com/alibabacloud-go/dingtalk/calendar_1_0"
	"github.com/alibabacloud-go/tea/tea"

	"roombridge/models"
)

// sdkCopy fills an SDK struct from a value of the same JSON shape.
func sdkCopy(from, to any) error {
	b, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, to)
}

// Instance is one occurrence of a recurring event, under the id DingTalk gives it.
type Instance struct {
	ID         string
	Start, End time.Time
}

// SeriesBooking is a recurring event with the room booked on every occurrence.
type SeriesBooking struct {
	EventID   string
	Instances []Instance // the occurrences left after the excluded ones were deleted
}

// BookSeries creates a recurring event (req.Recurrence, first occurrence req.Start–End),
// deletes the occurrences that start at one of exclude (slots taken by someone else) and
// then books req.RoomID for the series. Like BookRoom it is idempotent for req.Key and
// returns an error wrapping models.ErrConflict when the room is taken on an occurrence
// that was not excluded (the event is then deleted again), models.ErrInvalid,
// models.ErrForbidden, or models.ErrUnavailable (the event may then exist; call again
// with the same Key).
func (c *Client) BookSeries(ctx context.Context, req BookRequest, exclude []time.Time) (SeriesBooking, error) {
	if err := req.validate(); err != nil {
		return SeriesBooking{}, fmt.Errorf("dingtalk book series in room %s: %w", req.RoomID, err)
	}
	if req.Recurrence == nil {
		return SeriesBooking{}, fmt.Errorf("dingtalk book series in room %s: no recurrence: %w", req.RoomID, models.ErrInvalid)
	}
	retried := c.seenKey(req.Key)
	id, err := c.createEvent(ctx, req)
	if err != nil {
		return SeriesBooking{}, err
	}
	c.rememberKey(req.Key)
	inst, err := c.Instances(ctx, req.OrganizerUnionID, id)
	if err != nil {
		return SeriesBooking{}, fmt.Errorf("%w (event %s is kept for a retry with key %s)", err, id, req.Key)
	}
	var kept []Instance
	for _, in := range inst {
		if !slices.ContainsFunc(exclude, func(t time.Time) bool { return t.Equal(in.Start) }) {
			kept = append(kept, in)
			continue
		}
		if err := c.deleteEvent(ctx, req.OrganizerUnionID, in.ID, clientToken(req.Key, "skip-"+in.Start.UTC().Format("20060102T150405Z"))); err != nil {
			return SeriesBooking{}, fmt.Errorf("%w (event %s is kept for a retry with key %s)", err, id, req.Key)
		}
	}
	err = c.addRoom(ctx, req, id, retried)
	switch {
	case err == nil:
		return SeriesBooking{EventID: id, Instances: kept}, nil
	case errors.Is(err, models.ErrUnavailable), ctx.Err() != nil:
		return SeriesBooking{}, fmt.Errorf("%w (event %s is kept for a retry with key %s)", err, id, req.Key)
	case hasCode(err, codeRoomBusy):
		if ev, gerr := c.GetEvent(ctx, req.OrganizerUnionID, id); gerr == nil && ev.holds(req.RoomID) {
			return SeriesBooking{EventID: id, Instances: kept}, nil
		}
	}
	if derr := c.deleteEvent(ctx, req.OrganizerUnionID, id, clientToken(req.Key, "undo")); derr != nil {
		return SeriesBooking{}, fmt.Errorf("%w; event %s is left without the room: %w", err, id, derr)
	}
	return SeriesBooking{}, err
}

// Instances lists the live occurrences of recurring event eventID in unionID's calendar,
// reading every page. Errors as GetEvent.
func (c *Client) Instances(ctx context.Context, unionID, eventID string) ([]Instance, error) {
	op := fmt.Sprintf("dingtalk instances of event %s", eventID)
	var out []Instance
	seen := map[string]bool{}
	next := ""
	for {
		req := &calendar.ListInstancesRequest{MaxResults: tea.Int32(100)}
		if next != "" {
			req.NextToken = tea.String(next)
		}
		var body *calendar.ListInstancesResponseBody
		err := c.run(ctx, call{
			op:      op,
			api:     apiListInstances,
			metered: true,
			send: func(ctx context.Context, token string) error {
				h := &calendar.ListInstancesHeaders{XAcsDingtalkAccessToken: tea.String(token)}
				resp, err := within(ctx, func() (*calendar.ListInstancesResponse, error) {
					return c.calendarSDK().ListInstancesWithOptions(tea.String(url.PathEscape(unionID)), tea.String(primary), tea.String(url.PathEscape(eventID)), req, h, c.runtime)
				})
				if err != nil {
					return err
				}
				if resp.Body == nil {
					return fmt.Errorf("%w: empty instance list", errBadAnswer)
				}
				body = resp.Body
				return nil
			},
		})
		if err != nil {
			return nil, err
		}
		for _, raw := range body.Events {
			ev, err := toEvent(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: %w: %w", op, models.ErrUnavailable, err)
			}
			out = append(out, Instance{ID: ev.ID, Start: ev.Start, End: ev.End})
		}
		token := tea.StringValue(body.NextToken)
		if token == "" {
			return out, nil
		}
		if seen[token] {
			return nil, fmt.Errorf("%s: page token %q repeats: %w", op, token, models.ErrUnavailable)
		}
		seen[token] = true
		next = token
	}
}

// SetRecurrence replaces the recurrence of event eventID (to end the series earlier). key
// derives the x-client-token. It returns an error wrapping models.ErrNotFound if the event
// is gone, models.ErrInvalid if DingTalk refuses the recurrence, and models.ErrUnavailable
// when DingTalk cannot be reached.
func (c *Client) SetRecurrence(ctx context.Context, key, organizerUnionID, eventID string, rc Recurrence) error {
	body := &calendar.PatchEventRequest{Id: tea.String(eventID), Recurrence: &calendar.PatchEventRequestRecurrence{}}
	if err := sdkCopy(rc, body.Recurrence); err != nil {
		return fmt.Errorf("dingtalk recurrence of event %s: %w: %w", eventID, models.ErrInvalid, err)
	}
	return c.run(ctx, call{
		op:      fmt.Sprintf("dingtalk set recurrence of event %s", eventID),
		api:     apiPatchEvent,
		metered: true,
		send: func(ctx context.Context, token string) error {
			h := &calendar.PatchEventHeaders{XAcsDingtalkAccessToken: tea.String(token), XClientToken: clientToken(key, "recurrence")}
			_, err := within(ctx, func() (*calendar.PatchEventResponse, error) {
				return c.calendarSDK().PatchEventWithOptions(tea.String(url.PathEscape(organizerUnionID)), tea.String(primary), tea.String(url.PathEscape(eventID)), body, h, c.runtime)
			})
			return err
		},
	})
}

// DeleteOccurrence deletes one occurrence of a recurring event by the id DingTalk gave
// it, as its organiser. An occurrence already gone is not an error. Errors as
// CancelBooking.
func (c *Client) DeleteOccurrence(ctx context.Context, key, organizerUnionID, instanceID string) error {
	if organizerUnionID == "" || instanceID == "" {
		return fmt.Errorf("dingtalk delete occurrence %q of %q: organiser and id are required: %w", instanceID, organizerUnionID, models.ErrInvalid)
	}
	return c.deleteEvent(ctx, organizerUnionID, instanceID, clientToken(key, "occurrence"))
}
