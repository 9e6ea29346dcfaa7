package dingtalk_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/bridge/dingtalk"
	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/models"
)

func TestMeteredCallsPerScheduleQuery(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		rooms  int
		window time.Duration
		want   int
	}{
		{0, day, 0},
		{3, 0, 0},
		{1, time.Hour, 1},
		{5, 90 * day, 1},
		{6, 90 * day, 2},
		{5, 90*day + time.Second, 2},
		{10, 30 * time.Minute, 2},
		{12, 100 * day, 6},
	}
	for _, tt := range tests {
		if got := dingtalk.MeteredCallsPerScheduleQuery(tt.rooms, tt.window); got != tt.want {
			t.Errorf("MeteredCallsPerScheduleQuery(%d, %v) = %d, want %d", tt.rooms, tt.window, got, tt.want)
		}
	}
}

func TestRoomSchedulesSplitsAndMerges(t *testing.T) {
	e := newEnv(t, testRooms(12))
	ctx := context.Background()
	from := e.at(0, 0)
	window := 100 * 24 * time.Hour
	to := from.Add(window)
	boundary := from.Add(90 * 24 * time.Hour)

	type booking struct {
		room       string
		start, end time.Time
	}
	bookings := []booking{
		{"room-01", e.at(10, 0), e.at(11, 0)},
		{"room-07", from.Add(50*24*time.Hour + 9*time.Hour), from.Add(50*24*time.Hour + 10*time.Hour)},
		{"room-12", from.Add(95 * 24 * time.Hour), from.Add(95*24*time.Hour + time.Hour)},
		{"room-03", boundary.Add(-time.Hour), boundary.Add(time.Hour)}, // in both 90-day slices
		{"room-01", to.Add(time.Hour), to.Add(2 * time.Hour)},          // after the window
	}
	want := make(map[string][]dingtalk.ScheduleItem)
	var roomIDs []string
	for _, r := range testRooms(12) {
		roomIDs = append(roomIDs, r.ID)
		want[r.ID] = nil
	}
	for _, b := range bookings {
		id, err := e.fake.AddNative("union-bob", b.room, "native", b.start, b.end)
		if err != nil {
			t.Fatalf("AddNative(%s) = %v", b.room, err)
		}
		if b.start.Before(to) {
			want[b.room] = append(want[b.room], dingtalk.ScheduleItem{EventID: id, OrganizerUnionID: "union-bob", Status: "BUSY", Start: b.start, End: b.end})
		}
	}

	got, err := e.client.RoomSchedules(ctx, "union-svc", roomIDs, from, to)
	if err != nil {
		t.Fatalf("RoomSchedules(12 rooms, 100 days) = %v", err)
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(time.Time.Equal)); diff != "" {
		t.Errorf("RoomSchedules(12 rooms, 100 days) mismatch (-want +got):\n%s", diff)
	}
	wantCalls := dingtalk.MeteredCallsPerScheduleQuery(len(roomIDs), window)
	if got := e.fake.Calls(dingtalkfake.APIGetMeetingRoomsSchedule); got != wantCalls || got != 6 {
		t.Errorf("schedule calls = %d, want %d (3 groups of rooms × 2 slices)", got, wantCalls)
	}
}

func TestRoomSchedulesErrors(t *testing.T) {
	e := newEnv(t, testRooms(2))
	ctx := context.Background()
	from := e.at(0, 0)

	got, err := e.client.RoomSchedules(ctx, "union-svc", []string{"room-01", "room-ghost", "room-02"}, from, from.Add(24*time.Hour))
	var re *dingtalk.RoomError
	if !errors.As(err, &re) || re.RoomID != "room-ghost" || !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("RoomSchedules(with unknown room) error = %v, want a *RoomError for room-ghost wrapping ErrNotFound", err)
	}
	if _, has := got["room-ghost"]; has || len(got) != 2 {
		t.Errorf("RoomSchedules(with unknown room) = %v, want entries for room-01 and room-02 only", got)
	}

	if _, err := e.client.RoomSchedules(ctx, "union-svc", []string{"room-01"}, from, from); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("RoomSchedules(empty window) = %v, want ErrInvalid", err)
	}

	e.fake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultQuotaExhausted, API: dingtalkfake.APIGetMeetingRoomsSchedule})
	got, err = e.client.RoomSchedules(ctx, "union-svc", []string{"room-01"}, from, from.Add(time.Hour))
	if got != nil || !errors.Is(err, models.ErrUnavailable) || !dingtalk.IsQuotaExhausted(err) {
		t.Errorf("RoomSchedules(quota exhausted) = %v, %v, want nil and a quota error", got, err)
	}
}

func TestRooms(t *testing.T) {
	e := newEnv(t, testRooms(105))
	got, err := e.client.Rooms(context.Background(), "union-svc")
	if err != nil {
		t.Fatalf("Rooms() = %v", err)
	}
	if len(got) != 105 {
		t.Fatalf("Rooms() returned %d rooms, want 105", len(got))
	}
	if want := (dingtalk.Room{ID: "room-105", Name: "会议室 105", Capacity: 108}); got[104] != want {
		t.Errorf("Rooms()[104] = %+v, want %+v", got[104], want)
	}
	if calls := e.fake.Calls(dingtalkfake.APIQueryMeetingRoomList); calls != 2 {
		t.Errorf("room list calls = %d, want 2 pages", calls)
	}
	if _, err := e.client.Rooms(context.Background(), "union-stranger"); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("Rooms(unknown operator) = %v, want ErrInvalid", err)
	}
}

// A room outside the app's scope gets the per-room error "无权限": forbidden, not a
// passing outage. A 400 meetingRoomNotAvailable on the read-only query is no booking
// conflict.
func TestRoomSchedulesPermissionAndRoomBusy(t *testing.T) {
	rooms := testRooms(2)
	rooms[1].Private = true
	e := newEnv(t, rooms)
	ctx := context.Background()
	from := e.at(0, 0)

	got, err := e.client.RoomSchedules(ctx, "union-svc", []string{"room-01", "room-02"}, from, from.Add(24*time.Hour))
	var re *dingtalk.RoomError
	if !errors.As(err, &re) || re.RoomID != "room-02" || !errors.Is(err, models.ErrForbidden) || errors.Is(err, models.ErrUnavailable) {
		t.Fatalf("RoomSchedules(private room) error = %v, want a *RoomError for room-02 wrapping ErrForbidden only", err)
	}
	if _, has := got["room-01"]; !has {
		t.Errorf("RoomSchedules(private room) = %v, want room-01 read", got)
	}

	e.fake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultRoomBusy, API: dingtalkfake.APIGetMeetingRoomsSchedule, Times: 1})
	_, err = e.client.RoomSchedules(ctx, "union-svc", []string{"room-01"}, from, from.Add(time.Hour))
	if errors.Is(err, models.ErrConflict) || !errors.Is(err, models.ErrUnavailable) {
		t.Errorf("RoomSchedules(meetingRoomNotAvailable) = %v, want ErrUnavailable, not ErrConflict", err)
	}
}
