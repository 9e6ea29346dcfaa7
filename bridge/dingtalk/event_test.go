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

// statuses maps event id to status.
func statuses(evs []dingtalk.Event) map[string]string {
	m := make(map[string]string, len(evs))
	for _, ev := range evs {
		m[ev.ID] = ev.Status
	}
	return m
}

func TestListEventsSyncToken(t *testing.T) {
	e := newEnv(t, testRooms(3))
	ctx := context.Background()

	booked, err := e.client.BookRoom(ctx, e.booking("bk-list", "room-01", 10, 11))
	if err != nil {
		t.Fatalf("BookRoom() = %v", err)
	}
	native, err := e.fake.AddNative("union-alice", "room-02", "Standup", e.at(12, 0), e.at(12, 30))
	if err != nil {
		t.Fatalf("AddNative() = %v", err)
	}
	if _, err := e.fake.AddNative("union-bob", "room-03", "Bob only", e.at(9, 0), e.at(10, 0)); err != nil {
		t.Fatalf("AddNative() = %v", err)
	}

	full, token, err := e.client.ListEvents(ctx, "union-alice", dingtalk.ListQuery{TimeMin: e.at(0, 0)})
	if err != nil {
		t.Fatalf("ListEvents(full) = %v", err)
	}
	if want := map[string]string{booked: "confirmed", native: "confirmed"}; !cmp.Equal(statuses(full), want) || token == "" {
		t.Fatalf("ListEvents(full) = %v, token %q, want %v and a sync token", statuses(full), token, want)
	}
	if full[0].ID != booked || !cmp.Equal(full[0].Rooms, []dingtalk.EventRoom{{RoomID: "room-01", Name: "会议室 01", ResponseStatus: "accepted"}}) {
		t.Errorf("ListEvents(full)[0] = %+v, want the booked event with room-01", full[0])
	}

	if err := e.fake.CancelNative(native); err != nil {
		t.Fatalf("CancelNative() = %v", err)
	}
	added, err := e.fake.AddNative("union-alice", "room-02", "Retro", e.at(15, 0), e.at(16, 0))
	if err != nil {
		t.Fatalf("AddNative() = %v", err)
	}

	delta, token2, err := e.client.ListEvents(ctx, "union-alice", dingtalk.ListQuery{SyncToken: token})
	if err != nil {
		t.Fatalf("ListEvents(syncToken) = %v", err)
	}
	if want := map[string]string{native: "cancelled", added: "confirmed"}; !cmp.Equal(statuses(delta), want) {
		t.Errorf("ListEvents(syncToken) = %v, want only the changes %v", statuses(delta), want)
	}
	if token2 == "" || token2 == token {
		t.Errorf("ListEvents(syncToken) token = %q, want a new one", token2)
	}

	none, _, err := e.client.ListEvents(ctx, "union-alice", dingtalk.ListQuery{SyncToken: token2})
	if err != nil || len(none) != 0 {
		t.Errorf("ListEvents(latest syncToken) = %v, %v, want no events", statuses(none), err)
	}

	if _, _, err := e.client.ListEvents(ctx, "union-alice", dingtalk.ListQuery{SyncToken: "bogus"}); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("ListEvents(bogus syncToken) = %v, want ErrInvalid", err)
	}
	e.fake.ExpireSyncTokens()
	if _, _, err := e.client.ListEvents(ctx, "union-alice", dingtalk.ListQuery{SyncToken: token2}); !errors.Is(err, dingtalk.ErrSyncTokenExpired) {
		t.Errorf("ListEvents(expired syncToken) = %v, want ErrSyncTokenExpired", err)
	}
	if _, _, err := e.client.ListEvents(ctx, "union-alice", dingtalk.ListQuery{TimeMin: e.at(0, 0), TimeMax: e.at(0, 0).AddDate(2, 0, 0)}); !errors.Is(err, models.ErrInvalid) || errors.Is(err, dingtalk.ErrSyncTokenExpired) {
		t.Errorf("ListEvents(two-year window) = %v, want ErrInvalid and no ErrSyncTokenExpired (no syncToken was sent)", err)
	}
}

func TestListEventsPages(t *testing.T) {
	e := newEnv(t, testRooms(1))
	start := e.at(0, 0)
	for i := range 120 {
		s := start.Add(time.Duration(i) * time.Hour)
		if _, err := e.fake.AddNative("union-alice", "room-01", "slot", s, s.Add(30*time.Minute)); err != nil {
			t.Fatalf("AddNative(#%d) = %v", i, err)
		}
	}
	evs, token, err := e.client.ListEvents(context.Background(), "union-alice", dingtalk.ListQuery{})
	if err != nil {
		t.Fatalf("ListEvents() = %v", err)
	}
	if len(evs) != 120 || token == "" {
		t.Errorf("ListEvents() = %d events, token %q, want 120 and a sync token", len(evs), token)
	}
	if calls := e.fake.Calls(dingtalkfake.APIListEvents); calls != 2 {
		t.Errorf("list calls = %d, want 2 pages", calls)
	}
}

func TestGetEventNotFound(t *testing.T) {
	e := newEnv(t, testRooms(1))
	if _, err := e.client.GetEvent(context.Background(), "union-alice", "no-such-event"); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("GetEvent(no-such-event) = %v, want ErrNotFound", err)
	}
}

// TestMeteredCallAccounting runs calls that DingTalk meters and calls it does not, and
// checks that OnCall and the fake agree on the count (newEnv checks the agreement at
// cleanup; this test also pins the number).
func TestMeteredCallAccounting(t *testing.T) {
	e := newEnv(t, testRooms(2))
	ctx := context.Background()

	// Directory and token calls are not metered.
	if _, err := e.client.UnionID(ctx, "u-alice"); err != nil {
		t.Fatalf("UnionID() = %v", err)
	}
	// Throttled: not metered; the retry is (1).
	e.fake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultThrottle, API: dingtalkfake.APIQueryMeetingRoomList, Times: 1})
	if _, err := e.client.Rooms(ctx, "union-svc"); err != nil {
		t.Fatalf("Rooms() = %v", err)
	}
	// A 5xx answer reached DingTalk and is metered, as are the retry and the room add (3).
	e.fake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultServerError, API: dingtalkfake.APICreateEvent, Times: 1})
	if _, err := e.client.BookRoom(ctx, e.booking("bk-a", "room-01", 9, 10)); err != nil {
		t.Fatalf("BookRoom() = %v", err)
	}
	// Conflict: create, refused add, the check of the event, the undo delete (4).
	if _, err := e.client.BookRoom(ctx, e.booking("bk-b", "room-01", 9, 10)); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("BookRoom(conflicting) = %v, want ErrConflict", err)
	}
	// Quota refusals are not metered.
	e.fake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultQuotaExhausted, API: dingtalkfake.APIGetEvent, Times: 1})
	if _, err := e.client.GetEvent(ctx, "union-alice", "whatever"); !dingtalk.IsQuotaExhausted(err) {
		t.Fatalf("GetEvent(quota exhausted) = %v, want a quota error", err)
	}
	// A rejected token is not metered; the call after the refresh is (1).
	e.fake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultTokenExpired, API: dingtalkfake.APIListEvents, Times: 1})
	if _, _, err := e.client.ListEvents(ctx, "union-alice", dingtalk.ListQuery{}); err != nil {
		t.Fatalf("ListEvents() = %v", err)
	}

	if got, want := e.fake.MeteredCalls(), 9; got != want {
		t.Errorf("fake MeteredCalls() = %d, want %d", got, want)
	}
	if got, want := e.meteredCalls(), 9; got != want {
		t.Errorf("metered calls reported through OnCall = %d, want %d", got, want)
	}
}
