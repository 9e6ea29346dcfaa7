package dingtalkfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/gorilla/websocket"
	"github.com/open-dingtalk/dingtalk-stream-sdk-go/payload"
)

// stream is the fake's Stream-mode gateway: apps open a connection with their
// credentials, then receive calendar_event_change events as frames and acknowledge them.
type stream struct {
	mu        sync.Mutex
	tickets   map[string]bool
	conns     map[*websocket.Conn]chan []byte
	delivered int
	acks      int
	seq       int
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// openStream answers POST /v1.0/gateway/connections/open.
func (s *Server) openStream(w http.ResponseWriter, r *http.Request) {
	var req payload.ConnectionEndpointRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalidParameter", "bad request body")
		return
	}
	if req.ClientId != s.appKey || req.ClientSecret != s.appSecret {
		writeError(w, http.StatusUnauthorized, "invalidClientIdOrSecret", "clientId or clientSecret is wrong")
		return
	}
	ticket := randomHex(16)
	s.stream.mu.Lock()
	s.stream.tickets[ticket] = true
	s.stream.mu.Unlock()
	writeJSON(w, http.StatusOK, payload.ConnectionEndpointResponse{Endpoint: "ws://" + r.Host + "/_stream/connect", Ticket: ticket})
}

// serveStream upgrades GET /_stream/connect?ticket= and holds the connection.
func (s *Server) serveStream(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.stream.mu.Lock()
	ok := s.stream.tickets[ticket]
	delete(s.stream.tickets, ticket)
	s.stream.mu.Unlock()
	if !ok {
		writeError(w, http.StatusUnauthorized, "invalidTicket", "unknown or used ticket")
		return
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	out := make(chan []byte, 256)
	s.stream.mu.Lock()
	s.stream.conns[conn] = out
	s.stream.mu.Unlock()
	defer func() {
		s.stream.mu.Lock()
		delete(s.stream.conns, conn)
		s.stream.mu.Unlock()
		conn.Close()
	}()
	go func() {
		for frame := range out {
			if conn.WriteMessage(websocket.TextMessage, frame) != nil {
				conn.Close()
				return
			}
		}
	}()
	defer close(out)
	for {
		_, raw, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var ack payload.DataFrameResponse
		if json.Unmarshal(raw, &ack) == nil && ack.Code == http.StatusOK {
			s.stream.mu.Lock()
			s.stream.acks++
			s.stream.mu.Unlock()
		}
	}
}

// pushChange sends a calendar_event_change for e to every connected app (without
// waiting for them). changeType is create, update or delete.
func (s *Server) pushChange(e *event, changeType string) {
	data, _ := json.Marshal(map[string]any{
		"calendarEventId":         e.ID,
		"calendarEventUpdateTime": s.now().UnixMilli(),
		"unionIdList":             []string{e.OrganizerUnionID},
		"changeType":              changeType,
		"operator":                map[string]string{"type": "user"},
	})
	s.stream.mu.Lock()
	defer s.stream.mu.Unlock()
	s.stream.seq++
	id := strconv.Itoa(s.stream.seq)
	frame, _ := json.Marshal(payload.DataFrame{SpecVersion: "1.0", Type: "EVENT", Time: s.now().UnixMilli(), Data: string(data),
		Headers: payload.DataFrameHeader{
			"topic": "*", "messageId": "msg-" + id, "contentType": "application/json", "time": strconv.FormatInt(s.now().UnixMilli(), 10),
			"eventType": "calendar_event_change", "eventId": "evt-" + id, "eventBornTime": strconv.FormatInt(s.now().UnixMilli(), 10),
			"eventCorpId": "dingfakecorp", "eventUnifiedAppId": s.appKey,
		}})
	for _, out := range s.stream.conns {
		select {
		case out <- frame:
			s.stream.delivered++
		default: // a stuck app misses the event, as it would after DingTalk's retries
		}
	}
}

// DropStreams closes every Stream-mode connection, as a network failure would.
func (s *Server) DropStreams() {
	s.stream.mu.Lock()
	defer s.stream.mu.Unlock()
	for conn := range s.stream.conns {
		conn.Close()
	}
}

// StreamConnections returns how many apps hold a Stream-mode connection.
func (s *Server) StreamConnections() int {
	s.stream.mu.Lock()
	defer s.stream.mu.Unlock()
	return len(s.stream.conns)
}

// StreamDeliveries returns how many event frames were sent (they count toward the
// monthly event quota) and how many the apps acknowledged.
func (s *Server) StreamDeliveries() (sent, acked int) {
	s.stream.mu.Lock()
	defer s.stream.mu.Unlock()
	return s.stream.delivered, s.stream.acks
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"code": code, "message": msg, "requestid": randomHex(8)})
}
