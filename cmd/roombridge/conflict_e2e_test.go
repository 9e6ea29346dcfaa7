package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

type conflictReply struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
	Rule   string `json:"rule"`
	Sides  []struct {
		ReservationID string `json:"reservation_id"`
		Backend       string `json:"backend"`
		RemoteID      string `json:"remote_id"`
		Status        string `json:"status"`
		Title         string `json:"title"`
	} `json:"sides"`
	Suggestion struct {
		Action string `json:"action"`
		Keep   string `json:"keep"`
	} `json:"suggestion"`
	Resolution *struct {
		Action    string `json:"action"`
		Outcome   string `json:"outcome"`
		ErrorCode string `json:"error_code"`
	} `json:"resolution"`
}

// conflictsWith lists the conflicts (any status) one of whose sides has the remote id.
func (in *instance) conflictsWith(t *testing.T, remote string) []conflictReply {
	t.Helper()
	var all []conflictReply
	r := in.do("GET", in.url+"/api/v1/conflicts", "admin", nil)
	if r.code != http.StatusOK {
		t.Fatalf("GET /api/v1/conflicts = %d %s", r.code, r.body)
	}
	r.json(t, &all)
	var out []conflictReply
	for _, c := range all {
		for _, s := range c.Sides {
			if s.RemoteID == remote {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// waitConflict polls a conflict (bounded) until cond holds.
func (in *instance) waitConflict(t *testing.T, id string, cond func(conflictReply) bool) conflictReply {
	t.Helper()
	var c conflictReply
	for i := 0; i < 200; i++ {
		in.do("GET", in.url+"/api/v1/conflicts/"+id, "admin", nil).json(t, &c)
		if cond(c) {
			return c
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("conflict %s never reached the state wanted: %+v\n%s", id, c, in.stderr)
	return c
}

// nativePair books one room natively in both fakes at overlapping times and returns the
// OA appId and the DingTalk event id.
func (in *instance) nativePair(t *testing.T, start time.Time, title string) (oaID, dtID string) {
	t.Helper()
	oa := in.oaNative(t, start, "OA "+title)
	var dt struct {
		ID string `json:"id"`
	}
	in.do("POST", in.dtURL+"/_fake/events", "", strings.NewReader(fmt.Sprintf(`{"organizerUnionId":"union-wangwu","roomId":"dt-sk-xiaoyao","title":%q,"start":%q,"end":%q}`,
		"钉钉 "+title, start.Add(30*time.Minute).Format(time.RFC3339), start.Add(90*time.Minute).Format(time.RFC3339)))).json(t, &dt)
	if dt.ID == "" {
		t.Fatalf("native DingTalk booking not made: %+v", dt)
	}
	return oa, dt.ID
}

// oaNative books 逍遥会议室 for an hour from start natively in the OA fake, as lisi, and
// returns the appId.
func (in *instance) oaNative(t *testing.T, start time.Time, description string) string {
	t.Helper()
	var oa struct {
		AppID string `json:"appId"`
	}
	in.do("POST", in.oaURL+"/_fake/bookings", "", strings.NewReader(fmt.Sprintf(`{"roomId":"3470188923641725004","loginName":"lisi","start":%q,"end":%q,"description":%q}`,
		start.Format(time.RFC3339), start.Add(time.Hour).Format(time.RFC3339), description))).json(t, &oa)
	if oa.AppID == "" {
		t.Fatalf("native OA booking not made at %s", start)
	}
	return oa.AppID
}

// TestConflictsAcrossBothSystems: natively overlapping bookings of one room in both
// fakes become exactly one conflict after a sync pass, whose suggestion keeps the OA side
// before the cutover and the DingTalk side after it; resolving cancels the loser in its
// fake, audits, closes the conflict and shows the loser cancelled in the feed; another
// sync makes no duplicate. Staff get 403 on every conflicts route and admin page.
func TestConflictsAcrossBothSystems(t *testing.T) {
	in := start(t, nil)
	preOA, preDT := in.nativePair(t, in.day(2, 8, 0), "撞车-前")
	postOA, postDT := in.nativePair(t, in.day(9, 8, 0), "撞车-后")
	in.sync(t)

	sideOf := func(c conflictReply, backend string) string {
		for _, s := range c.Sides {
			if s.Backend == backend {
				return s.ReservationID
			}
		}
		return ""
	}
	for _, tc := range []struct {
		name, oa, dt, keep string
	}{{"before the cutover", preOA, preDT, "oa"}, {"after the cutover", postOA, postDT, "dingtalk"}} {
		cs := in.conflictsWith(t, tc.oa)
		if len(cs) != 1 || cs[0].Kind != "overlap" || cs[0].Status != "open" || len(in.conflictsWith(t, tc.dt)) != 1 {
			t.Fatalf("%s: conflicts with the OA booking = %+v, want exactly one open overlap shared with the DingTalk one\n%s", tc.name, cs, in.stderr)
		}
		if got := cs[0].Suggestion; got.Action != "keep" || got.Keep != sideOf(cs[0], tc.keep) || cs[0].Rule != "owner_wins" {
			t.Errorf("%s: suggestion = %+v (rule %s), want keep the %s side", tc.name, got, cs[0].Rule, tc.keep)
		}
	}

	// Resolve the pre-cutover one as suggested: the DingTalk event goes.
	c := in.conflictsWith(t, preOA)[0]
	loser := sideOf(c, "dingtalk")
	r := in.do("POST", in.url+"/api/v1/conflicts/"+c.ID+"/resolve", "admin", strings.NewReader(fmt.Sprintf(`{"action":"keep","keep":%q}`, c.Suggestion.Keep)))
	if r.code != http.StatusAccepted {
		t.Fatalf("POST resolve = %d %s", r.code, r.body)
	}
	done := in.waitConflict(t, c.ID, func(c conflictReply) bool {
		return c.Status != "open" || (c.Resolution != nil && c.Resolution.Outcome == "failed")
	})
	if done.Status != "resolved" || done.Resolution == nil || done.Resolution.Action != "keep" || done.Resolution.Outcome != "done" {
		t.Fatalf("conflict after resolving = %+v, want resolved by keep, done", done)
	}
	var events []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	in.do("GET", in.dtURL+"/_fake/events", "", nil).json(t, &events)
	for _, e := range events {
		if e.ID == preDT && e.Status != "cancelled" {
			t.Errorf("the losing DingTalk event = %+v, want cancelled in the fake", e)
		}
	}
	var oaHeld []struct {
		AppID     string `json:"appId"`
		Cancelled bool   `json:"cancelled"`
	}
	in.do("GET", in.oaURL+"/_fake/bookings", "", nil).json(t, &oaHeld)
	for _, b := range oaHeld {
		if b.AppID == preOA && b.Cancelled {
			t.Errorf("the kept OA booking was cancelled in the fake")
		}
	}
	var lost booking
	in.do("GET", in.url+"/api/v1/bookings/"+loser, "admin", nil).json(t, &lost)
	if lost.Status != "cancelled" {
		t.Errorf("the losing reservation = %+v, want cancelled", lost)
	}
	audit := in.do("GET", in.url+"/admin/audit?reservation="+loser, "admin", nil)
	if !strings.Contains(string(audit.body), "conflict_keep") || !strings.Contains(string(audit.body), "conflict="+c.ID) {
		t.Errorf("the audit log of %s lacks the resolution:\n%s", loser, audit.body)
	}
	// The feed shows the loser cancelled.
	var tok struct {
		URLs struct {
			Rooms map[string]string `json:"rooms"`
		} `json:"urls"`
	}
	in.do("POST", in.url+"/api/v1/feed-tokens", "admin", strings.NewReader(`{"label":"conflicts"}`)).json(t, &tok)
	u := tok.URLs.Rooms["sk-xiaoyao"]
	feed, fr, _ := in.feed(t, in.url+u[strings.Index(u, "/ical/"):])
	if fr.code != http.StatusOK || feed["dingtalk-"+preDT+"@roombridge"].status != "CANCELLED" || feed["oa-"+preOA+"@roombridge"].status != "CONFIRMED" {
		t.Errorf("room feed: loser %+v, winner %+v; want CANCELLED and CONFIRMED", feed["dingtalk-"+preDT+"@roombridge"], feed["oa-"+preOA+"@roombridge"])
	}

	// Another sync pass: no duplicate, the resolved one stays resolved.
	in.sync(t)
	if cs := in.conflictsWith(t, preOA); len(cs) != 1 || cs[0].Status != "resolved" {
		t.Errorf("after a second sync, conflicts with the OA booking = %+v, want the one resolved", cs)
	}
	if cs := in.conflictsWith(t, postOA); len(cs) != 1 || cs[0].Status != "open" {
		t.Errorf("after a second sync, conflicts with the post-cutover OA booking = %+v, want the one still open", cs)
	}

	// The organizer of a booking in an open conflict sees a warning on its page, in my
	// bookings and in the form's timeline.
	post := in.conflictsWith(t, postOA)[0]
	dtSide := sideOf(post, "dingtalk")
	const warning = "这个预订与其他预订冲突"
	if page := in.do("GET", in.url+"/bookings/"+dtSide, "wangwu", nil); page.code != http.StatusOK || !strings.Contains(string(page.body), warning) {
		t.Errorf("GET /bookings/%s as its organizer = %d, want the conflict warning\n%s", dtSide, page.code, page.body)
	}
	if page := in.do("GET", in.url+"/bookings", "wangwu", nil); !strings.Contains(string(page.body), warning) {
		t.Errorf("my bookings of wangwu lack the conflict warning:\n%s", page.body)
	}
	var busy []struct {
		Backend  string `json:"backend"`
		Conflict bool   `json:"conflict"`
	}
	d := in.day(9, 0, 0)
	in.do("GET", in.url+"/api/v1/availability?room=sk-xiaoyao&from="+urlTime(d)+"&to="+urlTime(d.Add(24*time.Hour)), "zhaoliu", nil).json(t, &busy)
	flagged := 0
	for _, b := range busy {
		if b.Conflict {
			flagged++
		}
	}
	if flagged != 2 {
		t.Errorf("availability of the conflicting day = %+v, want both bookings flagged", busy)
	}
	if page := in.do("GET", in.url+"/bookings/"+sideOf(in.conflictsWith(t, preOA)[0], "oa"), "admin", nil); strings.Contains(string(page.body), warning) {
		t.Errorf("the kept booking of a resolved conflict still shows the warning")
	}

	// Staff: 403 on every conflicts route and admin page.
	for _, rq := range []struct{ method, path, body string }{
		{"GET", "/api/v1/conflicts", ""}, {"GET", "/api/v1/conflicts/" + post.ID, ""},
		{"POST", "/api/v1/conflicts/" + post.ID + "/resolve", `{"action":"dismiss","note":"x"}`},
		{"GET", "/admin", ""}, {"GET", "/admin/conflicts", ""}, {"GET", "/admin/conflicts/" + post.ID, ""},
		{"POST", "/admin/conflicts/" + post.ID + "/resolve", ""}, {"GET", "/admin/cutover", ""}, {"POST", "/admin/cutover/migrate", ""},
		{"GET", "/admin/outbox", ""}, {"POST", "/admin/outbox/x/retry", ""}, {"GET", "/admin/audit", ""}, {"GET", "/admin/rooms", ""}, {"POST", "/admin/rooms/refresh", ""},
		{"POST", "/admin/sync", ""},
	} {
		var body *strings.Reader
		hdr := []string{"Sec-Fetch-Site", "same-origin"}
		if rq.body != "" {
			body = strings.NewReader(rq.body)
		} else if rq.method == "POST" {
			body = strings.NewReader("action=dismiss&note=x")
			hdr = append(hdr, "Content-Type", "application/x-www-form-urlencoded")
		}
		var r reply
		if body != nil {
			r = in.do(rq.method, in.url+rq.path, "zhangsan", body, hdr...)
		} else {
			r = in.do(rq.method, in.url+rq.path, "zhangsan", nil, hdr...)
		}
		if r.code != http.StatusForbidden {
			t.Errorf("%s %s as staff = %d, want 403", rq.method, rq.path, r.code)
		}
	}
	if c := in.conflictsWith(t, postOA)[0]; c.Status != "open" {
		t.Errorf("a staff request changed the conflict: %+v", c)
	}
}

// operatorEnv is the environment of a command run beside the demo instance: the same
// database and the instance's fakes as real backends, the demo's cutover.
func (in *instance) operatorEnv(cutover time.Time) map[string]string {
	return map[string]string{
		"ROOMBRIDGE_DB": in.db, "ROOMBRIDGE_AUTH": "header", "ROOMBRIDGE_ADMINS": "admin",
		"ROOMBRIDGE_OA_URL": in.oaURL, "ROOMBRIDGE_OA_REST_USER": fakeOAUser, "ROOMBRIDGE_OA_REST_PASSWORD": fakeOAPassword,
		"ROOMBRIDGE_DINGTALK_URL": in.dtURL, "ROOMBRIDGE_DINGTALK_OAPI_URL": in.dtURL,
		"ROOMBRIDGE_DINGTALK_APP_KEY": fakeAppKey, "ROOMBRIDGE_DINGTALK_APP_SECRET": fakeAppSecret,
		"ROOMBRIDGE_CUTOVER": cutover.Format(time.RFC3339), "ROOMBRIDGE_OA_FREEZE": cutover.Add(-time.Hour).Format(time.RFC3339),
	}
}

func (in *instance) migrateBookings(t *testing.T, env map[string]string, args ...string) (migrateResult, string, error) {
	t.Helper()
	var out, errb strings.Builder
	err := run(context.Background(), append([]string{"migrate-bookings", "--json"}, args...), func(k string) string { return env[k] }, &out, &errb)
	var res migrateResult
	if jerr := json.Unmarshal([]byte(out.String()), &res); jerr != nil {
		t.Fatalf("migrate-bookings %v: %v (the command returned %v); output %q\n%s", args, jerr, err, out.String(), errb.String())
	}
	return res, errb.String(), err
}

// TestMigrateBookings: an OA booking dated after the cutover is listed by the dry run;
// migrate-bookings moves it into DingTalk (same room), cancels it in the OA, and the feed
// keeps its UID with a higher SEQUENCE; a second run changes nothing.
func TestMigrateBookings(t *testing.T) {
	in := start(t, nil)
	when := in.day(9, 10, 0)
	appID := in.oaNative(t, when, "切换后的 OA 会")
	in.sync(t)
	if cs := in.conflictsWith(t, appID); len(cs) != 1 || cs[0].Kind != "wrong_system" || cs[0].Suggestion.Action != "migrate" {
		t.Errorf("conflicts of the OA booking after the cutover = %+v, want one wrong_system suggesting migrate", cs)
	}
	env := in.operatorEnv(in.day(7, 0, 0))
	uid := "oa-" + appID + "@roombridge"

	dry, log, err := in.migrateBookings(t, env, "--dry-run")
	if err != nil {
		t.Fatalf("migrate-bookings --dry-run = %v\n%s", err, log)
	}
	var id string
	for _, it := range dry.Report.Items {
		if it.RemoteID == appID {
			id = it.ID
		}
	}
	if id == "" || !dry.DryRun || dry.Outcomes != nil {
		t.Fatalf("dry run = %+v, want the OA booking listed and nothing done", dry)
	}

	var tok struct {
		URLs struct {
			Rooms map[string]string `json:"rooms"`
		} `json:"urls"`
	}
	in.do("POST", in.url+"/api/v1/feed-tokens", "admin", strings.NewReader(`{"label":"migrate"}`)).json(t, &tok)
	u := tok.URLs.Rooms["sk-xiaoyao"]
	feedURL := in.url + u[strings.Index(u, "/ical/"):]
	before, _, _ := in.feed(t, feedURL)
	if before[uid].status != "CONFIRMED" {
		t.Fatalf("feed before = %+v, want the OA booking confirmed", before[uid])
	}

	res, log, err := in.migrateBookings(t, env)
	if err != nil {
		t.Fatalf("migrate-bookings = %v\n%+v\n%s", err, res, log)
	}
	var dtID string
	for _, o := range res.Outcomes {
		if o.ReservationID == id {
			if o.Outcome != "migrated" {
				t.Fatalf("outcome of %s = %+v, want migrated", id, o)
			}
			dtID = o.RemoteID
		}
	}
	var events []struct {
		ID      string    `json:"id"`
		Status  string    `json:"status"`
		RoomIDs []string  `json:"roomIds"`
		Start   time.Time `json:"start"`
	}
	in.do("GET", in.dtURL+"/_fake/events", "", nil).json(t, &events)
	found := 0
	for _, e := range events {
		if e.ID == dtID && e.Status != "cancelled" && len(e.RoomIDs) == 1 && e.RoomIDs[0] == "dt-sk-xiaoyao" && e.Start.Equal(when) {
			found++
		}
	}
	if found != 1 {
		t.Errorf("DingTalk fake events = %+v, want %s booked in dt-sk-xiaoyao at %s", events, dtID, when)
	}
	var oaHeld []struct {
		AppID     string `json:"appId"`
		Cancelled bool   `json:"cancelled"`
	}
	in.do("GET", in.oaURL+"/_fake/bookings", "", nil).json(t, &oaHeld)
	for _, b := range oaHeld {
		if b.AppID == appID && !b.Cancelled {
			t.Errorf("the OA booking is still held in the OA fake after migration")
		}
	}
	after, _, _ := in.feed(t, feedURL)
	if after[uid].status != "CONFIRMED" || after[uid].sequence <= before[uid].sequence || !after[uid].start.Equal(when) {
		t.Errorf("feed after = %+v (before %+v), want the same UID confirmed with a higher SEQUENCE", after[uid], before[uid])
	}
	if cs := in.conflictsWith(t, appID); len(cs) != 1 || cs[0].Status != "resolved" {
		t.Errorf("the wrong_system conflict after migration = %+v, want resolved", cs)
	}

	// Again: nothing left, nothing doubled.
	again, log, err := in.migrateBookings(t, env)
	if err != nil || len(again.Report.Items) != 0 || len(again.Outcomes) != 0 {
		t.Errorf("second migrate-bookings = %+v, %v, want nothing to do\n%s", again, err, log)
	}
	var events2 []struct {
		ID string `json:"id"`
	}
	in.do("GET", in.dtURL+"/_fake/events", "", nil).json(t, &events2)
	if len(events2) != len(events) {
		t.Errorf("DingTalk fake has %d events after the second run, want %d", len(events2), len(events))
	}
}
