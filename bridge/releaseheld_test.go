package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/bridge/dingtalk"
	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/bridge/oa/seeyonfake"
	"roombridge/models"
)

// TestLiveSyncLeavesReleasingBookingAlone: a booking rescheduled into the other system
// while that system refuses every booking (a server error, retried) keeps its old
// backend booking until the new one is made, and a sync pass of the old system reads
// it there. The pass does not import it as a booking of its own: it is the user's
// booking on its way out, and a native copy would show the meeting twice in feeds,
// availability and the day grid. Once the new system is back, the new booking is made,
// the old one released, and a pass finds nothing to import either.
func TestLiveSyncLeavesReleasingBookingAlone(t *testing.T) {
	for _, tt := range []struct {
		name     string
		from, to int // days: 14 is the OA's, 20 DingTalk's
		pass     func(r *liveRig) (models.SyncSummary, error)
	}{
		{"OA pass", 14, 20, func(r *liveRig) (models.SyncSummary, error) { return r.oaSync.Pass(context.Background(), false) }},
		{"DingTalk room schedules", 20, 14, func(r *liveRig) (models.SyncSummary, error) { return r.dtSync.Pass(context.Background(), false) }},
		{"DingTalk changes", 20, 14, func(r *liveRig) (models.SyncSummary, error) { return r.dtSync.DeltaPass(context.Background()) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			eachLive(t, func(t *testing.T, r *liveRig) {
				ctx := context.Background()
				// The organizer's calendar is read by changes too (it holds the booking).
				r.dt.Calendars = []string{"admin", r.zhangsan.ID}
				b, err := r.svc.Book(ctx, r.zhangsan, req("duowei", at(tt.from, 10), time.Hour), "")
				if err != nil {
					t.Fatal(err)
				}
				r.drain(t)
				old := mustGet(t, r.rig, b.ID)
				if old.Status != models.StatusConfirmed || old.Remote() == "" {
					t.Fatalf("booking = %s held as %q, want confirmed", old.Status, old.Remote())
				}
				recover := refusalCase{backend: routingOwner(tt.to)}.failCreates(r)
				if _, err := r.svc.Reschedule(ctx, r.zhangsan, b.ID, req("duowei", at(tt.to, 10), time.Hour)); err != nil {
					t.Fatal(err)
				}
				r.drain(t)
				r.clock.Add(time.Minute)
				sum, err := tt.pass(r)
				if err != nil {
					t.Fatalf("pass = %+v, %v", sum, err)
				}
				if sum.Created != 0 {
					t.Errorf("pass while the old booking waits for its release = %+v, want nothing imported", sum)
				}
				if copy, err := r.store.ReservationByRemote(ctx, old.Backend, old.Remote()); err == nil {
					t.Errorf("the old booking %s became reservation %s (%s, %s, %s at %s)", old.Remote(), copy.ID, copy.Origin, copy.Status,
						copy.OrganizerName, copy.Start.In(shanghai).Format("01-02 15:04"))
				}
				if got := holdingDuowei(t, r); !slices.Equal(got, []string{fmt.Sprintf("bridge pending 04-%02d 10:00", tt.to)}) {
					t.Errorf("reservations holding duowei during the reschedule = %v, want only the booking, pending at its new slot", got)
				}

				recover()
				r.clock.Add(2 * time.Minute)
				r.drain(t)
				r.clock.Add(time.Minute)
				if sum, err := tt.pass(r); err != nil || sum.Created != 0 {
					t.Errorf("pass after the release = %+v, %v; want nothing imported", sum, err)
				}
				if got := holdingDuowei(t, r); !slices.Equal(got, []string{fmt.Sprintf("bridge confirmed 04-%02d 10:00", tt.to)}) {
					t.Errorf("reservations holding duowei after the reschedule = %v, want only the booking, confirmed at its new slot", got)
				}
				want := []string{fmt.Sprintf("%s 04-%02d 10:00–11:00 bridge", routingOwner(tt.to), tt.to)}
				if diff := cmp.Diff(want, liveSlots(r)); diff != "" {
					t.Errorf("the fakes hold (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// routingOwner is the system that owns day of the test month in the rigs' routing.
func routingOwner(day int) models.Backend {
	if day >= 17 {
		return models.BackendDingTalk
	}
	return models.BackendOA
}

// holdingDuowei lists the reservations holding duowei as "origin status 01-02 15:04",
// sorted.
func holdingDuowei(t *testing.T, r *liveRig) []string {
	t.Helper()
	return holding(t, r, "duowei")
}

// holding lists the reservations holding room as "origin status 01-02 15:04", sorted.
func holding(t *testing.T, r *liveRig, room string) []string {
	t.Helper()
	all, err := r.store.Reservations(context.Background(), models.Filter{RoomIDs: []string{room}, Statuses: models.HoldingStatuses})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range all {
		out = append(out, fmt.Sprintf("%s %s %s", x.Origin, x.Status, x.Start.In(shanghai).Format("01-02 15:04")))
	}
	slices.Sort(out)
	return out
}

// TestLiveSyncLeavesMovedConflictSideAlone: an admin resolves a conflict by moving one
// side to another room while its system refuses every booking (a server error,
// retried). Until the new booking is made the old one stays, no longer the
// reservation's, and a sync pass leaves it alone. Imported again as a native booking it
// would reopen the conflict the move resolved; it would not even be imported: its
// native UID is the moved side's own, and the whole pass failed on it.
func TestLiveSyncLeavesMovedConflictSideAlone(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		det := r.detector(t)
		admin, _ := r.store.User(ctx, "admin")
		oaID, err := r.oaFake.AddNative("-6718304221187342101", "lisi", at(14, 10), at(14, 11), "李四直接预订")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.dtFake.AddNative("union-wangwu", "dt-sk-tianyuan", "王五直接预订", at(14, 10), at(14, 11)); err != nil {
			t.Fatal(err)
		}
		syncBoth(t, r, r.oaSync, r.dtSync)
		det.DetectSince(ctx, time.Time{})
		c := r.onlyConflict(t, models.ConflictFilter{Status: models.ConflictOpen})
		side, err := r.store.ReservationByRemote(ctx, models.BackendOA, oaID)
		if err != nil {
			t.Fatal(err)
		}
		opts, err := r.svc.MoveOptions(ctx, side.ID)
		if err != nil || len(opts) == 0 {
			t.Fatalf("MoveOptions() = %v, %v; want rooms", opts, err)
		}
		recover := refusalCase{backend: models.BackendOA}.failCreates(r)
		if _, err := r.svc.Resolve(ctx, admin, c.ID, models.Resolution{Action: "move", Reservation: side.ID, RoomID: opts[0].ID}); err != nil {
			t.Fatal(err)
		}
		r.drain(t)
		syncBoth(t, r, r.oaSync, r.dtSync)
		det.DetectSince(ctx, time.Time{})
		if copy, err := r.store.ReservationByRemote(ctx, models.BackendOA, oaID); err == nil {
			t.Errorf("the moved side's old booking became reservation %s (%s, %s in %s)", copy.ID, copy.Origin, copy.Status, copy.RoomID)
		}
		if cs, err := r.store.Conflicts(ctx, models.ConflictFilter{Status: models.ConflictOpen}); err != nil || len(cs) != 0 {
			t.Errorf("open conflicts while the move waits = %d, %v; want none", len(cs), err)
		}

		recover()
		r.clock.Add(2 * time.Minute)
		r.drain(t)
		syncBoth(t, r, r.oaSync, r.dtSync)
		if got := mustGet(t, r.rig, side.ID); got.Status != models.StatusConfirmed || got.RoomID != opts[0].ID {
			t.Errorf("moved side = %s in %s, want confirmed in %s", got.Status, got.RoomID, opts[0].ID)
		}
		if got := holding(t, r, "sk-tianyuan"); !slices.Equal(got, []string{"native confirmed 04-14 10:00"}) {
			t.Errorf("reservations holding sk-tianyuan after the move = %v, want only the DingTalk side", got)
		}
	})
}

// TestLiveSyncAfterMovedConflictSideReleaseFailed: an admin resolves a conflict by
// moving one side, found directly in its system, to another room; the new booking is
// made, but the system refuses to release the old one and the release gives up. The old
// booking still holds its room there. Sync passes of that system do not fail on it (it
// was imported under the moved side's UID and failed the whole pass, every pass after):
// they import it as a native booking of its own, the moved side keeps its UID and its
// new booking, and the conflict with the other side is open again for an admin.
func TestLiveSyncAfterMovedConflictSideReleaseFailed(t *testing.T) {
	for _, tt := range []struct {
		name   string
		moved  models.Backend
		refuse func(r *liveRig)
		passes func(r *liveRig) []func() (models.SyncSummary, error)
	}{
		{"OA side", models.BackendOA,
			func(r *liveRig) {
				r.oaFake.SetFault(seeyonfake.Fault{Endpoint: "cancelMeetRoomApp", Kind: seeyonfake.FaultErrorMsg, Msg: "会议室申请不允许撤销"})
			},
			func(r *liveRig) []func() (models.SyncSummary, error) {
				return []func() (models.SyncSummary, error){func() (models.SyncSummary, error) { return r.oaSync.Pass(context.Background(), false) }}
			}},
		{"DingTalk side", models.BackendDingTalk,
			func(r *liveRig) {
				r.dtFake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultPermissionDenied, API: dingtalkfake.APIRemoveMeetingRooms})
			},
			func(r *liveRig) []func() (models.SyncSummary, error) {
				return []func() (models.SyncSummary, error){
					func() (models.SyncSummary, error) { return r.dtSync.DeltaPass(context.Background()) },
					func() (models.SyncSummary, error) { return r.dtSync.Pass(context.Background(), false) },
				}
			}},
		{"DingTalk side, Stream event", models.BackendDingTalk,
			func(r *liveRig) {
				r.dtFake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultPermissionDenied, API: dingtalkfake.APIRemoveMeetingRooms})
			},
			func(r *liveRig) []func() (models.SyncSummary, error) {
				return []func() (models.SyncSummary, error){func() (models.SyncSummary, error) {
					ctx := context.Background()
					side, err := r.store.Reservations(ctx, models.Filter{Origin: models.OriginBridge})
					if err != nil || len(side) != 1 {
						return models.SyncSummary{}, fmt.Errorf("the moved side: %v, %v", side, err)
					}
					jobs, err := r.store.Jobs(ctx, side[0].ID)
					if err != nil || len(jobs) != 2 {
						return models.SyncSummary{}, fmt.Errorf("its jobs: %v, %v", jobs, err)
					}
					data, _ := json.Marshal(dingtalk.CalendarEventChange{EventID: jobs[1].RemoteID, UnionIDs: []string{"union-wangwu"}, ChangeType: "update"})
					return models.SyncSummary{}, r.dt.HandleEvent(ctx, dingtalk.StreamEvent{Type: dingtalk.EventCalendarChange, ID: "ev-1", At: r.clock.Now(), Data: data})
				}}
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			eachLive(t, func(t *testing.T, r *liveRig) {
				ctx := context.Background()
				r.dt.Calendars = []string{"admin", "wangwu"}
				det := r.detector(t)
				admin, _ := r.store.User(ctx, "admin")
				if _, err := r.oaFake.AddNative("-6718304221187342101", "lisi", at(14, 10), at(14, 11), "李四直接预订"); err != nil {
					t.Fatal(err)
				}
				if _, err := r.dtFake.AddNative("union-wangwu", "dt-sk-tianyuan", "王五直接预订", at(14, 10), at(14, 11)); err != nil {
					t.Fatal(err)
				}
				syncBoth(t, r, r.oaSync, r.dtSync)
				if _, err := r.dtSync.DeltaPass(ctx); err != nil { // the calendars' cursors
					t.Fatal(err)
				}
				det.DetectSince(ctx, time.Time{})
				c := r.onlyConflict(t, models.ConflictFilter{Status: models.ConflictOpen, Kind: models.KindOverlap})
				var side models.Reservation
				for _, s := range c.Sides {
					if x := mustGet(t, r.rig, s.ReservationID); x.Backend == tt.moved {
						side = x
					}
				}
				opts, err := r.svc.MoveOptions(ctx, side.ID)
				if err != nil || len(opts) == 0 {
					t.Fatalf("MoveOptions() = %v, %v; want rooms", opts, err)
				}
				tt.refuse(r)
				if _, err := r.svc.Resolve(ctx, admin, c.ID, models.Resolution{Action: "move", Reservation: side.ID, RoomID: opts[0].ID}); err != nil {
					t.Fatal(err)
				}
				r.drain(t)
				jobs, _ := r.store.Jobs(ctx, side.ID)
				if len(jobs) != 2 || jobs[1].Kind != models.JobCancel || jobs[1].State != models.JobFailed {
					t.Fatalf("jobs of the moved side = %+v, want its release failed", jobs)
				}
				moved := mustGet(t, r.rig, side.ID)
				if moved.Status != models.StatusConfirmed || moved.RoomID != opts[0].ID {
					t.Fatalf("moved side = %s in %s, want confirmed in %s", moved.Status, moved.RoomID, opts[0].ID)
				}
				for i, pass := range tt.passes(r) {
					r.clock.Add(time.Minute)
					if sum, err := pass(); err != nil || sum.Errors != 0 {
						t.Errorf("pass %d after the release failed = %+v, %v; want it to apply", i, sum, err)
					}
				}
				copy, err := r.store.ReservationByRemote(ctx, side.Backend, side.Remote())
				if err != nil {
					t.Fatalf("the old booking of the moved side is not in the table: %v", err)
				}
				if copy.ID == side.ID || copy.UID == side.UID || copy.Origin != models.OriginNative || copy.RoomID != side.RoomID || !copy.Status.Holds() {
					t.Errorf("the old booking = %s uid %s (%s %s in %s); want a native booking of its own in %s", copy.ID, copy.UID, copy.Origin, copy.Status, copy.RoomID, side.RoomID)
				}
				if got := mustGet(t, r.rig, side.ID); got.UID != side.UID || got.Status != models.StatusConfirmed || got.RoomID != opts[0].ID {
					t.Errorf("moved side = uid %s %s in %s, want its UID, confirmed in %s", got.UID, got.Status, got.RoomID, opts[0].ID)
				}
				if got := holding(t, r, "sk-tianyuan"); !slices.Equal(got, []string{"native confirmed 04-14 10:00", "native confirmed 04-14 10:00"}) {
					t.Errorf("reservations holding sk-tianyuan = %v, want the old booking and the other side", got)
				}
				det.DetectSince(ctx, time.Time{})
				open, err := r.store.Conflicts(ctx, models.ConflictFilter{Status: models.ConflictOpen, Kind: models.KindOverlap, Reservation: copy.ID})
				if err != nil || len(open) != 1 {
					t.Errorf("open overlap conflicts of the old booking = %d, %v; want one, for an admin", len(open), err)
				}
			})
		})
	}
}

// TestLiveSyncLeavesReleasedOccurrencesAlone: a series changed from one of its DingTalk
// occurrences on cuts its recurring event before that occurrence (a series_cancel job)
// and releases the occurrences left in an older recurring event of the series (a
// series_prune job); the occurrences that move let go of their ids at once. While
// DingTalk is down those jobs wait, and the room schedules still list the old
// occurrences: a pass leaves them alone (it imported each as a phantom native booking
// at the old time). Once DingTalk is back, the occurrences are released and nothing
// is imported either.
func TestLiveSyncLeavesReleasedOccurrencesAlone(t *testing.T) {
	for _, tt := range []struct {
		name   string
		older  bool // split the recurring event first, so that a prune job runs too
		from   int
		scope  models.Scope
		newDTs int // DingTalk occurrences of the series afterwards
	}{
		{"cut: following from 05-01", false, 4, models.ScopeFollowing, 6},
		{"cut: all", false, 0, models.ScopeAll, 6},
		{"cut and prune: all, with an older event", true, 0, models.ScopeAll, 6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			eachLive(t, func(t *testing.T, r *liveRig) {
				ctx := context.Background()
				oaSync, dtSync := seriesRig(t, r)
				got := bookMondays(t, r) // 04-03, 04-10 in the OA; 04-17 to 05-22 one DingTalk event
				rows := occurrencesAt(t, r, got.Series.ID)
				if tt.older {
					may1 := rows[4]
					if _, err := r.svc.EditSeries(ctx, r.zhangsan, may1.ID, models.ScopeFollowing,
						models.BookingRequest{RoomID: "duowei", Title: "项目周会", Start: may1.Start.Add(4 * time.Hour), End: may1.End.Add(4 * time.Hour)}, ""); err != nil {
						t.Fatal(err)
					}
					r.drain(t)
					syncBoth(t, r, oaSync, dtSync)
					rows = occurrencesAt(t, r, got.Series.ID)
				}
				for _, api := range []string{dingtalkfake.APIPatchEvent, dingtalkfake.APIDeleteEvent, dingtalkfake.APICreateEvent} {
					r.dtFake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultServerError, API: api})
				}
				occ := rows[tt.from]
				st := occ.Start.Add(2 * time.Hour)
				if _, err := r.svc.EditSeries(ctx, r.zhangsan, occ.ID, tt.scope, models.BookingRequest{RoomID: "duowei", Title: "项目周会", Start: st, End: st.Add(time.Hour)}, ""); err != nil {
					t.Fatal(err)
				}
				r.drain(t)
				r.clock.Add(time.Minute)
				sum, err := dtSync.Pass(ctx, false)
				if err != nil || sum.Created != 0 {
					t.Errorf("DingTalk pass while the old occurrences wait for their release = %+v, %v; want nothing imported", sum, err)
				}
				if n := natives(t, r); len(n) != 0 {
					t.Errorf("native reservations while the release waits: %v; want none", n)
				}

				r.dtFake.ClearFaults()
				r.clock.Add(2 * time.Minute)
				r.drain(t)
				syncBoth(t, r, oaSync, dtSync)
				if n := natives(t, r); len(n) != 0 {
					t.Errorf("native reservations after the release: %v; want none", n)
				}
				if _, dt := held(t, r); dt != tt.newDTs {
					t.Errorf("after the change the room holds %d DingTalk occurrences, want %d", dt, tt.newDTs)
				}
			})
		})
	}
}

// natives lists the native reservations holding duowei as "backend 01-02 15:04".
func natives(t *testing.T, r *liveRig) []string {
	t.Helper()
	all, err := r.store.Reservations(context.Background(), models.Filter{RoomIDs: []string{"duowei"}, Statuses: models.HoldingStatuses, Origin: models.OriginNative})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range all {
		out = append(out, fmt.Sprintf("%s %s", x.Backend, x.Start.In(shanghai).Format("01-02 15:04")))
	}
	return out
}

// TestLiveDeltaSyncReadsAgainWhatItLeftAlone: a read of DingTalk's changes finds the old
// booking of a reservation rescheduled into the OA while the OA is down, and leaves it
// alone (its release waits for the new booking). DingTalk then refuses the release for
// good: the booking stays there, holding its room, but it does not change, so no later
// read of changes reports it again, and its cursor had moved past it. The next read of
// changes imports it all the same, at no extra metered call: the listings a read (or a
// pass over the room schedules) left alone are offered again until their outcome is
// known. When the release runs instead, the read that reports the booking deleted
// settles it, and nothing is imported.
func TestLiveDeltaSyncReadsAgainWhatItLeftAlone(t *testing.T) {
	for _, tt := range []struct {
		first    string // the pass that finds the old booking first
		released bool
	}{{"changes", false}, {"changes", true}, {"room schedules", false}} {
		released := tt.released
		t.Run(fmt.Sprintf("%s, released=%v", tt.first, released), func(t *testing.T) {
			eachLive(t, func(t *testing.T, r *liveRig) {
				ctx := context.Background()
				r.dt.Calendars = []string{"admin", r.zhangsan.ID}
				b, err := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 10), time.Hour), "")
				if err != nil {
					t.Fatal(err)
				}
				r.drain(t)
				old := mustGet(t, r.rig, b.ID)
				recover := refusalCase{backend: models.BackendOA}.failCreates(r)
				if _, err := r.svc.Reschedule(ctx, r.zhangsan, b.ID, req("duowei", at(14, 10), time.Hour)); err != nil {
					t.Fatal(err)
				}
				r.drain(t)
				r.clock.Add(time.Minute)
				if tt.first == "room schedules" {
					if _, err := r.dtSync.DeltaPass(ctx); err != nil { // the cursors, before the pass
						t.Fatal(err)
					}
					if sum, err := r.dtSync.Pass(ctx, false); err != nil || sum.Created != 0 {
						t.Fatalf("pass while the release waits = %+v, %v; want the old booking left alone", sum, err)
					}
				} else if sum, err := r.dtSync.DeltaPass(ctx); err != nil || sum.Created != 0 {
					t.Fatalf("read of changes while the release waits = %+v, %v; want the old booking left alone", sum, err)
				}
				recover()
				if !released {
					r.dtFake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultPermissionDenied, API: dingtalkfake.APIRemoveMeetingRooms})
				}
				r.clock.Add(2 * time.Minute)
				r.drain(t)
				r.clock.Add(time.Minute)
				sum, err := r.dtSync.DeltaPass(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if sum.MeteredCalls != 2 {
					t.Errorf("read of changes = %d metered calls, want 2 (one a calendar)", sum.MeteredCalls)
				}
				want := []string{"bridge confirmed 04-14 10:00"}
				if !released {
					want = append(want, "native confirmed 04-20 10:00")
					if sum.Created != 1 {
						t.Errorf("read of changes after the release failed = %+v; want the old booking imported", sum)
					}
					if x, err := r.store.ReservationByRemote(ctx, models.BackendDingTalk, old.Remote()); err != nil || x.Origin != models.OriginNative {
						t.Errorf("the old booking = %+v, %v; want it native", x, err)
					}
				}
				if got := holdingDuowei(t, r); !slices.Equal(got, want) {
					t.Errorf("reservations holding duowei = %v, want %v", got, want)
				}
				r.clock.Add(time.Minute)
				if sum, err := r.dtSync.DeltaPass(ctx); err != nil || sum.Created != 0 {
					t.Errorf("next read of changes = %+v, %v; want nothing more", sum, err)
				}
				if v, _ := r.store.State(ctx, models.BackendDingTalk, stateHeld); v != "" {
					t.Errorf("held listings after the outcome = %s, want none", v)
				}
			})
		})
	}
}
