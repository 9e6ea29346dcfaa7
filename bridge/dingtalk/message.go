package dingtalk

import (
	"context"
	"fmt"
)

const apiSendMessage = "topapi/message/corpconversation/asyncsend_v2"

// LinkMessage is a work notification of msgtype "link": a card with a title, a short
// text and a link opened by tapping it.
type LinkMessage struct {
	Title, Text, URL string
}

// SendWorkNotice sends msg as the work notification (工作通知) of app agentID to the
// employees userIDs (org userIds). DingTalk delivers it asynchronously; the returned
// task id identifies the send. Errors are classified like every other call
// (models.ErrUnavailable for what a retry may fix).
func (c *Client) SendWorkNotice(ctx context.Context, agentID int64, userIDs []string, msg LinkMessage) (int64, error) {
	op := "dingtalk send work notice"
	if len(userIDs) == 0 {
		return 0, fmt.Errorf("%s: no recipient", op)
	}
	list := userIDs[0]
	for _, u := range userIDs[1:] {
		list += "," + u
	}
	in := map[string]any{
		"agent_id":    agentID,
		"userid_list": list,
		"msg": map[string]any{
			"msgtype": "link",
			"link": map[string]string{
				"messageUrl": msg.URL, "title": msg.Title, "text": msg.Text,
			},
		},
	}
	var out struct {
		TaskID int64 `json:"task_id"`
	}
	err := c.run(ctx, call{op: op, api: apiSendMessage, send: func(ctx context.Context, token string) error {
		return c.postOld(ctx, "/"+apiSendMessage, token, in, &out)
	}})
	return out.TaskID, err
}
