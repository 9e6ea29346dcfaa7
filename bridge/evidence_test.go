package bridge

import (
	"context"
	"testing"
	"time"

	"roombridge/bridge/oa/seeyonfake"
	"roombridge/models"
)

const duoweiOA = "-2295828016161864200"

// An OA booking made today for next week is confirmed exactly once, also when the
// answer to execApp is lost: the booking is found on the meeting's day, not by the
// day it was applied for.
func TestLiveOANextWeekBookedOnce(t *testing.T) {
	for _, lost := range []bool{false, true} {
		t.Run(map[bool]string{false: "answer arrives", true: "answer lost"}[lost], func(t *testing.T) {
			eachLive(t, func(t *testing.T, r *liveRig) {
				ctx := context.Background()
				if lost {
					r.oaFake.SetFault(seeyonfake.Fault{Endpoint: "execApp", Kind: seeyonfake.FaultEmptyAfterWrite, Times: 1})
				}
				b, err := r.svc.Book(ctx, r.zhangsan, req("duowei", at(16, 14), time.Hour), "")
				if err != nil || b.Backend != models.BackendOA {
					t.Fatalf("Book() = %+v, %v, want an OA booking", b, err)
				}
				for range 3 {
					r.drain(t)
					r.clock.Add(2 * time.Minute)
				}
				got := mustGet(t, r.rig, b.ID)
				if got.Status != models.StatusConfirmed || got.Remote() == "" {
					t.Fatalf("booking = %s %q remote %q, want confirmed", got.Status, got.Reason().Code, got.Remote())
				}
				if n := liveOA(r.oaFake); n != 1 {
					t.Errorf("the OA holds %d bookings, want exactly 1 (no orphan)", n)
				}
				if n := r.oaFake.Calls("execApp"); n != 1 {
					t.Errorf("execApp calls = %d, want 1", n)
				}
				// The room's day is read once either way: the first attempt books without
				// looking for an earlier one and reads the day to learn the new booking's
				// id; when that answer is lost, the retry's look finds the booking.
				if n := r.oaFake.Calls("getMeetingUserInfo") + r.oaFake.Calls("getMeetingRoomApps"); n != 1 {
					t.Errorf("reads of the room's day = %d, want 1", n)
				}
				// Sync sees the bridge's own booking and imports no copy.
				if _, err := r.oaSync.Pass(ctx, false); err != nil {
					t.Fatal(err)
				}
				all, _ := r.store.Reservations(ctx, models.Filter{})
				if len(all) != 1 {
					t.Errorf("after sync %d reservations, want 1", len(all))
				}
			})
		})
	}
}

// getOrderDate stops counting after about 300 booking-days of a room's history; sync
// still sees a booking on a day it leaves out.
func TestLiveOASyncBusyRoom(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		for i := range 310 {
			start := at(1, 9).AddDate(0, 0, -i-30)
			if _, err := r.oaFake.AddNative(duoweiOA, "lisi", start, start.Add(time.Hour), "旧会"); err != nil {
				t.Fatal(err)
			}
		}
		r.clock.Add(time.Minute) // applied for after the old ones
		id, err := r.oaFake.AddNative(duoweiOA, "lisi", at(14, 9), at(14, 10), "新会")
		if err != nil {
			t.Fatal(err)
		}
		r.clock.Add(time.Minute)
		if _, err := r.oaSync.Pass(ctx, false); err != nil {
			t.Fatal(err)
		}
		got, err := r.store.ReservationByRemote(ctx, models.BackendOA, id)
		if err != nil || got.Title != "新会" || !got.Status.Holds() {
			t.Fatalf("booking on a day getOrderDate leaves out = %+v, %v, want imported", got, err)
		}
	})
}

// Approval status 2 is 审核未通过: the booking no longer holds the room.
func TestLiveOARejectedByApprover(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		b, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(12, 14), time.Hour), "")
		r.drain(t)
		got := mustGet(t, r.rig, b.ID)
		if got.Status != models.StatusConfirmed {
			t.Fatalf("booking = %s %q, want confirmed", got.Status, got.Reason().Code)
		}
		if err := r.oaFake.Reject(got.Remote()); err != nil {
			t.Fatal(err)
		}
		r.clock.Add(time.Minute)
		if _, err := r.oaSync.Pass(ctx, false); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, r.rig, b.ID); got.Status.Holds() {
			t.Errorf("booking rejected in the OA = %s, want it no longer holding the room", got.Status)
		}
	})
}

// Bookings made directly in either system belong to their organizers after one sync;
// an organizer the catalog does not know is kept by name and reference and counted.
func TestLiveNativeOrganizersMapped(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		oaMine, err := r.oaFake.AddNative(duoweiOA, "lisi", at(12, 9), at(12, 10), "李四的会")
		if err != nil {
			t.Fatal(err)
		}
		oaStranger, err := r.oaFake.AddNative(duoweiOA, "sunqi", at(12, 11), at(12, 12), "外人的会")
		if err != nil {
			t.Fatal(err)
		}
		dtMine, err := r.dtFake.AddNative("union-wangwu", "dt-duowei", "王五的会", at(20, 9), at(20, 10))
		if err != nil {
			t.Fatal(err)
		}
		dtStranger, err := r.dtFake.AddNative("union-sunqi", "dt-duowei", "外人的钉钉会", at(20, 11), at(20, 12))
		if err != nil {
			t.Fatal(err)
		}
		r.clock.Add(time.Minute)
		if _, err := r.oaSync.Pass(ctx, false); err != nil {
			t.Fatal(err)
		}
		if _, err := r.dtSync.Pass(ctx, false); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			backend    models.Backend
			remote     string
			wantID     string
			wantName   string
			wantRefPfx string
		}{
			{models.BackendOA, oaMine, "lisi", "李四", "oa-member:"},
			{models.BackendOA, oaStranger, "", "孙七", "oa-member:"},
			{models.BackendDingTalk, dtMine, "wangwu", "王五", "dingtalk-union:union-wangwu"},
			{models.BackendDingTalk, dtStranger, "", "孙七", "dingtalk-union:union-sunqi"},
		} {
			got, err := r.store.ReservationByRemote(ctx, tt.backend, tt.remote)
			if err != nil {
				t.Fatalf("%s %s: %v", tt.backend, tt.remote, err)
			}
			if got.OrganizerID != tt.wantID || got.OrganizerName != tt.wantName || len(got.OrganizerRef) < len(tt.wantRefPfx) || got.OrganizerRef[:len(tt.wantRefPfx)] != tt.wantRefPfx {
				t.Errorf("%s %s organizer = %q %q %q, want %q %q %s…", tt.backend, tt.remote, got.OrganizerID, got.OrganizerName, got.OrganizerRef, tt.wantID, tt.wantName, tt.wantRefPfx)
			}
		}
		mine, err := r.store.Reservations(ctx, models.Filter{Participant: "lisi"})
		if err != nil || len(mine) != 1 || mine[0].Remote() != oaMine {
			t.Errorf("lisi's reservations = %+v, %v, want the OA booking", mine, err)
		}
		if n, err := r.store.UnmappedOrganizers(ctx, r.clock.Now()); err != nil || n != 2 {
			t.Errorf("UnmappedOrganizers() = %d, %v, want 2", n, err)
		}
		// A second pass asks the OA for no applicant again.
		before := r.oaFake.Calls("getMeetingRoomAppDetail")
		r.clock.Add(time.Minute)
		if _, err := r.oaSync.Pass(ctx, false); err != nil {
			t.Fatal(err)
		}
		if n := r.oaFake.Calls("getMeetingRoomAppDetail") - before; n != 0 {
			t.Errorf("second pass read %d booking details, want 0", n)
		}
	})
}
