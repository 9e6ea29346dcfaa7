package dingtalkfake_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func recurring(start, end string, pattern, rng map[string]any) map[string]any {
	ev := event(start, end)
	ev["recurrence"] = map[string]any{"pattern": pattern, "range": rng}
	return ev
}

func TestRecurringEventExpansion(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, cst)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name    string
		start   string
		pattern map[string]any
		rng     map[string]any
		want    []time.Time
	}{
		{"weekly Monday and Wednesday, numbered", "2026-09-07T10:00:00+08:00",
			map[string]any{"type": "weekly", "interval": 1, "daysOfWeek": "monday,wednesday", "firstDayOfWeek": "monday"},
			map[string]any{"type": "numbered", "numberOfOccurrences": 4},
			[]time.Time{at("2026-09-07 10:00"), at("2026-09-09 10:00"), at("2026-09-14 10:00"), at("2026-09-16 10:00")}},
		{"daily every other day to an end date", "2026-09-07T10:00:00+08:00",
			map[string]any{"type": "daily", "interval": 2},
			map[string]any{"type": "endDate", "endDate": "2026-09-11T10:00:00+08:00"},
			[]time.Time{at("2026-09-07 10:00"), at("2026-09-09 10:00"), at("2026-09-11 10:00")}},
		{"absolute monthly skips short months", "2026-10-31T10:00:00+08:00",
			map[string]any{"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31},
			map[string]any{"type": "numbered", "numberOfOccurrences": 2},
			[]time.Time{at("2026-10-31 10:00"), at("2026-12-31 10:00")}},
		{"last Friday", "2026-09-25T16:00:00+08:00",
			map[string]any{"type": "relativeMonthly", "interval": 1, "daysOfWeek": "friday", "index": "last"},
			map[string]any{"type": "numbered", "numberOfOccurrences": 3},
			[]time.Time{at("2026-09-25 16:00"), at("2026-10-30 16:00"), at("2026-11-27 16:00")}},
		{"an end date as a bare day includes that day", "2026-09-07T10:00:00+08:00",
			map[string]any{"type": "weekly", "interval": 1, "daysOfWeek": "monday"},
			map[string]any{"type": "endDate", "endDate": "2026-09-14"},
			[]time.Time{at("2026-09-07 10:00"), at("2026-09-14 10:00")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			h := auth(f.token(t))
			st, _ := time.Parse(time.RFC3339, tt.start)
			end := st.Add(time.Hour).In(cst).Format(time.RFC3339)
			status, body := f.call(t, "POST", events, h, recurring(tt.start, end, tt.pattern, tt.rng))
			id, _ := body["id"].(string)
			if status != 200 || id == "" || body["recurrence"] == nil {
				t.Fatalf("create recurring = %d %v", status, body)
			}
			got, err := f.fake.Instances(id)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
				t.Errorf("instances (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecurringEventRoomsAndInstances(t *testing.T) {
	f := newFixture(t)
	h := auth(f.token(t))
	// A native booking on the third Monday.
	native, err := f.fake.AddNative("union-2", "r1", "native", time.Date(2026, 9, 21, 10, 30, 0, 0, cst), time.Date(2026, 9, 21, 11, 30, 0, 0, cst))
	if err != nil {
		t.Fatal(err)
	}
	weekly := map[string]any{"type": "weekly", "interval": 1, "daysOfWeek": "monday", "firstDayOfWeek": "monday"}
	status, body := f.call(t, "POST", events, h, recurring("2026-09-07T10:00:00+08:00", "2026-09-07T11:00:00+08:00", weekly, map[string]any{"type": "numbered", "numberOfOccurrences": 4}))
	id, _ := body["id"].(string)
	if status != 200 {
		t.Fatalf("create = %d %v", status, body)
	}
	rooms := map[string]any{"meetingRoomsToAdd": []map[string]string{{"roomId": "r1"}}}
	status, body = f.call(t, "POST", events+"/"+id+"/meetingRooms", h, rooms)
	wantError(t, "add a room taken on one occurrence", status, body, 400, "meetingRoomNotAvailable")

	// The occurrences, each with its own id; deleting the taken one frees the series.
	status, body = f.call(t, "GET", events+"/"+id+"/instances", h, nil)
	list, _ := body["events"].([]any)
	if status != 200 || len(list) != 4 {
		t.Fatalf("GET instances = %d, %d events; want 4", status, len(list))
	}
	third := list[2].(map[string]any)
	if third["seriesMasterId"] != id || third["originStart"] == nil {
		t.Errorf("instance = %v, want seriesMasterId %s and originStart", third, id)
	}
	if status, _ := f.call(t, "DELETE", events+"/"+third["id"].(string), h, nil); status != 200 {
		t.Fatalf("DELETE instance = %d", status)
	}
	status, body = f.call(t, "DELETE", events+"/"+third["id"].(string), h, nil)
	wantError(t, "DELETE the instance again", status, body, 404, "instanceNotExist")
	if status, body := f.call(t, "POST", events+"/"+id+"/meetingRooms", h, rooms); status != 200 {
		t.Fatalf("add room after deleting the taken occurrence = %d %v", status, body)
	}

	// The room schedule lists every remaining occurrence under its own id.
	status, body = f.call(t, "POST", "/v1.0/calendar/users/union-1/meetingRooms/schedules/query", h, map[string]any{
		"roomIds": []string{"r1"}, "startTime": "2026-09-01T00:00:00+08:00", "endTime": "2026-10-01T00:00:00+08:00"})
	info := body["scheduleInformation"].([]any)[0].(map[string]any)
	var ids []string
	for _, it := range info["scheduleItems"].([]any) {
		ids = append(ids, it.(map[string]any)["eventId"].(string))
	}
	want := []string{native, id + "_20260907T020000Z", id + "_20260914T020000Z", id + "_20260928T020000Z"}
	if diff := cmp.Diff(want, ids); status != 200 || diff != "" {
		t.Errorf("room schedule ids = %d (-want +got):\n%s", status, diff)
	}

	// Ending the series earlier through a patch of its range.
	status, body = f.call(t, "PUT", events+"/"+id, h, map[string]any{"id": id, "recurrence": map[string]any{"pattern": weekly,
		"range": map[string]any{"type": "endDate", "endDate": "2026-09-14T10:00:00+08:00"}}})
	if status != 200 {
		t.Fatalf("PUT recurrence = %d %v", status, body)
	}
	got, _ := f.fake.Instances(id)
	if len(got) != 2 {
		t.Errorf("instances after the range ends on 09-14 = %v, want 2", got)
	}

	// What holds the room: each live occurrence under its own id, and the native booking.
	var holds []string
	for _, h := range f.fake.RoomHolds("r1") {
		holds = append(holds, h.ID+" "+h.MasterID+" "+h.Start.UTC().Format(time.RFC3339)+" "+h.End.UTC().Format(time.RFC3339))
	}
	want = []string{
		id + "_20260907T020000Z " + id + " 2026-09-07T02:00:00Z 2026-09-07T03:00:00Z",
		id + "_20260914T020000Z " + id + " 2026-09-14T02:00:00Z 2026-09-14T03:00:00Z",
		native + " " + native + " 2026-09-21T02:30:00Z 2026-09-21T03:30:00Z",
	}
	if diff := cmp.Diff(want, holds); diff != "" {
		t.Errorf("RoomHolds (-want +got):\n%s", diff)
	}
	if err := f.fake.CancelNative(native); err != nil {
		t.Fatal(err)
	}
	if n := len(f.fake.RoomHolds("r1")); n != 2 {
		t.Errorf("RoomHolds after the native booking is cancelled = %d, want 2", n)
	}
}
