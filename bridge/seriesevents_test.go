package bridge

import (
	"context"
	"testing"
	"time"

	"roombridge/models"
)

// liveEvents are the ids of the DingTalk fake's live events that roombridge made (not
// native), recurring or not.
func liveEvents(r *liveRig) map[string]bool {
	out := map[string]bool{}
	for _, e := range r.dtFake.Events() {
		if e.Status != "cancelled" && !e.Native {
			out[e.ID] = true
		}
	}
	return out
}

// TestLiveSeriesOlderEventReleased: a change "this and following" made from a DingTalk
// occurrence other than the first shortens the recurring event and makes a new one from
// there; the series keeps track of both, so that cancelling the occurrences left in the
// older event deletes it in DingTalk instead of leaving it empty (or, when the series
// still describes them, holding them).
func TestLiveSeriesOlderEventReleased(t *testing.T) {
	for _, title := range []string{"项目周会（新）", "项目周会"} {
		for _, scope := range []models.Scope{models.ScopeThis, models.ScopeFollowing, models.ScopeAll} {
			t.Run(title+" "+string(scope), func(t *testing.T) {
				eachLive(t, func(t *testing.T, r *liveRig) {
					ctx := context.Background()
					oaSync, dtSync := seriesRig(t, r)
					got := bookMondays(t, r) // 04-03, 04-10 in the OA; 04-17 to 05-22 one DingTalk event
					rows := occurrencesAt(t, r, got.Series.ID)
					booked, err := r.store.Series(ctx, got.Series.ID)
					if err != nil {
						t.Fatal(err)
					}
					first := booked.DingTalkEvent()
					may1 := rows[4]
					if _, err := r.svc.EditSeries(ctx, r.zhangsan, may1.ID, models.ScopeFollowing,
						models.BookingRequest{RoomID: "duowei", Title: title, Start: may1.Start.Add(4 * time.Hour), End: may1.End.Add(4 * time.Hour)}, ""); err != nil {
						t.Fatalf("EditSeries(following from 05-01) = %v", err)
					}
					r.drain(t)
					ser, err := r.store.Series(ctx, got.Series.ID)
					if err != nil {
						t.Fatal(err)
					}
					if ser.DingTalkEvent() == first || ser.DingTalkEvent() == "" || len(ser.OlderDingTalkEvents()) != 1 || ser.OlderDingTalkEvents()[0] != first {
						t.Fatalf("after the change the series has event %q and older %v; want a new one and %s", ser.DingTalkEvent(), ser.OlderDingTalkEvents(), first)
					}
					if inst, _ := r.dtFake.Instances(first); !sameTimes(inst, []time.Time{at(17, 10), at(24, 10)}) {
						t.Fatalf("the older event holds %v, want 04-17 and 04-24", inst)
					}
					syncBoth(t, r, oaSync, dtSync)

					switch scope {
					case models.ScopeThis:
						for _, i := range []int{2, 3} {
							if _, err := r.svc.CancelSeries(ctx, r.zhangsan, rows[i].ID, models.ScopeThis); err != nil {
								t.Fatalf("CancelSeries(this %s) = %v", rows[i].Start, err)
							}
							r.drain(t)
						}
					default:
						if _, err := r.svc.CancelSeries(ctx, r.zhangsan, rows[2].ID, scope); err != nil {
							t.Fatalf("CancelSeries(%s from 04-17) = %v", scope, err)
						}
						r.drain(t)
					}
					live := liveEvents(r)
					if live[first] {
						inst, _ := r.dtFake.Instances(first)
						t.Errorf("the older DingTalk event %s is still there, holding %v; want it deleted", first, inst)
					}
					ser, _ = r.store.Series(ctx, got.Series.ID)
					if len(ser.OlderDingTalkEvents()) != 0 {
						t.Errorf("the series still tracks older events %v", ser.OlderDingTalkEvents())
					}
					if scope == models.ScopeThis {
						if inst := liveInstances(t, r.dtFake); !sameTimes(inst, weeks(at(24, 14).AddDate(0, 0, 7), 4)) || len(live) != 1 {
							t.Errorf("DingTalk holds %v in %d events, want the four later occurrences in the new event", inst, len(live))
						}
					} else if len(live) != 0 {
						t.Errorf("DingTalk still holds events %v, want none", live)
					}
					syncBoth(t, r, oaSync, dtSync)
					if _, dt := held(t, r); scope == models.ScopeThis && dt != 4 || scope != models.ScopeThis && dt != 0 {
						t.Errorf("after sync the room holds %d DingTalk bookings", dt)
					}
				})
			})
		}
	}
}
