package main

import (
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

	// Moving one occurrence keeps it in the series; wider scopes are refused for now.
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
	wide := in.do("PATCH", in.url+"/api/v1/bookings/"+s.Occurrences[2].ID+"?scope=following", "zhangsan", strings.NewReader(`{"title":"新名字"}`))
	if code, _ := in.error(wide); wide.code != http.StatusUnprocessableEntity || code != "scope_not_supported" {
		t.Errorf("PATCH ?scope=following = %d %s, want 422 scope_not_supported", wide.code, wide.body)
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
