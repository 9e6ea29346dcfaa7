package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
)

type seriesReply struct {
	booking
	SeriesID    string `json:"series_id"`
	RRule       string `json:"rrule"`
	Occurrences []struct {
		booking
		Start    string `json:"start"`
		SeriesID string `json:"series_id"`
	} `json:"occurrences"`
	Skipped []struct{ Start, End string } `json:"skipped"`
}

// TestServeSeries books a weekly series through the API that crosses the demo cutover
// (today + 7 days): the first occurrence goes to the OA, the rest to one DingTalk
// recurring event; "my bookings" and the feed show it once.
func TestServeSeries(t *testing.T) {
	in := start(t, nil)
	first := in.day(1, 18, 0) // the demo seeds nothing at 18:00
	weekday := strings.ToUpper(first.Weekday().String()[:2])
	body := func(rrule, onConflict string) string {
		b := strings.TrimSuffix(bookingBody("duowei", "周例会", first, time.Hour), "}")
		b += fmt.Sprintf(`,"rrule":%q`, rrule)
		if onConflict != "" {
			b += fmt.Sprintf(`,"on_conflict":%q`, onConflict)
		}
		return b + "}"
	}
	rule := "FREQ=WEEKLY;BYDAY=" + weekday + ";COUNT=4"

	// Refusals first: unbounded, beyond the window, not a rule.
	for _, c := range []struct{ rrule, code string }{
		{"FREQ=WEEKLY;BYDAY=" + weekday, "rrule_unbounded"},
		{"FREQ=DAILY;COUNT=200", "series_beyond_window"},
		{"EVERY MONDAY", "rrule_syntax"},
	} {
		r := in.do("POST", in.url+"/api/v1/bookings", "zhangsan", strings.NewReader(body(c.rrule, "")))
		if code, msg := in.error(r); r.code != http.StatusUnprocessableEntity || code != c.code || msg == "" || strings.Contains(msg, "%!") {
			t.Errorf("POST rrule %q = %d %s, want 422 %s with a message", c.rrule, r.code, r.body, c.code)
		}
	}

	r := in.do("POST", in.url+"/api/v1/bookings", "zhangsan", strings.NewReader(body(rule, "refuse")), "Idempotency-Key", "series-1")
	var s seriesReply
	r.json(t, &s)
	if r.code != http.StatusCreated || s.SeriesID == "" || len(s.Occurrences) != 4 || s.Skipped == nil || len(s.Skipped) != 0 || s.RRule != rule {
		t.Fatalf("POST series = %d %s, want 201 with series_id, 4 occurrences and an empty skipped", r.code, r.body)
	}
	backends := ""
	for _, o := range s.Occurrences {
		got := in.settle("zhangsan", o.ID)
		if got.Status != "confirmed" {
			t.Errorf("occurrence %s = %s (%s), want confirmed", o.Start, got.Status, got.Reason)
		}
		backends += o.Backend + " "
	}
	if backends != "oa dingtalk dingtalk dingtalk " {
		t.Errorf("occurrences go to %s, want the first to the OA and the rest to DingTalk", backends)
	}
	// The same key answers 200 with the same series.
	again := in.do("POST", in.url+"/api/v1/bookings", "zhangsan", strings.NewReader(body(rule, "refuse")), "Idempotency-Key", "series-1")
	var s2 seriesReply
	again.json(t, &s2)
	if again.code != http.StatusOK || s2.SeriesID != s.SeriesID {
		t.Errorf("POST series again = %d %s, want 200 with series %s", again.code, again.body, s.SeriesID)
	}

	// My bookings: one entry for the series, with its occurrences.
	var mine []seriesReply
	in.do("GET", in.url+"/api/v1/bookings?mine=1", "zhangsan", nil).json(t, &mine)
	n := 0
	for _, m := range mine {
		if m.SeriesID == s.SeriesID {
			n++
			if len(m.Occurrences) != 4 || m.UID != s.UID {
				t.Errorf("series in my bookings = %+v, want its 4 occurrences under UID %s", m, s.UID)
			}
		}
	}
	if n != 1 {
		t.Errorf("my bookings list the series %d times, want once", n)
	}

	// The 我的预订 page shows the series as one entry listing its occurrences.
	page := in.do("GET", in.url+"/bookings", "zhangsan", nil, "Accept", "text/html")
	if html := string(page.body); page.code != http.StatusOK || strings.Count(html, `<details class="series">`) != 1 ||
		!strings.Contains(html, "重复预订，共 4 次") || strings.Count(html, `href="/bookings/`+s.Occurrences[2].ID+`"`) != 1 {
		t.Errorf("GET /bookings = %d, want one series entry with its 4 occurrences:\n%s", page.code, page.body)
	}

	// Booked again by someone else: every occurrence is taken.
	taken := in.do("POST", in.url+"/api/v1/bookings", "lisi", strings.NewReader(body(rule, "skip")))
	if code, msg := in.error(taken); taken.code != http.StatusConflict || code != "series_taken" || !strings.Contains(msg, first.Format("2006-01-02 15:04")) {
		t.Errorf("POST taken series = %d %s, want 409 series_taken naming %s", taken.code, taken.body, first.Format("2006-01-02 15:04"))
	}

	// The me feed holds the series once, as one UID with its RRULE.
	var tok struct {
		URLs struct {
			Me string `json:"me"`
		} `json:"urls"`
	}
	in.do("POST", in.url+"/api/v1/feed-tokens", "zhangsan", strings.NewReader(`{"label":"e2e"}`)).json(t, &tok)
	feed := in.do("GET", in.url+tok.URLs.Me[strings.Index(tok.URLs.Me, "/ical/"):], "", nil)
	cal, err := ics.ParseCalendar(strings.NewReader(string(feed.body)))
	if err != nil {
		t.Fatalf("feed = %d, parse: %v", feed.code, err)
	}
	masters := 0
	for _, ev := range cal.Events() {
		if p := ev.GetProperty(ics.ComponentPropertyUniqueId); p != nil && p.Value == s.UID {
			if rr := ev.GetProperty(ics.ComponentPropertyRrule); rr == nil || rr.Value != rule {
				t.Errorf("series event RRULE = %v, want %s", rr, rule)
			}
			masters++
		}
	}
	if masters != 1 || strings.Count(string(feed.body), "rs-"+s.SeriesID+"-") != 0 {
		t.Errorf("me feed has %d events with the series UID (and occurrence UIDs: %v), want exactly 1:\n%s", masters, strings.Contains(string(feed.body), "rs-"+s.SeriesID+"-"), feed.body)
	}

	// Moving one occurrence keeps it in the series.
	moveTo := first.AddDate(0, 0, 7).Add(time.Hour)
	mv := in.do("PATCH", in.url+"/api/v1/bookings/"+s.Occurrences[1].ID, "zhangsan",
		strings.NewReader(fmt.Sprintf(`{"start":%q,"end":%q}`, moveTo.Format(time.RFC3339), moveTo.Add(time.Hour).Format(time.RFC3339))))
	var moved struct {
		booking
		SeriesID string `json:"series_id"`
	}
	mv.json(t, &moved)
	if mv.code != http.StatusOK || moved.SeriesID != s.SeriesID {
		t.Errorf("PATCH one occurrence = %d %s, want 200 and still in series %s", mv.code, mv.body, s.SeriesID)
	}
	in.settle("zhangsan", s.Occurrences[1].ID)
	// Renaming this and the following occurrences renames the rest of the series.
	wide := in.do("PATCH", in.url+"/api/v1/bookings/"+s.Occurrences[2].ID+"?scope=following", "zhangsan", strings.NewReader(`{"title":"新名字"}`))
	if wide.code != http.StatusOK {
		t.Errorf("PATCH ?scope=following = %d %s, want 200", wide.code, wide.body)
	}
	for i, o := range s.Occurrences {
		var b struct {
			booking
			Title string `json:"title"`
		}
		in.settle("zhangsan", o.ID)
		in.do("GET", in.url+"/api/v1/bookings/"+o.ID, "zhangsan", nil).json(t, &b)
		if want := map[bool]string{true: "新名字", false: "周例会"}[i >= 2]; b.Title != want || b.Status != "confirmed" {
			t.Errorf("occurrence %d after renaming from the third = %q %s (%s), want %q confirmed", i, b.Title, b.Status, b.Reason, want)
		}
	}

	// Cancelling this and following from the first occurrence cancels the whole series.
	del := in.do("DELETE", in.url+"/api/v1/bookings/"+s.Occurrences[0].ID+"?scope=following", "zhangsan", nil)
	if del.code != http.StatusOK {
		t.Fatalf("DELETE ?scope=following = %d %s", del.code, del.body)
	}
	for _, o := range s.Occurrences {
		var b booking
		in.do("GET", in.url+"/api/v1/bookings/"+o.ID, "zhangsan", nil).json(t, &b)
		if b.Status != "cancelled" {
			t.Errorf("occurrence %s after cancelling the series = %s, want cancelled", o.Start, b.Status)
		}
	}
	bad := in.do("DELETE", in.url+"/api/v1/bookings/"+s.Occurrences[1].ID+"?scope=sometimes", "zhangsan", nil)
	if code, _ := in.error(bad); bad.code != http.StatusUnprocessableEntity || code != "scope_invalid" {
		t.Errorf("DELETE ?scope=sometimes = %d %s, want 422 scope_invalid", bad.code, bad.body)
	}
}

// bookWeekly books 周例会 for zhangsan every week from tomorrow 18:00, four times (the
// first before the demo cutover, the rest after it), and returns it with a function that
// waits for every occurrence to be confirmed and lists their systems.
func (in *instance) bookWeekly(t *testing.T) (seriesReply, func() string) {
	t.Helper()
	first := in.day(1, 18, 0)
	weekday := strings.ToUpper(first.Weekday().String()[:2])
	b := strings.TrimSuffix(bookingBody("duowei", "周例会", first, time.Hour), "}") + `,"rrule":"FREQ=WEEKLY;BYDAY=` + weekday + `;COUNT=4"}`
	var s seriesReply
	r := in.do("POST", in.url+"/api/v1/bookings", "zhangsan", strings.NewReader(b))
	r.json(t, &s)
	if r.code != http.StatusCreated || len(s.Occurrences) != 4 {
		t.Fatalf("POST series = %d %s", r.code, r.body)
	}
	backends := func() string {
		t.Helper()
		out := ""
		for _, o := range s.Occurrences {
			got := in.settle("zhangsan", o.ID)
			if got.Status != "confirmed" {
				t.Errorf("occurrence %s = %s (%s), want confirmed", o.ID, got.Status, got.Reason)
			}
			out += got.Backend + " "
		}
		return out
	}
	if got := backends(); got != "oa dingtalk dingtalk dingtalk " {
		t.Fatalf("occurrences go to %s, want the first to the OA", got)
	}
	return s, backends
}

// seriesFeed reads user's me feed and returns, for the series with uid, its master's
// SEQUENCE and RRULE and the number of its events (the master and its overrides).
func (in *instance) seriesFeed(t *testing.T, user, uid string) (sequence, rrule string, events int) {
	t.Helper()
	var tok struct {
		URLs struct {
			Me string `json:"me"`
		} `json:"urls"`
	}
	in.do("POST", in.url+"/api/v1/feed-tokens", user, strings.NewReader(`{"label":"e2e"}`)).json(t, &tok)
	feed := in.do("GET", in.url+tok.URLs.Me[strings.Index(tok.URLs.Me, "/ical/"):], "", nil)
	cal, err := ics.ParseCalendar(strings.NewReader(string(feed.body)))
	if err != nil {
		t.Fatalf("feed = %d, parse: %v", feed.code, err)
	}
	for _, ev := range cal.Events() {
		if p := ev.GetProperty(ics.ComponentPropertyUniqueId); p == nil || p.Value != uid {
			continue
		}
		events++
		if rr := ev.GetProperty(ics.ComponentPropertyRrule); rr != nil {
			rrule = rr.Value
			if p := ev.GetProperty(ics.ComponentPropertySequence); p != nil {
				sequence = p.Value
			}
		}
	}
	return sequence, rrule, events
}

// TestServeSeriesEditAcrossCutover changes a weekly series through the API so that its
// occurrences cross the demo cutover (today + 7 days) both ways: this and following two
// days earlier puts a DingTalk occurrence into the OA, then the whole series four days
// later puts an OA occurrence into DingTalk. The series keeps its UID, its SEQUENCE rises
// with each change, and the edit form offers the three scopes in both languages.
func TestServeSeriesEditAcrossCutover(t *testing.T) {
	in := start(t, nil)
	s, backends := in.bookWeekly(t)

	for _, l := range []struct{ lang, want string }{{"zh-CN", "这一次及以后"}, {"en", "This and following"}} {
		page := in.do("GET", in.url+"/bookings/"+s.Occurrences[1].ID+"/edit", "zhangsan", nil, "Accept", "text/html", "Accept-Language", l.lang)
		if html := string(page.body); page.code != http.StatusOK || !strings.Contains(html, `name="scope" value="following"`) || !strings.Contains(html, l.want) {
			t.Errorf("GET edit form (%s) = %d, want the scope choice with %q:\n%s", l.lang, page.code, l.want, page.body)
		}
	}

	patch := func(i int, scope string, at time.Time) reply {
		return in.do("PATCH", in.url+"/api/v1/bookings/"+s.Occurrences[i].ID+"?scope="+scope, "zhangsan",
			strings.NewReader(fmt.Sprintf(`{"start":%q,"end":%q}`, at.Format(time.RFC3339), at.Add(time.Hour).Format(time.RFC3339))))
	}
	// The second occurrence (a week after the first, in DingTalk) and the later ones two
	// days earlier: the second is now before the cutover.
	if r := patch(1, "following", in.day(6, 18, 0)); r.code != http.StatusOK {
		t.Fatalf("PATCH ?scope=following = %d %s", r.code, r.body)
	}
	if got := backends(); got != "oa oa dingtalk dingtalk " {
		t.Errorf("after moving the following two days earlier the occurrences go to %s, want oa oa dingtalk dingtalk", got)
	}
	if seq, rule, n := in.seriesFeed(t, "zhangsan", s.UID); seq != "1" || rule == "" || n < 2 {
		t.Errorf("me feed after the first change: SEQUENCE %q, RRULE %q, %d events; want SEQUENCE 1 on one series with the first occurrence as an override", seq, rule, n)
	}
	// The whole series from the first occurrence, now two days later than it was: the
	// second (in the OA) is after the cutover again.
	if r := patch(0, "all", in.day(3, 18, 0)); r.code != http.StatusOK {
		t.Fatalf("PATCH ?scope=all = %d %s", r.code, r.body)
	}
	if got := backends(); got != "oa dingtalk dingtalk dingtalk " {
		t.Errorf("after moving the whole series the occurrences go to %s, want oa dingtalk dingtalk dingtalk", got)
	}
	if seq, rule, n := in.seriesFeed(t, "zhangsan", s.UID); seq != "2" || !strings.Contains(rule, "COUNT=4") || n != 1 {
		t.Errorf("me feed after the second change: SEQUENCE %q, RRULE %q, %d events; want SEQUENCE 2 on one event with the rule", seq, rule, n)
	}
	// A change onto a taken slot is refused with the date.
	taken := in.day(17, 18, 0)
	if r := in.do("POST", in.url+"/api/v1/bookings", "lisi", strings.NewReader(bookingBody("duowei", "占用", taken.Add(-time.Hour), time.Hour))); r.code != http.StatusCreated {
		t.Fatalf("POST a booking at %s = %d %s", taken.Add(-time.Hour), r.code, r.body)
	}
	r := patch(0, "all", in.day(3, 17, 0))
	if code, msg := in.error(r); r.code != http.StatusConflict || code != "series_taken" || !strings.Contains(msg, taken.Add(-time.Hour).Format("2006-01-02 15:04")) {
		t.Errorf("PATCH onto a taken slot = %d %s, want 409 series_taken naming %s", r.code, r.body, taken.Add(-time.Hour).Format("2006-01-02 15:04"))
	}
}

// TestMigrateBookingsResplitsSeries: with the cutover configured one week later than the
// one a series was booked with, migrate-bookings lists the series (dry run), then books
// its DingTalk occurrence now before the cutover in the OA and makes the recurring event
// again from the cutover on; the feed keeps the UID with SEQUENCE 1; a second run finds
// nothing to move.
func TestMigrateBookingsResplitsSeries(t *testing.T) {
	in := start(t, nil)
	s, backends := in.bookWeekly(t)
	env := in.operatorEnv(in.day(14, 0, 0))

	dry, log, err := in.migrateBookings(t, env, "--dry-run")
	if err != nil || len(dry.Series) != 1 || dry.Series[0].UID != s.UID || dry.Series[0].Moves != 1 || dry.Series[0].Outcome != "to_move" {
		t.Fatalf("migrate-bookings --dry-run = %+v, %v; want the series with one occurrence to move\n%s", dry.Series, err, log)
	}
	if got := backends(); got != "oa dingtalk dingtalk dingtalk " {
		t.Errorf("after the dry run the occurrences go to %s, want them unchanged", got)
	}
	res, log, err := in.migrateBookings(t, env)
	if err != nil || len(res.Series) != 1 || res.Series[0].Outcome != "moved" || res.Series[0].Sequence != 1 {
		t.Fatalf("migrate-bookings = %+v, %v; want the series moved with SEQUENCE 1\n%s", res.Series, err, log)
	}
	if got := backends(); got != "oa oa dingtalk dingtalk " {
		t.Errorf("after migrate-bookings the occurrences go to %s, want oa oa dingtalk dingtalk", got)
	}
	var events []struct {
		Status     string    `json:"status"`
		Start      time.Time `json:"start"`
		Recurrence any       `json:"recurrence"`
	}
	in.do("GET", in.dtURL+"/_fake/events", "", nil).json(t, &events)
	live := 0
	for _, e := range events {
		if e.Status != "cancelled" && e.Recurrence != nil {
			live++
			if !e.Start.Equal(in.day(15, 18, 0)) {
				t.Errorf("live DingTalk recurring event %+v, want it to start on %s", e, in.day(15, 18, 0))
			}
		}
	}
	if live != 1 {
		t.Errorf("DingTalk holds %d live recurring events, want 1", live)
	}
	if seq, rule, n := in.seriesFeed(t, "zhangsan", s.UID); seq != "1" || !strings.Contains(rule, "COUNT=4") || n != 1 {
		t.Errorf("me feed after migrate-bookings: SEQUENCE %q, RRULE %q, %d events; want SEQUENCE 1 on one series event", seq, rule, n)
	}
	again, log, err := in.migrateBookings(t, env)
	if err != nil || len(again.Series) != 0 {
		t.Errorf("migrate-bookings again = %+v, %v; want nothing to move\n%s", again.Series, err, log)
	}
}

// TestServeSeriesEditRefusedAndOlderEvent: DingTalk refuses the recurring event a change
// "this and following" makes (the room is busy there, unseen by the bridge): the
// occurrences keep their old time and DingTalk ids, and say why in both languages. A
// later change from the next DingTalk occurrence and the cancellation of the one left
// behind leave no event of the series in DingTalk.
func TestServeSeriesEditRefusedAndOlderEvent(t *testing.T) {
	in := start(t, nil)
	s, _ := in.bookWeekly(t) // 18:00, the first in the OA, three in DingTalk
	type occurrence struct {
		booking
		Start      string `json:"start"`
		ReasonCode string `json:"reason_code"`
	}
	get := func(id, lang string) occurrence {
		t.Helper()
		var o occurrence
		in.settle("zhangsan", id)
		in.do("GET", in.url+"/api/v1/bookings/"+id, "zhangsan", nil, "Accept-Language", lang).json(t, &o)
		return o
	}
	var before []occurrence
	for _, o := range s.Occurrences {
		before = append(before, get(o.ID, "zh-CN"))
	}
	patch := func(i int, scope string, at time.Time) reply {
		return in.do("PATCH", in.url+"/api/v1/bookings/"+s.Occurrences[i].ID+"?scope="+scope, "zhangsan",
			strings.NewReader(fmt.Sprintf(`{"start":%q,"end":%q}`, at.Format(time.RFC3339), at.Add(time.Hour).Format(time.RFC3339))))
	}
	if r := in.do("POST", in.dtURL+"/_fake/faults", "", strings.NewReader(`{"kind":"room_busy","api":"AddMeetingRooms","times":1}`)); r.code/100 != 2 {
		t.Fatalf("set DingTalk fault = %d %s", r.code, r.body)
	}
	if r := patch(1, "following", in.day(8, 20, 0)); r.code != http.StatusOK {
		t.Fatalf("PATCH ?scope=following = %d %s", r.code, r.body)
	}
	for i := 1; i < 4; i++ {
		zh, en := get(s.Occurrences[i].ID, "zh-CN"), get(s.Occurrences[i].ID, "en")
		if zh.Status != "confirmed" || zh.Start != before[i].Start || zh.RemoteID != before[i].RemoteID || zh.ReasonCode != "reschedule_refused" ||
			!strings.Contains(zh.Reason, "改期被拒绝") || !strings.Contains(en.Reason, "reschedule was refused") {
			t.Errorf("occurrence %d after DingTalk refused its new slot = %+v / %q; want confirmed at %s as %s, reason reschedule_refused in both languages",
				i, zh, en.Reason, before[i].Start, before[i].RemoteID)
		}
	}

	// From the third occurrence on to 20:00 (now accepted), then the second cancelled:
	// the event the three were in is left empty, and goes.
	if r := patch(2, "following", in.day(15, 20, 0)); r.code != http.StatusOK {
		t.Fatalf("PATCH ?scope=following from the third = %d %s", r.code, r.body)
	}
	for i := 2; i < 4; i++ {
		if o := get(s.Occurrences[i].ID, "en"); o.Status != "confirmed" || o.ReasonCode != "" || !strings.Contains(o.Start, "T20:00:00") {
			t.Errorf("occurrence %d after the second change = %+v, want confirmed at 20:00", i, o)
		}
	}
	if r := in.do("DELETE", in.url+"/api/v1/bookings/"+s.Occurrences[1].ID+"?scope=this", "zhangsan", nil); r.code != http.StatusOK {
		t.Fatalf("DELETE ?scope=this = %d %s", r.code, r.body)
	}
	liveSeriesEvents := func() []string {
		t.Helper()
		var events []struct {
			ID, Summary, Status string
			Native              bool
		}
		in.do("GET", in.dtURL+"/_fake/events", "", nil).json(t, &events)
		var out []string
		for _, e := range events {
			if e.Summary == "周例会" && e.Status != "cancelled" && !e.Native {
				out = append(out, e.ID)
			}
		}
		return out
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(liveSeriesEvents()) != 1 && time.Now().Before(deadline) {
		in.settle("zhangsan", s.Occurrences[1].ID)
	}
	if got := liveSeriesEvents(); len(got) != 1 {
		t.Errorf("after the change and the cancellation DingTalk holds events %v of the series, want only the new one", got)
	}
	if r := in.do("DELETE", in.url+"/api/v1/bookings/"+s.Occurrences[2].ID+"?scope=all", "zhangsan", nil); r.code != http.StatusOK {
		t.Fatalf("DELETE ?scope=all = %d %s", r.code, r.body)
	}
	deadline = time.Now().Add(30 * time.Second)
	for len(liveSeriesEvents()) != 0 && time.Now().Before(deadline) {
		in.settle("zhangsan", s.Occurrences[2].ID)
	}
	if got := liveSeriesEvents(); len(got) != 0 {
		t.Errorf("after cancelling the series DingTalk still holds its events %v", got)
	}
}

// frozenEnv is operatorEnv with the OA freeze an hour ago: the OA can be neither read nor
// written any more.
func (in *instance) frozenEnv(cutover time.Time) map[string]string {
	env := in.operatorEnv(cutover)
	env["ROOMBRIDGE_OA_FREEZE"] = time.Now().Add(-time.Hour).Format(time.RFC3339)
	return env
}

// migrateBookingsText runs migrate-bookings without --json and returns its output.
func migrateBookingsText(env map[string]string, args ...string) (string, error) {
	var out, errb strings.Builder
	err := run(context.Background(), append([]string{"migrate-bookings"}, args...), func(k string) string { return env[k] }, &out, &errb)
	return out.String() + errb.String(), err
}

// TestMigrateBookingsResplitAfterFreeze re-splits series after the OA freeze. With the
// cutover moved earlier, the OA occurrence now after it is created in DingTalk from the
// stored row, its OA booking is left in the OA (from_snapshot in the output and the
// audit log). With the cutover moved later, the DingTalk occurrence now before it cannot
// be booked in the frozen OA: it stays in DingTalk, reported with reason oa_frozen in
// the text and --json, the run exits with an error, and nothing changes, every run.
func TestMigrateBookingsResplitAfterFreeze(t *testing.T) {
	t.Run("cutover earlier: OA occurrence from the snapshot", func(t *testing.T) {
		in := start(t, nil)
		first := in.day(1, 18, 0)
		body := strings.TrimSuffix(bookingBody("duowei", "三日会", first, time.Hour), "}") + `,"rrule":"FREQ=DAILY;INTERVAL=3;COUNT=4"}`
		var s seriesReply
		if r := in.do("POST", in.url+"/api/v1/bookings", "zhangsan", strings.NewReader(body)); r.code != http.StatusCreated {
			t.Fatalf("POST series = %d %s", r.code, r.body)
		} else {
			r.json(t, &s)
		}
		backends := func() string {
			out := ""
			for _, o := range s.Occurrences {
				out += in.settle("zhangsan", o.ID).Backend + " "
			}
			return out
		}
		if got := backends(); got != "oa oa dingtalk dingtalk " {
			t.Fatalf("occurrences go to %s, want oa oa dingtalk dingtalk", got)
		}
		var oaApp string
		var oaHeld []struct {
			AppID     string    `json:"appId"`
			Start     time.Time `json:"start"`
			Cancelled bool      `json:"cancelled"`
		}
		in.do("GET", in.oaURL+"/_fake/bookings", "", nil).json(t, &oaHeld)
		for _, b := range oaHeld {
			if b.Start.Equal(in.day(4, 18, 0)) && !b.Cancelled {
				oaApp = b.AppID
			}
		}
		if oaApp == "" {
			t.Fatalf("OA fake = %+v, want the occurrence on day 4", oaHeld)
		}
		env := in.frozenEnv(in.day(3, 0, 0))

		dry, log, err := in.migrateBookings(t, env, "--dry-run")
		if err != nil || len(dry.Series) != 1 || dry.Series[0].Outcome != "to_move" || !dry.Series[0].FromSnapshot || len(dry.Series[0].Occurrences) != 1 {
			t.Fatalf("migrate-bookings --dry-run = %+v, %v; want one occurrence to move from the snapshot\n%s", dry.Series, err, log)
		}
		if oc := dry.Series[0].Occurrences[0]; !oc.Start.Equal(in.day(4, 18, 0)) || oc.From != "oa" || oc.To != "dingtalk" || oc.Reason != "" || !oc.FromSnapshot {
			t.Errorf("dry run occurrence = %+v, want day 4 oa → dingtalk from the snapshot", oc)
		}
		text, err := migrateBookingsText(env)
		if err != nil || !strings.Contains(text, "oa → dingtalk (from the last OA snapshot; the OA still lists it)") || !strings.Contains(text, ": moved") {
			t.Fatalf("migrate-bookings = %v, want the series moved and the occurrence marked from the snapshot:\n%s", err, text)
		}
		if got := backends(); got != "oa dingtalk dingtalk dingtalk " {
			t.Errorf("after migrate-bookings the occurrences go to %s, want oa dingtalk dingtalk dingtalk", got)
		}
		in.do("GET", in.oaURL+"/_fake/bookings", "", nil).json(t, &oaHeld)
		for _, b := range oaHeld {
			if b.AppID == oaApp && b.Cancelled {
				t.Errorf("the OA booking %s was cancelled after the freeze", oaApp)
			}
		}
		audit := in.do("GET", in.url+"/admin/audit?reservation="+s.SeriesID, "admin", nil, "Accept-Language", "en")
		if !strings.Contains(string(audit.body), "resplit_series") || !strings.Contains(string(audit.body), "from_snapshot=1") {
			t.Errorf("audit of the series = %d, want resplit_series with from_snapshot=1:\n%s", audit.code, audit.body)
		}
		again, log, err := in.migrateBookings(t, env)
		if err != nil || len(again.Series) != 0 {
			t.Errorf("migrate-bookings again = %+v, %v; want nothing to move\n%s", again.Series, err, log)
		}
	})

	t.Run("cutover later: DingTalk occurrence kept", func(t *testing.T) {
		in := start(t, nil)
		s, backends := in.bookWeekly(t)
		env := in.frozenEnv(in.day(14, 0, 0))
		var events []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		in.do("GET", in.dtURL+"/_fake/events", "", nil).json(t, &events)
		for _, args := range [][]string{{"--dry-run"}, nil, nil} {
			res, log, err := in.migrateBookings(t, env, args...)
			dry := len(args) > 0
			if dry != (err == nil) || err != nil && !strings.Contains(err.Error(), "oa_frozen") {
				t.Errorf("migrate-bookings %v = %v; want an oa_frozen error from a real run only\n%s", args, err, log)
			}
			if len(res.Series) != 1 || res.Series[0].UID != s.UID || res.Series[0].Outcome != "kept" || res.Series[0].Sequence != 0 || len(res.Series[0].Occurrences) != 1 {
				t.Fatalf("migrate-bookings %v series = %+v; want the series kept, unchanged", args, res.Series)
			}
			if oc := res.Series[0].Occurrences[0]; !oc.Start.Equal(in.day(8, 18, 0)) || oc.From != "dingtalk" || oc.To != "oa" || oc.Reason != "oa_frozen" {
				t.Errorf("migrate-bookings %v occurrence = %+v, want day 8 dingtalk → oa, reason oa_frozen", args, oc)
			}
		}
		text, err := migrateBookingsText(env)
		if err == nil || !strings.Contains(text, ": kept") || !strings.Contains(text, "dingtalk → oa: stays in dingtalk (oa_frozen") {
			t.Errorf("migrate-bookings = %v, want an error and the occurrence reported as staying in DingTalk:\n%s", err, text)
		}
		if got := backends(); got != "oa dingtalk dingtalk dingtalk " {
			t.Errorf("after migrate-bookings the occurrences go to %s, want them unchanged", got)
		}
		var after []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		in.do("GET", in.dtURL+"/_fake/events", "", nil).json(t, &after)
		if fmt.Sprint(after) != fmt.Sprint(events) {
			t.Errorf("DingTalk fake events = %+v after the runs, want them unchanged %+v", after, events)
		}
	})
}
