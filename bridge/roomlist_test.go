package bridge

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/models"
	"roombridge/models/modelstest"
)

// countingRooms is a RoomSource that counts its reads and fails while err is set.
type countingRooms struct {
	reads int
	err   error
	rooms []models.BackendRoom
}

func (c *countingRooms) Name() models.Backend { return models.BackendDingTalk }

func (c *countingRooms) Rooms(context.Context) ([]models.BackendRoom, error) {
	c.reads++
	if c.err != nil {
		return nil, c.err
	}
	return c.rooms, nil
}

// RoomLists reads a backend's list on demand, keeps it MaxAge, lets a refresh read it
// again but never twice within MinGap, and keeps the last good list beside a failure.
func TestRoomListsCache(t *testing.T) {
	clock := modelstest.NewClock(at(1, 9))
	src := &countingRooms{rooms: []models.BackendRoom{{ID: "dt-1", Name: "一号"}}}
	l := &RoomLists{Sources: []RoomSource{src}, MaxAge: 5 * time.Minute, MinGap: 30 * time.Second, Now: clock.Now}
	down := fmt.Errorf("oa unreachable: %w", models.ErrUnavailable)
	steps := []struct {
		name      string
		advance   time.Duration
		refresh   bool
		fail      error
		wantReads int
		wantErr   bool
		wantRooms int
	}{
		{"first view reads", 0, false, nil, 1, false, 1},
		{"view within MaxAge is served from memory", 4 * time.Minute, false, nil, 1, false, 1},
		{"view after MaxAge reads again", time.Minute, false, nil, 2, false, 1},
		{"refresh within MinGap does not read", 10 * time.Second, true, nil, 2, false, 1},
		{"refresh after MinGap reads", 20 * time.Second, true, nil, 3, false, 1},
		{"failed refresh keeps the last good list", 30 * time.Second, true, down, 4, true, 1},
		{"a failure is not retried within MinGap", 10 * time.Second, false, nil, 4, true, 1},
		{"after MinGap a failure is retried", 20 * time.Second, false, nil, 5, false, 1},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			clock.Add(st.advance)
			src.err = st.fail
			got := l.RoomLists(context.Background(), st.refresh)
			if len(got) != 1 {
				t.Fatalf("RoomLists() = %d lists, want 1", len(got))
			}
			if src.reads != st.wantReads {
				t.Errorf("reads after RoomLists(refresh %v) = %d, want %d", st.refresh, src.reads, st.wantReads)
			}
			if (got[0].Err != nil) != st.wantErr || (st.wantErr && !errors.Is(got[0].Err, models.ErrUnavailable)) {
				t.Errorf("RoomLists().Err = %v, want error %v", got[0].Err, st.wantErr)
			}
			if diff := cmp.Diff(src.rooms[:st.wantRooms], got[0].Rooms); diff != "" || !got[0].Listed() {
				t.Errorf("RoomLists().Rooms (-want +got):\n%s (listed %v)", diff, got[0].Listed())
			}
		})
	}
}

// DingTalk's room list, read through the real adapter, is held back once the month's
// call budget is spent (as sync is): the page keeps the last good list with a
// budget_spent error, and DingTalk is not called; the OA's list is not metered.
func TestRoomListsHeldBackByBudget(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		r.usage.Budget = 20
		l := &RoomLists{Sources: []RoomSource{r.oaSync.source.(*OA), r.dt}, Usage: r.usage, MinGap: 30 * time.Second, Now: r.clock.Now}
		first := l.RoomLists(ctx, false)
		if len(first) != 2 || first[1].Err != nil || len(first[1].Rooms) == 0 {
			t.Fatalf("RoomLists() = %+v, want both lists read", first)
		}
		reads := r.dtFake.Calls(dingtalkfake.APIQueryMeetingRoomList)
		if reads == 0 || r.usage.Count() == 0 {
			t.Fatalf("DingTalk room-list calls = %d, metered calls = %d; want the read counted", reads, r.usage.Count())
		}
		// Bookings use up the rest of the month's budget.
		for r.usage.Count() < r.usage.Budget {
			r.usage.Record(r.clock.Now())
		}
		for _, refresh := range []bool{true, false} {
			r.clock.Add(10 * time.Minute)
			got := l.RoomLists(ctx, refresh)
			if n := r.dtFake.Calls(dingtalkfake.APIQueryMeetingRoomList); n != reads {
				t.Errorf("DingTalk room-list calls with the budget spent (refresh %v) = %d, want still %d", refresh, n, reads)
			}
			dt := got[1]
			if ue := models.UserError(dt.Err); ue == nil || ue.Code != models.CodeBudgetSpent || !errors.Is(dt.Err, models.ErrUnavailable) {
				t.Errorf("DingTalk list error with the budget spent = %v, want %s (unavailable)", dt.Err, models.CodeBudgetSpent)
			}
			if diff := cmp.Diff(first[1].Rooms, dt.Rooms); diff != "" || !dt.Read.Equal(first[1].Read) {
				t.Errorf("DingTalk list with the budget spent, read %s (-last good +got):\n%s", dt.Read, diff)
			}
			if got[0].Err != nil {
				t.Errorf("OA list = %v, want read as usual", got[0].Err)
			}
		}
		// A new month's budget lets the read go out again.
		r.clock.Set(time.Date(2023, 5, 1, 9, 0, 0, 0, shanghai))
		r.usage.Record(r.clock.Now())
		if got := l.RoomLists(ctx, true); got[1].Err != nil || !got[1].Read.Equal(r.clock.Now()) {
			t.Errorf("DingTalk list in a new month = read %s, %v; want read now", got[1].Read, got[1].Err)
		}
		if n := r.dtFake.Calls(dingtalkfake.APIQueryMeetingRoomList); n <= reads {
			t.Errorf("DingTalk room-list calls in a new month = %d, want more than %d", n, reads)
		}
	})
}
