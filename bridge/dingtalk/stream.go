package dingtalk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/open-dingtalk/dingtalk-stream-sdk-go/event"
	"github.com/open-dingtalk/dingtalk-stream-sdk-go/payload"

	"roombridge/models"
)

// The Stream event types the bridge acts on.
const (
	// EventCalendarChange reports that a calendar event changed (a trigger only: the
	// event must be read again).
	EventCalendarChange = "calendar_event_change"
	// EventRoomBooking reports a meeting-room booking made, sent for approval, updated,
	// cancelled or refused; a new booking carries everything the bridge stores.
	EventRoomBooking = "meetingroom_book"
)

// StreamEvent is one event DingTalk delivered in Stream mode.
type StreamEvent struct {
	Type string    // eventType, e.g. "calendar_event_change"
	ID   string    // eventId
	At   time.Time // eventBornTime: when DingTalk produced it (zero when absent)
	Data []byte    // the event's JSON payload
}

// CalendarEventChange is the payload of a calendar_event_change event.
type CalendarEventChange struct {
	EventID    string   `json:"calendarEventId"`
	UnionIDs   []string `json:"unionIdList"`
	ChangeType string   `json:"changeType"`
}

// RoomBooking is the payload of a meetingroom_book event. Which fields are present
// depends on SubType: bookSuccess and appvaral (sent for approval) carry the room, the
// organizer's org userId, the title and the times; bookCancel, bookRefuse, bookUpdate
// and bookMemberChange carry little beyond the booking and its calendar event.
type RoomBooking struct {
	SubType   string `json:"eventSubType"`
	BookID    string `json:"bookId"`
	RoomID    string `json:"roomId"`
	RoomName  string `json:"roomName"`
	UserID    string `json:"userId"`
	UserName  string `json:"userName"`
	Title     string `json:"title"`
	StartTime string `json:"startTime"`
	EndTime   string `json:"endTime"`
	PreStatus string `json:"preStatus"`
	Extension struct {
		CalendarEventID string `json:"calendarEventId"`
	} `json:"extension"`
}

// The meetingroom_book subtypes documented so far; others may be added.
const (
	RoomBooked        = "bookSuccess"
	RoomSentToApprove = "appvaral" // sic
	RoomCancelled     = "bookCancel"
	RoomRefused       = "bookRefuse"
	RoomUpdated       = "bookUpdate"
)

// roomBookingLayout is how meetingroom_book writes times: no zone, taken to be China
// time (Asia/Shanghai), which the documentation implies but does not state.
const roomBookingLayout = "2006-01-02 15:04:05"

// roomBookingZone is the zone of meetingroom_book's times.
var roomBookingZone = time.FixedZone("Asia/Shanghai", 8*3600)

// EventID is the calendar event the booking belongs to: extension.calendarEventId is
// "<calendarId>;<eventId>".
func (b RoomBooking) EventID() string {
	id := b.Extension.CalendarEventID
	if i := strings.LastIndexByte(id, ';'); i >= 0 {
		id = id[i+1:]
	}
	return strings.TrimSpace(id)
}

// Times parses the booking's start and end; ok is false when either is missing or
// malformed, or the end is not after the start.
func (b RoomBooking) Times() (start, end time.Time, ok bool) {
	start, err1 := time.ParseInLocation(roomBookingLayout, strings.TrimSpace(b.StartTime), roomBookingZone)
	end, err2 := time.ParseInLocation(roomBookingLayout, strings.TrimSpace(b.EndTime), roomBookingZone)
	if err1 != nil || err2 != nil || !end.After(start) {
		return time.Time{}, time.Time{}, false
	}
	return start, end, true
}

// streamKeepAlive is how often the connection is pinged; a connection that answers
// nothing for three of them is dropped and made again.
const streamKeepAlive = 30 * time.Second

// Listen holds a Stream-mode connection to DingTalk (the app must be set to Stream push
// in the developer console) and calls handle for every event, acknowledging it as
// processed, or as "later" (DingTalk delivers it again) when handle returns an error. It
// reconnects with backoff whenever the connection drops and returns when ctx ends (nil)
// or when DingTalk refuses the app's credentials (ErrForbidden).
//
// The frames are the official Stream SDK's payload types; the connection is held here
// rather than by the SDK's client so that it stops with ctx.
func (c *Client) Listen(ctx context.Context, handle func(context.Context, StreamEvent) error) error {
	wait := time.Second
	for {
		began := c.cfg.Now()
		err := c.listenOnce(ctx, handle)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, models.ErrForbidden) {
			return err
		}
		if c.cfg.OnStreamDrop != nil {
			c.cfg.OnStreamDrop(err)
		}
		if c.cfg.Now().Sub(began) > time.Minute {
			wait = time.Second // it had been up for a while: reconnect quickly
		}
		if err := c.cfg.Sleep(ctx, wait); err != nil {
			return nil
		}
		wait = min(wait*2, time.Minute)
	}
}

// listenOnce opens one connection and serves it until it drops or ctx ends.
func (c *Client) listenOnce(ctx context.Context, handle func(context.Context, StreamEvent) error) error {
	endpoint, err := c.streamEndpoint(ctx)
	if err != nil {
		return err
	}
	u, err := url.Parse(endpoint.Endpoint)
	if err != nil {
		return fmt.Errorf("dingtalk stream endpoint %q: %w", endpoint.Endpoint, models.ErrUnavailable)
	}
	q := u.Query()
	q.Set("ticket", endpoint.Ticket)
	u.RawQuery = q.Encode()
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, u.String(), nil)
	if err != nil {
		return fmt.Errorf("dingtalk stream connect: %w", errors.Join(models.ErrUnavailable, err))
	}
	defer conn.Close()
	if c.cfg.OnStreamConnect != nil {
		c.cfg.OnStreamConnect()
	}

	var writeMu sync.Mutex
	write := func(v any) error {
		writeMu.Lock()
		defer writeMu.Unlock()
		conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		return conn.WriteJSON(v)
	}
	done := make(chan struct{})
	defer close(done)
	go func() { // closing the connection ends the read loop below
		t := time.NewTicker(streamKeepAlive)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				conn.Close()
				return
			case <-done:
				return
			case <-t.C:
				writeMu.Lock()
				err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(10*time.Second))
				writeMu.Unlock()
				if err != nil {
					conn.Close()
					return
				}
			}
		}
	}()
	alive := func() { conn.SetReadDeadline(time.Now().Add(3 * streamKeepAlive)) }
	alive()
	conn.SetPongHandler(func(string) error { alive(); return nil })
	for {
		_, raw, err := conn.ReadMessage()
		if err != nil {
			return fmt.Errorf("dingtalk stream read: %w", errors.Join(models.ErrUnavailable, err))
		}
		alive()
		df, err := payload.DecodeDataFrame(raw)
		if err != nil || df == nil || df.Headers == nil {
			continue // not a frame: nothing to acknowledge
		}
		ack := payload.NewSuccessDataFrameResponse()
		switch {
		case df.Type == "SYSTEM" && df.GetTopic() == "ping":
			ack = payload.NewDataFrameAckPong(df.GetMessageId())
			ack.Data = df.Data
		case df.Type == "SYSTEM" && df.GetTopic() == "disconnect":
			return fmt.Errorf("dingtalk stream: the server asked to reconnect: %w", models.ErrUnavailable)
		case df.Type == "EVENT":
			result := event.NewEventProcessResultSuccess()
			ev := StreamEvent{Type: df.Headers.Get("eventType"), ID: df.Headers.Get("eventId"), Data: []byte(df.Data)}
			if ms, err := strconv.ParseInt(df.Headers.Get("eventBornTime"), 10, 64); err == nil && ms > 0 {
				ev.At = time.UnixMilli(ms)
			}
			if err := handle(ctx, ev); err != nil {
				result = event.NewEventProcessResultLater()
			}
			if err := ack.SetJson(result); err != nil {
				return fmt.Errorf("dingtalk stream ack: %w", err)
			}
		default:
			ack = payload.NewDataFrameResponse(payload.DataFrameResponseStatusCodeKHandlerNotFound)
		}
		ack.SetHeader(payload.DataFrameHeaderKMessageId, df.GetMessageId())
		ack.SetHeader(payload.DataFrameHeaderKContentType, payload.DataFrameContentTypeKJson)
		if err := write(ack); err != nil {
			return fmt.Errorf("dingtalk stream ack: %w", errors.Join(models.ErrUnavailable, err))
		}
	}
}

// streamEndpoint asks the gateway where to connect (POST /v1.0/gateway/connections/open).
func (c *Client) streamEndpoint(ctx context.Context) (payload.ConnectionEndpointResponse, error) {
	var out payload.ConnectionEndpointResponse
	body, _ := json.Marshal(payload.ConnectionEndpointRequest{
		ClientId: c.cfg.AppKey, ClientSecret: c.cfg.AppSecret, UserAgent: "roombridge",
		Subscriptions: []*payload.SubscriptionModel{{Type: "EVENT", Topic: "*"}},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+"/v1.0/gateway/connections/open", bytes.NewReader(body))
	if err != nil {
		return out, fmt.Errorf("dingtalk stream open: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return out, fmt.Errorf("dingtalk stream open: %w", errors.Join(models.ErrUnavailable, err))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || (resp.StatusCode == http.StatusBadRequest && bytes.Contains(raw, []byte("invalidClientIdOrSecret"))):
		return out, fmt.Errorf("dingtalk stream open: HTTP %d %s: %w", resp.StatusCode, raw, models.ErrForbidden)
	case resp.StatusCode != http.StatusOK:
		return out, fmt.Errorf("dingtalk stream open: HTTP %d %s: %w", resp.StatusCode, raw, models.ErrUnavailable)
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.Valid() != nil {
		return out, fmt.Errorf("dingtalk stream open: unusable answer %q: %w", raw, models.ErrUnavailable)
	}
	return out, nil
}
