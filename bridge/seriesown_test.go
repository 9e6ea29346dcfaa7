package bridge

import (
	"context"
	"testing"
	"time"

	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/models"
)

// checkDingTalkHolds compares what holds room duowei in the DingTalk fake with the table:
// no two holds overlap (the room held twice), every hold the bridge made is the booking
// of exactly one holding reservation (none orphaned), every holding DingTalk reservation
// is held by the booking it names, and an occurrence of a series is marked as an event
// of its own exactly when DingTalk holds it as a single event. It returns the bridge's
// holds.
func checkDingTalkHolds(t *testing.T, r *liveRig) []dingtalkfake.Hold {
	t.Helper()
	holds := r.dtFake.RoomHolds("dt-duowei")
	for i := 1; i < len(holds); i++ {
		if a, b := holds[i-1], holds[i]; b.Start.Before(a.End) {
			t.Errorf("DingTalk holds the room twice: %q %s (%s–%s) and %q %s (%s–%s)", a.Summary, a.ID, a.Start, a.End, b.Summary, b.ID, b.Start, b.End)
		}
	}
	rows, err := r.store.Reservations(context.Background(), models.Filter{RoomIDs: []string{"duowei"}, Backend: models.BackendDingTalk, Statuses: models.HoldingStatuses})
	if err != nil {
		t.Fatal(err)
	}
	byRemote := map[string][]models.Reservation{}
	for _, x := range rows {
		byRemote[x.Remote()] = append(byRemote[x.Remote()], x)
	}
	held := map[string]dingtalkfake.Hold{}
	var ours []dingtalkfake.Hold
	for _, h := range holds {
		held[h.ID] = h
		if h.Native {
			continue
		}
		ours = append(ours, h)
		switch named := byRemote[h.ID]; {
		case len(named) == 0:
			t.Errorf("DingTalk holds the room %s–%s for %q (%s) that no reservation holds: orphaned", h.Start, h.End, h.Summary, h.ID)
		case len(named) > 1:
			t.Errorf("DingTalk booking %s is held by %d reservations", h.ID, len(named))
		}
	}
	for _, x := range rows {
		h, ok := held[x.Remote()]
		if !ok {
			if x.Status != models.StatusPending {
				t.Errorf("reservation %s (%s %s–%s) names DingTalk booking %q, which holds nothing", x.ID, x.Status, x.Start, x.End, x.Remote())
			}
			continue
		}
		if !h.Start.Equal(x.Start) || !h.End.Equal(x.End) {
			t.Errorf("reservation %s is %s–%s, its DingTalk booking %s–%s", x.ID, x.Start, x.End, h.Start, h.End)
		}
		if single := h.ID == h.MasterID; x.Series() != "" && x.OwnEvent != single {
			t.Errorf("occurrence %s (%s) is marked own_event=%v, but DingTalk holds it as a single event: %v", x.RecurrenceID, x.Start, x.OwnEvent, single)
		}
	}
	return ours
}

// holdStarts are the starts of holds, single events and occurrences of recurring events
// apart.
func holdStarts(holds []dingtalkfake.Hold) (single, recurring []time.Time) {
	for _, h := range holds {
		if h.ID == h.MasterID {
			single = append(single, h.Start)
		} else {
			recurring = append(recurring, h.Start)
		}
	}
	return single, recurring
}

// wantHolds checks that the bridge's DingTalk holds of the room start at single (events
// of their own) and recurring (occurrences of recurring events).
func wantHolds(t *testing.T, r *liveRig, single, recurring []time.Time) {
	t.Helper()
	gotSingle, gotRecurring := holdStarts(checkDingTalkHolds(t, r))
	if !sameTimes(gotSingle, single) || !sameTimes(gotRecurring, recurring) {
		t.Errorf("DingTalk holds the room as single events at %v and as occurrences at %v; want %v and %v", gotSingle, gotRecurring, single, recurring)
	}
}

// movedAloneAndBack books the Mondays series and moves its occurrence i (in DingTalk)
// alone to 15:00 and back to its time, with its title: it is then an event of its own
// that looks like an occurrence of the recurring event.
func movedAloneAndBack(t *testing.T, r *liveRig, i int) (models.SeriesResult, []models.Reservation) {
	t.Helper()
	ctx := context.Background()
	got := bookMondays(t, r)
	o := got.Occurrences[i]
	for _, to := range []time.Time{o.Start.Add(5 * time.Hour), o.Start} {
		if _, err := r.svc.EditSeries(ctx, r.zhangsan, o.ID, models.ScopeThis, req("duowei", to, time.Hour), ""); err != nil {
			t.Fatalf("EditSeries(this, occurrence %d to %s) = %v", i, to, err)
		}
		r.drain(t)
	}
	rows := occurrencesAt(t, r, got.Series.ID)
	if x := rows[i]; x.Status != models.StatusConfirmed || !x.Start.Equal(o.Start) || x.Title != o.Title {
		t.Fatalf("occurrence %d moved back = %s at %s %q, want confirmed at %s", i, x.Status, x.Start, x.Title, o.Start)
	}
	wantHolds(t, r, []time.Time{o.Start}, without(weeks(at(17, 10), 6), o.Start))
	return got, rows
}

// without is ts less drop.
func without(ts []time.Time, drop ...time.Time) []time.Time {
	var out []time.Time
	for _, x := range ts {
		keep := true
		for _, d := range drop {
			keep = keep && !x.Equal(d)
		}
		if keep {
			out = append(out, x)
		}
	}
	return out
}

// wantStates checks the status of each occurrence of series, in order of original start.
func wantStates(t *testing.T, r *liveRig, series string, want ...models.Status) []models.Reservation {
	t.Helper()
	rows := occurrencesAt(t, r, series)
	if len(rows) != len(want) {
		t.Fatalf("series has %d occurrences, want %d", len(rows), len(want))
	}
	for i, x := range rows {
		if x.Status != want[i] {
			t.Errorf("occurrence %d (%s) is %s, want %s", i, x.Start, x.Status, want[i])
		}
	}
	return rows
}

func repeat(s models.Status, n int) []models.Status {
	out := make([]models.Status, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestLiveSeriesOwnEventReleased: an occurrence of the DingTalk part that became an event
// of its own (moved alone and back to its time with its title, so that it looks like an
// occurrence of the recurring event, or moved alone to where the series later goes) is
// released by a later change to the series as a whole or from an earlier occurrence on:
// DingTalk holds no event that no reservation holds, and never the same slot twice.
func TestLiveSeriesOwnEventReleased(t *testing.T) {
	may1 := at(24, 10).AddDate(0, 0, 7)
	t.Run("moved alone and back, then the whole series cancelled", func(t *testing.T) {
		eachLive(t, func(t *testing.T, r *liveRig) {
			oaSync, dtSync := seriesRig(t, r)
			got, rows := movedAloneAndBack(t, r, 4)
			if _, err := r.svc.CancelSeries(context.Background(), r.zhangsan, rows[5].ID, models.ScopeAll); err != nil {
				t.Fatalf("CancelSeries(all) = %v", err)
			}
			r.drain(t)
			wantHolds(t, r, nil, nil)
			wantStates(t, r, got.Series.ID, repeat(models.StatusCancelled, 8)...)
			syncBoth(t, r, oaSync, dtSync)
			if oa, dt := held(t, r); oa != 0 || dt != 0 {
				t.Errorf("after sync the room holds OA %d, DingTalk %d; want nothing", oa, dt)
			}
		})
	})

	t.Run("moved alone and back, then cancelled from an earlier occurrence on", func(t *testing.T) {
		eachLive(t, func(t *testing.T, r *liveRig) {
			oaSync, dtSync := seriesRig(t, r)
			got, rows := movedAloneAndBack(t, r, 4)
			if _, err := r.svc.CancelSeries(context.Background(), r.zhangsan, rows[3].ID, models.ScopeFollowing); err != nil {
				t.Fatalf("CancelSeries(following from 04-24) = %v", err)
			}
			r.drain(t)
			wantHolds(t, r, nil, []time.Time{at(17, 10)})
			wantStates(t, r, got.Series.ID, append(repeat(models.StatusConfirmed, 3), repeat(models.StatusCancelled, 5)...)...)
			syncBoth(t, r, oaSync, dtSync)
			if oa, dt := held(t, r); oa != 2 || dt != 1 {
				t.Errorf("after sync the room holds OA %d, DingTalk %d; want 2 and 1", oa, dt)
			}
		})
	})

	t.Run("moved alone and back, then the whole series moved", func(t *testing.T) {
		eachLive(t, func(t *testing.T, r *liveRig) {
			oaSync, dtSync := seriesRig(t, r)
			got, rows := movedAloneAndBack(t, r, 4)
			if _, err := r.svc.EditSeries(context.Background(), r.zhangsan, rows[2].ID, models.ScopeAll, req("duowei", at(17, 14), time.Hour), ""); err != nil {
				t.Fatalf("EditSeries(all to 14:00) = %v", err)
			}
			r.drain(t)
			wantHolds(t, r, nil, weeks(at(17, 14), 6))
			rows = wantStates(t, r, got.Series.ID, repeat(models.StatusConfirmed, 8)...)
			if x := rows[4]; !x.Start.Equal(may1.Add(4*time.Hour)) || x.OwnEvent {
				t.Errorf("occurrence 05-01 is at %s, own event %v; want 14:00 in the recurring event", x.Start, x.OwnEvent)
			}
			syncBoth(t, r, oaSync, dtSync)
			if oa, dt := held(t, r); oa != 2 || dt != 6 {
				t.Errorf("after sync the room holds OA %d, DingTalk %d; want 2 and 6", oa, dt)
			}
			cancelAllLeavesNothing(t, r, rows[0].ID)
		})
	})

	t.Run("moved alone to where the whole series then moves", func(t *testing.T) {
		eachLive(t, func(t *testing.T, r *liveRig) {
			ctx := context.Background()
			oaSync, dtSync := seriesRig(t, r)
			got := bookMondays(t, r)
			if _, err := r.svc.EditSeries(ctx, r.zhangsan, got.Occurrences[4].ID, models.ScopeThis, req("duowei", may1.Add(4*time.Hour), time.Hour), ""); err != nil {
				t.Fatalf("EditSeries(this, 05-01 to 14:00) = %v", err)
			}
			r.drain(t)
			own := occurrencesAt(t, r, got.Series.ID)[4]
			if _, err := r.svc.EditSeries(ctx, r.zhangsan, got.Occurrences[2].ID, models.ScopeAll, req("duowei", at(17, 14), time.Hour), ""); err != nil {
				t.Fatalf("EditSeries(all to 14:00) = %v", err)
			}
			r.drain(t)
			// The occurrence already where the series goes keeps its own event; the new
			// recurring event leaves its slot out.
			wantHolds(t, r, []time.Time{may1.Add(4 * time.Hour)}, without(weeks(at(17, 14), 6), may1.Add(4*time.Hour)))
			rows := wantStates(t, r, got.Series.ID, repeat(models.StatusConfirmed, 8)...)
			for i, x := range rows {
				if x.Start.In(shanghai).Hour() != 14 || x.ReasonCode != "" {
					t.Errorf("occurrence %d is at %s (%v), want moved to 14:00", i, x.Start, x.Reason())
				}
			}
			if x := rows[4]; x.Remote() != own.Remote() || !x.OwnEvent {
				t.Errorf("occurrence 05-01 is held as %q (own event %v), want still its own event %q", x.Remote(), x.OwnEvent, own.Remote())
			}
			syncBoth(t, r, oaSync, dtSync)
			if oa, dt := held(t, r); oa != 2 || dt != 6 {
				t.Errorf("after sync the room holds OA %d, DingTalk %d; want 2 and 6", oa, dt)
			}
			cancelAllLeavesNothing(t, r, rows[0].ID)
		})
	})

	t.Run("moved alone, then the whole series set as it was", func(t *testing.T) {
		eachLive(t, func(t *testing.T, r *liveRig) {
			ctx := context.Background()
			oaSync, dtSync := seriesRig(t, r)
			got := bookMondays(t, r)
			if _, err := r.svc.EditSeries(ctx, r.zhangsan, got.Occurrences[4].ID, models.ScopeThis, req("duowei", may1.Add(5*time.Hour), time.Hour), ""); err != nil {
				t.Fatalf("EditSeries(this, 05-01 to 15:00) = %v", err)
			}
			r.drain(t)
			// Only 05-01 changes: it goes back to 10:00, in a recurring event again, and the
			// others stay in the one they are in.
			if _, err := r.svc.EditSeries(ctx, r.zhangsan, got.Occurrences[2].ID, models.ScopeAll, req("duowei", at(17, 10), time.Hour), ""); err != nil {
				t.Fatalf("EditSeries(all as it was) = %v", err)
			}
			r.drain(t)
			wantHolds(t, r, nil, weeks(at(17, 10), 6))
			rows := wantStates(t, r, got.Series.ID, repeat(models.StatusConfirmed, 8)...)
			for i, x := range rows {
				if !x.Start.Equal(got.Occurrences[i].Start) || x.ReasonCode != "" || x.OwnEvent {
					t.Errorf("occurrence %d is at %s (%v), own event %v; want at %s in a recurring event", i, x.Start, x.Reason(), x.OwnEvent, got.Occurrences[i].Start)
				}
			}
			syncBoth(t, r, oaSync, dtSync)
			if oa, dt := held(t, r); oa != 2 || dt != 6 {
				t.Errorf("after sync the room holds OA %d, DingTalk %d; want 2 and 6", oa, dt)
			}
			cancelAllLeavesNothing(t, r, rows[0].ID)
		})
	})

	t.Run("moved alone and back, then changed from an earlier occurrence on", func(t *testing.T) {
		eachLive(t, func(t *testing.T, r *liveRig) {
			oaSync, dtSync := seriesRig(t, r)
			got, rows := movedAloneAndBack(t, r, 4)
			change := models.BookingRequest{RoomID: "duowei", Title: "项目周会（改）", Start: at(24, 14), End: at(24, 15)}
			if _, err := r.svc.EditSeries(context.Background(), r.zhangsan, rows[3].ID, models.ScopeFollowing, change, ""); err != nil {
				t.Fatalf("EditSeries(following from 04-24 to 14:00) = %v", err)
			}
			r.drain(t)
			wantHolds(t, r, nil, append([]time.Time{at(17, 10)}, weeks(at(24, 14), 5)...))
			rows = wantStates(t, r, got.Series.ID, repeat(models.StatusConfirmed, 8)...)
			if x := rows[4]; !x.Start.Equal(may1.Add(4*time.Hour)) || x.Title != change.Title || x.OwnEvent {
				t.Errorf("occurrence 05-01 is at %s %q, own event %v; want 14:00 %q in the new recurring event", x.Start, x.Title, x.OwnEvent, change.Title)
			}
			syncBoth(t, r, oaSync, dtSync)
			if oa, dt := held(t, r); oa != 2 || dt != 6 {
				t.Errorf("after sync the room holds OA %d, DingTalk %d; want 2 and 6", oa, dt)
			}
			cancelAllLeavesNothing(t, r, rows[0].ID)
		})
	})
}

// TestLiveSeriesRestoredOccurrenceCancelled: an occurrence whose move DingTalk refused
// after its old slot was released is booked again there as an event of its own, looking
// just like an occurrence of the recurring event. Cancelling the whole series releases
// that event too, on the series' queue: a transient DingTalk error leaves the cancel to
// be tried again, and the retry releases it.
func TestLiveSeriesRestoredOccurrenceCancelled(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		oaSync, dtSync := seriesRig(t, r)
		got := bookMondays(t, r)
		may1 := got.Occurrences[4]
		// 05-01 11:00–11:30 is taken in DingTalk, unseen by the bridge: making the meeting
		// half an hour longer releases its slot first and is refused.
		if _, err := r.dtFake.AddNative("union-lisi", "dt-duowei", "李四在钉钉里直接预订", may1.End, may1.End.Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.EditSeries(ctx, r.zhangsan, may1.ID, models.ScopeThis, req("duowei", may1.Start, 90*time.Minute), ""); err != nil {
			t.Fatalf("EditSeries(this, 05-01 longer) = %v", err)
		}
		r.drain(t)
		rows := occurrencesAt(t, r, got.Series.ID)
		putBackAt(t, rows[4], may1.Start, models.BackendDingTalk, "")
		if !rows[4].OwnEvent {
			t.Errorf("the occurrence booked again in its slot is not marked as an event of its own")
		}
		wantHolds(t, r, []time.Time{may1.Start}, without(weeks(at(17, 10), 6), may1.Start))

		r.dtFake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultServerError, API: dingtalkfake.APIGetEvent})
		if _, err := r.svc.CancelSeries(ctx, r.zhangsan, rows[2].ID, models.ScopeAll); err != nil {
			t.Fatalf("CancelSeries(all) = %v", err)
		}
		r.drain(t)
		wantStates(t, r, got.Series.ID, repeat(models.StatusCancelled, 8)...)
		if single, recurring := holdStarts(r.dtFake.RoomHolds("dt-duowei")); len(single) != 2 || len(recurring) != 0 {
			t.Errorf("while DingTalk fails DingTalk holds single events at %v and occurrences at %v; want the event of its own (to be retried) and the native booking", single, recurring)
		}
		jobs, err := r.store.Jobs(ctx, got.Series.ID)
		if err != nil {
			t.Fatal(err)
		}
		pending := 0
		for _, j := range jobs {
			if j.State == models.JobPending {
				pending++
				if j.Kind != models.JobCancel || j.Attempts != 1 {
					t.Errorf("pending job %s %s after %d attempts, want the cancel of the event of its own after one", j.Kind, j.ID, j.Attempts)
				}
			}
		}
		if pending != 1 {
			t.Errorf("%d jobs of the series wait for a retry, want 1", pending)
		}

		r.dtFake.ClearFaults()
		r.clock.Add(2 * time.Minute)
		r.drain(t)
		wantHolds(t, r, nil, nil)
		syncBoth(t, r, oaSync, dtSync)
		if oa, dt := held(t, r); oa != 0 || dt != 1 {
			t.Errorf("after sync the room holds OA %d, DingTalk %d; want the native booking only", oa, dt)
		}
	})
}

// TestLiveSeriesOwnEventKeptByResplit: a re-split that makes the DingTalk recurring event
// again (an OA occurrence now after the cutover joins it) leaves the occurrences that are
// events of their own as they are, one moved alone and one moved alone and back, and the
// new recurring event leaves their slots out: DingTalk holds each slot once.
func TestLiveSeriesOwnEventKeptByResplit(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		oaSync, dtSync := seriesRig(t, r)
		got, _ := movedAloneAndBack(t, r, 5) // 05-08 10:00
		may1 := got.Occurrences[4]
		if _, err := r.svc.EditSeries(ctx, r.zhangsan, may1.ID, models.ScopeThis, req("duowei", may1.Start.Add(5*time.Hour), time.Hour), ""); err != nil {
			t.Fatalf("EditSeries(this, 05-01 to 15:00) = %v", err)
		}
		r.drain(t)
		own := occurrencesAt(t, r, got.Series.ID)

		recut(r, at(10, 0))
		done, err := r.svc.ResplitSeries(ctx, "cli:test", false)
		if err != nil || len(done) != 1 || done[0].Err != nil || len(done[0].Skipped) != 0 {
			t.Fatalf("ResplitSeries() = %+v, %v; want the series re-split", done, err)
		}
		r.drain(t)
		wantHolds(t, r, []time.Time{may1.Start.Add(5 * time.Hour), got.Occurrences[5].Start}, without(weeks(at(10, 10), 7), may1.Start, got.Occurrences[5].Start))
		rows := wantStates(t, r, got.Series.ID, repeat(models.StatusConfirmed, 8)...)
		for _, i := range []int{4, 5} {
			if x := rows[i]; x.Remote() != own[i].Remote() || !x.OwnEvent || !x.Start.Equal(own[i].Start) {
				t.Errorf("occurrence %d is at %s held as %q (own event %v), want still its own event %q at %s", i, x.Start, x.Remote(), x.OwnEvent, own[i].Remote(), own[i].Start)
			}
		}
		if x := rows[1]; x.Backend != models.BackendDingTalk {
			t.Errorf("occurrence 04-10 is in %s, want DingTalk", x.Backend)
		}
		syncBoth(t, r, oaSync, dtSync)
		if oa, dt := held(t, r); oa != 1 || dt != 7 {
			t.Errorf("after sync the room holds OA %d, DingTalk %d; want 1 and 7", oa, dt)
		}
		cancelAllLeavesNothing(t, r, rows[0].ID)
	})
}

// TestLiveSeriesCancelWhileOwnEventSending: an occurrence moved alone whose create DingTalk
// has not taken yet (a transient error, to be tried again) is cancelled with its whole
// series. The create, tried again, makes the event all the same (an earlier attempt may
// have made it); the release queued behind it under the occurrence then releases it.
func TestLiveSeriesCancelWhileOwnEventSending(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		seriesRig(t, r)
		got := bookMondays(t, r)
		may1 := got.Occurrences[4]
		r.dtFake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultServerError, API: dingtalkfake.APICreateEvent})
		if _, err := r.svc.EditSeries(ctx, r.zhangsan, may1.ID, models.ScopeThis, req("duowei", may1.Start.Add(5*time.Hour), time.Hour), ""); err != nil {
			t.Fatalf("EditSeries(this, 05-01 to 15:00) = %v", err)
		}
		r.drain(t)
		if x := occurrencesAt(t, r, got.Series.ID)[4]; x.Status != models.StatusPending || !x.OwnEvent {
			t.Fatalf("occurrence 05-01 while DingTalk fails = %s, own event %v; want pending, to be an event of its own", x.Status, x.OwnEvent)
		}
		if _, err := r.svc.CancelSeries(ctx, r.zhangsan, got.Occurrences[2].ID, models.ScopeAll); err != nil {
			t.Fatalf("CancelSeries(all) = %v", err)
		}
		r.drain(t)
		r.dtFake.ClearFaults()
		r.clock.Add(2 * time.Minute)
		r.drain(t)
		wantHolds(t, r, nil, nil)
		wantStates(t, r, got.Series.ID, repeat(models.StatusCancelled, 8)...)
		if n := r.dtFake.Calls(dingtalkfake.APICreateEvent); n < 3 {
			t.Errorf("DingTalk got %d create calls, want the series', the failed and the retried one", n)
		}
	})
}
