package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/bridge/dingtalk"
	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/models"
)

// mondays is "every Monday 10:00–11:00 from two weeks before the 2023 cutover to six
// weeks after it": 04-03 and 04-10 in the OA, 04-17 to 05-22 in DingTalk.
const mondays = "FREQ=WEEKLY;BYDAY=MO;UNTIL=20230528T155959Z"

// seriesRig is a live rig whose clock stands on 2023-04-01 and whose syncers read the
// next 90 days.
func seriesRig(t *testing.T, r *liveRig) (oaSync, dtSync *Syncer) {
	r.clock.Set(time.Date(2023, 4, 1, 9, 0, 0, 0, shanghai))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	oaSync = NewSyncer(SyncerConfig{Store: r.store, Source: r.oaSync.source, Routing: r.routing, Now: r.clock.Now, Logger: log, Back: time.Hour, Ahead: 60 * 24 * time.Hour})
	dtSync = NewSyncer(SyncerConfig{Store: r.store, Source: r.dtSync.source, Routing: r.routing, Now: r.clock.Now, Logger: log, Usage: r.usage, Back: time.Hour, Ahead: 60 * 24 * time.Hour})
	return oaSync, dtSync
}

func syncBoth(t *testing.T, r *liveRig, oaSync, dtSync *Syncer) {
	t.Helper()
	ctx := context.Background()
	r.clock.Add(time.Minute)
	if _, err := oaSync.Pass(ctx, false); err != nil {
		t.Fatalf("OA pass: %v", err)
	}
	r.clock.Add(time.Minute)
	if _, err := dtSync.Pass(ctx, false); err != nil {
		t.Fatalf("DingTalk pass: %v", err)
	}
}

func held(t *testing.T, r *liveRig) (oa, dt int) {
	t.Helper()
	all, err := r.store.Reservations(context.Background(), models.Filter{RoomIDs: []string{"duowei"}, Statuses: models.HoldingStatuses})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range all {
		if x.Backend == models.BackendOA {
			oa++
		} else {
			dt++
		}
	}
	return oa, dt
}

// feedOccurrences renders feed scope/id for user through Feeds, checks it with the three
// validators and returns the occurrences ical.js expands from it.
func feedOccurrences(t *testing.T, r *liveRig, user string, scope models.FeedScope, id string) []string {
	t.Helper()
	ctx := context.Background()
	f := &Feeds{Store: r.store, Zone: shanghai, Now: r.clock.Now}
	tok, _, err := f.CreateToken(ctx, user, "test")
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Render(ctx, tok, scope, id)
	if err != nil {
		t.Fatalf("Render(%s %s) = %v", scope, id, err)
	}
	if n := strings.Count(string(got.Body), "RRULE:"); n != 1 {
		t.Errorf("feed %s has %d RRULEs, want 1:\n%s", scope, n, got.Body)
	}
	return ValidateFeed(t, string(scope)+id, got.Body)
}

func wantOccurrences(uid string, starts []time.Time) []string {
	return occurrenceSlots(uid, time.Hour, starts...)
}

// occurrenceSlots are occurrences of d as the feed validators print them: UID, start and
// end in UTC, sorted.
func occurrenceSlots(uid string, d time.Duration, starts ...time.Time) []string {
	var out []string
	for _, s := range starts {
		out = append(out, uid+" "+s.UTC().Format(time.RFC3339)+" "+s.Add(d).UTC().Format(time.RFC3339))
	}
	slices.Sort(out)
	return out
}

func TestLiveSeriesAcrossCutover(t *testing.T) {
	tests := []struct {
		name         string
		rrule        string
		wantOA, want int
	}{
		{"every Monday", mondays, 2, 8},
		{"Monday and Wednesday", "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20230528T155959Z", 4, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachLive(t, func(t *testing.T, r *liveRig) {
				ctx := context.Background()
				oaSync, dtSync := seriesRig(t, r)
				got, err := r.svc.BookSeries(ctx, r.zhangsan, req("duowei", at(3, 10), time.Hour), tt.rrule, models.ConflictRefuse, "k1")
				if err != nil {
					t.Fatalf("BookSeries() = %v", err)
				}
				if len(got.Occurrences) != tt.want || len(got.Skipped) != 0 || got.Series.UID == "" {
					t.Fatalf("BookSeries() = %d occurrences, %d skipped; want %d, 0", len(got.Occurrences), len(got.Skipped), tt.want)
				}
				r.drain(t)
				occ, _ := r.store.SeriesOccurrences(ctx, got.Series.ID)
				oa, dt := 0, 0
				for _, o := range occ {
					if o.Status != models.StatusConfirmed || o.Remote() == "" {
						t.Errorf("occurrence %s at %s = %s/%q (%s), want confirmed with a backend id", o.ID, o.Start, o.Status, o.Remote(), o.Reason())
					}
					if o.Backend == models.BackendOA {
						oa++
						if !o.Start.Before(r.routing.Cutover()) {
							t.Errorf("OA occurrence at %s, after the cutover", o.Start)
						}
					} else {
						dt++
					}
				}
				if oa != tt.wantOA || dt != tt.want-tt.wantOA {
					t.Errorf("occurrences OA %d, DingTalk %d; want %d and %d", oa, dt, tt.wantOA, tt.want-tt.wantOA)
				}
				// The OA holds individual bookings; DingTalk one recurring event with the room.
				if n := liveOA(r.oaFake); n != tt.wantOA {
					t.Errorf("OA fake holds %d bookings, want %d", n, tt.wantOA)
				}
				evs := r.dtFake.Events()
				if len(evs) != 1 || evs[0].Recurrence == nil || len(evs[0].RoomIDs) != 1 || evs[0].RoomIDs[0] != "dt-duowei" {
					t.Fatalf("DingTalk fake holds %+v, want one recurring event with room dt-duowei", evs)
				}
				inst, _ := r.dtFake.Instances(evs[0].ID)
				if len(inst) != tt.want-tt.wantOA || !inst[0].Equal(at(17, 10)) {
					t.Errorf("DingTalk expands the event to %v, want %d occurrences from 04-17 10:00", inst, tt.want-tt.wantOA)
				}
				ser, _ := r.store.Series(ctx, got.Series.ID)
				if ser.DingTalkEvent() != evs[0].ID {
					t.Errorf("series DingTalk event = %q, want %q", ser.DingTalkEvent(), evs[0].ID)
				}
				// Sync of both systems matches every occurrence: nothing imported twice.
				syncBoth(t, r, oaSync, dtSync)
				if oa, dt := held(t, r); oa != tt.wantOA || dt != tt.want-tt.wantOA {
					t.Errorf("after sync the room holds OA %d, DingTalk %d; want %d and %d", oa, dt, tt.wantOA, tt.want-tt.wantOA)
				}
				// Every feed holds the series once: one UID whose expansion is exactly the
				// occurrences, in the room feed without a duplicate from sync.
				var starts []time.Time
				for _, o := range occ {
					starts = append(starts, o.Start)
				}
				want := wantOccurrences(got.Series.UID, starts)
				for _, f := range []struct {
					scope models.FeedScope
					id    string
				}{{models.FeedMe, ""}, {models.FeedRooms, "duowei"}, {models.FeedAll, ""}} {
					if diff := cmp.Diff(want, feedOccurrences(t, r, "zhangsan", f.scope, f.id)); diff != "" {
						t.Errorf("%s feed occurrences (-want +got):\n%s", f.scope, diff)
					}
				}
				// The same key gives the same series.
				again, err := r.svc.BookSeries(ctx, r.zhangsan, req("duowei", at(3, 10), time.Hour), tt.rrule, models.ConflictRefuse, "k1")
				if err != nil || again.Series.ID != got.Series.ID {
					t.Errorf("BookSeries(same key) = %s, %v; want %s", again.Series.ID, err, got.Series.ID)
				}
			})
		})
	}
}

func TestLiveSeriesTakenOccurrence(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		oaSync, dtSync := seriesRig(t, r)
		// One Monday is taken natively in DingTalk.
		if _, err := r.dtFake.AddNative("union-lisi", "dt-duowei", "李四直接预订", at(24, 10).Add(30*time.Minute), at(24, 11).Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		syncBoth(t, r, oaSync, dtSync)

		_, err := r.svc.BookSeries(ctx, r.zhangsan, req("duowei", at(3, 10), time.Hour), mondays, models.ConflictRefuse, "")
		ue := models.UserError(err)
		var sce *models.SeriesConflictError
		if ue == nil || ue.Code != "series_taken" || !errors.Is(err, models.ErrConflict) || !errors.As(err, &sce) ||
			ue.Args[models.ArgTimes] != models.TimeArg(at(24, 10)) {
			t.Fatalf("BookSeries(refuse) = %v, want series_taken naming 2023-04-24 10:00", err)
		}
		r.drain(t)
		if oa, dt := held(t, r); oa != 0 || dt != 1 || liveOA(r.oaFake) != 0 || liveDT(r.dtFake) != 1 {
			t.Fatalf("after a refused series: room holds OA %d, DingTalk %d; fakes OA %d, DingTalk %d; want only the native booking", oa, dt, liveOA(r.oaFake), liveDT(r.dtFake))
		}

		got, err := r.svc.BookSeries(ctx, r.zhangsan, req("duowei", at(3, 10), time.Hour), mondays, models.ConflictSkip, "")
		if err != nil || len(got.Occurrences) != 7 || len(got.Skipped) != 1 || !got.Skipped[0].Start.Equal(at(24, 10)) {
			t.Fatalf("BookSeries(skip) = %d occurrences, skipped %v, %v; want 7 and 04-24 10:00", len(got.Occurrences), got.Skipped, err)
		}
		r.drain(t)
		occ, _ := r.store.SeriesOccurrences(ctx, got.Series.ID)
		for _, o := range occ {
			if o.Status != models.StatusConfirmed {
				t.Errorf("occurrence at %s = %s (%s), want confirmed", o.Start, o.Status, o.Reason())
			}
		}
		var master string
		for _, e := range r.dtFake.Events() {
			if e.Recurrence != nil {
				master = e.ID
			}
		}
		inst, _ := r.dtFake.Instances(master)
		if len(inst) != 5 {
			t.Errorf("DingTalk occurrences = %v, want 5 (04-24 left out)", inst)
		}
		syncBoth(t, r, oaSync, dtSync)
		if oa, dt := held(t, r); oa != 2 || dt != 6 {
			t.Errorf("after sync the room holds OA %d, DingTalk %d; want 2 and 6 (5 of the series, 1 native)", oa, dt)
		}
		var starts []time.Time
		for _, o := range occ {
			starts = append(starts, o.Start)
		}
		if diff := cmp.Diff(wantOccurrences(got.Series.UID, starts), feedOccurrences(t, r, "zhangsan", models.FeedMe, "")); diff != "" {
			t.Errorf("me feed with a skipped Monday (-want +got):\n%s", diff)
		}
	})
}

func TestLiveSeriesCancelFollowing(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		oaSync, dtSync := seriesRig(t, r)
		got := bookMondays(t, r)
		second := got.Occurrences[1] // 04-10, in the OA
		if _, err := r.svc.CancelSeries(ctx, r.lisi, second.ID, models.ScopeFollowing); !errors.Is(err, models.ErrForbidden) {
			t.Errorf("CancelSeries by another user = %v, want ErrForbidden", err)
		}
		ser, err := r.svc.CancelSeries(ctx, r.zhangsan, second.ID, models.ScopeFollowing)
		if err != nil {
			t.Fatalf("CancelSeries(following) = %v", err)
		}
		r.drain(t)
		if !strings.Contains(ser.RRule, "UNTIL=20230403T020000Z") || ser.Sequence != 1 {
			t.Errorf("series after the cut = %s seq %d, want it to end on 04-03 10:00 with SEQUENCE 1", ser.RRule, ser.Sequence)
		}
		if n, d := liveOA(r.oaFake), liveDT(r.dtFake); n != 1 || d != 0 {
			t.Errorf("fakes hold OA %d, DingTalk %d; want 1 (04-03) and 0 (the recurring event deleted)", n, d)
		}
		if oa, dt := held(t, r); oa != 1 || dt != 0 {
			t.Errorf("room holds OA %d, DingTalk %d; want 1 and 0", oa, dt)
		}
		syncBoth(t, r, oaSync, dtSync)
		if oa, dt := held(t, r); oa != 1 || dt != 0 {
			t.Errorf("after sync the room holds OA %d, DingTalk %d; want 1 and 0", oa, dt)
		}
		// The feed shows the shortened series: only 04-03 is left.
		if diff := cmp.Diff(wantOccurrences(got.Series.UID, []time.Time{at(3, 10)}), feedOccurrences(t, r, "zhangsan", models.FeedRooms, "duowei")); diff != "" {
			t.Errorf("room feed after the cut (-want +got):\n%s", diff)
		}
	})
}

func TestLiveSeriesCancelOneAndFollowingInDingTalk(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		oaSync, dtSync := seriesRig(t, r)
		got := bookMondays(t, r)
		// Cancelling one DingTalk occurrence deletes that occurrence only.
		if _, err := r.svc.Cancel(ctx, r.zhangsan, got.Occurrences[3].ID); err != nil { // 04-24
			t.Fatal(err)
		}
		r.drain(t)
		master := r.dtFake.Events()[0].ID
		inst, _ := r.dtFake.Instances(master)
		if len(inst) != 5 {
			t.Errorf("after cancelling 04-24 DingTalk has %v, want 5 occurrences", inst)
		}
		// This and following from 05-08 shortens the recurring event.
		ser, err := r.svc.CancelSeries(ctx, r.zhangsan, got.Occurrences[5].ID, models.ScopeFollowing)
		if err != nil {
			t.Fatal(err)
		}
		r.drain(t)
		inst, _ = r.dtFake.Instances(master)
		if len(inst) != 2 || !inst[1].Equal(at(17, 10).AddDate(0, 0, 14)) {
			t.Errorf("after cancelling from 05-08 DingTalk has %v, want 04-17 and 05-01", inst)
		}
		if len(ser.ExDates) != 1 || !strings.Contains(ser.RRule, "UNTIL=20230501T020000Z") {
			t.Errorf("series = %s, exdates %v; want UNTIL 05-01 10:00 and 04-24 excluded", ser.RRule, ser.ExDates)
		}
		syncBoth(t, r, oaSync, dtSync)
		if oa, dt := held(t, r); oa != 2 || dt != 2 {
			t.Errorf("after sync the room holds OA %d, DingTalk %d; want 2 and 2", oa, dt)
		}
	})
}

func TestBookSeriesRefusals(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		ctx := context.Background()
		r.clock.Set(time.Date(2023, 4, 1, 9, 0, 0, 0, shanghai))
		tests := []struct {
			name, rrule string
			start       time.Time
			conflict    models.OnConflict
			code        string
		}{
			{"unbounded", "FREQ=WEEKLY;BYDAY=MO", at(3, 10), "", "rrule_unbounded"},
			{"beyond the booking window", "FREQ=WEEKLY;BYDAY=MO;COUNT=40", at(3, 10), "", "series_beyond_window"},
			{"start not in the rule", "FREQ=WEEKLY;BYDAY=TU;COUNT=3", at(3, 10), "", "rrule_start_mismatch"},
			{"yearly", "FREQ=YEARLY;COUNT=2", at(3, 10), "", "rrule_unsupported"},
			{"DingTalk cannot hold it", "FREQ=MONTHLY;BYMONTHDAY=3,17;COUNT=4", at(3, 10), "", "rrule_not_in_dingtalk"},
			{"bad on_conflict", "FREQ=WEEKLY;COUNT=2", at(3, 10), "maybe", "on_conflict_invalid"},
			{"ends before it starts", "FREQ=DAILY;UNTIL=20230101", at(3, 10), "", "rrule_ends_before_start"},
			{"ends in year 0", "FREQ=DAILY;UNTIL=00000101T000000Z", at(3, 10), "", "rrule_ends_before_start"},
		}
		for _, tt := range tests {
			_, err := r.svc.BookSeries(ctx, r.zhangsan, req("duowei", tt.start, time.Hour), tt.rrule, tt.conflict, "")
			if ue := models.UserError(err); ue == nil || ue.Code != tt.code || !errors.Is(err, models.ErrInvalid) {
				t.Errorf("%s: BookSeries(%s) = %v, want ErrInvalid %s", tt.name, tt.rrule, err, tt.code)
			}
			if tt.conflict != "" || tt.code == "rrule_not_in_dingtalk" {
				continue // the plan does not look at these
			}
			_, err = r.svc.PlanSeries(ctx, req("duowei", tt.start, time.Hour), tt.rrule)
			if ue := models.UserError(err); ue == nil || ue.Code != tt.code || !errors.Is(err, models.ErrInvalid) {
				t.Errorf("%s: PlanSeries(%s) = %v, want ErrInvalid %s", tt.name, tt.rrule, err, tt.code)
			}
		}
		if all, _ := r.store.Reservations(ctx, models.Filter{}); len(all) != 0 {
			t.Errorf("refused series left %d reservations", len(all))
		}
	})
}

// addNativeWeekly books 多维 directly in DingTalk for 李四's weekly meeting, three
// Mondays from 2023-04-24 09:30 for an hour, and returns the event's id and first start.
func addNativeWeekly(t *testing.T, r *liveRig) (string, time.Time) {
	t.Helper()
	var rc dingtalkfake.Recurrence
	rc.Pattern.Type, rc.Pattern.Interval, rc.Pattern.DaysOfWeek = "weekly", 1, "monday"
	rc.Range.Type, rc.Range.NumberOfOccurrences = "numbered", 3
	first := at(24, 9).Add(30 * time.Minute)
	id, err := r.dtFake.AddNativeRecurring("union-lisi", "dt-duowei", "李四的周会", first, first.Add(time.Hour), rc)
	if err != nil {
		t.Fatal(err)
	}
	return id, first
}

// A recurring event booked directly in DingTalk is busy once per occurrence: the Stream
// event and the sync pass bring each occurrence in under its own id (never twice), and a
// series over it is refused naming exactly the occurrences that collide.
func TestLiveNativeRecurringDingTalkEvent(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		oaSync, dtSync := seriesRig(t, r)
		id, _ := addNativeWeekly(t, r)
		change, _ := json.Marshal(map[string]any{"calendarEventId": id, "unionIdList": []string{"union-lisi"}, "changeType": "create"})
		if err := r.dt.HandleEvent(ctx, dingtalk.StreamEvent{Type: "calendar_event_change", Data: change}); err != nil {
			t.Fatalf("HandleEvent() = %v", err)
		}
		if _, dt := held(t, r); dt != 3 {
			t.Fatalf("after the Stream event the room holds %d DingTalk bookings, want 3 occurrences", dt)
		}
		syncBoth(t, r, oaSync, dtSync)
		all, _ := r.store.Reservations(ctx, models.Filter{RoomIDs: []string{"duowei"}, Statuses: models.HoldingStatuses})
		if len(all) != 3 || all[0].Title != "李四的周会" || !all[2].Start.Equal(at(24, 9).Add(30*time.Minute).AddDate(0, 0, 14)) {
			t.Fatalf("after sync the room holds %+v, want the 3 occurrences once each", all)
		}
		_, err := r.svc.BookSeries(ctx, r.zhangsan, req("duowei", at(3, 10), time.Hour), mondays, models.ConflictRefuse, "")
		if ue := models.UserError(err); ue == nil || ue.Code != "series_taken" ||
			ue.Args[models.ArgTimes] != models.TimeArg(at(24, 10))+","+models.TimeArg(at(24, 10).AddDate(0, 0, 7))+","+models.TimeArg(at(24, 10).AddDate(0, 0, 14)) {
			t.Fatalf("BookSeries over the native series = %v, want series_taken naming its three Mondays", err)
		}
	})
}

// A recurring booking announced by meetingroom_book (assumed to carry its first
// occurrence's times) is one booking until the next sync pass lists each occurrence
// under its own id; then the room holds each occurrence once.
func TestLiveNativeRecurringRoomEvent(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		oaSync, dtSync := seriesRig(t, r)
		id, first := addNativeWeekly(t, r)
		ev := roomEvent(t, r.clock.Now(), map[string]any{"eventSubType": "bookSuccess", "bookId": "b-" + id, "roomId": "dt-duowei",
			"userId": "lisi", "userName": "李四", "title": "李四的周会", "startTime": "2023-04-24 09:30:00", "endTime": "2023-04-24 10:30:00",
			"extension": map[string]string{"calendarEventId": "primary;" + id}})
		if err := r.dt.HandleEvent(ctx, ev); err != nil {
			t.Fatalf("HandleEvent() = %v", err)
		}
		if _, dt := held(t, r); dt != 1 {
			t.Fatalf("after the room event the room holds %d DingTalk bookings, want 1 (the first occurrence)", dt)
		}
		r.clock.Add(time.Minute)
		syncBoth(t, r, oaSync, dtSync)
		all, _ := r.store.Reservations(ctx, models.Filter{RoomIDs: []string{"duowei"}, Statuses: models.HoldingStatuses})
		if len(all) != 3 || !all[0].Start.Equal(first) || !all[2].Start.Equal(first.AddDate(0, 0, 14)) {
			t.Fatalf("after sync the room holds %+v, want the 3 occurrences once each", all)
		}
		for _, x := range all {
			if x.RemoteID != nil && *x.RemoteID == id {
				t.Errorf("the booking under the recurring event's own id still holds the room: %+v", x)
			}
		}
	})
}

// Moving one occurrence (of the OA part, and of the DingTalk part) keeps it in the series:
// it becomes a RECURRENCE-ID override in the feed, and DingTalk's recurring event loses
// that occurrence while the moved one is an event of its own.
func TestLiveSeriesMoveOneOccurrence(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		oaSync, dtSync := seriesRig(t, r)
		got := bookMondays(t, r)
		moved := map[int]time.Time{1: at(10, 14), 4: at(17, 15).AddDate(0, 0, 14)} // 04-10 → 14:00 (OA), 05-01 → 15:00 (DingTalk)
		for i, to := range moved {
			if _, err := r.svc.Reschedule(ctx, r.zhangsan, got.Occurrences[i].ID, req("duowei", to, time.Hour)); err != nil {
				t.Fatalf("Reschedule(occurrence %d) = %v", i, err)
			}
		}
		r.drain(t)
		var starts []time.Time
		for i, o := range got.Occurrences {
			x := mustGet(t, r.rig, o.ID)
			if x.Status != models.StatusConfirmed || x.Series() != got.Series.ID {
				t.Errorf("occurrence %d = %s in series %q (%s), want confirmed in the series", i, x.Status, x.Series(), x.Reason())
			}
			if to, ok := moved[i]; ok {
				starts = append(starts, to)
				continue
			}
			starts = append(starts, o.Start)
		}
		var master string
		for _, e := range r.dtFake.Events() {
			if e.Recurrence != nil {
				master = e.ID
			}
		}
		if inst, _ := r.dtFake.Instances(master); len(inst) != 5 || liveDT(r.dtFake) != 2 || liveOA(r.oaFake) != 2 {
			t.Errorf("fakes: DingTalk series %d occurrences, DingTalk events %d, OA bookings %d; want 5, 2, 2", len(inst), liveDT(r.dtFake), liveOA(r.oaFake))
		}
		syncBoth(t, r, oaSync, dtSync)
		if oa, dt := held(t, r); oa != 2 || dt != 6 {
			t.Errorf("after sync the room holds OA %d, DingTalk %d; want 2 and 6", oa, dt)
		}
		if diff := cmp.Diff(wantOccurrences(got.Series.UID, starts), feedOccurrences(t, r, "zhangsan", models.FeedRooms, "duowei")); diff != "" {
			t.Errorf("room feed with two moved occurrences (-want +got):\n%s", diff)
		}
	})
}

// Cancelling the whole series after its OA part is over (and the OA frozen) cancels what
// is still to come: the DingTalk event goes, the past OA occurrences stay as the record.
func TestLiveSeriesCancelAllAfterTheFreeze(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		seriesRig(t, r)
		got := bookMondays(t, r)
		r.clock.Set(at(17, 9)) // after the freeze, before the first DingTalk occurrence
		ser, err := r.svc.CancelSeries(ctx, r.zhangsan, got.Occurrences[5].ID, models.ScopeAll)
		if err != nil {
			t.Fatalf("CancelSeries(all) after the freeze = %v", err)
		}
		r.drain(t)
		if !strings.Contains(ser.RRule, "UNTIL=20230410T020000Z") || ser.Status != models.SeriesActive {
			t.Errorf("series = %s (%s), want it to end with the last past occurrence, 04-10", ser.RRule, ser.Status)
		}
		if oa, dt := held(t, r); oa != 2 || dt != 0 || liveDT(r.dtFake) != 0 || liveOA(r.oaFake) != 2 {
			t.Errorf("room holds OA %d, DingTalk %d; fakes OA %d, DingTalk %d; want the 2 past OA occurrences only", oa, dt, liveOA(r.oaFake), liveDT(r.dtFake))
		}
	})
}
