package bridge

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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
