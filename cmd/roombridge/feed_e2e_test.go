package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
)

type vevent struct {
	status, summary string
	sequence        string
	start           time.Time
}

// feed fetches and parses a feed with an independent parser, by UID.
func (in *instance) feed(t *testing.T, url string) (map[string]vevent, reply, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	r := reply{resp.StatusCode, []byte(b.String())}
	if resp.StatusCode != http.StatusOK {
		return nil, r, resp.Header
	}
	cal, err := ics.ParseCalendar(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("parse %s: %v\n%s", url, err, b.String())
	}
	out := map[string]vevent{}
	for _, e := range cal.Events() {
		v := vevent{}
		if p := e.GetProperty(ics.ComponentPropertyStatus); p != nil {
			v.status = p.Value
		}
		if p := e.GetProperty(ics.ComponentPropertySummary); p != nil {
			v.summary = p.Value
		}
		if p := e.GetProperty(ics.ComponentPropertySequence); p != nil {
			v.sequence = p.Value
		}
		if v.start, err = e.GetStartAt(); err != nil {
			t.Fatalf("event %s start: %v", e.Id(), err)
		}
		out[e.Id()] = v
	}
	return out, r, resp.Header
}

func (in *instance) sync(t testing.TB) {
	t.Helper()
	if r := in.do("POST", in.url+"/api/v1/sync", "admin", strings.NewReader(`{}`)); r.code != http.StatusOK {
		t.Fatalf("POST /api/v1/sync = %d %s", r.code, r.body)
	}
}

// TestFeedsOfBothSystems: bookings made directly in the OA and in DingTalk appear after
// one sync pass in availability and in the room and office feeds; native cancels and
// moves reach the feed with a higher SEQUENCE; a bridge booking appears once; the feed is
// byte-stable, revalidates with 304, and a revoked token gets 404.
func TestFeedsOfBothSystems(t *testing.T) {
	in := start(t, nil)
	oaStart, dtStart := in.day(2, 8, 0), in.day(9, 8, 0)
	var oaNative struct {
		AppID string `json:"appId"`
	}
	in.do("POST", in.oaURL+"/_fake/bookings", "", strings.NewReader(fmt.Sprintf(`{"roomId":"3470188923641725004","loginName":"lisi","start":%q,"end":%q,"description":"OA 里直接约的, 带逗号; 和分号"}`,
		oaStart.Format(time.RFC3339), oaStart.Add(time.Hour).Format(time.RFC3339)))).json(t, &oaNative)
	var dtNative struct {
		ID string `json:"id"`
	}
	in.do("POST", in.dtURL+"/_fake/events", "", strings.NewReader(fmt.Sprintf(`{"organizerUnionId":"union-wangwu","roomId":"dt-sk-xiaoyao","title":"钉钉里直接约的","start":%q,"end":%q}`,
		dtStart.Format(time.RFC3339), dtStart.Add(time.Hour).Format(time.RFC3339)))).json(t, &dtNative)
	if oaNative.AppID == "" || dtNative.ID == "" {
		t.Fatalf("native bookings not made: %+v %+v", oaNative, dtNative)
	}
	// One made through the bridge, in the same room.
	var mine booking
	in.do("POST", in.url+"/api/v1/bookings", "zhangsan", strings.NewReader(bookingBody("sk-xiaoyao", "桥接的会", in.day(10, 9, 0), time.Hour))).json(t, &mine)
	in.settle("zhangsan", mine.ID)
	in.sync(t)

	// Availability shows both native bookings.
	for _, d := range []time.Time{oaStart, dtStart} {
		var busy []struct {
			Backend string `json:"backend"`
			Origin  string `json:"origin"`
		}
		in.do("GET", in.url+"/api/v1/availability?room=sk-xiaoyao&from="+urlTime(d.Add(-time.Hour))+"&to="+urlTime(d.Add(2*time.Hour)), "zhaoliu", nil).json(t, &busy)
		if len(busy) != 1 || busy[0].Origin != "native" {
			t.Errorf("availability around %s = %+v, want the native booking", d, busy)
		}
	}

	var tok struct {
		ID    string `json:"id"`
		Token string `json:"token"`
		URLs  struct {
			Rooms   map[string]string `json:"rooms"`
			Offices map[string]string `json:"offices"`
		} `json:"urls"`
	}
	r := in.do("POST", in.url+"/api/v1/feed-tokens", "zhangsan", strings.NewReader(`{"label":"e2e"}`))
	r.json(t, &tok)
	if r.code != http.StatusCreated || tok.Token == "" {
		t.Fatalf("POST feed-tokens = %d %s", r.code, r.body)
	}
	local := func(u string) string { return in.url + u[strings.Index(u, "/ical/"):] } // BaseURL is the default localhost:8080
	roomURL, officeURL := local(tok.URLs.Rooms["sk-xiaoyao"]), local(tok.URLs.Offices["bj-shoukai"])
	oaUID, dtUID := "oa-"+oaNative.AppID+"@roombridge", "dingtalk-"+dtNative.ID+"@roombridge"
	for _, u := range []string{roomURL, officeURL} {
		events, r, _ := in.feed(t, u)
		if r.code != http.StatusOK {
			t.Fatalf("GET %s = %d", u, r.code)
		}
		if events[oaUID].status != "CONFIRMED" || events[dtUID].status != "CONFIRMED" || !events[oaUID].start.Equal(oaStart) {
			t.Errorf("feed %s lacks the native bookings: %+v", u, events)
		}
		if e, ok := events[mine.UID]; !ok || e.summary != "桥接的会" {
			t.Errorf("feed %s: the bridge booking = %+v, want it with its title", u, e)
		}
		if len(events) != 3 && u == roomURL {
			t.Errorf("room feed has %d events, want 3 (each booking once)", len(events))
		}
	}

	// Unchanged data: identical bytes; revalidation gets 304.
	_, first, h := in.feed(t, roomURL)
	_, second, _ := in.feed(t, roomURL)
	if string(first.body) != string(second.body) || h.Get("ETag") == "" || !strings.HasPrefix(h.Get("Content-Type"), "text/calendar; charset=utf-8") {
		t.Errorf("two fetches differ or lack headers: ETag %q, Content-Type %q", h.Get("ETag"), h.Get("Content-Type"))
	}
	if r := in.do("GET", roomURL, "", nil, "If-None-Match", h.Get("ETag")); r.code != http.StatusNotModified {
		t.Errorf("GET with If-None-Match = %d, want 304", r.code)
	}

	// Natively: the OA booking is cancelled, the DingTalk one moved.
	in.do("DELETE", in.oaURL+"/_fake/bookings/"+oaNative.AppID, "", nil)
	moved := dtStart.Add(2 * time.Hour)
	in.do("PATCH", in.dtURL+"/_fake/events/"+dtNative.ID, "", strings.NewReader(fmt.Sprintf(`{"start":%q,"end":%q}`, moved.Format(time.RFC3339), moved.Add(time.Hour).Format(time.RFC3339))))
	in.sync(t)
	events, _, h2 := in.feed(t, roomURL)
	if e := events[oaUID]; e.status != "CANCELLED" || e.sequence != "1" {
		t.Errorf("natively cancelled OA booking in the feed = %+v, want CANCELLED with SEQUENCE 1", e)
	}
	if e := events[dtUID]; !e.start.Equal(moved) || e.sequence != "1" {
		t.Errorf("natively moved DingTalk booking in the feed = %+v, want %s with SEQUENCE 1", e, moved)
	}
	if h2.Get("ETag") == h.Get("ETag") {
		t.Error("the ETag did not change with the data")
	}

	// A revoked token gets 404 without a hint.
	if r := in.do("DELETE", in.url+"/api/v1/feed-tokens/"+tok.ID, "zhangsan", nil); r.code != http.StatusNoContent {
		t.Fatalf("DELETE feed token = %d %s", r.code, r.body)
	}
	_, gone, _ := in.feed(t, roomURL)
	_, unknown, _ := in.feed(t, in.url+"/ical/not-a-token/all.ics")
	if gone.code != http.StatusNotFound || string(gone.body) != string(unknown.body) {
		t.Errorf("revoked token = %d %q, unknown token %q; want the same 404", gone.code, gone.body, unknown.body)
	}
}

func urlTime(t time.Time) string { return strings.ReplaceAll(t.Format(time.RFC3339), "+", "%2B") }
