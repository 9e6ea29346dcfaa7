package seeyonfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/bridge/oa/seeyonfake"
	"roombridge/models"
)

var zone = time.FixedZone("CST", 8*3600)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	fake  *seeyonfake.Server
	url   string
	clock *clock
}

func newFixture(t *testing.T, opts ...seeyonfake.Option) *fixture {
	t.Helper()
	f := &fixture{clock: &clock{t: time.Date(2023, 4, 10, 9, 0, 0, 0, zone)}}
	opts = append([]seeyonfake.Option{seeyonfake.WithZone(zone), seeyonfake.WithNow(f.clock.Now)}, opts...)
	f.fake = seeyonfake.New("rest", "secret",
		[]seeyonfake.Room{{ID: "-2295828016161864200", Name: "多维", Seats: 30}, {ID: "7", Name: "小间", Seats: 4, Applicants: []string{"lisi"}}},
		[]seeyonfake.User{{LoginName: "zhangsan", MemberID: "-5", Name: "张三"}, {LoginName: "lisi", Name: "李四"}},
		opts...)
	ts := httptest.NewServer(f.fake)
	t.Cleanup(ts.Close)
	t.Cleanup(f.fake.Close)
	f.url = ts.URL
	return f
}

// do sends one request and returns the status and body.
func (f *fixture) do(t *testing.T, method, path string, header map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.url+path, strings.NewReader(body))
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
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// token gets a token bound to login.
func (f *fixture) token(t *testing.T, login string) string {
	t.Helper()
	status, body := f.do(t, http.MethodPost, "/seeyon/rest/token", map[string]string{"Accept": "application/json"},
		`{"userName":"rest","password":"secret","loginName":"`+login+`"}`)
	var answer struct{ ID string }
	if err := json.Unmarshal([]byte(body), &answer); status != 200 || err != nil || answer.ID == "" || answer.ID == "-1" {
		t.Fatalf("token for %s = %d %s", login, status, body)
	}
	return answer.ID
}

// meeting posts body to /seeyon/rest/meeting/name with tok.
func (f *fixture) meeting(t *testing.T, tok, name, body string) (int, string) {
	t.Helper()
	return f.do(t, http.MethodPost, "/seeyon/rest/meeting/"+name, map[string]string{"token": tok, "Content-Type": "application/json"}, body)
}

func TestToken(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		body       string
		wantStatus int
		wantBody   string // substring
	}{
		{"POST", http.MethodPost, "/seeyon/rest/token", map[string]string{"Accept": "application/json"},
			`{"userName":"rest","password":"secret","loginName":"zhangsan"}`, 200, `"bindingUser":{"id":-5,"loginName":"zhangsan","name":"张三"}`},
		{"POST by memberId", http.MethodPost, "/seeyon/rest/token", nil,
			`{"userName":"rest","password":"secret","memberId":"-5"}`, 200, `"loginName":"zhangsan"`},
		{"wrong password", http.MethodPost, "/seeyon/rest/token", nil,
			`{"userName":"rest","password":"nope","loginName":"zhangsan"}`, 404, ``},
		{"unknown login", http.MethodPost, "/seeyon/rest/token", nil,
			`{"userName":"rest","password":"secret","loginName":"nobody"}`, 200, `{"bindingUser":null,"id":"-1"}`},
		{"GET as JSON", http.MethodGet, "/seeyon/rest/token/rest/secret?loginName=lisi", map[string]string{"Accept": "application/json"},
			``, 200, `"loginName":"lisi"`},
		{"GET wrong password", http.MethodGet, "/seeyon/rest/token/rest/nope?loginName=lisi", nil, ``, 404, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			status, body := f.do(t, tt.method, tt.path, tt.header, tt.body)
			if status != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
				t.Errorf("%s %s = %d %s, want %d containing %s", tt.method, tt.path, status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestTokenGETPlainText(t *testing.T) {
	f := newFixture(t)
	status, tok := f.do(t, http.MethodGet, "/seeyon/rest/token/rest/secret?loginName=lisi", nil, "")
	if status != 200 || strings.ContainsAny(tok, "{}\" ") || len(tok) != 36 {
		t.Fatalf("GET token without Accept = %d %q, want a bare token", status, tok)
	}
	if status, _ := f.meeting(t, tok, "getMeetingRooms", `{}`); status != 200 {
		t.Errorf("getMeetingRooms with a GET token = %d, want 200", status)
	}
}

func TestTokenLife(t *testing.T) {
	tests := []struct {
		name       string
		event      func(f *fixture)
		wantStatus int
	}{
		{"fresh", func(f *fixture) {}, 200},
		{"idle just under the TTL", func(f *fixture) { f.clock.Advance(15*time.Minute - time.Second) }, 200},
		{"idle for the TTL", func(f *fixture) { f.clock.Advance(15 * time.Minute) }, 401},
		{"expired by hand", func(f *fixture) { f.fake.ExpireTokens() }, 401},
		{"expired over HTTP", func(f *fixture) { http.Post(f.url+"/_fake/tokens/expire", "", nil) }, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tok := f.token(t, "zhangsan")
			tt.event(f)
			status, body := f.meeting(t, tok, "getMeetingRooms", `{}`)
			if status != tt.wantStatus {
				t.Errorf("getMeetingRooms after %s = %d %s, want %d", tt.name, status, body, tt.wantStatus)
			}
			if status == 401 && body != "Invalid token,please authenticate again" {
				t.Errorf("401 body = %q, want Seeyon's text", body)
			}
		})
	}
}

func TestTokenIdleNotAbsolute(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, "zhangsan")
	for i := range 4 {
		f.clock.Advance(10 * time.Minute)
		if status, body := f.meeting(t, tok, "getMeetingRooms", `{}`); status != 200 {
			t.Fatalf("use %d, 10 minutes after the last = %d %s, want 200", i, status, body)
		}
	}
}

func TestNoToken(t *testing.T) {
	f := newFixture(t)
	if status, _ := f.meeting(t, "", "getMeetingRooms", `{}`); status != 401 {
		t.Errorf("getMeetingRooms without a token = %d, want 401", status)
	}
	if status, _ := f.meeting(t, "made-up", "getMeetingRooms", `{}`); status != 401 {
		t.Errorf("getMeetingRooms with a made-up token = %d, want 401", status)
	}
}

func TestMeetingWire(t *testing.T) {
	type step struct {
		login, endpoint, body string
		want                  string // exact body; "*" skips the check
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"book, conflict, neighbour", []step{
			{"zhangsan", "execApp", `{"roomId":"-2295828016161864200","startDatetime":"2023-04-12 09:00","endDatetime":"2023-04-12 10:00","description":"d"}`, `{"roomAppState":1}`},
			{"lisi", "checkMeetingRoomConflict", `{"roomId":"-2295828016161864200","beginDate":"2023-04-12 09:30:00","endDate":"2023-04-12 10:30:00"}`, `{"errorMsg":"会议室在您申请的时间范围内有预定了","success":"true"}`},
			{"lisi", "checkMeetingRoomConflict", `{"roomId":"-2295828016161864200","beginDate":"2023-04-12 10:00:00","endDate":"2023-04-12 11:00:00"}`, `{"success":"true"}`},
			{"lisi", "execApp", `{"roomId":-2295828016161864200,"startDatetime":"2023-04-12 08:00","endDatetime":"2023-04-12 09:01","description":"d"}`, `{"errorMsg":"会议室在您申请的时间范围内有预定了"}`},
			{"lisi", "execApp", `{"roomId":"-2295828016161864200","startDatetime":"2023-04-12 10:00","endDatetime":"2023-04-12 11:00"}`, `{"roomAppState":1}`},
		}},
		{"refusals", []step{
			{"zhangsan", "execApp", `{"roomId":"7","startDatetime":"2023-04-12 09:00","endDatetime":"2023-04-12 10:00"}`, `{"errorMsg":"不能申请这个会议室"}`},
			{"zhangsan", "execApp", `{"roomId":"404","startDatetime":"2023-04-12 09:00","endDatetime":"2023-04-12 10:00"}`, `{"errorMsg":"不能申请这个会议室"}`},
			{"zhangsan", "execApp", `{"roomId":"-2295828016161864200","startDatetime":"2023-04-12 10:00","endDatetime":"2023-04-12 09:00"}`, `{"errorMsg":"结束时间必须晚于开始时间"}`},
			{"zhangsan", "execApp", `{"roomId":"-2295828016161864200","startDatetime":"tomorrow"}`, `{"errorMsg":"传入参数错误"}`},
			{"zhangsan", "cancelMeetRoomApp", `{"roomAppId":"-1","cancelContent":"x"}`, `false`},
			{"zhangsan", "cancelMeetRoomApp", `{"roomAppId":"-1"}`, `{"errorMsg":"传入参数错误"}`},
			{"zhangsan", "getMeetingRoomAppDetail", `{"appId":"-1"}`, `{"errorMsg":"该会议室申请不存在或已撤销"}`},
			{"zhangsan", "getMeetingUserInfo", `{"roomId":"-2295828016161864200"}`, `{"errorMsg":"传入参数错误"}`},
		}},
		{"lists", []step{
			{"zhangsan", "getMeetingRooms", `{"pageNo":1,"pageSize":1}`, `{"data":[{"id":-2295828016161864200,"name":"多维","seatCount":30}],"page":1,"size":1,"total":2}`},
			{"zhangsan", "getMeetingRooms", `{"pageNo":"2","pageSize":"1"}`, `{"data":[{"id":7,"name":"小间","seatCount":4}],"page":2,"size":1,"total":2}`},
			{"zhangsan", "getApplyMeemtingRooms", `{"pageNo":1,"pageSize":20}`, `{"data":[],"page":1,"size":20,"total":0}`},
			{"zhangsan", "getMeetingUserInfo", `{"roomId":"-2295828016161864200","qDate":"2023-04-12"}`, `[]`},
		}},
		{"unknown endpoint", []step{
			{"zhangsan", "noSuchThing", `{}`, `Not Found`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tokens := map[string]string{}
			for i, s := range tt.steps {
				if tokens[s.login] == "" {
					tokens[s.login] = f.token(t, s.login)
				}
				_, got := f.meeting(t, tokens[s.login], s.endpoint, s.body)
				if s.want != "*" && got != s.want {
					t.Errorf("step %d: %s(%s) = %s, want %s", i, s.endpoint, s.body, got, s.want)
				}
			}
		})
	}
}

func TestListAndOccupancyWire(t *testing.T) {
	f := newFixture(t, seeyonfake.WithIDs(func() int64 { return 9007199254740993 }))
	start := time.Date(2023, 4, 12, 22, 0, 0, 0, zone)
	id, err := f.fake.AddNative("-2295828016161864200", "zhangsan", start, start.Add(4*time.Hour), "A&B\n通宵")
	if err != nil || id != "9007199254740993" {
		t.Fatalf("AddNative() = %q, %v, want 9007199254740993", id, err)
	}
	tok := f.token(t, "zhangsan")

	// The condition "time" filters on when the booking was applied for (the fake's
	// clock: 2023-04-10 09:00), not on when the meeting takes place.
	_, got := f.meeting(t, tok, "getApplyMeemtingRooms", `{"pageNo":1,"pageSize":20,"openFrom":"meetingRoomList","condition":"time","startDate":"2023-04-10 00:00","endDate":"2023-04-10 00:00"}`)
	want := `{"data":[{"appPerId":-5,"appPerName":"张三","appStatus":1,"cancelMRApp":true,"description":"A\u0026B\n通宵","endDatetime":"2023-04-13 02:00","finishMRApp":false,"meetingId":null,"roomAppId":9007199254740993,"roomId":-2295828016161864200,"roomName":"多维","roomSeatCount":30,"startDatetime":"2023-04-12 22:00"}],"page":1,"size":20,"total":1}`
	if got != want {
		t.Errorf("getApplyMeemtingRooms =\n%s\nwant\n%s", got, want)
	}
	_, got = f.meeting(t, tok, "getApplyMeemtingRooms", `{"openFrom":"meetingRoomList","condition":"time","startDate":"2023-04-12 00:00","endDate":"2023-04-13 00:00"}`)
	if !strings.Contains(got, `"total":0`) {
		t.Errorf("getApplyMeemtingRooms over the meeting's days = %s, want none (applied on 04-10)", got)
	}

	for _, ep := range []string{"getMeetingUserInfo", "getMeetingRoomApps"} {
		for _, day := range []string{"2023-04-12", "2023-04-13"} {
			_, got := f.meeting(t, tok, ep, `{"roomId":"-2295828016161864200","qDate":"`+day+`"}`)
			want := `[{"appId":9007199254740993,"appPerName":"张三","description":"A\u0026amp;B\u003cbr/\u003e通宵","endDatetime":1681322400000,`
			if ep == "getMeetingUserInfo" {
				want += `"finish":false,`
			}
			want += `"startDatetime":1681308000000,"status":1}]`
			if got != want {
				t.Errorf("%s(%s) =\n%s\nwant\n%s", ep, day, got, want)
			}
		}
	}
	if _, got := f.meeting(t, tok, "getMeetingUserInfo", `{"roomId":"-2295828016161864200","qDate":"2023-04-14"}`); got != `[]` {
		t.Errorf("getMeetingUserInfo(2023-04-14) = %s, want []", got)
	}
	_, got = f.meeting(t, tok, "getMeetingRoomAppDetail", `{"appId":9007199254740993}`)
	if !strings.Contains(got, `"startDatetime":"2023-04-12 22:00:00"`) || !strings.Contains(got, `"roomId":-2295828016161864200`) {
		t.Errorf("getMeetingRoomAppDetail = %s", got)
	}
}

func TestLegacyOccupancy(t *testing.T) {
	f := newFixture(t, seeyonfake.WithLegacyOccupancy())
	tok := f.token(t, "zhangsan")
	if status, _ := f.meeting(t, tok, "getMeetingUserInfo", `{"roomId":"7","qDate":"2023-04-12"}`); status != 404 {
		t.Errorf("getMeetingUserInfo on a legacy OA = %d, want 404", status)
	}
	if status, body := f.meeting(t, tok, "getMeetingRoomApps", `{"roomId":"7","qDate":"2023-04-12"}`); status != 200 || body != "[]" {
		t.Errorf("getMeetingRoomApps on a legacy OA = %d %s, want 200 []", status, body)
	}
}

func TestCancelWire(t *testing.T) {
	f := newFixture(t)
	a, _ := f.fake.AddNative("-2295828016161864200", "zhangsan", time.Date(2023, 4, 12, 9, 0, 0, 0, zone), time.Date(2023, 4, 12, 10, 0, 0, 0, zone), "a")
	b, _ := f.fake.AddNative("-2295828016161864200", "lisi", time.Date(2023, 4, 12, 10, 0, 0, 0, zone), time.Date(2023, 4, 12, 11, 0, 0, 0, zone), "b")
	past, _ := f.fake.AddNative("-2295828016161864200", "zhangsan", time.Date(2023, 4, 9, 9, 0, 0, 0, zone), time.Date(2023, 4, 9, 10, 0, 0, 0, zone), "past")
	tok := f.token(t, "zhangsan")
	tests := []struct{ id, want string }{
		{b, "false"},    // someone else's
		{past, "false"}, // already over
		{a, "true"},
		{a, "false"}, // already cancelled
	}
	for _, tt := range tests {
		if _, got := f.meeting(t, tok, "cancelMeetRoomApp", `{"roomAppId":"`+tt.id+`","cancelContent":"x"}`); got != tt.want {
			t.Errorf("cancelMeetRoomApp(%s) = %s, want %s", tt.id, got, tt.want)
		}
	}
	var cancelled []string
	for _, bk := range f.fake.Bookings() {
		if bk.Cancelled {
			cancelled = append(cancelled, bk.AppID)
		}
	}
	if diff := cmp.Diff([]string{a}, cancelled); diff != "" {
		t.Errorf("cancelled bookings (-want +got):\n%s", diff)
	}
}

func TestNative(t *testing.T) {
	room := "-2295828016161864200"
	nine := time.Date(2023, 4, 12, 9, 0, 0, 0, zone)
	f := newFixture(t)
	id, err := f.fake.AddNative(room, "lisi", nine, nine.Add(time.Hour), "x")
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.fake.AddNative(room, "lisi", nine.Add(2*time.Hour), nine.Add(3*time.Hour), "y")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		do      func() error
		wantErr error
	}{
		{"add: unknown room", func() error { _, err := f.fake.AddNative("1", "lisi", nine, nine.Add(time.Hour), ""); return err }, models.ErrNotFound},
		{"add: unknown user", func() error { _, err := f.fake.AddNative(room, "x", nine, nine.Add(time.Hour), ""); return err }, models.ErrNotFound},
		{"add: empty slot", func() error { _, err := f.fake.AddNative(room, "lisi", nine, nine, ""); return err }, models.ErrInvalid},
		{"add: taken", func() error {
			_, err := f.fake.AddNative(room, "zhangsan", nine.Add(30*time.Minute), nine.Add(90*time.Minute), "")
			return err
		}, models.ErrConflict},
		{"move: onto another booking", func() error { return f.fake.MoveNative(id, nine.Add(90*time.Minute), nine.Add(150*time.Minute)) }, models.ErrConflict},
		{"move: overlapping itself", func() error { return f.fake.MoveNative(id, nine.Add(30*time.Minute), nine.Add(90*time.Minute)) }, nil},
		{"move: backwards", func() error { return f.fake.MoveNative(id, nine, nine.Add(-time.Hour)) }, models.ErrInvalid},
		{"move: unknown", func() error { return f.fake.MoveNative("-1", nine, nine.Add(time.Hour)) }, models.ErrNotFound},
		{"cancel", func() error { return f.fake.CancelNative(other) }, nil},
		{"cancel again", func() error { return f.fake.CancelNative(other) }, nil},
		{"move: cancelled", func() error { return f.fake.MoveNative(other, nine, nine.Add(time.Hour)) }, models.ErrNotFound},
		{"cancel: unknown", func() error { return f.fake.CancelNative("-1") }, models.ErrNotFound},
		{"add: where the cancelled one was", func() error {
			_, err := f.fake.AddNative(room, "zhangsan", nine.Add(2*time.Hour), nine.Add(3*time.Hour), "")
			return err
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("%s = %v, want %v", tt.name, err, tt.wantErr)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults []seeyonfake.Fault
		// want is the status and body of four getMeetingRooms calls in a row; "ok"
		// is a normal answer.
		want []string
	}{
		{"500 twice", []seeyonfake.Fault{{Endpoint: "getMeetingRooms", Kind: seeyonfake.FaultHTTP500, Times: 2}},
			[]string{"500", "500", "ok", "ok"}},
		{"until cleared", []seeyonfake.Fault{{Kind: seeyonfake.FaultEmpty}},
			[]string{"200 ", "200 ", "200 ", "200 "}},
		{"other endpoint", []seeyonfake.Fault{{Endpoint: "execApp", Kind: seeyonfake.FaultHTTP500}},
			[]string{"ok", "ok", "ok", "ok"}},
		{"long endpoint name", []seeyonfake.Fault{{Endpoint: "meeting/getMeetingRooms", Kind: seeyonfake.FaultHTTP500, Times: 1}},
			[]string{"500", "ok", "ok", "ok"}},
		{"first match wins", []seeyonfake.Fault{
			{Endpoint: "getMeetingRooms", Kind: seeyonfake.FaultErrorMsg, Msg: "忙", Times: 1},
			{Kind: seeyonfake.FaultHTTP500, Times: 1},
		}, []string{`200 {"errorMsg":"忙"}`, "500", "ok", "ok"}},
		{"malformed", []seeyonfake.Fault{{Endpoint: "getMeetingRooms", Kind: seeyonfake.FaultMalformed, Times: 1}},
			[]string{`200 {"roomAppState":`, "ok", "ok", "ok"}},
		{"token expiry", []seeyonfake.Fault{{Endpoint: "getMeetingRooms", Kind: seeyonfake.FaultTokenExpired, Times: 1}},
			[]string{"401", "401", "401", "401"}}, // the token itself is dead now
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tok := f.token(t, "zhangsan")
			for _, fl := range tt.faults {
				f.fake.SetFault(fl)
			}
			for i, want := range tt.want {
				status, body := f.meeting(t, tok, "getMeetingRooms", `{}`)
				got := strconv.Itoa(status)
				switch {
				case status == 200 && strings.HasPrefix(body, `{"data":`):
					got = "ok"
				case status == 200:
					got = "200 " + body
				}
				if got != want {
					t.Errorf("call %d = %q (%d %s), want %q", i, got, status, body, want)
				}
			}
			if n := f.fake.Calls("getMeetingRooms"); n != len(tt.want) {
				t.Errorf("Calls(getMeetingRooms) = %d, want %d", n, len(tt.want))
			}
		})
	}
}

func TestFaultAfterWrite(t *testing.T) {
	tests := []struct {
		kind       seeyonfake.FaultKind
		wantStatus int
	}{
		{seeyonfake.FaultEmptyAfterWrite, 200},
		{seeyonfake.FaultHTTP500AfterWrite, 500},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			f := newFixture(t)
			tok := f.token(t, "zhangsan")
			f.fake.SetFault(seeyonfake.Fault{Endpoint: "execApp", Kind: tt.kind, Times: 1})
			status, body := f.meeting(t, tok, "execApp", `{"roomId":"-2295828016161864200","startDatetime":"2023-04-12 09:00","endDatetime":"2023-04-12 10:00"}`)
			if status != tt.wantStatus || strings.Contains(body, "roomAppState") {
				t.Errorf("execApp with %s = %d %q, want %d without an answer", tt.kind, status, body, tt.wantStatus)
			}
			if n := len(f.fake.Bookings()); n != 1 {
				t.Errorf("bookings after execApp with %s = %d, want 1 (the write happened)", tt.kind, n)
			}
		})
	}
}

func TestFaultHangEndsWithTheClient(t *testing.T) {
	for _, kind := range []seeyonfake.FaultKind{seeyonfake.FaultHang, seeyonfake.FaultHangAfterWrite, seeyonfake.FaultLatency} {
		t.Run(string(kind), func(t *testing.T) {
			f := newFixture(t)
			f.fake.SetFault(seeyonfake.Fault{Endpoint: "token", Kind: kind, Delay: time.Hour})
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.url+"/seeyon/rest/token", strings.NewReader(`{}`))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				t.Fatalf("token with %s answered %d, want no answer", kind, resp.StatusCode)
			}
			// The server's Close (in cleanup) waits for the handler: it must return.
		})
	}
}

func TestFaultHangEndsOnClose(t *testing.T) {
	f := newFixture(t)
	f.fake.SetFault(seeyonfake.Fault{Kind: seeyonfake.FaultHang})
	done := make(chan error, 1)
	go func() {
		resp, err := http.Post(f.url+"/seeyon/rest/token", "application/json", strings.NewReader(`{}`))
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	f.fake.Close()
	if err := <-done; err != nil {
		t.Errorf("hanging request after Close = %v, want an (empty) answer", err)
	}
}

func TestFaultDown(t *testing.T) {
	f := newFixture(t)
	f.fake.SetFault(seeyonfake.Fault{Kind: seeyonfake.FaultDown, Times: 1})
	resp, err := http.Post(f.url+"/seeyon/rest/token", "application/json", strings.NewReader(`{}`))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("token with FaultDown answered %d, want a dropped connection", resp.StatusCode)
	}
	f.token(t, "zhangsan") // the next call works
}

func TestAdminBookings(t *testing.T) {
	f := newFixture(t)
	steps := []struct {
		method, path, body string
		wantStatus         int
	}{
		{"POST", "/_fake/bookings", `{"roomId":"-2295828016161864200","loginName":"lisi","start":"2023-04-12 09:00","end":"2023-04-12 10:00","description":"管理员代订"}`, 201},
		{"POST", "/_fake/bookings", `{"roomId":"-2295828016161864200","loginName":"zhangsan","start":"2023-04-12T01:30:00Z","end":"2023-04-12T02:30:00Z"}`, 409},
		{"POST", "/_fake/bookings", `{"roomId":"1","loginName":"lisi","start":"2023-04-12 09:00","end":"2023-04-12 10:00"}`, 404},
		{"POST", "/_fake/bookings", `{"roomId":"-2295828016161864200","loginName":"lisi","start":"soon","end":"later"}`, 400},
		{"POST", "/_fake/bookings", `{"roomId":`, 400},
		{"DELETE", "/_fake/bookings/-1", ``, 404},
		{"PATCH", "/_fake/bookings/-1", `{"start":"2023-04-12 09:00","end":"2023-04-12 10:00"}`, 404},
		{"POST", "/_fake/bookings/-1/reject", ``, 404},
		{"GET", "/_fake/nothing", ``, 404},
	}
	for _, s := range steps {
		if status, body := f.do(t, s.method, s.path, nil, s.body); status != s.wantStatus {
			t.Errorf("%s %s %s = %d %s, want %d", s.method, s.path, s.body, status, body, s.wantStatus)
		}
	}
	id := f.fake.Bookings()[0].AppID
	if status, _ := f.do(t, "PATCH", "/_fake/bookings/"+id, nil, `{"start":"2023-04-12 11:00","end":"2023-04-12 12:00"}`); status != 204 {
		t.Errorf("PATCH /_fake/bookings/%s = %d, want 204", id, status)
	}
	if status, _ := f.do(t, "POST", "/_fake/bookings/"+id+"/reject", nil, ""); status != 204 {
		t.Errorf("POST /_fake/bookings/%s/reject = %d, want 204", id, status)
	}
	if status, _ := f.do(t, "DELETE", "/_fake/bookings/"+id, nil, ""); status != 204 {
		t.Errorf("DELETE /_fake/bookings/%s = %d, want 204", id, status)
	}
	_, body := f.do(t, "GET", "/_fake/bookings", nil, "")
	var got []seeyonfake.Booking
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("GET /_fake/bookings = %s: %v", body, err)
	}
	want := []seeyonfake.Booking{{
		AppID: id, RoomID: "-2295828016161864200", LoginName: "lisi", ApplicantName: "李四",
		Start: time.Date(2023, 4, 12, 11, 0, 0, 0, zone), End: time.Date(2023, 4, 12, 12, 0, 0, 0, zone),
		Description: "管理员代订", Status: 2, AppliedAt: time.Date(2023, 4, 10, 9, 0, 0, 0, zone),
		Native: true, Cancelled: true, CancelReason: "cancelled in the OA",
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /_fake/bookings (-want +got):\n%s", diff)
	}
}

func TestAdminFaults(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, "zhangsan")
	steps := []struct {
		method, path, body string
		wantStatus         int
	}{
		{"POST", "/_fake/faults", `{"endpoint":"getMeetingRooms","kind":"http500","times":1}`, 204},
		{"POST", "/_fake/faults", `{"endpoint":"execApp","kind":"latency","delay":"2s"}`, 204},
		{"POST", "/_fake/faults", `{"kind":"explode"}`, 400},
		{"POST", "/_fake/faults", `{"kind":"latency"}`, 400},
		{"POST", "/_fake/faults", `{"kind":"latency","delay":"soon"}`, 400},
		{"POST", "/_fake/faults", `{"kind":"http500","times":-1}`, 400},
	}
	for _, s := range steps {
		if status, body := f.do(t, s.method, s.path, nil, s.body); status != s.wantStatus {
			t.Errorf("%s %s %s = %d %s, want %d", s.method, s.path, s.body, status, body, s.wantStatus)
		}
	}
	// A misspelt endpoint would match no request and inject nothing: refused, naming the
	// endpoints the fake serves.
	for _, bad := range []string{"execapp", "meeting/execAp", "getMeetingRoom"} {
		status, body := f.do(t, "POST", "/_fake/faults", nil, `{"endpoint":"`+bad+`","kind":"http500"}`)
		if status != 400 || !strings.Contains(body, "execApp") || !strings.Contains(body, "getMeetingRooms") || !strings.Contains(body, "token") {
			t.Errorf("POST /_fake/faults for endpoint %q = %d %s, want 400 naming the endpoints served", bad, status, body)
		}
	}
	// The legacy build does not serve getMeetingUserInfo, so a fault for it is refused.
	if status, body := newFixture(t, seeyonfake.WithLegacyOccupancy()).do(t, "POST", "/_fake/faults", nil, `{"endpoint":"getMeetingUserInfo","kind":"http500"}`); status != 400 {
		t.Errorf("legacy fake: POST /_fake/faults for getMeetingUserInfo = %d %s, want 400", status, body)
	}
	_, body := f.do(t, "GET", "/_fake/faults", nil, "")
	wantList := `[{"endpoint":"getMeetingRooms","kind":"http500","times":1},{"endpoint":"execApp","kind":"latency","times":0,"delay":"2s"}]`
	if strings.TrimSpace(body) != wantList {
		t.Errorf("GET /_fake/faults = %s, want %s", body, wantList)
	}
	if status, _ := f.meeting(t, tok, "getMeetingRooms", `{}`); status != 500 {
		t.Errorf("getMeetingRooms after POST /_fake/faults = %d, want 500", status)
	}
	if status, _ := f.do(t, "DELETE", "/_fake/faults", nil, ""); status != 204 {
		t.Errorf("DELETE /_fake/faults = %d, want 204", status)
	}
	if got := f.fake.Faults(); len(got) != 0 {
		t.Errorf("Faults() after DELETE = %+v, want none", got)
	}
	_, body = f.do(t, "GET", "/_fake/calls", nil, "")
	if !strings.Contains(body, `"getMeetingRooms":1`) || !strings.Contains(body, `"token":1`) {
		t.Errorf("GET /_fake/calls = %s, want token and getMeetingRooms counted once", body)
	}
}

// getOrderDate stops counting after about 300 booking-days, as the older build does: a
// day applied for later is missing from a busy room's answer.
func TestOrderDateCap(t *testing.T) {
	for _, n := range []int{10, 305} {
		t.Run(fmt.Sprintf("%d earlier bookings", n), func(t *testing.T) {
			f := newFixture(t)
			for i := range n {
				start := time.Date(2022, 1, 1, 9, 0, 0, 0, zone).AddDate(0, 0, i)
				if _, err := f.fake.AddNative("-2295828016161864200", "zhangsan", start, start.Add(time.Hour), "旧"); err != nil {
					t.Fatal(err)
				}
			}
			f.clock.Advance(time.Minute)
			if _, err := f.fake.AddNative("-2295828016161864200", "zhangsan", time.Date(2023, 4, 20, 9, 0, 0, 0, zone), time.Date(2023, 4, 20, 10, 0, 0, 0, zone), "新"); err != nil {
				t.Fatal(err)
			}
			tok := f.token(t, "zhangsan")
			_, got := f.meeting(t, tok, "getOrderDate", `{"roomId":"-2295828016161864200"}`)
			if listed := strings.Contains(got, `"2023-04-20"`); listed != (n < 300) {
				t.Errorf("getOrderDate after %d bookings lists 2023-04-20: %v, want %v", n, listed, n < 300)
			}
		})
	}
}
