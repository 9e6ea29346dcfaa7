package dingtalk_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"roombridge/bridge/dingtalk"
	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/models"
)

func TestSendWorkNotice(t *testing.T) {
	msg := dingtalk.LinkMessage{Title: "预订已确认", Text: "会议室 A", URL: "http://rb.example/bookings/r1"}
	tests := []struct {
		name      string
		agent     int64
		users     []string
		fault     *dingtalkfake.Fault
		wantSent  int
		wantCalls int
		wantErr   error
	}{
		{name: "sent", agent: 42, users: []string{"u-bob"}, wantSent: 1, wantCalls: 1},
		{name: "throttled once, then sent", agent: 42, users: []string{"u-bob"},
			fault: &dingtalkfake.Fault{Kind: dingtalkfake.FaultThrottle, API: dingtalkfake.APISendMessage, Times: 1}, wantSent: 1, wantCalls: 2},
		{name: "no agent id refused", agent: 0, users: []string{"u-bob"}, wantCalls: 1, wantErr: models.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testRooms(1))
			if tt.fault != nil {
				e.fake.SetFault(*tt.fault)
			}
			task, err := e.client.SendWorkNotice(context.Background(), tt.agent, tt.users, msg)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("SendWorkNotice: %v, want %v", err, tt.wantErr)
				}
			} else if err != nil || task == 0 {
				t.Fatalf("SendWorkNotice = %d, %v, want a task id", task, err)
			}
			got := e.fake.Messages()
			if len(got) != tt.wantSent {
				t.Fatalf("messages = %d, want %d", len(got), tt.wantSent)
			}
			if n := e.fake.Calls(dingtalkfake.APISendMessage); n != tt.wantCalls {
				t.Errorf("calls = %d, want %d", n, tt.wantCalls)
			}
			if tt.wantSent == 0 {
				return
			}
			var link struct {
				Link struct{ MessageURL, Title string } `json:"link"`
			}
			if err := json.Unmarshal(got[0].Msg, &link); err != nil || link.Link.MessageURL != msg.URL || link.Link.Title != msg.Title {
				t.Errorf("message = %s (%v), want link to %s", got[0].Msg, err, msg.URL)
			}
			if got[0].AgentID != tt.agent || got[0].UserIDs[0] != "u-bob" || got[0].TaskID != task {
				t.Errorf("message = %+v, want agent %d to u-bob, task %d", got[0], tt.agent, task)
			}
		})
	}
}
