package dingtalk_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"roombridge/bridge/dingtalk"
	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/models"
)

func TestListen(t *testing.T) {
	now := time.Date(2026, 9, 1, 8, 0, 0, 0, cst)
	fake := dingtalkfake.New("app-key", "app-secret", testRooms(2), testUsers(), dingtalkfake.WithNow(func() time.Time { return now }))
	srv := httptest.NewServer(fake)
	defer srv.Close()
	connected := make(chan struct{}, 4)
	newClient := func(secret string) *dingtalk.Client {
		c, err := dingtalk.New(dingtalk.Config{BaseURL: srv.URL, OAPIURL: srv.URL, AppKey: "app-key", AppSecret: secret,
			Now: func() time.Time { return now }, Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() },
			OnStreamConnect: func() { connected <- struct{}{} }})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	within := func(what string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s within 10 s", what)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan dingtalk.StreamEvent, 8)
	done := make(chan error, 1)
	go func() {
		done <- newClient("app-secret").Listen(ctx, func(_ context.Context, ev dingtalk.StreamEvent) error {
			events <- ev
			return nil
		})
	}()
	recv := func() dingtalk.StreamEvent {
		t.Helper()
		select {
		case ev := <-events:
			return ev
		case <-time.After(10 * time.Second):
			t.Fatal("no event within 10 s")
		}
		return dingtalk.StreamEvent{}
	}
	// Each change is a calendar_event_change, then a meetingroom_book for its room.
	next := func() (dingtalk.CalendarEventChange, dingtalk.RoomBooking) {
		t.Helper()
		var ch dingtalk.CalendarEventChange
		if ev := recv(); ev.Type != dingtalk.EventCalendarChange || json.Unmarshal(ev.Data, &ch) != nil || !ev.At.Equal(now) {
			t.Fatalf("event = %+v, want a calendar_event_change born at %s", ev, now)
		}
		var b dingtalk.RoomBooking
		if ev := recv(); ev.Type != dingtalk.EventRoomBooking || json.Unmarshal(ev.Data, &b) != nil {
			t.Fatalf("event = %+v, want a meetingroom_book", ev)
		}
		return ch, b
	}

	within("connection", connected)
	id, err := fake.AddNative("union-alice", testRooms(2)[0].ID, "直接预订", now.Add(time.Hour), now.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ch, b := next()
	if ch.EventID != id || ch.ChangeType != "create" || len(ch.UnionIDs) != 1 || ch.UnionIDs[0] != "union-alice" {
		t.Errorf("first event = %+v, want create of %s by union-alice", ch, id)
	}
	start, end, ok := b.Times()
	if b.SubType != dingtalk.RoomBooked || b.EventID() != id || b.RoomID != testRooms(2)[0].ID || b.UserID != "u-alice" || b.Title != "直接预订" ||
		!ok || !start.Equal(now.Add(time.Hour)) || !end.Equal(now.Add(2*time.Hour)) {
		t.Errorf("room event = %+v (times %s–%s, %v), want bookSuccess of %s by u-alice", b, start, end, ok, id)
	}
	// The connection drops; Listen connects again and receives what comes next.
	fake.DropStreams()
	within("reconnection", connected)
	if err := fake.MoveNative(id, now.Add(3*time.Hour), now.Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ch, b := next(); ch.EventID != id || ch.ChangeType != "update" || b.SubType != dingtalk.RoomUpdated || b.EventID() != id {
		t.Errorf("events after reconnecting = %+v, %+v; want update of %s", ch, b, id)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Listen() after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Listen() did not return after cancel")
	}
	if sent, _ := fake.StreamDeliveries(); sent != 4 {
		t.Errorf("fake sent %d event frames, want 4", sent)
	}

	// Wrong credentials: Listen gives up with ErrForbidden instead of retrying forever.
	err = newClient("wrong").Listen(context.Background(), func(context.Context, dingtalk.StreamEvent) error { return nil })
	if !errors.Is(err, models.ErrForbidden) {
		t.Errorf("Listen(wrong secret) = %v, want ErrForbidden", err)
	}
}
