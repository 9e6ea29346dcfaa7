package oa

import (
	"context"
	"encoding/json"
	"fmt"

	"roombridge/models"
)

// Room is a meeting room as Seeyon lists it.
type Room struct {
	ID    string
	Name  string
	Seats int
}

// roomVO is MeetingRoomListVO. Its field names are not documented anywhere, so
// each value is looked for under the names Seeyon uses elsewhere.
type roomVO struct {
	ID            id     `json:"id"`
	RoomID        id     `json:"roomId"`
	Name          string `json:"name"`
	RoomName      string `json:"roomName"`
	SeatCount     num    `json:"seatCount"`
	RoomSeatCount num    `json:"roomSeatCount"`
	Seats         num    `json:"seats"`
}

// Rooms returns the rooms Seeyon lists for loginName. It is best effort: the row
// format of getMeetingRooms is not confirmed, so rows without an id are skipped.
// Errors wrap models.ErrForbidden if the user has no OA login and
// models.ErrUnavailable when the OA is unreachable.
func (c *Client) Rooms(ctx context.Context, loginName string) ([]Room, error) {
	const endpoint = "meeting/getMeetingRooms"
	var out []Room
	err := pages(ctx, endpoint, func(ctx context.Context, page int) (flipInfo[json.RawMessage], error) {
		var fi flipInfo[json.RawMessage]
		err := c.call(ctx, loginName, endpoint, map[string]any{"pageNo": page, "pageSize": pageSize}, &fi)
		return fi, err
	}, func(rows []json.RawMessage) (bool, error) {
		for _, raw := range rows {
			var r roomVO
			if err := json.Unmarshal(raw, &r); err != nil {
				return false, unavailable(endpoint, "malformed room", err)
			}
			room := Room{ID: string(first(r.ID, r.RoomID)), Name: first(r.Name, r.RoomName), Seats: int(first(r.SeatCount, r.RoomSeatCount, r.Seats))}
			if room.ID != "" {
				out = append(out, room)
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("seeyon getMeetingRooms for %s: %w", loginName, err)
	}
	return out, nil
}

// first returns the first non-zero value.
func first[T comparable](vs ...T) T {
	var zero T
	for _, v := range vs {
		if v != zero {
			return v
		}
	}
	return zero
}

// AppDetail is one booking as getMeetingRoomAppDetail describes it.
type AppDetail struct {
	RoomID        string
	ApplicantID   string // perId: the applicant's member id
	ApplicantName string
	Description   string
}

// AppDetail returns booking appID as loginName reads it. The real OA answers an unknown
// id with an error text (or a server error), so errors wrap models.ErrInvalid or
// models.ErrUnavailable; models.ErrForbidden if the user has no OA login.
func (c *Client) AppDetail(ctx context.Context, loginName, appID string) (AppDetail, error) {
	const endpoint = "meeting/getMeetingRoomAppDetail"
	if !validID(appID) {
		return AppDetail{}, fmt.Errorf("seeyon %s %q: not a Seeyon id: %w", endpoint, appID, models.ErrInvalid)
	}
	var answer struct {
		RoomID      id     `json:"roomId"`
		PerID       id     `json:"perId"`
		AppPerName  string `json:"appPerName"`
		Description string `json:"description"`
	}
	if err := c.call(ctx, loginName, endpoint, map[string]string{"appId": appID}, &answer); err != nil {
		return AppDetail{}, fmt.Errorf("seeyon %s %s: %w", endpoint, appID, err)
	}
	return AppDetail{RoomID: string(answer.RoomID), ApplicantID: string(answer.PerID), ApplicantName: answer.AppPerName,
		Description: plainText(answer.Description)}, nil
}
