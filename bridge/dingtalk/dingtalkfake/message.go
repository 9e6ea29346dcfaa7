package dingtalkfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// APISendMessage is the old API's work notification (工作通知) call.
const APISendMessage = "topapi/message/corpconversation/asyncsend_v2"

// Message is one work notification the fake accepted.
type Message struct {
	TaskID     int64           `json:"task_id"`
	AgentID    int64           `json:"agent_id"`
	UserIDs    []string        `json:"userid_list"`
	MsgType    string          `json:"msgtype"`
	Msg        json.RawMessage `json:"msg"`
	ReceivedAt string          `json:"received_at"`
}

// sendMessage accepts {agent_id, userid_list: "a,b", msg: {msgtype, ...}} and answers
// {errcode:0, errmsg:"ok", task_id}. The real service delivers asynchronously; the fake
// only records the message (GET /_fake/messages).
func (s *Server) sendMessage(_ *http.Request, body []byte) reply {
	var req struct {
		AgentID    json.Number     `json:"agent_id"`
		UserIDList string          `json:"userid_list"`
		Msg        json.RawMessage `json:"msg"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return oldErr(40035, "缺少参数 json")
	}
	agent, err := req.AgentID.Int64()
	if err != nil || agent <= 0 {
		return oldErr(40035, "缺少参数 agent_id")
	}
	if strings.TrimSpace(req.UserIDList) == "" {
		return oldErr(40035, "缺少参数 userid_list")
	}
	var msg struct {
		MsgType string `json:"msgtype"`
	}
	if json.Unmarshal(req.Msg, &msg) != nil || msg.MsgType == "" {
		return oldErr(40035, "缺少参数 msg")
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(req.Msg, &m)
	if _, ok := m[msg.MsgType]; !ok {
		return oldErr(40035, fmt.Sprintf("缺少参数 msg.%s", msg.MsgType))
	}
	s.ids++
	s.messages = append(s.messages, Message{TaskID: s.ids, AgentID: agent, UserIDs: strings.Split(req.UserIDList, ","),
		MsgType: msg.MsgType, Msg: req.Msg, ReceivedAt: s.now().UTC().Format("2006-01-02T15:04:05Z")})
	return ok(oldBody{ErrMsg: "ok", TaskID: s.ids, RequestID: fmt.Sprintf("req%d", s.ids)})
}

// Messages returns the work notifications accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}
