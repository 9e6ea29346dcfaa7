package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/bridge/oa/seeyonfake"
	"roombridge/migrations"
	"roombridge/models"
)

// roomFakes serves an OA and a DingTalk fake that list the demo catalog's rooms except
// drop (by catalog id) and with the extra rooms added: the catalog's mapping of a
// dropped room is stale, an extra room is one no catalog room maps to.
func roomFakes(t *testing.T, dropOA, dropDT string, extraOA []seeyonfake.Room, extraDT []dingtalkfake.Room) (oa *seeyonfake.Server, dt *dingtalkfake.Server, env map[string]string) {
	t.Helper()
	cat := models.DemoCatalog()
	zone, _ := time.LoadLocation("Asia/Shanghai")
	var oaRooms []seeyonfake.Room
	var dtRooms []dingtalkfake.Room
	for _, r := range cat.Rooms() {
		if r.OARoomID != "" && r.ID != dropOA {
			oaRooms = append(oaRooms, seeyonfake.Room{ID: r.OARoomID, Name: r.Name, Seats: r.Capacity})
		}
		if r.DingTalkRoomID != "" && r.ID != dropDT {
			dtRooms = append(dtRooms, dingtalkfake.Room{ID: r.DingTalkRoomID, Name: r.Name, Capacity: r.Capacity})
		}
	}
	var users []seeyonfake.User
	var dtUsers []dingtalkfake.User
	for _, u := range cat.Users {
		if u.OALogin != "" {
			users = append(users, seeyonfake.User{LoginName: u.OALogin, Name: u.Name})
		}
		if u.DingTalkUserID != "" {
			dtUsers = append(dtUsers, dingtalkfake.User{UserID: u.DingTalkUserID, UnionID: fakeUnionID(u.DingTalkUserID), Name: u.Name})
		}
	}
	oa = seeyonfake.New(fakeOAUser, fakeOAPassword, append(oaRooms, extraOA...), users, seeyonfake.WithZone(zone))
	dt = dingtalkfake.New(fakeAppKey, fakeAppSecret, append(dtRooms, extraDT...), dtUsers)
	oaSrv, dtSrv := httptest.NewServer(oa), httptest.NewServer(dt)
	t.Cleanup(oaSrv.Close)
	t.Cleanup(dtSrv.Close)
	n := time.Now().In(zone).AddDate(0, 0, 7)
	cutover := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, zone)
	env = map[string]string{
		"ROOMBRIDGE_DEMO": "0", "ROOMBRIDGE_AUTH": "header", "ROOMBRIDGE_ADMINS": "admin",
		"ROOMBRIDGE_OA_URL": oaSrv.URL, "ROOMBRIDGE_OA_REST_USER": fakeOAUser, "ROOMBRIDGE_OA_REST_PASSWORD": fakeOAPassword,
		"ROOMBRIDGE_DINGTALK_URL": dtSrv.URL, "ROOMBRIDGE_DINGTALK_OAPI_URL": dtSrv.URL,
		"ROOMBRIDGE_DINGTALK_APP_KEY": fakeAppKey, "ROOMBRIDGE_DINGTALK_APP_SECRET": fakeAppSecret,
		"ROOMBRIDGE_CUTOVER": cutover.Format(time.RFC3339), "ROOMBRIDGE_OA_FREEZE": cutover.Add(-time.Hour).Format(time.RFC3339),
	}
	return oa, dt, env
}

// The room-mapping page lists what the backends really hold: each catalog room with the
// OA and DingTalk rooms it maps to (by the backend's name), a mapping whose id the
// backend no longer lists as stale with the look-alike new room suggested, and the
// backend rooms no catalog room maps to with the catalog rooms they could be. DingTalk's
// list (a metered call) is read once for several page views.
func TestRoomMappingPage(t *testing.T) {
	oa, dt, env := roomFakes(t, "sk-tianyuan", "lxx-gugong",
		[]seeyonfake.Room{{ID: "7000000000000000001", Name: "天元会议室（新）", Seats: 12}, {ID: "7000000000000000002", Name: "员工活动室", Seats: 40}},
		[]dingtalkfake.Room{{ID: "dt-gugong-2", Name: "故宫会议室", Capacity: 8}})
	in := start(t, env)
	page := in.do("GET", in.url+"/admin/rooms", "admin", nil, "Accept-Language", "en")
	if page.code != http.StatusOK {
		t.Fatalf("GET /admin/rooms as admin = %d\n%s", page.code, page.body)
	}
	body := string(page.body)
	// li is the list item of the page holding marker.
	li := func(marker string) string {
		i := strings.Index(body, marker)
		if i < 0 {
			t.Fatalf("GET /admin/rooms: no %q in\n%s", marker, body)
		}
		from := strings.LastIndex(body[:i], "<li")
		return body[from : i+strings.Index(body[i:], "</li>")]
	}
	item := func(id string) string { return li(`id="room-` + id + `"`) }
	for _, tt := range []struct {
		name, in string
		want     []string
		wantNot  []string
	}{
		{"mapped in both, named as the backends call it", item("duowei"), []string{"-2295828016161864200", "dt-duowei", "多维缩放会议室"}, []string{"not listed by the system"}},
		{"OA id the OA no longer lists", item("sk-tianyuan"), []string{"-6718304221187342101", "not listed by the system", "Could be: 天元会议室（新） (7000000000000000001)"}, nil},
		{"DingTalk id DingTalk no longer lists", item("lxx-gugong"), []string{"dt-lxx-gugong", "not listed by the system", "故宫会议室 (dt-gugong-2)"}, nil},
		{"stale count", body, []string{"2 rooms have an id the OA or DingTalk no longer lists"}, nil},
		{"OA room the catalog lacks, with the catalog room it could be", li("<code>7000000000000000001</code>"), []string{"天元会议室（新）", "Could be: 天元会议室 (sk-tianyuan)"}, nil},
		{"unrelated OA room, nothing suggested", li("<code>7000000000000000002</code>"), []string{"员工活动室", "40 seats"}, []string{"Could be"}},
		{"DingTalk room the catalog lacks", li("<code>dt-gugong-2</code>"), []string{"故宫会议室", "Could be: 故宫会议室 (lxx-gugong)"}, nil},
		{"listed rooms are not among those the catalog lacks", body[strings.Index(body, "System rooms the catalog does not map"):], nil, []string{"dt-duowei", "-2295828016161864200", "dt-sk-xiaoyao"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, w := range tt.want {
				if !strings.Contains(tt.in, w) {
					t.Errorf("GET /admin/rooms: %q missing from\n%s", w, tt.in)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(tt.in, w) {
					t.Errorf("GET /admin/rooms: %q present in\n%s", w, tt.in)
				}
			}
		})
	}
	if in.do("GET", in.url+"/admin/rooms", "admin", nil).code != http.StatusOK {
		t.Fatal("second GET /admin/rooms failed")
	}
	if got := dt.Calls(dingtalkfake.APIQueryMeetingRoomList); got != 1 {
		t.Errorf("DingTalk room-list calls after two page views = %d, want 1 (the list is kept)", got)
	}
	if got := oa.Calls("getMeetingRooms"); got != 1 {
		t.Errorf("OA getMeetingRooms calls after two page views = %d, want 1", got)
	}
	// A refresh right after a read is answered from memory (at most one read per backend
	// every 30 seconds, whoever asks).
	if r := in.do("POST", in.url+"/admin/rooms/refresh", "admin", strings.NewReader("{}")); r.code != http.StatusOK || !strings.Contains(string(r.body), "dt-gugong-2") {
		t.Errorf("POST /admin/rooms/refresh as admin = %d, want the room page after the redirect", r.code)
	}
	if got := dt.Calls(dingtalkfake.APIQueryMeetingRoomList); got != 1 {
		t.Errorf("DingTalk room-list calls after a refresh within 30 s = %d, want 1", got)
	}
	for _, rq := range []struct{ method, path string }{{"GET", "/admin/rooms"}, {"POST", "/admin/rooms/refresh"}} {
		if r := in.do(rq.method, in.url+rq.path, "zhangsan", strings.NewReader("{}")); r.code != http.StatusForbidden {
			t.Errorf("%s %s as staff = %d, want 403", rq.method, rq.path, r.code)
		}
	}
}

// With the OA down, the room-mapping page still shows the catalog and DingTalk's side,
// says (in the reader's language) that the OA list could not be read, and marks no OA
// mapping stale.
func TestRoomMappingPageBackendDown(t *testing.T) {
	oa, _, env := roomFakes(t, "sk-tianyuan", "", nil, []dingtalkfake.Room{{ID: "dt-extra", Name: "新会议室", Capacity: 4}})
	oa.SetFault(seeyonfake.Fault{Endpoint: "getMeetingRooms", Kind: seeyonfake.FaultHTTP500})
	in := start(t, env)
	for _, tt := range []struct{ lang, want string }{
		{"en", "The OA (Seeyon) room list could not be read (the system is not answering); the catalog side is shown."},
		{"zh-CN", "无法读取OA（致远）的会议室列表（系统暂时无法访问），下面只按名录显示。"},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			r := in.do("GET", in.url+"/admin/rooms", "admin", nil, "Accept-Language", tt.lang)
			body := string(r.body)
			if r.code != http.StatusOK || !strings.Contains(body, tt.want) {
				t.Fatalf("GET /admin/rooms with the OA down = %d, want 200 with %q\n%s", r.code, tt.want, body)
			}
			for _, w := range []string{`id="room-sk-tianyuan"`, "-6718304221187342101", "dt-extra"} {
				if !strings.Contains(body, w) {
					t.Errorf("GET /admin/rooms with the OA down: %q missing", w)
				}
			}
			if strings.Count(body, "badge rejected\">"+map[string]string{"en": "not listed by the system", "zh-CN": "对方系统中没有这个编号"}[tt.lang]) != 0 {
				t.Errorf("GET /admin/rooms with the OA down marks a mapping stale it cannot know about")
			}
		})
	}
}

// With this month's DingTalk budget spent (as counted by an earlier run), the
// room-mapping page does not read DingTalk's room list: it says so in the reader's
// language and shows the catalog side; the OA's list (not metered) is read as usual.
func TestRoomMappingPageBudgetSpent(t *testing.T) {
	oa, dt, env := roomFakes(t, "", "", nil, nil)
	path := filepath.Join(t.TempDir(), "roombridge.db")
	s, err := models.Open("sqlite:"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrations.Up(context.Background(), s.SQL(), migrations.DialectSQLite); err != nil {
		t.Fatal(err)
	}
	zone, _ := time.LoadLocation("Asia/Shanghai")
	if _, err := s.AddState(context.Background(), models.BackendDingTalk, "metered_calls:"+time.Now().In(zone).Format("2006-01"), 100); err != nil {
		t.Fatal(err)
	}
	s.Close()
	env["ROOMBRIDGE_DB"] = "sqlite:" + path
	env["ROOMBRIDGE_DINGTALK_MONTHLY_BUDGET"] = "100"
	in := start(t, env)
	for _, tt := range []struct{ lang, want string }{
		{"en", "The DingTalk room list was not read: the monthly call budget is spent. The catalog side is shown."},
		{"zh-CN", "本月钉钉接口调用额度已用完，未读取会议室列表，下面只按名录显示。"},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			r := in.do("GET", in.url+"/admin/rooms", "admin", nil, "Accept-Language", tt.lang)
			body := string(r.body)
			if r.code != http.StatusOK || !strings.Contains(body, tt.want) {
				t.Fatalf("GET /admin/rooms with the budget spent = %d, want 200 with %q\n%s", r.code, tt.want, body)
			}
			for _, w := range []string{`id="room-duowei"`, "-2295828016161864200", "dt-duowei"} {
				if !strings.Contains(body, w) {
					t.Errorf("GET /admin/rooms with the budget spent: %q missing", w)
				}
			}
		})
	}
	if n := dt.Calls(dingtalkfake.APIQueryMeetingRoomList); n != 0 {
		t.Errorf("DingTalk room-list calls with the budget spent = %d, want none", n)
	}
	if n := oa.Calls("getMeetingRooms"); n != 1 {
		t.Errorf("OA getMeetingRooms calls = %d, want 1 (not metered, read as usual)", n)
	}
}
