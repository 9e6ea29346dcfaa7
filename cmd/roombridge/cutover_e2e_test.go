package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCutoverReportSeries: a series booked through the bridge across the cutover (its
// first meeting in the OA, the rest one DingTalk recurring event) is reported once, from
// the series table, by migrate-bookings --dry-run --json and on /admin/cutover; two
// unrelated bookings with one title, organizer and room on either side of the cutover
// are not taken for a series.
func TestCutoverReportSeries(t *testing.T) {
	in := start(t, nil)
	first := in.day(1, 18, 0)
	rule := "FREQ=WEEKLY;BYDAY=" + strings.ToUpper(first.Weekday().String()[:2]) + ";COUNT=4"
	body := strings.TrimSuffix(bookingBody("duowei", "跨切换周会", first, time.Hour), "}") + fmt.Sprintf(`,"rrule":%q}`, rule)
	var ser seriesReply
	r := in.do("POST", in.url+"/api/v1/bookings", "zhangsan", strings.NewReader(body), "Idempotency-Key", "cutover-series")
	r.json(t, &ser)
	if r.code != http.StatusCreated || len(ser.Occurrences) != 4 {
		t.Fatalf("POST series = %d %s, want 201 with 4 occurrences", r.code, r.body)
	}
	for _, o := range ser.Occurrences {
		if got := in.settle("zhangsan", o.ID); got.Status != "confirmed" {
			t.Fatalf("occurrence %s = %s, want confirmed", o.Start, got.Status)
		}
	}
	// One title, organizer and room before the cutover (through the bridge) and after it
	// (natively in the OA): two one-offs.
	before := in.day(2, 15, 0)
	var one booking
	in.do("POST", in.url+"/api/v1/bookings", "lisi", strings.NewReader(bookingBody("sk-xiaoyao", "部门例会", before, time.Hour)), "Idempotency-Key", "one-off").json(t, &one)
	if got := in.settle("lisi", one.ID); got.Status != "confirmed" || got.Backend != "oa" {
		t.Fatalf("booking before the cutover = %+v, want confirmed in the OA", got)
	}
	after := in.day(9, 15, 0)
	nativeID := in.oaNative(t, after, "部门例会")
	in.sync(t)

	dry, log, err := in.migrateBookings(t, in.operatorEnv(in.day(7, 0, 0)), "--dry-run")
	if err != nil {
		t.Fatalf("migrate-bookings --dry-run = %v\n%s", err, log)
	}
	found := 0
	for _, x := range dry.Report.Series {
		if x.Title == "部门例会" {
			t.Errorf("dry run series %+v: two unrelated bookings reported as a series", x)
		}
		if x.ID != ser.SeriesID {
			continue
		}
		found++
		if x.OABefore != 1 || x.DingTalkAfter != 3 || x.OAAfter != 0 || x.DingTalkEventID == "" || x.RRule != rule {
			t.Errorf("dry run series = %+v, want 1 OA meeting before, 3 in one DingTalk event after, rule %s", x, rule)
		}
	}
	if found != 1 {
		t.Errorf("dry run lists series %s %d times, want once: %+v", ser.SeriesID, found, dry.Report.Series)
	}
	nativeListed := false
	for _, it := range dry.Report.Items {
		if it.Title == "跨切换周会" {
			t.Errorf("dry run item %+v is an occurrence of the bridge series, want it left to its series", it)
		}
		nativeListed = nativeListed || it.RemoteID == nativeID
	}
	if !nativeListed {
		t.Errorf("dry run items = %+v, want the native OA booking after the cutover", dry.Report.Items)
	}

	page := in.do("GET", in.url+"/admin/cutover", "admin", nil, "Accept-Language", "en")
	html := string(page.body)
	if page.code != http.StatusOK {
		t.Fatalf("GET /admin/cutover = %d", page.code)
	}
	if n := strings.Count(html, `data-series="`+ser.SeriesID+`"`); n != 1 {
		t.Errorf("/admin/cutover shows series %s %d times, want once", ser.SeriesID, n)
	}
	if n := strings.Count(html, "跨切换周会"); n != 1 {
		t.Errorf("/admin/cutover names the series %d times, want once", n)
	}
}

// restartAt stops in and starts roombridge again on the same database and backends with
// the cutover at cutover and the OA freeze at freeze, as an operator who changes
// ROOMBRIDGE_CUTOVER does.
func restartAt(t *testing.T, in *instance, env map[string]string, cutover, freeze time.Time) *instance {
	t.Helper()
	if err := in.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	next := maps.Clone(env)
	next["ROOMBRIDGE_CUTOVER"], next["ROOMBRIDGE_OA_FREEZE"] = cutover.Format(time.RFC3339), freeze.Format(time.RFC3339)
	return start(t, next)
}

// splitAtAnotherCutover books bookWeekly through a roombridge with real backends (the
// OA and DingTalk fakes over HTTP) and the cutover in 7 days, and restarts it with the
// cutover one week later: the series' DingTalk occurrence on day 8 now belongs to the OA.
// db is the database: "sqlite" (a new file) or "mysql" (a new database on the test
// server, migrated).
func splitAtAnotherCutover(t *testing.T, db string) (*instance, map[string]string, seriesReply) {
	t.Helper()
	_, _, env := roomFakes(t, "", "", nil, nil)
	env["ROOMBRIDGE_DB"] = "sqlite:" + filepath.Join(t.TempDir(), "roombridge.db")
	if db == "mysql" {
		env["ROOMBRIDGE_DB"] = emptyMySQL(t, "rbcutover")
		if err := run(context.Background(), []string{"migrate"}, func(k string) string { return env[k] }, io.Discard, io.Discard); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	in := start(t, env)
	s, _ := in.bookWeekly(t) // oa dingtalk dingtalk dingtalk
	return restartAt(t, in, env, in.day(14, 0, 0), in.day(14, 0, 0).Add(-time.Hour)), env, s
}

// section is the part of html from the element holding marker to the end of its list.
func section(t *testing.T, html, marker string) string {
	t.Helper()
	i := strings.Index(html, marker)
	if i < 0 {
		t.Fatalf("no %q in\n%s", marker, html)
	}
	return html[i : i+strings.Index(html[i:], "</ul>")]
}

// TestCutoverPageResplit: a series booked at one cutover, seen by a roombridge started
// with another. /admin/cutover lists it, admins only, in both languages, with its
// occurrence in the wrong system (from → to); "migrate all" re-splits it and the page
// says so per series. After the OA freeze, with the cutover later again, the DingTalk
// occurrence that now belongs to the OA is shown staying in DingTalk (oa_frozen), and
// "migrate all" reports the series kept.
func TestCutoverPageResplit(t *testing.T) {
	for _, db := range []string{"sqlite", "mysql"} {
		t.Run(db, func(t *testing.T) { testCutoverPageResplit(t, db) })
	}
}

func testCutoverPageResplit(t *testing.T, db string) {
	in, env, s := splitAtAnotherCutover(t, db)
	backends := func(in *instance) string {
		out := ""
		for _, o := range s.Occurrences {
			out += in.settle("zhangsan", o.ID).Backend + " "
		}
		return out
	}
	page := func(in *instance, user, lang string) (int, string) {
		r := in.do("GET", in.url+"/admin/cutover", user, nil, "Accept-Language", lang)
		return r.code, string(r.body)
	}
	migrateAll := func(in *instance) string {
		r := in.do("POST", in.url+"/admin/cutover/migrate", "admin", strings.NewReader(""), "Content-Type", "application/x-www-form-urlencoded",
			"Sec-Fetch-Site", "same-origin", "Accept-Language", "en")
		if r.code != http.StatusOK {
			t.Fatalf("POST /admin/cutover/migrate (following its redirect) = %d\n%s", r.code, r.body)
		}
		return string(r.body)
	}

	if code, _ := page(in, "zhangsan", "en"); code != http.StatusForbidden {
		t.Errorf("GET /admin/cutover as staff = %d, want 403", code)
	}
	day8 := in.day(8, 18, 0).Format("2006-01-02")
	for _, l := range []struct{ lang, title, move string }{{"en", "Series split at another cutover", "DingTalk → OA (Seeyon)"}, {"zh-CN", "按其他切换时间拆分的周期会议", "钉钉 → OA（致远）"}} {
		code, html := page(in, "admin", l.lang)
		if code != http.StatusOK || !strings.Contains(html, l.title) {
			t.Fatalf("GET /admin/cutover (%s) = %d, want the section %q\n%s", l.lang, code, l.title, html)
		}
		sec := section(t, html, `data-resplit="`+s.SeriesID+`"`)
		if strings.Count(sec, "<li") != 1 || !strings.Contains(sec, day8) || !strings.Contains(sec, l.move) || strings.Contains(sec, "data-code") {
			t.Errorf("/admin/cutover (%s) series section = %s, want the day 8 occurrence %s, nothing skipped", l.lang, sec, l.move)
		}
		if !strings.Contains(html, `id="migrate-all"`) {
			t.Errorf("/admin/cutover (%s) offers no \"migrate all\" for the series", l.lang)
		}
	}
	html := migrateAll(in)
	done := section(t, html, `id="resplit-done"`)
	if !strings.Contains(done, `data-resplit-done="`+s.SeriesID+`" data-outcome="moved"`) || !strings.Contains(done, "moved 1 meetings, skipped 0") {
		t.Errorf("/admin/cutover after \"migrate all\" = %s, want the series moved, one meeting", done)
	}
	if got := backends(in); got != "oa oa dingtalk dingtalk " {
		t.Errorf("after \"migrate all\" the occurrences go to %s, want oa oa dingtalk dingtalk", got)
	}
	if _, html := page(in, "admin", "en"); strings.Contains(html, `data-resplit="`) {
		t.Errorf("/admin/cutover after the re-split still lists a series to re-split:\n%s", html)
	}

	// After the OA freeze, one more week later: day 15 (DingTalk) now belongs to a frozen OA.
	in = restartAt(t, in, env, in.day(21, 0, 0), time.Now().Add(-time.Hour))
	_, html = page(in, "admin", "en")
	sec := section(t, html, `data-resplit="`+s.SeriesID+`"`)
	if !strings.Contains(sec, `data-code="oa_frozen"`) || !strings.Contains(sec, in.day(15, 18, 0).Format("2006-01-02")) ||
		!strings.Contains(sec, "stays in DingTalk: the OA is frozen") || !strings.Contains(sec, "they stay in DingTalk (oa_frozen)") {
		t.Errorf("/admin/cutover after the freeze = %s, want day 15 staying in DingTalk (oa_frozen)", sec)
	}
	if strings.Contains(html, `id="migrate-all"`) {
		t.Errorf("/admin/cutover offers \"migrate all\" with nothing that can move")
	}
	if _, zh := page(in, "admin", "zh-CN"); !strings.Contains(zh, "留在钉钉：OA 已冻结") {
		t.Errorf("/admin/cutover (zh) after the freeze lacks the frozen note:\n%s", section(t, zh, `data-resplit="`))
	}
	html = migrateAll(in)
	if done := section(t, html, `id="resplit-done"`); !strings.Contains(done, `data-outcome="kept"`) || !strings.Contains(done, "1 meetings belong to the OA now, but the OA is frozen") {
		t.Errorf("/admin/cutover after \"migrate all\" when frozen = %s, want the series kept", done)
	}
	if got := backends(in); got != "oa oa dingtalk dingtalk " {
		t.Errorf("after \"migrate all\" when frozen the occurrences go to %s, want them unchanged", got)
	}
}
