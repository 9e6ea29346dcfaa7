package dingtalk

import (
	"context"
	"fmt"

	rooms "github.com/alibabacloud-go/dingtalk/rooms_1_0"
	"github.com/alibabacloud-go/tea/tea"

	"roombridge/models"
)

// Room is a meeting room in the org's DingTalk directory.
type Room struct {
	ID       string
	Name     string
	Capacity int
}

// Rooms lists every meeting room operatorUnionID can see, reading all pages. It returns an
// error wrapping models.ErrInvalid if DingTalk rejects the operator, models.ErrForbidden if
// the app lacks the rooms permission, and models.ErrUnavailable when DingTalk cannot be
// reached.
func (c *Client) Rooms(ctx context.Context, operatorUnionID string) ([]Room, error) {
	op := fmt.Sprintf("dingtalk list rooms as %s", operatorUnionID)
	var out []Room
	var next *int64
	seen := make(map[int64]bool)
	for {
		req := &rooms.QueryMeetingRoomListRequest{UnionId: tea.String(operatorUnionID), MaxResults: tea.Int32(100), NextToken: next}
		var body *rooms.QueryMeetingRoomListResponseBody
		err := c.run(ctx, call{
			op:      op,
			api:     apiQueryMeetingRoomList,
			metered: true,
			send: func(ctx context.Context, token string) error {
				h := &rooms.QueryMeetingRoomListHeaders{XAcsDingtalkAccessToken: tea.String(token)}
				resp, err := within(ctx, func() (*rooms.QueryMeetingRoomListResponse, error) {
					return c.roomsSDK().QueryMeetingRoomListWithOptions(req, h, c.runtime)
				})
				if err != nil {
					return err
				}
				if resp.Body == nil {
					return fmt.Errorf("%w: empty room list", errBadAnswer)
				}
				body = resp.Body
				return nil
			},
		})
		if err != nil {
			return nil, err
		}
		for _, r := range body.Result {
			if r == nil {
				continue
			}
			out = append(out, Room{ID: tea.StringValue(r.RoomId), Name: tea.StringValue(r.RoomName), Capacity: int(tea.Int32Value(r.RoomCapacity))})
		}
		if !tea.BoolValue(body.HasMore) || body.NextToken == nil {
			return out, nil
		}
		if seen[*body.NextToken] {
			return nil, fmt.Errorf("%s: page token %d repeats: %w", op, *body.NextToken, models.ErrUnavailable)
		}
		seen[*body.NextToken] = true
		next = body.NextToken
	}
}
