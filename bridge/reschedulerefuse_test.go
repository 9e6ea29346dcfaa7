package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/bridge/oa/seeyonfake"
	"roombridge/models"
)

// liveSlots are the bookings both fakes hold (not cancelled), as "backend day start–end
// who", sorted: who is "native" for a booking made in the system directly, else "bridge".
func liveSlots(r *liveRig) []string {
	var out []string
	slot := func(b models.Backend, start, end time.Time, native bool) string {
		who := "bridge"
		if native {
			who = "native"
		}
		s, e := start.In(shanghai), end.In(shanghai)
		return fmt.Sprintf("%s %s %s–%s %s", b, s.Format("01-02"), s.Format("15:04"), e.Format("15:04"), who)
	}
	for _, b := range r.oaFake.Bookings() {
		if !b.Cancelled {
			out = append(out, slot(models.BackendOA, b.Start, b.End, b.Native))
		}
	}
	for _, e := range r.dtFake.Events() {
		if e.Status != "cancelled" {
			out = append(out, slot(models.BackendDingTalk, e.Start, e.End, e.Native))
		}
	}
	slices.Sort(out)
	return out
}

// refusalCase is a backend that refuses a new slot of a single booking, the day it owns
// (at 10:00 the booking holds it).
type refusalCase struct {
	backend models.Backend
	day     int
}

var refusalCases = []refusalCase{{models.BackendOA, 14}, {models.BackendDingTalk, 20}}

// takeNative books start–end of duowei in tc's system directly, as someone else.
func (tc refusalCase) takeNative(t *testing.T, r *liveRig, start, end time.Time) {
	t.Helper()
	var err error
	if tc.backend == models.BackendOA {
		_, err = r.oaFake.AddNative("-2295828016161864200", "lisi", start, end, "李四直接预订")
	} else {
		_, err = r.dtFake.AddNative("union-lisi", "dt-duowei", "李四直接预订", start, end)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// failCreates makes tc's system fail every booking with a server error (nothing
// written) until the returned func is called.
func (tc refusalCase) failCreates(r *liveRig) (recover func()) {
	if tc.backend == models.BackendOA {
		r.oaFake.SetFault(seeyonfake.Fault{Endpoint: "execApp", Kind: seeyonfake.FaultHTTP500})
		return r.oaFake.ClearFaults
	}
	r.dtFake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultServerError, API: dingtalkfake.APICreateEvent})
	return r.dtFake.ClearFaults
}

// slot is a booking of duowei on tc's day as liveSlots lists it.
func (tc refusalCase) slot(from, to, who string) string {
	return fmt.Sprintf("%s 04-%02d %s–%s %s", tc.backend, tc.day, from, to, who)
}

// TestLiveRescheduleRefusedAfterCancel: the user reschedules a booking, the backend is
// down at first, the user cancels the booking, then the backend refuses the new slot.
// The cancel stands: the booking is not put back, the old slot is released (or stays
// released), and nothing is left held in either system.
func TestLiveRescheduleRefusedAfterCancel(t *testing.T) {
	for _, tc := range refusalCases {
		for _, order := range []struct {
			name     string
			from, to int // the new slot's hours (the old one is 10–11)
			taken    int // the hour someone takes meanwhile in the new slot
		}{
			{"new slot first", 14, 15, 14},
			{"old slot released first", 10, 12, 11},
		} {
			t.Run(string(tc.backend)+"/"+order.name, func(t *testing.T) {
				eachLive(t, func(t *testing.T, r *liveRig) {
					ctx := context.Background()
					b, err := r.svc.Book(ctx, r.zhangsan, req("duowei", at(tc.day, 10), time.Hour), "")
					if err != nil {
						t.Fatal(err)
					}
					r.drain(t)
					if got := mustGet(t, r.rig, b.ID); got.Status != models.StatusConfirmed || got.Backend != tc.backend {
						t.Fatalf("booking = %s in %s, want confirmed in %s", got.Status, got.Backend, tc.backend)
					}
					recover := tc.failCreates(r)
					if _, err := r.svc.Reschedule(ctx, r.zhangsan, b.ID, req("duowei", at(tc.day, order.from), time.Duration(order.to-order.from)*time.Hour)); err != nil {
						t.Fatalf("Reschedule() = %v", err)
					}
					r.drain(t) // the new slot's booking fails and waits for its retry
					recover()
					if got := mustGet(t, r.rig, b.ID); got.Status != models.StatusPending {
						t.Fatalf("after the failed attempt the booking is %s, want pending", got.Status)
					}
					if c, err := r.svc.Cancel(ctx, r.zhangsan, b.ID); err != nil || c.Status != models.StatusCancelled {
						t.Fatalf("Cancel() = %s, %v; want cancelled", c.Status, err)
					}
					tc.takeNative(t, r, at(tc.day, order.taken), at(tc.day, order.taken+1))
					r.clock.Add(2 * time.Minute) // the retry is due
					r.drain(t)

					got := mustGet(t, r.rig, b.ID)
					if got.Status != models.StatusCancelled || got.Remote() != "" {
						t.Errorf("booking after its cancel and the refused reschedule = %s %s–%s held as %q, want cancelled holding nothing",
							got.Status, got.Start.In(shanghai).Format("15:04"), got.End.In(shanghai).Format("15:04"), got.Remote())
					}
					want := []string{tc.slot(fmt.Sprintf("%02d:00", order.taken), fmt.Sprintf("%02d:00", order.taken+1), "native")}
					if diff := cmp.Diff(want, liveSlots(r)); diff != "" {
						t.Errorf("the fakes hold (-want +got):\n%s", diff)
					}
					jobs, err := r.store.Jobs(ctx, b.ID)
					if err != nil {
						t.Fatal(err)
					}
					for _, j := range jobs {
						if j.State != models.JobDone {
							t.Errorf("job %s (%s) is %s: %s", j.ID, j.Kind, j.State, j.LastError)
						}
					}
					// The next sync finds nothing to bring back.
					oaSync, dtSync := r.oaSync, r.dtSync
					syncBoth(t, r, oaSync, dtSync)
					if got := mustGet(t, r.rig, b.ID); got.Status != models.StatusCancelled {
						t.Errorf("after sync the booking is %s, want cancelled", got.Status)
					}
				})
			})
		}
	}
}

// TestLiveRescheduleRestoreRefused: a reschedule that had to release the old slot first
// (a meeting made longer) is refused; while the old slot is free someone takes it, so it
// cannot be booked again. The booking ends rejected with a reason saying both, nothing
// is held for it, and the organizer, who no longer waits on the form, is told.
func TestLiveRescheduleRestoreRefused(t *testing.T) {
	for _, tc := range refusalCases {
		t.Run(string(tc.backend), func(t *testing.T) {
			eachRig(t, func(t *testing.T, base *rig) {
				r := newLiveRigWith(t, base.store, base.clock, true)
				ctx := context.Background()
				b, err := r.svc.Book(ctx, r.zhangsan, req("duowei", at(tc.day, 10), time.Hour), "")
				if err != nil {
					t.Fatal(err)
				}
				r.drain(t)
				tc.takeNative(t, r, at(tc.day, 11), at(tc.day, 12))
				if _, err := r.svc.Reschedule(ctx, r.zhangsan, b.ID, req("duowei", at(tc.day, 10), 2*time.Hour)); err != nil {
					t.Fatalf("Reschedule() = %v", err)
				}
				// One job of the booking per pass: the release, then the refused booking.
				for range 2 {
					if _, err := r.disp.RunOnce(ctx); err != nil {
						t.Fatal(err)
					}
				}
				if got := mustGet(t, r.rig, b.ID); got.Status != models.StatusPending || !got.End.Equal(at(tc.day, 11)) {
					t.Fatalf("after the refusal the booking = %s until %s, want pending at its old time", got.Status, got.End.In(shanghai).Format("15:04"))
				}
				// The old slot, free for a moment, is taken; the organizer stopped waiting.
				tc.takeNative(t, r, at(tc.day, 10), at(tc.day, 11))
				r.clock.Add(notifyWait + time.Minute)
				r.drain(t)

				got := mustGet(t, r.rig, b.ID)
				if got.Status != models.StatusRejected || got.Remote() != "" || got.ReasonCode != models.ReasonRestoreRefused || got.ReasonArgs[models.ArgCause] != models.CodeRoomTaken {
					t.Errorf("booking whose old slot was taken = %s held as %q, reason %v; want rejected, holding nothing, reason %s caused by %s",
						got.Status, got.Remote(), got.Reason(), models.ReasonRestoreRefused, models.CodeRoomTaken)
				}
				want := []string{tc.slot("10:00", "11:00", "native"), tc.slot("11:00", "12:00", "native")}
				if diff := cmp.Diff(want, liveSlots(r)); diff != "" {
					t.Errorf("the fakes hold (-want +got):\n%s", diff)
				}
				oneNotice(t, noticesTo(t, r.dtFake, "zhangsan"), "会议室预订未成功", got, "多维缩放会议室")
			})
		})
	}
}

// TestLiveRescheduleWhileSending: a booking whose reschedule is still being sent cannot be
// changed again (the second change would be made from a slot the backend may never
// hold); once the first is refused and the booking is back, the next reschedule starts
// from the old slot, which it releases, and nothing else is held.
func TestLiveRescheduleWhileSending(t *testing.T) {
	for _, tc := range refusalCases {
		t.Run(string(tc.backend), func(t *testing.T) {
			eachLive(t, func(t *testing.T, r *liveRig) {
				ctx := context.Background()
				b, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(tc.day, 10), time.Hour), "")
				r.drain(t)
				recover := tc.failCreates(r)
				if _, err := r.svc.Reschedule(ctx, r.zhangsan, b.ID, req("duowei", at(tc.day, 14), time.Hour)); err != nil {
					t.Fatal(err)
				}
				r.drain(t)
				recover()
				_, err := r.svc.Reschedule(ctx, r.zhangsan, b.ID, req("duowei", at(tc.day, 16), time.Hour))
				var ue *models.Error
				if !errors.As(err, &ue) || ue.Code != "still_pending" {
					t.Fatalf("Reschedule(while the first is sent) = %v, want still_pending", err)
				}
				tc.takeNative(t, r, at(tc.day, 14), at(tc.day, 15))
				r.clock.Add(2 * time.Minute)
				r.drain(t)
				if got := mustGet(t, r.rig, b.ID); got.Status != models.StatusConfirmed || !got.Start.Equal(at(tc.day, 10)) {
					t.Fatalf("after the refusal the booking = %s at %s, want confirmed at 10:00", got.Status, got.Start.In(shanghai).Format("15:04"))
				}
				if _, err := r.svc.Reschedule(ctx, r.zhangsan, b.ID, req("duowei", at(tc.day, 16), time.Hour)); err != nil {
					t.Fatalf("Reschedule(after the refusal) = %v", err)
				}
				r.drain(t)
				if got := mustGet(t, r.rig, b.ID); got.Status != models.StatusConfirmed || !got.Start.Equal(at(tc.day, 16)) || got.ReasonCode != "" {
					t.Errorf("after the second reschedule the booking = %s at %s %v, want confirmed at 16:00", got.Status, got.Start.In(shanghai).Format("15:04"), got.Reason())
				}
				want := []string{tc.slot("14:00", "15:00", "native"), tc.slot("16:00", "17:00", "bridge")}
				if diff := cmp.Diff(want, liveSlots(r)); diff != "" {
					t.Errorf("the fakes hold (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// TestRefusedRescheduleCancelledMeanwhile: the user's cancel commits while a refused
// reschedule is being recorded (after the refusal was decided on the booking as it was
// read). The cancel stands, and the old slot, which the decision meant to keep, is
// released all the same.
func TestRefusedRescheduleCancelledMeanwhile(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		b, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 10), time.Hour), "")
		r.drain(t)
		if _, err := r.svc.Reschedule(ctx, r.zhangsan, b.ID, req("duowei", at(20, 14), time.Hour)); err != nil {
			t.Fatal(err)
		}
		jobs, err := r.store.ClaimJobs(ctx, "w1", time.Minute, 10)
		if err != nil || len(jobs) != 1 || jobs[0].Kind != models.JobCreate {
			t.Fatalf("ClaimJobs() = %+v, %v; want the new slot's booking", jobs, err)
		}
		var p jobPayload
		if err := json.Unmarshal([]byte(jobs[0].Payload), &p); err != nil || p.Prev == nil {
			t.Fatalf("payload %s: %v", jobs[0].Payload, err)
		}
		moving := mustGet(t, r, b.ID)
		res := r.disp.refuse(ctx, jobs[0], moving, p, fmt.Errorf("%w: busy", models.ErrConflict))
		if _, err := r.svc.Cancel(ctx, r.zhangsan, b.ID); err != nil {
			t.Fatal(err)
		}
		if err := r.store.FinishJob(ctx, res); err != nil {
			t.Fatal(err)
		}
		r.drain(t)
		if got := mustGet(t, r, b.ID); got.Status != models.StatusCancelled || got.Remote() != "" {
			t.Errorf("booking = %s held as %q, want cancelled holding nothing", got.Status, got.Remote())
		}
		if n := r.dt.count(); n != 0 {
			t.Errorf("DingTalk holds %d bookings, want the old slot released", n)
		}
	})
}

// TestLiveRescheduleRefusedAfterSync: while a reschedule waits for its retry, a sync
// pass finds the old booking, still held but no longer carrying the reservation's id,
// and leaves it alone: its release is pending. When the new slot is refused, the
// reservation is put back on its old booking, and nothing is doubled. So it is too when
// a copy of the old booking was imported all the same (by a version that did not hold
// such bookings back): the copy gives the id back.
func TestLiveRescheduleRefusedAfterSync(t *testing.T) {
	for _, tc := range refusalCases {
		for _, copied := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/copied=%v", tc.backend, copied), func(t *testing.T) {
				eachLive(t, func(t *testing.T, r *liveRig) {
					testRescheduleRefusedAfterSync(t, r, tc, copied)
				})
			})
		}
	}
}

func testRescheduleRefusedAfterSync(t *testing.T, r *liveRig, tc refusalCase, copied bool) {
	ctx := context.Background()
	b, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(tc.day, 10), time.Hour), "")
	r.drain(t)
	oldRemote := mustGet(t, r.rig, b.ID).Remote()
	recover := tc.failCreates(r)
	if _, err := r.svc.Reschedule(ctx, r.zhangsan, b.ID, req("duowei", at(tc.day, 14), time.Hour)); err != nil {
		t.Fatal(err)
	}
	r.drain(t)
	recover()
	if copied {
		// The release does not name the old booking while the pass runs.
		if _, err := r.store.SQL().Exec("UPDATE outbox_jobs SET remote_id = '' WHERE reservation_id = ? AND remote_id = ?", b.ID, oldRemote); err != nil {
			t.Fatal(err)
		}
	}
	syncBoth(t, r, r.oaSync, r.dtSync)
	if copy, err := r.store.ReservationByRemote(ctx, tc.backend, oldRemote); (err == nil) != copied {
		t.Errorf("after the pass, the old booking is held by %s (%s), %v; want a copy: %v", copy.ID, copy.Origin, err, copied)
	}
	if copied {
		if _, err := r.store.SQL().Exec("UPDATE outbox_jobs SET remote_id = ? WHERE reservation_id = ? AND kind = 'cancel' AND remote_id = ''", oldRemote, b.ID); err != nil {
			t.Fatal(err)
		}
	}
	tc.takeNative(t, r, at(tc.day, 14), at(tc.day, 15))
	r.clock.Add(2 * time.Minute)
	r.drain(t)

	got := mustGet(t, r.rig, b.ID)
	if got.Status != models.StatusConfirmed || got.Remote() != oldRemote || !got.Start.Equal(at(tc.day, 10)) || got.ReasonCode != models.ReasonRescheduleRefused {
		t.Errorf("booking after the refusal = %s at %s held as %q %v, want confirmed at 10:00 held as %q, reason reschedule_refused",
			got.Status, got.Start.In(shanghai).Format("15:04"), got.Remote(), got.Reason(), oldRemote)
	}
	holding, err := r.store.Reservations(ctx, models.Filter{RoomIDs: []string{"duowei"}, Statuses: models.HoldingStatuses})
	if err != nil {
		t.Fatal(err)
	}
	var slots []string
	for _, x := range holding {
		slots = append(slots, fmt.Sprintf("%s %s", x.Origin, x.Start.In(shanghai).Format("01-02 15:04")))
	}
	slices.Sort(slots)
	if want := []string{fmt.Sprintf("bridge 04-%02d 10:00", tc.day)}; !slices.Equal(slots, want) {
		t.Errorf("reservations holding the room = %v, want only %v (the imported copy gave its id back)", slots, want)
	}
	jobs, _ := r.store.Jobs(ctx, b.ID)
	for _, j := range jobs {
		if j.State != models.JobDone {
			t.Errorf("job %s (%s) is %s: %s", j.ID, j.Kind, j.State, j.LastError)
		}
	}
	want := []string{tc.slot("10:00", "11:00", "bridge"), tc.slot("14:00", "15:00", "native")}
	if diff := cmp.Diff(want, liveSlots(r)); diff != "" {
		t.Errorf("the fakes hold (-want +got):\n%s", diff)
	}
}

// TestRefusedRescheduleQueuedByOlderVersion: a reschedule whose create job was queued
// before the job releasing the old slot was named in it finds that release among the
// reservation's jobs: put back, the booking keeps (or books again) its old slot;
// cancelled meanwhile, it stays cancelled and its old slot is released.
func TestRefusedRescheduleQueuedByOlderVersion(t *testing.T) {
	for _, tt := range []struct {
		name   string
		hours  int // the new length from 10:00: 2 overlaps the old slot (released first)
		cancel bool
	}{
		{"new slot first, put back", 1, false},
		{"old slot released first, put back", 2, false},
		{"new slot first, cancelled", 1, true},
		{"old slot released first, cancelled", 2, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			eachRig(t, func(t *testing.T, r *rig) {
				ctx := context.Background()
				b, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 10), time.Hour), "")
				r.drain(t)
				start := at(20, 10)
				if tt.hours == 1 {
					start = at(20, 14)
				}
				if _, err := r.svc.Reschedule(ctx, r.zhangsan, b.ID, req("duowei", start, time.Duration(tt.hours)*time.Hour)); err != nil {
					t.Fatal(err)
				}
				jobs, _ := r.store.Jobs(ctx, b.ID)
				for _, j := range jobs {
					var p jobPayload
					if json.Unmarshal([]byte(j.Payload), &p) == nil && p.PrevRelease != "" {
						p.PrevRelease = ""
						if _, err := r.store.SQL().Exec("UPDATE outbox_jobs SET payload = ? WHERE id = ?", encodePayload(p), j.ID); err != nil {
							t.Fatal(err)
						}
					}
				}
				r.dt.setCreateFail(fmt.Errorf("%w: down", models.ErrUnavailable))
				r.drain(t)
				if tt.cancel {
					if _, err := r.svc.Cancel(ctx, r.zhangsan, b.ID); err != nil {
						t.Fatal(err)
					}
				}
				// Someone takes the last hour of the new slot directly in DingTalk.
				taken := start.Add(time.Duration(tt.hours-1) * time.Hour)
				r.dt.mu.Lock()
				r.dt.bookings["native"] = Write{Room: models.Room{ID: "duowei"}, Reservation: models.Reservation{Start: taken, End: taken.Add(time.Hour)}}
				r.dt.mu.Unlock()
				r.dt.setCreateFail(nil)
				r.clock.Add(2 * time.Minute)
				r.drain(t)
				got := mustGet(t, r, b.ID)
				switch {
				case tt.cancel && (got.Status != models.StatusCancelled || r.dt.count() != 1):
					t.Errorf("booking = %s, DingTalk holds %d; want cancelled and only the native booking held", got.Status, r.dt.count())
				case !tt.cancel && (got.Status != models.StatusConfirmed || !got.Start.Equal(at(20, 10)) || !got.End.Equal(at(20, 11)) || r.dt.count() != 2):
					t.Errorf("booking = %s %s–%s, DingTalk holds %d; want confirmed at 10:00–11:00, held once beside the native booking", got.Status,
						got.Start.In(shanghai).Format("15:04"), got.End.In(shanghai).Format("15:04"), r.dt.count())
				}
			})
		})
	}
}

// TestRescheduleAcceptedAfterCancel: a reschedule cancelled while it waits for its
// retry, then accepted by the backend, leaves nothing held: the new booking made by the
// retry is released by the cancel, the old one by the reschedule.
func TestRescheduleAcceptedAfterCancel(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		b, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 10), time.Hour), "")
		r.drain(t)
		r.dt.setCreateFail(fmt.Errorf("%w: down", models.ErrUnavailable))
		if _, err := r.svc.Reschedule(ctx, r.zhangsan, b.ID, req("duowei", at(20, 14), time.Hour)); err != nil {
			t.Fatal(err)
		}
		r.drain(t)
		if _, err := r.svc.Cancel(ctx, r.zhangsan, b.ID); err != nil {
			t.Fatal(err)
		}
		r.dt.setCreateFail(nil)
		r.clock.Add(2 * time.Minute)
		r.drain(t)
		if got := mustGet(t, r, b.ID); got.Status != models.StatusCancelled || r.dt.count() != 0 {
			t.Errorf("booking = %s, DingTalk holds %d; want cancelled and nothing held", got.Status, r.dt.count())
		}
	})
}
