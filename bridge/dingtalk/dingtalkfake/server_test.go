package dingtalkfake_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/bridge/dingtalk/dingtalkfake"
)

var cst = time.FixedZone("Asia/Shanghai", 8*3600)

type fixture struct {
	fake *dingtalkfake.Server
	srv  *httptest.Server

	mu  sync.Mutex
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{now: time.Date(2026, 9, 1, 8, 0, 0, 0, cst)}
	f.fake = dingtalkfake.New("key", "secret",
		[]dingtalkfake.Room{{ID: "r1", Name: "Room 1", Capacity: 6}, {ID: "r2", Name: "Room 2", Capacity: 8}},
		[]dingtalkfake.User{{UserID: "u1", UnionID: "union-1", Name: "One"}, {UserID: "u2", UnionID: "union-2", Name: "Two"}},
		dingtalkfake.WithNow(f.clock), dingtalkfake.WithTokenTTL(time.Hour))
	f.srv = httptest.NewServer(f.fake)
	t.Cleanup(f.srv.Close)
	t.Cleanup(f.fake.ClearFaults)
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// call sends one request and decodes the JSON answer (nil for an empty body).
func (f *fixture) call(t *testing.T, method, path string, header map[string]string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: answer %q is not JSON: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, out
}

func (f *fixture) token(t *testing.T) string {
	t.Helper()
	status, body := f.call(t, "POST", "/v1.0/oauth2/accessToken", nil, map[string]string{"appKey": "key", "appSecret": "secret"})
	tok, _ := body["accessToken"].(string)
	if status != 200 || tok == "" || body["expireIn"] != float64(3600) {
		t.Fatalf("POST /v1.0/oauth2/accessToken = %d %v, want 200 with a token and expireIn 3600", status, body)
	}
	return tok
}

func auth(tok string) map[string]string {
	return map[string]string{"x-acs-dingtalk-access-token": tok}
}

func event(start, end string) map[string]any {
	return map[string]any{
		"summary": "Sync",
		"start":   map[string]string{"dateTime": start, "timeZone": "Asia/Shanghai"},
		"end":     map[string]string{"dateTime": end, "timeZone": "Asia/Shanghai"},
	}
}

const events = "/v1.0/calendar/users/union-1/calendars/primary/events"

func wantError(t *testing.T, what string, status int, body map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus || body["code"] != wantCode || body["requestid"] == "" || body["message"] == "" {
		t.Errorf("%s = %d %v, want %d with code %s, a message and a requestid", what, status, body, wantStatus, wantCode)
	}
}

func TestAccessToken(t *testing.T) {
	f := newFixture(t)
	status, body := f.call(t, "POST", "/v1.0/oauth2/accessToken", nil, map[string]string{"appKey": "key", "appSecret": "wrong"})
	wantError(t, "token with a wrong secret", status, body, 400, "invalidClientIdOrSecret")

	tok := f.token(t)
	if again := f.token(t); again != tok {
		t.Errorf("second token while the first is valid = %q, want the same %q", again, tok)
	}
	if status, _ := f.call(t, "GET", events, auth(tok), nil); status != 200 {
		t.Errorf("GET events with a valid token = %d, want 200", status)
	}
	f.advance(time.Hour)
	status, body = f.call(t, "GET", events, auth(tok), nil)
	wantError(t, "GET events with an expired token", status, body, 400, "InvalidAuthentication")

	fresh := f.token(t)
	if fresh == tok {
		t.Errorf("token after expiry = %q, want a new one", fresh)
	}
	f.fake.ExpireTokens()
	status, body = f.call(t, "GET", events, auth(fresh), nil)
	wantError(t, "GET events after ExpireTokens", status, body, 400, "InvalidAuthentication")
	if got := f.fake.MeteredCalls(); got != 1 {
		t.Errorf("MeteredCalls() = %d, want 1: token calls and rejected tokens are free", got)
	}
}

func TestCreateEventIdempotency(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t)
	h := auth(tok)
	h["x-client-token"] = "booking-1:create"
	body := event("2026-09-02T10:00:00+08:00", "2026-09-02T11:00:00+08:00")

	status, first := f.call(t, "POST", events, h, body)
	if status != 200 || first["id"] == "" {
		t.Fatalf("create = %d %v, want 200 with an id", status, first)
	}
	_, second := f.call(t, "POST", events, h, body)
	if second["id"] != first["id"] {
		t.Errorf("create again with the same x-client-token = id %v, want %v", second["id"], first["id"])
	}
	status, clash := f.call(t, "POST", events, h, event("2026-09-02T12:00:00+08:00", "2026-09-02T13:00:00+08:00"))
	wantError(t, "create with a reused x-client-token and another body", status, clash, 409, "invalidRequest.duplicateClientToken")
	if n := len(f.fake.Events()); n != 1 {
		t.Errorf("events = %d, want 1", n)
	}

	f.advance(25 * time.Hour)
	h = auth(f.token(t))
	h["x-client-token"] = "booking-1:create"
	if _, later := f.call(t, "POST", events, h, body); later["id"] == first["id"] {
		t.Errorf("create a day later with the same x-client-token = the same event, want a new one")
	}
}

func TestMeetingRooms(t *testing.T) {
	f := newFixture(t)
	h := auth(f.token(t))
	_, ev := f.call(t, "POST", events, h, event("2026-09-02T10:00:00+08:00", "2026-09-02T11:00:00+08:00"))
	id := ev["id"].(string)
	if _, err := f.fake.AddNative("union-2", "r1", "native", time.Date(2026, 9, 2, 10, 30, 0, 0, cst), time.Date(2026, 9, 2, 12, 0, 0, 0, cst)); err != nil {
		t.Fatalf("AddNative() = %v", err)
	}

	add := func(room string) (int, map[string]any) {
		return f.call(t, "POST", events+"/"+id+"/meetingRooms", h, map[string]any{"meetingRoomsToAdd": []map[string]string{{"roomId": room}}})
	}
	status, body := add("r1")
	if status != 400 || body["code"] != "meetingRoomNotAvailable" || body["message"] != "room busy" {
		t.Errorf("add busy room = %d %v, want 400 meetingRoomNotAvailable \"room busy\"", status, body)
	}
	status, body = add("nope")
	wantError(t, "add unknown room", status, body, 400, "invalidParameter")
	if status, body = add("r2"); status != 200 || body["result"] != true {
		t.Errorf("add free room = %d %v, want 200 {result:true}", status, body)
	}

	_, got := f.call(t, "GET", events+"/"+id, h, nil)
	rooms, _ := got["meetingRooms"].([]any)
	if len(rooms) != 1 || rooms[0].(map[string]any)["roomId"] != "r2" {
		t.Errorf("GET event meetingRooms = %v, want r2", got["meetingRooms"])
	}

	status, body = f.call(t, "POST", events+"/"+id+"/meetingRooms/batchRemove", h, map[string]any{"meetingRoomsToRemove": []map[string]string{{"roomId": "r2"}}})
	if status != 200 || body["result"] != true {
		t.Errorf("batchRemove = %d %v, want 200 {result:true}", status, body)
	}
	if status, _ := f.call(t, "DELETE", events+"/"+id+"?pushNotification=true", h, nil); status != 200 {
		t.Errorf("DELETE event = %d, want 200", status)
	}
	status, body = f.call(t, "DELETE", events+"/"+id, h, nil)
	wantError(t, "DELETE deleted event", status, body, 404, "itemNotFound")
}

func TestScheduleQueryLimits(t *testing.T) {
	f := newFixture(t)
	h := auth(f.token(t))
	const path = "/v1.0/calendar/users/union-1/meetingRooms/schedules/query"
	tests := []struct {
		name        string
		body        map[string]any
		wantMessage string
	}{
		{"over 90 days", map[string]any{"roomIds": []string{"r1"}, "startTime": "2026-09-01T00:00:00+08:00", "endTime": "2026-12-01T00:00:00+08:00"}, "Cannot query schedule for more than 90 days"},
		{"over 5 rooms", map[string]any{"roomIds": []string{"r1", "r2", "a", "b", "c", "d"}, "startTime": "2026-09-01T00:00:00+08:00", "endTime": "2026-09-02T00:00:00+08:00"}, "Cannot get schedule information for more than limit"},
		{"no rooms", map[string]any{"roomIds": []string{}, "startTime": "2026-09-01T00:00:00+08:00", "endTime": "2026-09-02T00:00:00+08:00"}, "query ids cannot be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.call(t, "POST", path, h, tt.body)
			if status != 400 || body["code"] != "invalidParameter" || body["message"] != tt.wantMessage {
				t.Errorf("schedules/query(%s) = %d %v, want 400 invalidParameter %q", tt.name, status, body, tt.wantMessage)
			}
		})
	}
}

func TestListEvents(t *testing.T) {
	f := newFixture(t)
	h := auth(f.token(t))
	for _, hour := range []string{"09", "10", "11"} {
		f.call(t, "POST", events, h, event("2026-09-02T"+hour+":00:00+08:00", "2026-09-02T"+hour+":30:00+08:00"))
	}
	status, page1 := f.call(t, "GET", events+"?maxResults=2&showDeleted=true", h, nil)
	if status != 200 || len(page1["events"].([]any)) != 2 || page1["nextToken"] == nil || page1["syncToken"] != nil {
		t.Fatalf("list page 1 = %d %v, want 2 events, a nextToken and no syncToken", status, page1)
	}
	_, page2 := f.call(t, "GET", events+"?maxResults=2&showDeleted=true&nextToken="+page1["nextToken"].(string), h, nil)
	if len(page2["events"].([]any)) != 1 || page2["nextToken"] != nil || page2["syncToken"] == nil {
		t.Errorf("list page 2 = %v, want 1 event and a syncToken", page2)
	}
	_, bounded := f.call(t, "GET", events+"?timeMin=2026-09-02T00%3A00%3A00%2B08%3A00&timeMax=2026-09-03T00%3A00%3A00%2B08%3A00", h, nil)
	if len(bounded["events"].([]any)) != 3 || bounded["syncToken"] != nil {
		t.Errorf("list with timeMax = %v, want 3 events and no syncToken", bounded)
	}
}

func TestOldAPIUser(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t)
	_, body := f.call(t, "POST", "/topapi/v2/user/get?access_token=bogus", nil, map[string]string{"userid": "u1"})
	if body["errcode"] != float64(88) || body["sub_code"] != "40014" {
		t.Errorf("user/get with a bogus token = %v, want errcode 88 with sub_code 40014", body)
	}
	_, body = f.call(t, "POST", "/topapi/v2/user/get?access_token="+tok, nil, map[string]string{"userid": "u1", "language": "zh_CN"})
	want := map[string]any{"userid": "u1", "unionid": "union-1", "name": "One", "active": true}
	if body["errcode"] != float64(0) || body["errmsg"] != "ok" || !cmp.Equal(body["result"], any(want)) {
		t.Errorf("user/get = %v, want errcode 0 and result %v", body, want)
	}
	_, body = f.call(t, "POST", "/topapi/v2/user/get?access_token="+tok, nil, map[string]string{"userid": "nobody"})
	if body["errcode"] != float64(60121) {
		t.Errorf("user/get of an unknown user = %v, want errcode 60121", body)
	}
	_, body = f.call(t, "GET", "/gettoken?appkey=key&appsecret=secret", nil, nil)
	if body["errcode"] != float64(0) || body["access_token"] != tok {
		t.Errorf("gettoken = %v, want errcode 0 and the current token", body)
	}
}

func TestAdminAndFaults(t *testing.T) {
	f := newFixture(t)
	h := auth(f.token(t))

	status, _ := f.call(t, "POST", "/_fake/faults", nil, map[string]any{"kind": "throttle", "api": "ListEvents", "times": 1})
	if status != 201 {
		t.Fatalf("POST /_fake/faults = %d, want 201", status)
	}
	status, body := f.call(t, "GET", events, h, nil)
	wantError(t, "GET events while throttled", status, body, 403, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi")
	if status, _ := f.call(t, "GET", events, h, nil); status != 200 {
		t.Errorf("GET events after the fault is used up = %d, want 200", status)
	}
	if status, _ := f.call(t, "POST", "/_fake/faults", nil, map[string]any{"kind": "gremlins"}); status != 400 {
		t.Errorf("POST /_fake/faults with an unknown kind = %d, want 400", status)
	}
	// A misspelt API name would match no call and inject nothing.
	if status, body := f.call(t, "POST", "/_fake/faults", nil, map[string]any{"kind": "server_error", "api": "createEvent"}); status != 400 || !strings.Contains(fmt.Sprint(body["error"]), "CreateEvent") {
		t.Errorf("POST /_fake/faults for API createEvent = %d %s, want 400 naming the APIs the fake serves", status, body)
	}

	status, created := f.call(t, "POST", "/_fake/events", nil, map[string]any{
		"organizerUnionId": "union-2", "roomId": "r1", "title": "Walk-in",
		"start": "2026-09-02T10:00:00+08:00", "end": "2026-09-02T11:00:00+08:00",
	})
	id, _ := created["id"].(string)
	if status != 201 || id == "" || created["native"] != true {
		t.Fatalf("POST /_fake/events = %d %v, want 201 with a native event", status, created)
	}
	status, _ = f.call(t, "POST", "/_fake/events", nil, map[string]any{
		"organizerUnionId": "union-1", "roomId": "r1", "title": "Clash",
		"start": "2026-09-02T10:30:00+08:00", "end": "2026-09-02T11:30:00+08:00",
	})
	if status != 409 {
		t.Errorf("POST /_fake/events clashing = %d, want 409", status)
	}
	status, patched := f.call(t, "PATCH", "/_fake/events/"+id, nil, map[string]any{"title": "Renamed", "start": "2026-09-02T14:00:00+08:00", "end": "2026-09-02T15:00:00+08:00"})
	if status != 200 || patched["summary"] != "Renamed" || !strings.HasPrefix(patched["start"].(string), "2026-09-02T14:00:00") {
		t.Errorf("PATCH /_fake/events/%s = %d %v, want the renamed, moved event", id, status, patched)
	}
	if status, _ := f.call(t, "DELETE", "/_fake/events/"+id, nil, nil); status != 204 {
		t.Errorf("DELETE /_fake/events/%s = %d, want 204", id, status)
	}
	if evs := f.fake.Events(); len(evs) != 1 || evs[0].Status != dingtalkfake.StatusCancelled {
		t.Errorf("Events() = %+v, want the one cancelled native event", evs)
	}
	_, calls := f.call(t, "GET", "/_fake/calls", nil, nil)
	if calls["metered"] != float64(1) || calls["calls"].(map[string]any)["ListEvents"] != float64(2) {
		t.Errorf("GET /_fake/calls = %v, want metered 1 and 2 ListEvents calls", calls)
	}
}

func TestHangHoldsTheAnswer(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t)
	f.fake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultHang, API: dingtalkfake.APIListEvents})
	req, err := http.NewRequest("GET", f.srv.URL+events, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-acs-dingtalk-access-token", tok)
	client := &http.Client{Timeout: 100 * time.Millisecond}
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("GET events while hanging = %d, want no answer", resp.StatusCode)
	}
	if got := f.fake.MeteredCalls(); got != 0 {
		t.Errorf("MeteredCalls() = %d, want 0 for an unanswered call", got)
	}
}

// listAll reads every page of the events listing query (a query string starting with
// "?") and returns the events' ids and statuses, the pages read and the final answer's
// syncToken.
func (f *fixture) listAll(t *testing.T, h map[string]string, query string) (got map[string]string, pages int, syncToken string) {
	t.Helper()
	got = map[string]string{}
	next := ""
	for {
		q := query
		if next != "" {
			q += "&nextToken=" + next
		}
		status, body := f.call(t, "GET", events+q, h, nil)
		if status != 200 {
			t.Fatalf("GET events%s = %d %v, want 200", q, status, body)
		}
		pages++
		list := body["events"].([]any)
		if len(list) > 100 {
			t.Errorf("GET events%s = %d events, want at most 100 a page", q, len(list))
		}
		for _, e := range list {
			ev := e.(map[string]any)
			got[ev["id"].(string)] = ev["status"].(string)
		}
		n, _ := body["nextToken"].(string)
		st, _ := body["syncToken"].(string)
		if n != "" && st != "" {
			t.Errorf("GET events%s = nextToken and syncToken together, want the syncToken on the last page only", q)
		}
		if n == "" {
			return got, pages, st
		}
		next = n
	}
}

func TestListEventsSyncTokenDeltas(t *testing.T) {
	f := newFixture(t)
	h := auth(f.token(t))
	at := func(day, hour int) time.Time { return time.Date(2026, 9, day, hour, 0, 0, 0, cst) }
	var ids []string
	for i := range 3 {
		id, err := f.fake.AddNative("union-1", "r1", "Standing", at(2, 9+i), at(2, 10+i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	other, err := f.fake.AddNative("union-2", "r2", "Someone else's", at(2, 9), at(2, 10))
	if err != nil {
		t.Fatal(err)
	}
	full, _, token := f.listAll(t, h, "?timeMin=2026-09-01T00%3A00%3A00%2B08%3A00&showDeleted=true")
	if len(full) != 3 || token == "" {
		t.Fatalf("full listing = %v, token %q, want the 3 events of union-1 and a syncToken", full, token)
	}
	if err := errors.Join(f.fake.MoveNative(ids[0], at(3, 9), at(3, 10)), f.fake.CancelNative(ids[1])); err != nil {
		t.Fatal(err)
	}
	created, err := f.fake.AddNative("union-1", "r2", "New", at(4, 9), at(4, 10))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.fake.MoveNative(other, at(5, 9), at(5, 10)); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		query string
		want  map[string]string
	}{
		{"with showDeleted", "?showDeleted=true&syncToken=" + token,
			map[string]string{ids[0]: "confirmed", ids[1]: "cancelled", created: "confirmed"}},
		{"without showDeleted", "?syncToken=" + token,
			map[string]string{ids[0]: "confirmed", created: "confirmed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, next := f.listAll(t, h, tt.query)
			if diff := cmp.Diff(tt.want, got); diff != "" || next == "" {
				t.Errorf("delta listing%s = %v, token %q, want only the changes (-want +got):\n%s", tt.query, got, next, diff)
			}
		})
	}

	t.Run("paged by 100", func(t *testing.T) {
		_, _, token := f.listAll(t, h, "?showDeleted=true&syncToken="+token)
		for i := range 250 {
			if _, err := f.fake.AddNative("union-1", "r1", "Many", at(10, 0).Add(time.Duration(i)*time.Hour), at(10, 0).Add(time.Duration(i)*time.Hour+30*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		got, pages, next := f.listAll(t, h, "?showDeleted=true&syncToken="+token)
		if len(got) != 250 || pages != 3 || next == "" {
			t.Errorf("delta of 250 changes = %d events on %d pages, token %q, want 250 on 3 pages and a syncToken", len(got), pages, next)
		}
		if got, _, _ := f.listAll(t, h, "?showDeleted=true&syncToken="+next); len(got) != 0 {
			t.Errorf("delta right after the last one = %v, want nothing", got)
		}
	})

	t.Run("expired", func(t *testing.T) {
		_, _, token := f.listAll(t, h, "?showDeleted=true&syncToken="+token)
		f.fake.ExpireSyncTokens()
		status, body := f.call(t, "GET", events+"?showDeleted=true&syncToken="+token, h, nil)
		wantError(t, "delta listing with an expired syncToken", status, body, 400, "invalidParameter")
		if body["message"] != "syncToken expired" {
			t.Errorf("delta listing with an expired syncToken: message %v, want %q", body["message"], "syncToken expired")
		}
		got, _, fresh := f.listAll(t, h, "?timeMin=2026-09-01T00%3A00%3A00%2B08%3A00&showDeleted=true")
		if len(got) != 254 || fresh == "" {
			t.Fatalf("full listing after expiry = %d events, token %q, want all 254 and a new syncToken", len(got), fresh)
		}
		if got, _, _ := f.listAll(t, h, "?showDeleted=true&syncToken="+fresh); len(got) != 0 {
			t.Errorf("delta with the new token = %v, want nothing", got)
		}
	})
}
