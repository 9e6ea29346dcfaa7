package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A meeting booked directly in the OA or in DingTalk by a catalog user is that user's
// after one sync: in 我的预订, GET /api/v1/bookings?mine=1 and their me.ics.
func TestNativeBookingsBelongToTheirOrganizers(t *testing.T) {
	in := start(t, nil)
	oaStart, dtStart := in.day(3, 14, 0), in.day(9, 14, 0)
	var oaNative struct {
		AppID string `json:"appId"`
	}
	in.do("POST", in.oaURL+"/_fake/bookings", "", strings.NewReader(fmt.Sprintf(`{"roomId":"-6718304221187342101","loginName":"lisi","start":%q,"end":%q,"description":"李四在 OA 里约的"}`,
		oaStart.Format(time.RFC3339), oaStart.Add(time.Hour).Format(time.RFC3339)))).json(t, &oaNative)
	var dtNative struct {
		ID string `json:"id"`
	}
	in.do("POST", in.dtURL+"/_fake/events", "", strings.NewReader(fmt.Sprintf(`{"organizerUnionId":"union-wangwu","roomId":"dt-sk-tianyuan","title":"王五在钉钉里约的","start":%q,"end":%q}`,
		dtStart.Format(time.RFC3339), dtStart.Add(time.Hour).Format(time.RFC3339)))).json(t, &dtNative)
	if oaNative.AppID == "" || dtNative.ID == "" {
		t.Fatalf("native bookings not made: %+v %+v", oaNative, dtNative)
	}
	in.sync(t)

	for _, tc := range []struct {
		user, remote, title string
	}{{"lisi", oaNative.AppID, "李四在 OA 里约的"}, {"wangwu", dtNative.ID, "王五在钉钉里约的"}} {
		var mine []booking
		in.do("GET", in.url+"/api/v1/bookings?mine=1", tc.user, nil).json(t, &mine)
		found := false
		for _, b := range mine {
			found = found || b.RemoteID == tc.remote
		}
		if !found {
			t.Errorf("GET /api/v1/bookings?mine=1 as %s = %+v, want the native booking %s", tc.user, mine, tc.remote)
		}
		if page := in.do("GET", in.url+"/bookings", tc.user, nil); page.code != http.StatusOK || !strings.Contains(string(page.body), tc.title) {
			t.Errorf("GET /bookings (我的预订) as %s = %d, lacks %q", tc.user, page.code, tc.title)
		}
		var tok struct {
			URLs struct {
				Me string `json:"me"`
			} `json:"urls"`
		}
		r := in.do("POST", in.url+"/api/v1/feed-tokens", tc.user, strings.NewReader(`{"label":"me"}`))
		r.json(t, &tok)
		if r.code != http.StatusCreated || tok.URLs.Me == "" {
			t.Fatalf("POST feed-tokens as %s = %d %s", tc.user, r.code, r.body)
		}
		_, path, _ := strings.Cut(tok.URLs.Me, "/ical/")
		events, fr, _ := in.feed(t, in.url+"/ical/"+path)
		if fr.code != http.StatusOK {
			t.Fatalf("GET me.ics as %s = %d", tc.user, fr.code)
		}
		found = false
		for _, e := range events {
			found = found || e.summary == tc.title
		}
		if !found {
			t.Errorf("%s's me.ics = %+v, lacks %q", tc.user, events, tc.title)
		}
	}
}
