package main

import (
	"fmt"
	"net/http"
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
