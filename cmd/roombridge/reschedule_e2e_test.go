package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// dtEvent is an event as the DingTalk fake lists it.
type dtEvent struct {
	ID      string    `json:"id"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	RoomIDs []string  `json:"roomIds"`
	Status  string    `json:"status"`
	Native  bool      `json:"native"`
}

// liveEventsIn are the DingTalk fake's events in room on the day of day that are not
// cancelled.
func (in *instance) liveEventsIn(t *testing.T, room string, day time.Time) []dtEvent {
	t.Helper()
	var all, out []dtEvent
	in.do("GET", in.dtURL+"/_fake/events", "", nil).json(t, &all)
	from := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, day.Location())
	for _, e := range all {
		if e.Status != "cancelled" && slices.Contains(e.RoomIDs, room) && !e.Start.Before(from) && e.Start.Before(from.AddDate(0, 0, 1)) {
			out = append(out, e)
		}
	}
	return out
}

// eventually checks cond until it holds, for at most 30 s (the outbox retries with
// backoff), and reports whether it did.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// TestServeRescheduleRefusedAfterCancel: through the API, a DingTalk booking is
// rescheduled while DingTalk fails, then cancelled, and DingTalk then refuses the new
// slot (someone took it directly). The cancel stands: the booking stays cancelled, its
// old event is released, and DingTalk holds only the other person's booking.
func TestServeRescheduleRefusedAfterCancel(t *testing.T) {
	in := start(t, nil)
	const room, dtRoom = "sk-tianyuan", "dt-sk-tianyuan"
	old, moved := in.day(10, 7, 0), in.day(10, 20, 0)
	var b booking
	if r := in.do("POST", in.url+"/api/v1/bookings", "zhangsan", strings.NewReader(bookingBody(room, "项目周会", old, time.Hour))); r.code != http.StatusCreated {
		t.Fatalf("POST booking = %d %s", r.code, r.body)
	} else {
		r.json(t, &b)
	}
	b = in.settle("zhangsan", b.ID)
	if b.Status != "confirmed" || b.Backend != "dingtalk" || b.RemoteID == "" {
		t.Fatalf("booking = %+v, want confirmed in DingTalk", b)
	}
	creates := func() int {
		var calls struct{ Calls map[string]int }
		in.do("GET", in.dtURL+"/_fake/calls", "", nil).json(t, &calls)
		return calls.Calls["CreateEvent"]
	}
	before := creates()
	if r := in.do("POST", in.dtURL+"/_fake/faults", "", strings.NewReader(`{"kind":"server_error","api":"CreateEvent"}`)); r.code/100 != 2 {
		t.Fatalf("set DingTalk fault = %d %s", r.code, r.body)
	}
	if r := in.do("PATCH", in.url+"/api/v1/bookings/"+b.ID, "zhangsan", strings.NewReader(fmt.Sprintf(`{"start":%q,"end":%q}`,
		moved.Format(time.RFC3339), moved.Add(time.Hour).Format(time.RFC3339)))); r.code != http.StatusOK {
		t.Fatalf("PATCH (reschedule) = %d %s", r.code, r.body)
	}
	if !eventually(func() bool { return creates() > before }) {
		t.Fatal("the new slot's booking was not tried within 30 s")
	}
	var cancelled booking
	if r := in.do("DELETE", in.url+"/api/v1/bookings/"+b.ID, "zhangsan", nil); r.code != http.StatusOK {
		t.Fatalf("DELETE = %d %s", r.code, r.body)
	} else if r.json(t, &cancelled); cancelled.Status != "cancelled" {
		t.Fatalf("DELETE = %+v, want cancelled", cancelled)
	}
	var native dtEvent
	in.do("POST", in.dtURL+"/_fake/events", "", strings.NewReader(fmt.Sprintf(`{"organizerUnionId":"union-lisi","roomId":%q,"title":"李四直接预订","start":%q,"end":%q}`,
		dtRoom, moved.Format(time.RFC3339), moved.Add(time.Hour).Format(time.RFC3339)))).json(t, &native)
	if native.ID == "" {
		t.Fatal("native DingTalk booking not made")
	}
	if r := in.do("DELETE", in.dtURL+"/_fake/faults", "", nil); r.code/100 != 2 {
		t.Fatalf("clear DingTalk faults = %d %s", r.code, r.body)
	}
	if !eventually(func() bool {
		return !slices.ContainsFunc(in.liveEventsIn(t, dtRoom, old), func(e dtEvent) bool { return e.ID == b.RemoteID })
	}) {
		t.Errorf("the old event %s is still held 30 s after the refusal could run", b.RemoteID)
	}
	var got booking
	in.do("GET", in.url+"/api/v1/bookings/"+b.ID, "zhangsan", nil).json(t, &got)
	if got.Status != "cancelled" || got.RemoteID != "" {
		t.Errorf("booking after the refusal = %+v, want cancelled holding nothing", got)
	}
	if live := in.liveEventsIn(t, dtRoom, old); len(live) != 1 || live[0].ID != native.ID {
		t.Errorf("DingTalk holds %+v that day, want only the native booking %s", live, native.ID)
	}
}
