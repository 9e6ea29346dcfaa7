package bridge

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/models"
)

// occurrencesAt are the series' occurrences (as stored) by original start.
func occurrencesAt(t *testing.T, r *liveRig, series string) []models.Reservation {
	t.Helper()
	rows, err := r.store.SeriesOccurrences(context.Background(), series)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// putBackAt checks that occurrence got is held again at start (one hour), put back
// after its new slot was refused, with the remote id remote ("": any new one).
func putBackAt(t *testing.T, got models.Reservation, start time.Time, backend models.Backend, remote string) {
	t.Helper()
	if got.Status != models.StatusConfirmed || !got.Start.Equal(start) || !got.End.Equal(start.Add(time.Hour)) || got.Backend != backend ||
		got.ReasonCode != models.ReasonRescheduleRefused || got.ReasonArgs[models.ArgCause] == "" {
		t.Errorf("occurrence %s after its move was refused: %s %s %s–%s %v; want confirmed in %s at %s with reason reschedule_refused",
			got.RecurrenceID, got.Status, got.Backend, got.Start, got.End, got.Reason(), backend, start)
	}
	if remote != "" && got.Remote() != remote {
		t.Errorf("occurrence %s is held as %q, want still %q", got.RecurrenceID, got.Remote(), remote)
	}
	if remote == "" && got.Remote() == "" {
		t.Errorf("occurrence %s holds nothing at its backend", got.RecurrenceID)
	}
}

// TestLiveSeriesMoveRefused: when a backend refuses the new slot of occurrences moved
// with their series (the room is taken there unseen by the bridge), they go back to
// their old time, still held (same id) when the new slot was tried first, booked again
// when the change had to release them first; the rest of the change stands.
func TestLiveSeriesMoveRefused(t *testing.T) {
	// Mondays 10:00 from 04-03: 04-03 and 04-10 in the OA, 04-17 to 05-22 in DingTalk.
	t.Run("following: the OA refuses one new slot", func(t *testing.T) {
		eachLive(t, func(t *testing.T, r *liveRig) {
			ctx := context.Background()
			oaSync, dtSync := seriesRig(t, r)
			got := bookMondays(t, r)
			before := occurrencesAt(t, r, got.Series.ID)
			if _, err := r.oaFake.AddNative("-2295828016161864200", "lisi", at(10, 14), at(10, 15), "李四在 OA 里直接预订"); err != nil {
				t.Fatal(err)
			}
			res, err := r.svc.EditSeries(ctx, r.zhangsan, before[1].ID, models.ScopeFollowing,
				models.BookingRequest{RoomID: "duowei", Title: "项目周会", Start: at(10, 14), End: at(10, 15)}, models.ConflictRefuse)
			if err != nil {
				t.Fatalf("EditSeries(following) = %v", err)
			}
			r.drain(t)
			rows := occurrencesAt(t, r, got.Series.ID)
			putBackAt(t, rows[1], at(10, 10), models.BackendOA, before[1].Remote())
			for _, row := range rows[2:] {
				if row.Status != models.StatusConfirmed || row.Start.In(shanghai).Hour() != 14 || row.ReasonCode != "" {
					t.Errorf("occurrence %s: %s at %s %v, want moved to 14:00", row.RecurrenceID, row.Status, row.Start, row.Reason())
				}
			}
			if want := []time.Time{at(3, 10), at(10, 10), at(10, 14)}; !sameTimes(oaStarts(r), want) {
				t.Errorf("the OA holds %v, want %v (the old slot kept, and the native booking)", oaStarts(r), want)
			}
			if got := liveInstances(t, r.dtFake); !sameTimes(got, weeks(at(17, 14), 6)) {
				t.Errorf("DingTalk holds %v, want the six moved occurrences", got)
			}
			syncBoth(t, r, oaSync, dtSync)
			want := append(occurrenceSlots(got.Series.UID, time.Hour, at(3, 10), at(10, 10)), occurrenceSlots(got.Series.UID, time.Hour, weeks(at(17, 14), 6)...)...)
			if diff := cmp.Diff(sortedCopy(want), feedOccurrences(t, r, "zhangsan", models.FeedMe, "")); diff != "" {
				t.Errorf("me feed (-want +got):\n%s", diff)
			}
			if res.Series.Sequence == 0 {
				t.Errorf("series SEQUENCE after the change = 0")
			}
			if after := occurrencesAt(t, r, got.Series.ID)[1]; after.Sequence <= before[1].Sequence {
				t.Errorf("the put-back occurrence's SEQUENCE = %d, want above %d", after.Sequence, before[1].Sequence)
			}
		})
	})

	t.Run("following: DingTalk refuses the new recurring event", func(t *testing.T) {
		eachLive(t, func(t *testing.T, r *liveRig) {
			ctx := context.Background()
			oaSync, dtSync := seriesRig(t, r)
			got := bookMondays(t, r)
			before := occurrencesAt(t, r, got.Series.ID)
			if _, err := r.dtFake.AddNative("union-lisi", "dt-duowei", "李四在钉钉里直接预订", at(24, 14), at(24, 15)); err != nil {
				t.Fatal(err)
			}
			if _, err := r.svc.EditSeries(ctx, r.zhangsan, before[3].ID, models.ScopeFollowing,
				models.BookingRequest{RoomID: "duowei", Title: "项目周会（改）", Start: at(24, 14), End: at(24, 15)}, models.ConflictRefuse); err != nil {
				t.Fatalf("EditSeries(following) = %v", err)
			}
			r.drain(t)
			rows := occurrencesAt(t, r, got.Series.ID)
			for i := 3; i < len(rows); i++ {
				putBackAt(t, rows[i], before[i].Start, models.BackendDingTalk, before[i].Remote())
				if rows[i].Title != before[i].Title {
					t.Errorf("occurrence %s is titled %q, want %q as before", rows[i].RecurrenceID, rows[i].Title, before[i].Title)
				}
			}
			if got := liveInstances(t, r.dtFake); !sameTimes(got, weeks(at(17, 10), 6)) {
				t.Errorf("DingTalk holds %v, want the recurring event as it was", got)
			}
			if n := liveDT(r.dtFake); n != 2 {
				t.Errorf("DingTalk holds %d live events, want the series' and the native one", n)
			}
			syncBoth(t, r, oaSync, dtSync)
			if diff := cmp.Diff(occurrenceSlots(got.Series.UID, time.Hour, weeks(at(3, 10), 8)...), feedOccurrences(t, r, "zhangsan", models.FeedMe, "")); diff != "" {
				t.Errorf("me feed (-want +got):\n%s", diff)
			}
			cancelAllLeavesNothing(t, r, rows[0].ID)
		})
	})

	t.Run("following onto overlapping slots: released first, booked again", func(t *testing.T) {
		eachLive(t, func(t *testing.T, r *liveRig) {
			ctx := context.Background()
			oaSync, dtSync := seriesRig(t, r)
			got := bookMondays(t, r)
			before := occurrencesAt(t, r, got.Series.ID)
			// 10:30–11:30 overlaps the old 10:00–11:00: the old occurrences are released
			// first. DingTalk has 05-01 11:00–12:00 taken.
			may1 := at(24, 11).AddDate(0, 0, 7)
			if _, err := r.dtFake.AddNative("union-lisi", "dt-duowei", "李四在钉钉里直接预订", may1, may1.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := r.svc.EditSeries(ctx, r.zhangsan, before[3].ID, models.ScopeFollowing,
				models.BookingRequest{RoomID: "duowei", Title: "项目周会", Start: at(24, 10).Add(30 * time.Minute), End: at(24, 11).Add(30 * time.Minute)}, models.ConflictRefuse); err != nil {
				t.Fatalf("EditSeries(following) = %v", err)
			}
			r.drain(t)
			rows := occurrencesAt(t, r, got.Series.ID)
			for i := 3; i < len(rows); i++ {
				putBackAt(t, rows[i], before[i].Start, models.BackendDingTalk, "")
			}
			var single []time.Time
			for _, e := range r.dtFake.Events() {
				if e.Recurrence == nil && e.Status != "cancelled" && e.Summary == "项目周会" {
					single = append(single, e.Start)
				}
			}
			sortTimes(single)
			if want := weeks(at(24, 10), 5); !sameTimes(single, want) || !sameTimes(liveInstances(t, r.dtFake), []time.Time{at(17, 10)}) {
				t.Errorf("DingTalk holds the recurring event's %v and single events %v; want 04-17 and %v", liveInstances(t, r.dtFake), single, want)
			}
			syncBoth(t, r, oaSync, dtSync)
			if diff := cmp.Diff(occurrenceSlots(got.Series.UID, time.Hour, weeks(at(3, 10), 8)...), feedOccurrences(t, r, "zhangsan", models.FeedMe, "")); diff != "" {
				t.Errorf("me feed (-want +got):\n%s", diff)
			}
			cancelAllLeavesNothing(t, r, rows[0].ID)
		})
	})

	for _, tt := range []struct {
		name    string
		i       int
		backend models.Backend
	}{{"this: the OA refuses", 1, models.BackendOA}, {"this: DingTalk refuses", 3, models.BackendDingTalk}} {
		t.Run(tt.name, func(t *testing.T) {
			eachLive(t, func(t *testing.T, r *liveRig) {
				ctx := context.Background()
				seriesRig(t, r)
				got := bookMondays(t, r)
				before := occurrencesAt(t, r, got.Series.ID)
				day := before[tt.i].Start.Day()
				var err error
				if tt.backend == models.BackendOA {
					_, err = r.oaFake.AddNative("-2295828016161864200", "lisi", at(day, 14), at(day, 15), "李四直接预订")
				} else {
					_, err = r.dtFake.AddNative("union-lisi", "dt-duowei", "李四直接预订", at(day, 14), at(day, 15))
				}
				if err != nil {
					t.Fatal(err)
				}
				if _, err := r.svc.EditSeries(ctx, r.zhangsan, before[tt.i].ID, models.ScopeThis,
					models.BookingRequest{RoomID: "duowei", Title: "项目周会", Start: at(day, 14), End: at(day, 15)}, ""); err != nil {
					t.Fatalf("EditSeries(this) = %v", err)
				}
				r.drain(t)
				putBackAt(t, occurrencesAt(t, r, got.Series.ID)[tt.i], before[tt.i].Start, tt.backend, before[tt.i].Remote())
				var kept []time.Time
				for _, st := range append(oaStarts(r), liveInstances(t, r.dtFake)...) {
					if st.In(shanghai).Hour() == 10 {
						kept = append(kept, st)
					}
				}
				if !sameTimes(kept, weeks(at(3, 10), 8)) || liveDT(r.dtFake)+liveOA(r.oaFake) != 4 {
					t.Errorf("the fakes hold %v at 10:00, %d events in DingTalk and %d OA bookings; want the series as it was and the native booking", kept, liveDT(r.dtFake), liveOA(r.oaFake))
				}
				cancelAllLeavesNothing(t, r, before[0].ID)
			})
		})
	}
}

// TestLiveSeriesResplitRefusedAfterFreeze: a re-split after the OA freeze moves the OA
// occurrence now after the cutover into DingTalk from the stored row, leaving its OA
// booking as it is; when DingTalk refuses the new recurring event, that occurrence goes
// back to its OA booking (same id, nothing sent to the frozen OA) and the DingTalk
// occurrences, released by the cut, are booked again one by one at their times.
func TestLiveSeriesResplitRefusedAfterFreeze(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		seriesRig(t, r)
		got := bookMondays(t, r)
		before := occurrencesAt(t, r, got.Series.ID)
		admin, _ := r.store.User(ctx, "admin")
		recutFrozen(r, at(10, 0), time.Date(2023, 4, 1, 8, 0, 0, 0, shanghai))
		r.dtFake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultRoomBusy, API: dingtalkfake.APIAddMeetingRooms, Times: 1})
		if done, err := r.svc.Resplit(ctx, admin); err != nil || len(done) != 1 || done[0].Err != nil {
			t.Fatalf("Resplit() = %+v, %v", done, err)
		}
		r.drain(t)
		rows := occurrencesAt(t, r, got.Series.ID)
		putBackAt(t, rows[1], at(10, 10), models.BackendOA, before[1].Remote())
		for i := 2; i < len(rows); i++ {
			putBackAt(t, rows[i], before[i].Start, models.BackendDingTalk, "")
		}
		if want := weeks(at(3, 10), 2); !sameTimes(oaStarts(r), want) {
			t.Errorf("the OA holds %v, want %v untouched", oaStarts(r), want)
		}
		var single []time.Time
		for _, e := range r.dtFake.Events() {
			if e.Status != "cancelled" {
				if e.Recurrence != nil {
					t.Errorf("DingTalk holds recurring event %s", e.ID)
				}
				single = append(single, e.Start)
			}
		}
		sortTimes(single)
		if want := weeks(at(17, 10), 6); !sameTimes(single, want) {
			t.Errorf("DingTalk holds %v, want the six occurrences booked again at %v", single, want)
		}
	})
}

// cancelAllLeavesNothing cancels the whole series of occurrence id and checks that
// neither fake holds anything of it any more: no booking, no occurrence, no event.
func cancelAllLeavesNothing(t *testing.T, r *liveRig, id string) {
	t.Helper()
	if _, err := r.svc.CancelSeries(context.Background(), r.zhangsan, id, models.ScopeAll); err != nil {
		t.Fatalf("CancelSeries(all) = %v", err)
	}
	r.drain(t)
	for _, b := range r.oaFake.Bookings() {
		if !b.Cancelled && b.Start.In(shanghai).Hour() == 10 {
			t.Errorf("after cancelling the series the OA still holds %s", b.Start)
		}
	}
	for _, e := range r.dtFake.Events() {
		if e.Status != "cancelled" && !e.Native {
			t.Errorf("after cancelling the series DingTalk still holds event %s %q at %s (recurring: %v)", e.ID, e.Summary, e.Start, e.Recurrence != nil)
		}
	}
}

func sortTimes(ts []time.Time) {
	for i := range ts {
		for j := i + 1; j < len(ts); j++ {
			if ts[j].Before(ts[i]) {
				ts[i], ts[j] = ts[j], ts[i]
			}
		}
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
