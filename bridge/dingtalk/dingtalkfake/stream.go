package dingtalkfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/gorilla/websocket"
	"github.com/open-dingtalk/dingtalk-stream-sdk-go/payload"
)

// The event types the fake delivers in Stream mode (reference §7.2, §7.3).
const (
	EventCalendarChange = "calendar_event_change"
	EventRoomBooking    = "meetingroom_book"
)

// stream is the fake's Stream-mode gateway: apps open a connection with their
// credentials, then receive events as frames and acknowledge them. DingTalk lists both
// calendar_event_change and meetingroom_book for internal apps; which of them an org's
// Stream really delivers is unconfirmed, so the fake delivers both unless told otherwise
// (SetStreamEvents).
type stream struct {
	mu      sync.Mutex
	tickets map[string]bool
	conns   map[*websocket.Conn]chan []byte
	off     map[string]bool // event types not delivered
	// pending holds the frames of events that happened while no app was connected;
	// the next connection receives them first, as DingTalk delivers an event again until
	// it is acknowledged.
	pending   [][]byte
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
	out := make(chan []byte, 256+maxPending)
	s.stream.mu.Lock()
	s.stream.conns[conn] = out
	for _, frame := range s.stream.pending {
		out <- frame
		s.stream.delivered++
	}
	s.stream.pending = nil
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
	s.push(EventCalendarChange, map[string]any{
		"calendarEventId":         e.ID,
		"calendarEventUpdateTime": s.now().UnixMilli(),
		"unionIdList":             []string{e.OrganizerUnionID},
		"changeType":              changeType,
		"operator":                map[string]string{"type": "user"},
	})
}

// roomBookTime is the layout of meetingroom_book's times: China time, no zone.
const roomBookTime = "2006-01-02 15:04:05"

// pushRoomBooking sends a meetingroom_book event of subType (bookSuccess, bookCancel,
// bookUpdate) for each of rooms, held by e, with the fields the reference lists for
// that subtype. It runs with s.mu held.
func (s *Server) pushRoomBooking(e *event, subType, preStatus string, rooms []string) {
	for _, roomID := range rooms {
		data := map[string]any{
			"eventSubType": subType,
			"corpId":       "dingfakecorp",
			"bookId":       "book-" + e.ID + "-" + roomID,
			"isApproval":   false,
			"preStatus":    preStatus,
			"extension":    map[string]string{"calendarEventId": "primary;" + e.ID},
		}
		rm, _ := s.room(roomID)
		switch subType {
		case "bookSuccess":
			u, _ := s.userByUnion(e.OrganizerUnionID)
			data["roomId"], data["roomName"], data["userId"], data["userName"] = roomID, rm.Name, u.UserID, u.Name
			data["title"] = e.Summary
			data["startTime"] = e.Start.In(shanghai()).Format(roomBookTime)
			data["endTime"] = e.End.In(shanghai()).Format(roomBookTime)
			data["bookTime"] = s.now().In(shanghai()).Format(roomBookTime)
		case "bookUpdate":
			data["title"], data["roomName"] = e.Summary, rm.Name
		}
		s.push(EventRoomBooking, data)
	}
}

// push sends one event of eventType with payload data to every connected app, unless
// SetStreamEvents turned that type off.
func (s *Server) push(eventType string, data map[string]any) {
	body, _ := json.Marshal(data)
	s.stream.mu.Lock()
	defer s.stream.mu.Unlock()
	if s.stream.off[eventType] {
		return
	}
	s.stream.seq++
	id := strconv.Itoa(s.stream.seq)
	now := strconv.FormatInt(s.now().UnixMilli(), 10)
	frame, _ := json.Marshal(payload.DataFrame{SpecVersion: "1.0", Type: "EVENT", Time: s.now().UnixMilli(), Data: string(body),
		Headers: payload.DataFrameHeader{
			"topic": "*", "messageId": "msg-" + id, "contentType": "application/json", "time": now,
			"eventType": eventType, "eventId": "evt-" + id, "eventBornTime": now,
			"eventCorpId": "dingfakecorp", "eventUnifiedAppId": s.appKey,
		}})
	if len(s.stream.conns) == 0 {
		if len(s.stream.pending) < maxPending {
			s.stream.pending = append(s.stream.pending, frame)
		}
		return
	}
	for _, out := range s.stream.conns {
		select {
		case out <- frame:
			s.stream.delivered++
		default: // a stuck app misses the event, as it would after DingTalk's retries
		}
	}
}

// maxPending bounds the events kept for an app that is not connected.
const maxPending = 256

// SetStreamEvents limits the event types Stream delivers to types (EventCalendarChange,
// EventRoomBooking); with none, every type is delivered again.
func (s *Server) SetStreamEvents(types ...string) {
	s.stream.mu.Lock()
	defer s.stream.mu.Unlock()
	s.stream.off = map[string]bool{}
	if len(types) == 0 {
		return
	}
	for _, t := range []string{EventCalendarChange, EventRoomBooking} {
		s.stream.off[t] = !slices.Contains(types, t)
	}
}

// DropStreams closes every Stream-mode connection, as a network failure would.
func (s *Server) DropStreams() {
	s.stream.mu.Lock()
	defer s.stream.mu.Unlock()
	for conn := range s.stream.conns {
		conn.Close()
		delete(s.stream.conns, conn) // what happens next waits for the next connection
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
