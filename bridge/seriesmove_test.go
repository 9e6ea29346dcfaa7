package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/bridge/oa/seeyonfake"
	"roombridge/models"
)

// bookMondays books "every Monday 10:00–11:00" (mondays) for zhangsan and sends it.
func bookMondays(t *testing.T, r *liveRig) models.SeriesResult {
	t.Helper()
	got, err := r.svc.BookSeries(context.Background(), r.zhangsan, req("duowei", at(3, 10), time.Hour), mondays, models.ConflictRefuse, "")
	if err != nil {
		t.Fatalf("BookSeries(%s) = %v", mondays, err)
	}
	r.drain(t)
	return got
}

// weeks are n Mondays from first, a week apart.
func weeks(first time.Time, n int) []time.Time {
	var out []time.Time
	for i := range n {
		out = append(out, first.AddDate(0, 0, 7*i))
	}
	return out
}

// recurring lists the DingTalk fake's live recurring events with their live occurrences.
func recurring(t *testing.T, f *dingtalkfake.Server) map[string][]time.Time {
	t.Helper()
	out := map[string][]time.Time{}
	for _, e := range f.Events() {
		if e.Recurrence == nil || e.Status == "cancelled" {
			continue
		}
		inst, err := f.Instances(e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(inst) > 0 {
			out[e.Summary+" "+e.ID] = inst
		}
	}
	return out
}

// liveInstances are the starts of every live occurrence of the recurring events, sorted.
func liveInstances(t *testing.T, f *dingtalkfake.Server) []time.Time {
	t.Helper()
	var out []time.Time
	for _, inst := range recurring(t, f) {
		out = append(out, inst...)
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// oaStarts are the starts of the OA fake's live bookings, sorted.
func oaStarts(r *liveRig) []time.Time {
	var out []time.Time
	for _, b := range r.oaFake.Bookings() {
		if !b.Cancelled {
			out = append(out, b.Start)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

func sameTimes(a, b []time.Time) bool {
	return slices.EqualFunc(a, b, func(x, y time.Time) bool { return x.Equal(y) })
}

// TestLiveSeriesEditScopes changes series from one occurrence on, or as a whole, through
// the real adapters: occurrences move across the cutover (OA → DingTalk and back), the
// DingTalk recurring event is cut and made again, the series keeps its UID with a higher
// SEQUENCE, and ical.js expands the feed to exactly the new occurrences.
func TestLiveSeriesEditScopes(t *testing.T) {
	tests := []struct {
		name  string
		rrule string
		first time.Time
		from  int // the occurrence the change is made from
		scope models.Scope
		start time.Time // its new start
		d     time.Duration
		title string
		// What the fakes hold afterwards, and the feed's occurrences.
		wantOA, wantDT []time.Time
		wantEvents     int
		wantFeed       func(uid string) []string
	}{
		{
			name: "all one week earlier: a DingTalk occurrence goes to the OA", rrule: "FREQ=WEEKLY;BYDAY=MO;COUNT=6", first: at(10, 10),
			from: 0, scope: models.ScopeAll, start: at(3, 10), d: time.Hour, title: "项目周会",
			wantOA: []time.Time{at(3, 10), at(10, 10)}, wantDT: weeks(at(17, 10), 4), wantEvents: 1,
			wantFeed: func(uid string) []string { return occurrenceSlots(uid, time.Hour, weeks(at(3, 10), 6)...) },
		},
		{
			name: "following one week later: an OA occurrence goes to DingTalk", rrule: mondays, first: at(3, 10),
			from: 1, scope: models.ScopeFollowing, start: at(17, 10), d: time.Hour, title: "项目周会",
			wantOA: []time.Time{at(3, 10)}, wantDT: weeks(at(17, 10), 7), wantEvents: 1,
			wantFeed: func(uid string) []string {
				return append(occurrenceSlots(uid, time.Hour, at(3, 10)), occurrenceSlots(uid, time.Hour, weeks(at(17, 10), 7)...)...)
			},
		},
		{
			name: "following nine days earlier: the first stays, now before its series' start", rrule: mondays, first: at(3, 10),
			from: 1, scope: models.ScopeFollowing, start: at(1, 10), d: time.Hour, title: "项目周会",
			wantOA: []time.Time{at(1, 10), at(3, 10), at(8, 10), at(15, 10)}, wantDT: weeks(at(22, 10), 4), wantEvents: 1,
			wantFeed: func(uid string) []string {
				return append(occurrenceSlots(uid, time.Hour, at(3, 10)), occurrenceSlots(uid, time.Hour, weeks(at(1, 10), 7)...)...)
			},
		},
		{
			name: "all at 14:00 for 90 minutes with a new title", rrule: mondays, first: at(3, 10),
			from: 3, scope: models.ScopeAll, start: at(24, 14), d: 90 * time.Minute, title: "新周会",
			wantOA: []time.Time{at(3, 14), at(10, 14)}, wantDT: weeks(at(17, 14), 6), wantEvents: 1,
			wantFeed: func(uid string) []string { return occurrenceSlots(uid, 90*time.Minute, weeks(at(3, 14), 8)...) },
		},
		{
			name: "following renamed from a DingTalk occurrence: the recurring event is split", rrule: mondays, first: at(3, 10),
			from: 4, scope: models.ScopeFollowing, start: at(17, 10).AddDate(0, 0, 14), d: time.Hour, title: "改名周会",
			wantOA: []time.Time{at(3, 10), at(10, 10)}, wantDT: weeks(at(17, 10), 6), wantEvents: 2,
			wantFeed: func(uid string) []string { return occurrenceSlots(uid, time.Hour, weeks(at(3, 10), 8)...) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachLive(t, func(t *testing.T, r *liveRig) {
				ctx := context.Background()
				oaSync, dtSync := seriesRig(t, r)
				got, err := r.svc.BookSeries(ctx, r.zhangsan, req("duowei", tt.first, time.Hour), tt.rrule, models.ConflictRefuse, "")
				if err != nil {
					t.Fatalf("BookSeries() = %v", err)
				}
				r.drain(t)
				occ := got.Occurrences[tt.from]
				change := models.BookingRequest{RoomID: "duowei", Title: tt.title, Start: tt.start, End: tt.start.Add(tt.d)}
				if _, err := r.svc.EditSeries(ctx, r.lisi, occ.ID, tt.scope, change, ""); !errors.Is(err, models.ErrForbidden) {
					t.Errorf("EditSeries by another user = %v, want ErrForbidden", err)
				}
				res, err := r.svc.EditSeries(ctx, r.zhangsan, occ.ID, tt.scope, change, "")
				if err != nil {
					t.Fatalf("EditSeries(%s) = %v", tt.scope, err)
				}
				if res.Series.UID != got.Series.UID || res.Series.Sequence != 1 {
					t.Errorf("EditSeries() series = %s seq %d, want UID %s and SEQUENCE 1", res.Series.UID, res.Series.Sequence, got.Series.UID)
				}
				r.drain(t)
				rows, _ := r.store.SeriesOccurrences(ctx, got.Series.ID)
				for _, o := range rows {
					if o.Status != models.StatusConfirmed || o.Remote() == "" || o.Backend != r.routing.Owner(o.Start) {
						t.Errorf("occurrence at %s = %s %s/%q (%s), want confirmed in %s", o.Start, o.Backend, o.Status, o.Remote(), o.Reason(), r.routing.Owner(o.Start))
					}
				}
				if got := oaStarts(r); !sameTimes(got, tt.wantOA) {
					t.Errorf("OA fake holds %v, want %v", got, tt.wantOA)
				}
				if got := liveInstances(t, r.dtFake); !sameTimes(got, tt.wantDT) {
					t.Errorf("DingTalk recurring events hold %v, want %v", got, tt.wantDT)
				}
				events := recurring(t, r.dtFake)
				if len(events) != tt.wantEvents || liveDT(r.dtFake) != tt.wantEvents {
					t.Errorf("DingTalk holds %d events, recurring %v; want %d recurring events and nothing else", liveDT(r.dtFake), events, tt.wantEvents)
				}
				syncBoth(t, r, oaSync, dtSync)
				if oa, dt := held(t, r); oa != len(tt.wantOA) || dt != len(tt.wantDT) {
					t.Errorf("after sync the room holds OA %d, DingTalk %d; want %d and %d", oa, dt, len(tt.wantOA), len(tt.wantDT))
				}
				want := tt.wantFeed(got.Series.UID)
				slices.Sort(want)
				if diff := cmp.Diff(want, feedOccurrences(t, r, "zhangsan", models.FeedRooms, "duowei")); diff != "" {
					t.Errorf("room feed after the change (-want +got):\n%s", diff)
				}

				// Cancelling the whole series afterwards leaves nothing in either system.
				if _, err := r.svc.CancelSeries(ctx, r.zhangsan, occ.ID, models.ScopeAll); err != nil {
					t.Fatalf("CancelSeries(all) = %v", err)
				}
				r.drain(t)
				single := 0
				for _, e := range r.dtFake.Events() {
					if e.Recurrence == nil && e.Status != "cancelled" {
						single++
					}
				}
				if n, d := liveOA(r.oaFake), liveInstances(t, r.dtFake); n != 0 || len(d) != 0 || single != 0 {
					t.Errorf("after cancelling all: OA %d, DingTalk occurrences %v and %d events; want none", n, d, single)
				}
			})
		})
	}
}

// TestLiveSeriesEditTaken moves a series onto a slot taken natively in DingTalk on one
// Monday: refuse changes nothing and names the date, skip moves the rest and cancels it.
func TestLiveSeriesEditTaken(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		oaSync, dtSync := seriesRig(t, r)
		got := bookMondays(t, r)
		busy := at(17, 14).AddDate(0, 0, 14) // 05-01 14:00
		if _, err := r.dtFake.AddNative("union-lisi", "dt-duowei", "李四直接预订", busy, busy.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		syncBoth(t, r, oaSync, dtSync)
		change := models.BookingRequest{RoomID: "duowei", Title: "项目周会", Start: at(3, 14), End: at(3, 15)}

		_, err := r.svc.EditSeries(ctx, r.zhangsan, got.Occurrences[0].ID, models.ScopeAll, change, models.ConflictRefuse)
		if ue := models.UserError(err); ue == nil || ue.Code != "series_taken" || ue.Args[models.ArgTimes] != models.TimeArg(busy) {
			t.Fatalf("EditSeries(refuse) = %v, want series_taken naming %s", err, models.TimeArg(busy))
		}
		r.drain(t)
		if got := liveInstances(t, r.dtFake); !sameTimes(got, weeks(at(17, 10), 6)) || !sameTimes(oaStarts(r), weeks(at(3, 10), 2)) {
			t.Errorf("after a refused change DingTalk holds %v and the OA %v, want the series unchanged", got, oaStarts(r))
		}
		if ser, _ := r.store.Series(ctx, got.Series.ID); ser.Sequence != 0 {
			t.Errorf("SEQUENCE after a refused change = %d, want 0", ser.Sequence)
		}

		res, err := r.svc.EditSeries(ctx, r.zhangsan, got.Occurrences[0].ID, models.ScopeAll, change, models.ConflictSkip)
		if err != nil || len(res.Skipped) != 1 || !res.Skipped[0].Start.Equal(busy) {
			t.Fatalf("EditSeries(skip) = skipped %v, %v; want 05-01 14:00", res.Skipped, err)
		}
		r.drain(t)
		var want []time.Time
		for _, st := range weeks(at(3, 14), 8) {
			if !st.Equal(busy) {
				want = append(want, st)
			}
		}
		if got := append(oaStarts(r), liveInstances(t, r.dtFake)...); !sameTimes(got, want) {
			t.Errorf("after the change the fakes hold %v, want %v", got, want)
		}
		syncBoth(t, r, oaSync, dtSync)
		if oa, dt := held(t, r); oa != 2 || dt != 6 {
			t.Errorf("after sync the room holds OA %d, DingTalk %d; want 2 and 6 (5 of the series, 1 native)", oa, dt)
		}
		if diff := cmp.Diff(occurrenceSlots(got.Series.UID, time.Hour, want...), feedOccurrences(t, r, "zhangsan", models.FeedMe, "")); diff != "" {
			t.Errorf("me feed after the change (-want +got):\n%s", diff)
		}
	})
}

// TestEditSeriesRefusals: what a series change refuses before it touches anything.
func TestEditSeriesRefusals(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		r.clock.Set(at(1, 9))
		got, err := r.svc.BookSeries(ctx, r.zhangsan, req("duowei", at(24, 10), time.Hour), "FREQ=MONTHLY;BYDAY=-1MO;COUNT=3", models.ConflictRefuse, "")
		if err != nil {
			t.Fatal(err)
		}
		single, err := r.svc.Book(ctx, r.zhangsan, req("duowei", at(5, 10), time.Hour), "")
		if err != nil {
			t.Fatal(err)
		}
		occ := got.Occurrences[0].ID
		tests := []struct {
			name  string
			id    string
			scope models.Scope
			req   models.BookingRequest
			on    models.OnConflict
			code  string
		}{
			{"unknown scope", occ, "sometimes", req("duowei", at(24, 11), time.Hour), "", "scope_invalid"},
			{"unknown on_conflict", occ, models.ScopeAll, req("duowei", at(24, 11), time.Hour), "maybe", "on_conflict_invalid"},
			{"not a series", single.ID, models.ScopeAll, req("duowei", at(5, 11), time.Hour), "", "not_in_series"},
			{"another room", occ, models.ScopeAll, req("xinghe", at(24, 11), time.Hour), "", "series_room_fixed"},
			{"the last Monday a week later", occ, models.ScopeAll, req("duowei", at(24, 10).AddDate(0, 0, 7), time.Hour), "", "series_move_unsupported"},
			{"into the past", occ, models.ScopeAll, req("duowei", at(24, 10).AddDate(0, -1, 0), time.Hour), "", "start_in_past"},
			{"still being sent", occ, models.ScopeAll, req("duowei", at(24, 11), time.Hour), "", "still_pending"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := r.svc.EditSeries(ctx, r.zhangsan, tt.id, tt.scope, tt.req, tt.on)
				if ue := models.UserError(err); ue == nil || ue.Code != tt.code {
					t.Errorf("EditSeries(%s) = %v, want %s", tt.name, err, tt.code)
				}
			})
		}
		r.drain(t)
		_, err = r.svc.EditSeries(ctx, r.zhangsan, occ, models.ScopeAll, req("duowei", at(24, 11), time.Hour), "")
		if err != nil {
			t.Errorf("EditSeries(all, one hour later) once sent = %v, want nil", err)
		}
	})
}

// recut rewires r's engine to a new cutover (and a freeze one hour before it), as a
// restart with another ROOMBRIDGE_CUTOVER does.
func recut(r *liveRig, cutover time.Time) { recutFrozen(r, cutover, cutover.Add(-time.Hour)) }

// recutFrozen is recut with the OA freeze at freeze.
func recutFrozen(r *liveRig, cutover, freeze time.Time) {
	routing := models.NewRouting(shanghai, cutover, freeze)
	var backends []Backend
	for _, b := range []models.Backend{models.BackendOA, models.BackendDingTalk} {
		backends = append(backends, r.disp.backends[b])
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r.routing = routing
	r.disp = NewDispatcher(DispatcherConfig{Store: r.store, Backends: backends, Routing: routing, Now: r.clock.Now, Logger: log,
		Backoff: func(int) time.Duration { return time.Minute }})
	r.svc = NewService(ServiceConfig{Store: r.store, Routing: routing, Backends: []models.Backend{models.BackendOA, models.BackendDingTalk},
		Access: models.NewAccess("admin"), Now: r.clock.Now, Logger: log, Dispatcher: r.disp})
}

// TestLiveSeriesResplit changes the configured cutover under a booked series, both ways:
// the occurrences then in the wrong system move (OA → DingTalk into a recurring event
// made again, DingTalk → OA out of it), the UID stays, SEQUENCE rises, the new cutover is
// recorded, and ical.js expands the feed to the same occurrences as before.
func TestLiveSeriesResplit(t *testing.T) {
	tests := []struct {
		name           string
		cutover        time.Time
		wantOA, wantDT []time.Time
	}{
		{"one week later: a DingTalk occurrence goes to the OA", at(24, 0), weeks(at(3, 10), 3), weeks(at(24, 10), 5)},
		{"one week earlier: an OA occurrence goes to DingTalk", at(10, 0), weeks(at(3, 10), 1), weeks(at(10, 10), 7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachLive(t, func(t *testing.T, r *liveRig) {
				ctx := context.Background()
				oaSync, dtSync := seriesRig(t, r)
				got := bookMondays(t, r)
				before := feedOccurrences(t, r, "zhangsan", models.FeedRooms, "duowei")
				if ser, _ := r.store.Series(ctx, got.Series.ID); ser.Cutover == nil || !ser.Cutover.Equal(at(17, 0)) {
					t.Errorf("series cutover = %v, want 04-17 00:00", ser.Cutover)
				}

				recut(r, tt.cutover)
				plan, err := r.svc.ResplitSeries(ctx, "cli:test", true)
				if err != nil || len(plan) != 1 || len(plan[0].Moves) != 1 {
					t.Fatalf("ResplitSeries(dry run) = %+v, %v; want one series with one occurrence to move", plan, err)
				}
				r.drain(t)
				if n := len(liveInstances(t, r.dtFake)) + liveOA(r.oaFake); n != 8 {
					t.Errorf("a dry run changed the fakes: %d occurrences held, want 8", n)
				}
				// The admin console's "migrate all" re-splits through Resplit: staff may not.
				if done, err := r.svc.Resplit(ctx, r.zhangsan); !errors.Is(err, models.ErrForbidden) || len(done) != 0 {
					t.Fatalf("Resplit(staff) = %+v, %v; want ErrForbidden and nothing moved", done, err)
				}
				admin, _ := r.store.User(ctx, "admin")
				if done, err := r.svc.Resplit(ctx, admin); err != nil || len(done) != 1 || done[0].Outcome() != models.ResplitMoved {
					t.Fatalf("Resplit(admin) = %+v, %v; want one series re-split", done, err)
				}
				r.drain(t)
				ser, _ := r.store.Series(ctx, got.Series.ID)
				if ser.UID != got.Series.UID || ser.Sequence != 1 || ser.Cutover == nil || !ser.Cutover.Equal(tt.cutover) {
					t.Errorf("series after the re-split = %s seq %d cutover %v, want UID %s, SEQUENCE 1, cutover %s", ser.UID, ser.Sequence, ser.Cutover, got.Series.UID, tt.cutover)
				}
				if got := oaStarts(r); !sameTimes(got, tt.wantOA) {
					t.Errorf("OA fake holds %v, want %v", got, tt.wantOA)
				}
				if got := liveInstances(t, r.dtFake); !sameTimes(got, tt.wantDT) || liveDT(r.dtFake) != 1 {
					t.Errorf("DingTalk holds %d events with occurrences %v, want one recurring event with %v", liveDT(r.dtFake), got, tt.wantDT)
				}
				rows, _ := r.store.SeriesOccurrences(ctx, got.Series.ID)
				for _, o := range rows {
					if o.Status != models.StatusConfirmed || o.Backend != r.routing.Owner(o.Start) {
						t.Errorf("occurrence at %s = %s %s (%s), want confirmed in %s", o.Start, o.Backend, o.Status, o.Reason(), r.routing.Owner(o.Start))
					}
				}
				if diff := cmp.Diff(before, feedOccurrences(t, r, "zhangsan", models.FeedRooms, "duowei")); diff != "" {
					t.Errorf("room feed after the re-split (-before +after):\n%s", diff)
				}
				syncBoth(t, r, oaSync, dtSync)
				if oa, dt := held(t, r); oa != len(tt.wantOA) || dt != len(tt.wantDT) {
					t.Errorf("after sync the room holds OA %d, DingTalk %d; want %d and %d", oa, dt, len(tt.wantOA), len(tt.wantDT))
				}
				if again, err := r.svc.ResplitSeries(ctx, "cli:test", false); err != nil || len(again) != 0 {
					t.Errorf("ResplitSeries() again = %+v, %v; want nothing left to move", again, err)
				}
			})
		})
	}
}

// TestLiveSeriesResplitAfterFreeze re-splits a booked series after the OA freeze (the OA
// can be neither read nor written). One week earlier: the OA occurrence now after the
// cutover joins the DingTalk recurring event, made from the stored row; its OA booking
// stays in the OA (nothing is sent to the OA) and the audit says from_snapshot=1. One
// week later: the DingTalk occurrence now before the cutover cannot be booked in the
// frozen OA; it stays in DingTalk, listed as frozen, the series unchanged, every time.
func TestLiveSeriesResplitAfterFreeze(t *testing.T) {
	freeze := time.Date(2023, 4, 1, 8, 0, 0, 0, shanghai) // an hour before the rig's clock
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		seriesRig(t, r)
		got := bookMondays(t, r)
		admin, _ := r.store.User(ctx, "admin")
		oaBefore := oaStarts(r)
		oaJobs := func() int {
			jobs, _ := r.store.Jobs(ctx, got.Series.ID)
			n := 0
			for _, j := range jobs {
				if j.Backend == models.BackendOA {
					n++
				}
			}
			return n
		}
		oaJobsBefore := oaJobs()

		t.Run("one week earlier: from the snapshot", func(t *testing.T) {
			recutFrozen(r, at(10, 0), freeze)
			plan, err := r.svc.PlanResplit(ctx)
			if err != nil || len(plan) != 1 || len(plan[0].Moves) != 1 || len(plan[0].Frozen) != 0 || !plan[0].FromSnapshot || plan[0].Outcome() != models.ResplitToMove {
				t.Fatalf("PlanResplit() = %+v, %v; want one OA occurrence to move from the snapshot", plan, err)
			}
			done, err := r.svc.Resplit(ctx, admin)
			if err != nil || len(done) != 1 || done[0].Outcome() != models.ResplitMoved || !done[0].FromSnapshot || done[0].Series.Sequence != 1 {
				t.Fatalf("Resplit() = %+v, %v; want the series moved from the snapshot, SEQUENCE 1", done, err)
			}
			r.drain(t)
			if got := oaStarts(r); !sameTimes(got, oaBefore) {
				t.Errorf("OA fake holds %v, want %v untouched (the OA is frozen)", got, oaBefore)
			}
			if got := liveInstances(t, r.dtFake); !sameTimes(got, weeks(at(10, 10), 7)) || liveDT(r.dtFake) != 1 {
				t.Errorf("DingTalk holds %d events with occurrences %v, want one recurring event from 04-10", liveDT(r.dtFake), got)
			}
			rows, _ := r.store.SeriesOccurrences(ctx, got.Series.ID)
			for _, o := range rows {
				if o.Status != models.StatusConfirmed || o.Backend != r.routing.Owner(o.Start) {
					t.Errorf("occurrence at %s = %s %s (%s), want confirmed in %s", o.Start, o.Backend, o.Status, o.Reason(), r.routing.Owner(o.Start))
				}
			}
			if n := oaJobs(); n != oaJobsBefore {
				t.Errorf("the re-split queued %d jobs for the frozen OA, want none", n-oaJobsBefore)
			}
			audit, _ := r.store.Audit(ctx, got.Series.ID)
			snap := false
			for _, a := range audit {
				snap = snap || a.Action == "resplit_series" && strings.Contains(a.Detail, "from_snapshot=1")
			}
			if !snap {
				t.Errorf("audit of the series = %+v, want resplit_series with from_snapshot=1", audit)
			}
		})

		t.Run("three weeks later: kept in DingTalk", func(t *testing.T) {
			recutFrozen(r, at(24, 0), freeze)
			before, _ := r.store.Series(ctx, got.Series.ID)
			dtBefore := liveInstances(t, r.dtFake)
			for range 2 {
				done, err := r.svc.Resplit(ctx, admin)
				if err != nil || len(done) != 1 || len(done[0].Moves) != 2 || len(done[0].Frozen) != 2 || done[0].Outcome() != models.ResplitKept || done[0].Err != nil {
					t.Fatalf("Resplit() = %+v, %v; want the two DingTalk occurrences before 04-24 kept (oa_frozen)", done, err)
				}
				for _, f := range done[0].Frozen {
					if f.Backend != models.BackendDingTalk || !f.Start.Before(at(24, 0)) {
						t.Errorf("frozen occurrence %s in %s, want a DingTalk one before the cutover", f.Start, f.Backend)
					}
				}
				r.drain(t)
			}
			if after, _ := r.store.Series(ctx, got.Series.ID); after.Sequence != before.Sequence || !after.Cutover.Equal(*before.Cutover) {
				t.Errorf("series after a kept re-split = seq %d cutover %v, want it unchanged (seq %d cutover %v)", after.Sequence, after.Cutover, before.Sequence, before.Cutover)
			}
			if got := liveInstances(t, r.dtFake); !sameTimes(got, dtBefore) || liveDT(r.dtFake) != 1 {
				t.Errorf("DingTalk holds %d events with %v, want the one recurring event with %v", liveDT(r.dtFake), got, dtBefore)
			}
		})
	})
}

// TestLiveSeriesResplitTaken: the OA occurrence a cutover one week earlier moves into
// DingTalk finds its slot taken there (booked in DingTalk directly). The dry run lists
// it as skipped; the re-split cancels it and moves the rest. After the OA freeze the same
// happens, except that its OA booking is left in the OA and nothing is sent to the OA.
func TestLiveSeriesResplitTaken(t *testing.T) {
	for _, frozen := range []bool{false, true} {
		t.Run(fmt.Sprintf("frozen=%v", frozen), func(t *testing.T) {
			eachLive(t, func(t *testing.T, r *liveRig) {
				ctx := context.Background()
				oaSync, dtSync := seriesRig(t, r)
				got := bookMondays(t, r)
				if _, err := r.dtFake.AddNative("union-wangwu", "dt-duowei", "钉钉直接预订", at(10, 10), at(10, 11)); err != nil {
					t.Fatal(err)
				}
				syncBoth(t, r, oaSync, dtSync)
				freeze := at(10, 0).Add(-time.Hour)
				if frozen {
					freeze = r.clock.Now().Add(-time.Hour)
				}
				recutFrozen(r, at(10, 0), freeze)
				plan, err := r.svc.PlanResplit(ctx)
				if err != nil || len(plan) != 1 || len(plan[0].Skipped) != 1 || !plan[0].Skipped[0].Start.Equal(at(10, 10)) || plan[0].FromSnapshot != frozen {
					t.Fatalf("PlanResplit() = %+v, %v; want the 04-10 occurrence listed as skipped", plan, err)
				}
				admin, _ := r.store.User(ctx, "admin")
				done, err := r.svc.Resplit(ctx, admin)
				if err != nil || len(done) != 1 || done[0].Outcome() != models.ResplitMoved || len(done[0].Skipped) != 1 {
					t.Fatalf("Resplit() = %+v, %v; want the series moved with the 04-10 occurrence skipped", done, err)
				}
				r.drain(t)
				wantOA := weeks(at(3, 10), 1)
				if frozen {
					wantOA = weeks(at(3, 10), 2) // the frozen OA keeps its booking
				}
				if got := oaStarts(r); !sameTimes(got, wantOA) {
					t.Errorf("OA fake holds %v, want %v", got, wantOA)
				}
				if got := liveInstances(t, r.dtFake); !sameTimes(got, weeks(at(17, 10), 6)) {
					t.Errorf("DingTalk holds the series' occurrences %v, want the six from 04-17", got)
				}
				rows, _ := r.store.SeriesOccurrences(ctx, got.Series.ID)
				for _, o := range rows {
					if o.Start.Equal(at(10, 10)) && o.Status != models.StatusCancelled {
						t.Errorf("occurrence at 04-10 = %s %s, want cancelled", o.Backend, o.Status)
					}
				}
			})
		})
	}
}

// TestLiveSeriesEditExactlyOnce: a change to a series whose writes lose their answers
// (DingTalk made the event but the answer never came; the OA booked but answered
// nothing) is retried from the outbox and still leaves one booking per occurrence: one
// OA booking each, one DingTalk recurring event.
func TestLiveSeriesEditExactlyOnce(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		seriesRig(t, r)
		got := bookMondays(t, r)
		r.dtFake.SetFault(dingtalkfake.Fault{API: dingtalkfake.APICreateEvent, Kind: dingtalkfake.FaultLostAnswer, Times: 1})
		r.dtFake.SetFault(dingtalkfake.Fault{API: dingtalkfake.APIAddMeetingRooms, Kind: dingtalkfake.FaultLostAnswer, Times: 1})
		r.oaFake.SetFault(seeyonfake.Fault{Endpoint: "execApp", Kind: seeyonfake.FaultEmptyAfterWrite, Times: 1})
		change := models.BookingRequest{RoomID: "duowei", Title: "项目周会", Start: at(3, 14), End: at(3, 15)}
		if _, err := r.svc.EditSeries(ctx, r.zhangsan, got.Occurrences[0].ID, models.ScopeAll, change, ""); err != nil {
			t.Fatalf("EditSeries() = %v", err)
		}
		for range 5 {
			r.drain(t)
			r.clock.Add(2 * time.Minute) // the retries are due
		}
		if got := oaStarts(r); !sameTimes(got, weeks(at(3, 14), 2)) {
			t.Errorf("OA fake holds %v, want one booking each on 04-03 and 04-10 at 14:00", got)
		}
		if got := liveInstances(t, r.dtFake); !sameTimes(got, weeks(at(17, 14), 6)) || liveDT(r.dtFake) != 1 {
			t.Errorf("DingTalk holds %d events with occurrences %v, want one recurring event from 04-17 14:00", liveDT(r.dtFake), got)
		}
		rows, _ := r.store.SeriesOccurrences(ctx, got.Series.ID)
		for _, o := range rows {
			if o.Status != models.StatusConfirmed || o.Remote() == "" {
				t.Errorf("occurrence at %s = %s/%q (%s), want confirmed", o.Start, o.Status, o.Remote(), o.Reason())
			}
		}
		audit, _ := r.store.Audit(ctx, got.Series.ID)
		edits := 0
		for _, a := range audit {
			if a.Action == "edit_series" {
				edits++
			}
		}
		if edits != 1 {
			t.Errorf("audit of the series has %d edit_series entries, want 1: %+v", edits, audit)
		}
	})
}
