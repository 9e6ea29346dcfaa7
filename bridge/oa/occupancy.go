package oa

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"roombridge/models"
)

const (
	// occupancyOld is the per-day occupancy endpoint every version seen has;
	// occupancyNew is the same on V7.1 and later only.
	occupancyNew = "meeting/getMeetingUserInfo"
	occupancyOld = "meeting/getMeetingRoomApps"
	// maxOccupancyDays bounds one Occupancy call (one request per day).
	maxOccupancyDays = 92
)

// Occupancy is one booking that occupies a room, whoever made it.
type Occupancy struct {
	AppID         string
	RoomID        string
	Start         time.Time
	End           time.Time
	Description   string
	ApplicantName string
	// Status is Seeyon's approval state: 0 waiting, 1 approved, 2 rejected
	// (审核未通过, holds nothing).
	Status int
}

// occupancyVO is MeetingRoomOccupancyVO.
type occupancyVO struct {
	StartDatetime wireTime `json:"startDatetime"`
	EndDatetime   wireTime `json:"endDatetime"`
	Description   string   `json:"description"`
	AppPerName    string   `json:"appPerName"`
	Status        num      `json:"status"`
	AppID         id       `json:"appId"`
}

// Occupancy returns the bookings of room roomID that overlap [from, to), asked day
// by day as loginName, each once and with its full times, sorted by start. It uses
// getMeetingRoomApps and, on an OA without it, getMeetingUserInfo.
//
// Errors wrap models.ErrInvalid for a bad room id or range (at most 92 days),
// models.ErrForbidden if the user has no OA login, and models.ErrUnavailable when
// the OA is unreachable.
func (c *Client) Occupancy(ctx context.Context, loginName, roomID string, from, to time.Time) ([]Occupancy, error) {
	switch {
	case !validID(roomID):
		return nil, fmt.Errorf("seeyon occupancy of room %q: not a Seeyon id: %w", roomID, models.ErrInvalid)
	case !to.After(from):
		return nil, fmt.Errorf("seeyon occupancy of room %s: range end %v is not after %v: %w", roomID, to, from, models.ErrInvalid)
	}
	first := dayStart(from, c.zone)
	last := dayStart(to.Add(-time.Nanosecond), c.zone)
	if last.Sub(first) > maxOccupancyDays*24*time.Hour {
		return nil, fmt.Errorf("seeyon occupancy of room %s: range longer than %d days: %w", roomID, maxOccupancyDays, models.ErrInvalid)
	}

	var out []Occupancy
	seen := make(map[string]bool)
	for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
		rows, err := c.occupancyOn(ctx, loginName, roomID, day)
		if err != nil {
			return nil, fmt.Errorf("seeyon occupancy of room %s on %s: %w", roomID, day.Format(layoutDay), err)
		}
		for _, r := range rows {
			o, err := c.toOccupancy(roomID, r)
			if err != nil {
				return nil, fmt.Errorf("seeyon occupancy of room %s on %s: %w", roomID, day.Format(layoutDay), err)
			}
			key := o.AppID
			if key == "" {
				key = o.Start.String() + "|" + o.End.String() + "|" + o.Description
			}
			if seen[key] || !o.Start.Before(to) || !o.End.After(from) {
				continue
			}
			seen[key] = true
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b Occupancy) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.AppID, b.AppID)
	})
	return out, nil
}

// occupancyOn asks for one day: getMeetingRoomApps, which every version seen has,
// and getMeetingUserInfo (the same rows on newer versions) only if the former is
// missing. It remembers which one answered.
func (c *Client) occupancyOn(ctx context.Context, loginName, roomID string, day time.Time) ([]occupancyVO, error) {
	c.mu.Lock()
	endpoint := c.occupancy
	c.mu.Unlock()
	body := map[string]string{"roomId": roomID, "qDate": day.Format(layoutDay)}

	var rows []occupancyVO
	if endpoint == "" || endpoint == occupancyOld {
		err := c.call(ctx, loginName, occupancyOld, body, &rows)
		var e *Error
		if err == nil || endpoint == occupancyOld || !errors.As(err, &e) || e.Status != http.StatusNotFound {
			if err == nil {
				c.remember(occupancyOld)
			}
			return rows, err
		}
	}
	if err := c.call(ctx, loginName, occupancyNew, body, &rows); err != nil {
		return nil, err
	}
	c.remember(occupancyNew)
	return rows, nil
}

func (c *Client) remember(endpoint string) {
	c.mu.Lock()
	c.occupancy = endpoint
	c.mu.Unlock()
}

func (c *Client) toOccupancy(roomID string, r occupancyVO) (Occupancy, error) {
	start, err := r.StartDatetime.in(c.zone)
	if err != nil {
		return Occupancy{}, unavailable(occupancyOld, "bad startDatetime", err)
	}
	end, err := r.EndDatetime.in(c.zone)
	if err != nil {
		return Occupancy{}, unavailable(occupancyOld, "bad endDatetime", err)
	}
	if start.IsZero() || end.IsZero() {
		return Occupancy{}, unavailable(occupancyOld, "missing startDatetime or endDatetime", nil)
	}
	return Occupancy{
		AppID:         string(r.AppID),
		RoomID:        roomID,
		Start:         start,
		End:           end,
		Description:   plainText(r.Description),
		ApplicantName: r.AppPerName,
		Status:        int(r.Status),
	}, nil
}

// OrderDates returns the days on which room roomID has bookings awaiting approval or
// approved (getOrderDate), as midnights in the OA's zone, sorted. It is a hint only:
// older builds stop counting after about 300 booking-days of the room's whole history,
// so a busy room's later days are missing; sync does not rely on it.
//
// Errors wrap models.ErrInvalid for a bad room id, models.ErrForbidden if the user has no
// OA login, and models.ErrUnavailable when the OA is unreachable (an OA without this
// endpoint answers 404, also ErrUnavailable: callers fall back to reading every day).
func (c *Client) OrderDates(ctx context.Context, loginName, roomID string) ([]time.Time, error) {
	if !validID(roomID) {
		return nil, fmt.Errorf("seeyon order dates of room %q: not a Seeyon id: %w", roomID, models.ErrInvalid)
	}
	var days []string
	if err := c.call(ctx, loginName, "meeting/getOrderDate", map[string]string{"roomId": roomID}, &days); err != nil {
		return nil, fmt.Errorf("seeyon order dates of room %s: %w", roomID, err)
	}
	out := make([]time.Time, 0, len(days))
	for _, d := range days {
		t, err := time.ParseInLocation(layoutDay, strings.TrimSpace(d), c.zone)
		if err != nil {
			return nil, fmt.Errorf("seeyon order dates of room %s: %w", roomID, unavailable("meeting/getOrderDate", "bad date "+d, err))
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out, nil
}
