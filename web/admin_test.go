package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/models"
)

// admin is an honest Admin over a scripted view of the two backends: each Sync reads
// what every backend lists, applies the difference to what it knew, refuses to cancel
// everything when a backend suddenly lists nothing (unless forced), spends DingTalk's
// metered calls, and records the pass. Status reports the recorded passes newest first,
// the budget projected from the calls really spent, and the outbox from the real store.
type admin struct {
	store *models.Store
	now   func() time.Time

	mu sync.Mutex
	// known is what the bridge holds per backend; lists what the backend answers; down
	// makes a backend fail.
	known, lists map[string]int
	down         map[string]error
	// DingTalk's budget: calls per pass, interval between passes, used this month.
	budget, perPass, used int
	interval              time.Duration
	// state and until are the sync state the budget puts DingTalk in ("" = running).
	state  string
	until  time.Time
	runs   []models.SyncSummary
	forced []bool
	// stream is DingTalk's Stream status (nil: Stream mode off).
	stream *models.StreamStatus
}

func newAdmin(store *models.Store, now func() time.Time) *admin {
	return &admin{
		store: store, now: now,
		known: map[string]int{"oa": 5, "dingtalk": 3}, lists: map[string]int{"oa": 6, "dingtalk": 3}, down: map[string]error{},
		budget: 20000, perPass: 30, used: 1200, interval: time.Hour,
	}
}

func (a *admin) Sync(_ context.Context, force bool) ([]models.SyncSummary, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.forced = append(a.forced, force)
	var passes []models.SyncSummary
	var errs []error
	for _, b := range []string{"oa", "dingtalk"} {
		if err := a.down[b]; err != nil {
			errs = append(errs, fmt.Errorf("sync %s: %w", b, err))
			continue
		}
		p := models.SyncSummary{Backend: models.Backend(b), StartedAt: a.now(), DurationMS: 350, Seen: a.lists[b]}
		if b == "dingtalk" {
			p.DurationMS, p.MeteredCalls = 2400, a.perPass
			a.used += a.perPass
		}
		switch known := a.known[b]; {
		case p.Seen == 0 && known > 0 && !force:
			p.Guarded, p.Note = known, "empty answer"
		case p.Seen >= known:
			p.Created = p.Seen - known
			a.known[b] = p.Seen
		default:
			p.Cancelled = known - p.Seen
			a.known[b] = p.Seen
		}
		passes = append(passes, p)
		a.runs = append(a.runs, p)
	}
	return passes, errors.Join(errs...)
}

func (a *admin) Status(ctx context.Context) (models.AdminStatus, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	counts, err := a.store.JobCounts(ctx)
	if err != nil {
		return models.AdminStatus{}, err
	}
	outbox := map[string]int{}
	for st, n := range counts {
		outbox[string(st)] = n
	}
	runs := slices.Clone(a.runs)
	slices.Reverse(runs)
	now := a.now().In(shanghai)
	monthEnd := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, shanghai)
	usage := models.UsageStatus{
		Backend: "dingtalk", Month: now.Format("2006-01"), Budget: a.budget, Used: a.used, PerPass: a.perPass, Interval: a.interval,
		Projected: a.used + a.perPass*int(monthEnd.Sub(now)/a.interval), SteadyMonth: a.perPass * int(30*24*time.Hour/a.interval),
		Overage: 1000, State: a.state, Until: a.until,
	}
	unmapped, err := a.store.UnmappedOrganizers(ctx, a.now())
	if err != nil {
		return models.AdminStatus{}, err
	}
	return models.AdminStatus{Runs: runs, Usage: []models.UsageStatus{usage}, Outbox: outbox, Cutover: cutover, Freeze: freeze, Demo: true,
		UnmappedOrganizers: unmapped, Stream: a.stream}, nil
}

// withAdmin turns the admin features on with the scripted Admin, returned through a.
func withAdmin(a **admin) func(*Config) {
	return func(c *Config) {
		*a = newAdmin(c.Store, c.Now)
		c.Admin = *a
	}
}

// queueJob leaves one pending outbox job, as a booking waiting for its backend does.
func queueJob(t *testing.T, e *env) {
	t.Helper()
	id := models.NewID()
	r := models.Reservation{
		ID: id, UID: models.BridgeUID(id), RoomID: "duowei", Start: at(17, 9, 0), End: at(17, 10, 0), Title: "周会",
		OrganizerID: "zhangsan", Backend: models.BackendDingTalk, Origin: models.OriginBridge, Status: models.StatusPending,
	}
	job := models.Job{ID: models.NewID(), ReservationID: id, Kind: models.JobCreate, Backend: models.BackendDingTalk, State: models.JobPending, NextAttemptAt: testNow}
	if _, _, err := e.store.Book(context.Background(), r, []models.Job{job}, nil); err != nil {
		t.Fatalf("store.Book with a job = %v", err)
	}
}

func TestAdminPage(t *testing.T) {
	var a *admin
	e := newEnv(t, withAdmin(&a))
	queueJob(t, e)
	b := e.browser().login("admin")

	body := b.get("/admin").Body.String()
	for _, want := range []string{
		`<a href="/admin">管理</a>`, "<span class=\"nowrap\">2023-04-17 00:00:00</span> <span class=\"muted\">(Asia/Shanghai)</span>", "2023-04-16 23:00:00",
		"还没有同步记录", `<span class="badge tentative">演示</span>`,
		`<li class="state pending alert-state"><span>待发送</span> <strong>1</strong></li>`,
		`<li class="state failed"><span>已放弃（需要处理）</span> <strong>0</strong></li>`,
		`<button type="submit" class="primary">立即同步</button>`, `<input type="hidden" name="force" value="1">`,
		`<button type="submit" class="danger">强制同步（允许批量取消）</button>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /admin lacks %q", want)
		}
	}

	a.lists["dingtalk"] = 0 // DingTalk suddenly lists nothing
	w := b.post("/admin/sync", url.Values{})
	body = w.Body.String()
	if w.Code != http.StatusOK || !slices.Equal(a.forced, []bool{false}) {
		t.Fatalf("POST /admin/sync = %d, forced %v; want 200 and one unforced sync", w.Code, a.forced)
	}
	for _, want := range []string{
		"刚刚的同步结果", `<tr class="run bad">`, "返回空结果，已阻止批量取消", "empty answer", "2.4 秒", "350 毫秒",
		"<h3>OA（致远）</h3>", "<h3>钉钉</h3>", "2023-04-10 10:00:00",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("POST /admin/sync page lacks %q", want)
		}
	}
	if n := strings.Count(body, `<tr class="run bad">`); n != 2 {
		t.Errorf("POST /admin/sync page highlights %d rows, want the guarded DingTalk pass twice (just run, and latest passes)", n)
	}

	w = b.post("/admin/sync", url.Values{"force": {"1"}})
	body = w.Body.String()
	if !slices.Equal(a.forced, []bool{false, true}) || !strings.Contains(body, "刚刚的强制同步结果（允许批量取消）") {
		t.Errorf("POST /admin/sync force=1: forced %v, want the flag to reach Admin and the page to say so", a.forced)
	}
	if a.known["dingtalk"] != 0 {
		t.Errorf("forced sync left %d DingTalk bookings, want them cancelled", a.known["dingtalk"])
	}

	t.Run("quota", func(t *testing.T) {
		// Two passes spent 60 calls on top of 1200; 494 hours remain in April at one pass an hour.
		tests := []struct {
			budget int
			want   []string
		}{
			{20000, []string{"预计本月共 16,080 次，预算 20,000 次", `<strong class="verdict ok">✓ 在预算内</strong>`, "每 1 小时", "21,600 次", "1,260"}},
			{10000, []string{"预计本月共 16,080 次，预算 10,000 次", `<strong class="verdict over">✗ 将超出预算</strong>`, `<dd class="projection over">`}},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprint(tt.budget), func(t *testing.T) {
				a.budget = tt.budget
				body := b.get("/admin").Body.String()
				for _, want := range tt.want {
					if !strings.Contains(body, want) {
						t.Errorf("GET /admin with budget %d lacks %q", tt.budget, want)
					}
				}
			})
		}
		a.budget = 20000
	})

	t.Run("sync paused or throttled by the budget", func(t *testing.T) {
		until := time.Date(2023, 4, 12, 9, 30, 0, 0, shanghai)
		tests := []struct {
			state string
			want  []string
		}{
			{"", []string{"正常运行"}},
			{"throttled", []string{"因额度放慢：下次同步在 2023-04-12 09:30"}},
			{"paused", []string{"因额度暂停：本月预算已用完，下次同步在 2023-04-12 09:30", "最多超出预算 1,000 次"}},
		}
		for _, tt := range tests {
			t.Run(tt.state, func(t *testing.T) {
				a.state, a.until = tt.state, until
				body := b.get("/admin").Body.String()
				for _, want := range tt.want {
					if !strings.Contains(body, want) {
						t.Errorf("GET /admin with sync %q lacks %q", tt.state, want)
					}
				}
			})
		}
		a.state, a.until = "", time.Time{}
	})

	t.Run("English", func(t *testing.T) {
		en := e.browser().login("admin")
		en.get("/lang?to=en&next=/")
		en.get("/admin")
		a.lists["dingtalk"], a.known["dingtalk"] = 0, 4
		body := en.post("/admin/sync", url.Values{}).Body.String()
		for _, want := range []string{
			`<html lang="en">`, "Sync now", "Force sync (allow mass cancellation)", "returned nothing; mass cancellation refused",
			"16,110 calls expected this month, budget 20,000", "✓ within budget", "every 1 h", "2.4 s", "Pending", "DingTalk",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("POST /admin/sync (en) lacks %q", want)
			}
		}
	})

	t.Run("refused", func(t *testing.T) {
		before := len(a.forced)
		zhang := e.browser().login("zhangsan")
		if body := zhang.get("/").Body.String(); strings.Contains(body, `href="/admin"`) {
			t.Errorf("the nav links to /admin for a non-admin")
		}
		if w := zhang.get("/admin"); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "只有管理员") {
			t.Errorf("GET /admin as zhangsan = %d, want 403", w.Code)
		}
		if w := zhang.post("/admin/sync", url.Values{}); w.Code != http.StatusForbidden {
			t.Errorf("POST /admin/sync as zhangsan = %d, want 403", w.Code)
		}
		if w := b.post("/admin/sync", url.Values{csrfField: {""}}); w.Code != http.StatusForbidden {
			t.Errorf("POST /admin/sync without the CSRF token = %d, want 403", w.Code)
		}
		if w := e.browser().get("/admin"); w.Code != http.StatusSeeOther {
			t.Errorf("GET /admin anonymously = %d, want 303 to the login", w.Code)
		}
		if len(a.forced) != before {
			t.Errorf("refused posts ran %d syncs, want none", len(a.forced)-before)
		}
	})

	t.Run("both backends down", func(t *testing.T) {
		a.down["oa"], a.down["dingtalk"] = models.ErrUnavailable, models.ErrUnavailable
		defer delete(a.down, "oa")
		defer delete(a.down, "dingtalk")
		w := b.post("/admin/sync", url.Values{})
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "同步出错：") || !strings.Contains(w.Body.String(), "立即同步") {
			t.Errorf("POST /admin/sync with both backends down = %d, want 503 on the admin page with the error", w.Code)
		}
	})
}

// The admin page counts native bookings whose organizer the catalog cannot map.
func TestAdminPageUnmappedOrganizers(t *testing.T) {
	e := newEnv(t, withAdmin(new(*admin)))
	b := e.browser().login("admin")
	if body := b.get("/admin").Body.String(); !strings.Contains(body, `<p class="unmapped">0 个尚未结束的直接预订找不到对应的用户</p>`) {
		t.Errorf("GET /admin without native bookings lacks the zero count")
	}
	_, err := e.store.ApplySync(context.Background(), models.BackendOA, []models.Remote{
		{RemoteID: "-1", RoomID: "duowei", Start: at(12, 9, 0), End: at(12, 10, 0), Title: "外人的会", OrganizerName: "孙七", OrganizerRef: "oa-member:-7", Status: models.StatusConfirmed},
		{RemoteID: "-2", RoomID: "duowei", Start: at(12, 11, 0), End: at(12, 12, 0), Title: "张三的会", OrganizerID: "zhangsan", OrganizerName: "张三", OrganizerRef: "oa-member:-5", Status: models.StatusConfirmed},
	}, models.ApplyOptions{From: at(10, 0, 0), To: at(20, 0, 0), Rooms: []string{"duowei"}})
	if err != nil {
		t.Fatal(err)
	}
	if body := b.get("/admin").Body.String(); !strings.Contains(body, `<p class="unmapped alert-state">1 个尚未结束的直接预订找不到对应的用户</p>`) {
		t.Errorf("GET /admin lacks the count of 1 unmapped organizer:\n%s", body)
	}
}

func TestSyncAPI(t *testing.T) {
	var a *admin
	e := newEnv(t, withAdmin(&a))
	tests := []struct {
		name, user, body string
		header           []string
		status           int
		force            []bool // Admin.Sync calls so far
	}{
		{"anonymous", "", "{}", nil, 401, nil},
		{"not an admin", "zhangsan", "{}", nil, 403, nil},
		{"admin, no body", "admin", "", []string{"Content-Type", "application/json"}, 200, []bool{false}},
		{"admin, force", "admin", `{"force":true}`, nil, 200, []bool{false, true}},
		{"admin, bad body", "admin", `{"force":"yes"}`, nil, 400, []bool{false, true}},
		{"admin, not JSON", "admin", "", nil, 403, []bool{false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.api(http.MethodPost, "/api/v1/sync", tt.user, tt.body, tt.header...)
			if w.Code != tt.status || !slices.Equal(a.forced, tt.force) {
				t.Fatalf("POST /api/v1/sync = %d %s, Sync calls %v; want %d, %v", w.Code, w.Body, a.forced, tt.status, tt.force)
			}
			if tt.status != 200 {
				return
			}
			got := decode[syncJSON](t, w)
			if len(got.Passes) != 2 || got.Passes[0].Backend != "oa" || got.Passes[1].Backend != "dingtalk" || got.Error != "" {
				t.Errorf("POST /api/v1/sync = %+v, want the passes of both backends and no error", got)
			}
			if !strings.Contains(w.Body.String(), `"started_at":"2023-04-10T10:00:00+08:00"`) || !strings.Contains(w.Body.String(), `"metered_calls":30`) {
				t.Errorf("POST /api/v1/sync body = %s, want snake_case fields and times in the zone", w.Body)
			}
		})
	}

	t.Run("one backend down", func(t *testing.T) {
		a.down["dingtalk"] = models.ErrUnavailable
		defer delete(a.down, "dingtalk")
		w := e.api(http.MethodPost, "/api/v1/sync", "admin", "{}")
		got := decode[syncJSON](t, w)
		if w.Code != http.StatusOK || len(got.Passes) != 1 || got.Passes[0].Backend != "oa" || got.Error == "" {
			t.Errorf("POST /api/v1/sync with DingTalk down = %d %+v, want 200, the OA pass and an error message", w.Code, got)
		}
	})
	t.Run("both backends down", func(t *testing.T) {
		a.down["oa"], a.down["dingtalk"] = models.ErrUnavailable, models.ErrUnavailable
		defer delete(a.down, "oa")
		defer delete(a.down, "dingtalk")
		w := e.api(http.MethodPost, "/api/v1/sync", "admin", "{}", "Accept-Language", "en")
		if got := decode[apiError](t, w); w.Code != http.StatusServiceUnavailable || got.Error.Code != "unavailable" || got.Error.Message == "" {
			t.Errorf("POST /api/v1/sync with both down = %d %+v, want 503 unavailable", w.Code, got)
		}
	})
}

func TestAdminStatusAPI(t *testing.T) {
	var a *admin
	e := newEnv(t, withAdmin(&a))
	queueJob(t, e)
	a.lists["dingtalk"] = 0
	e.api(http.MethodPost, "/api/v1/sync", "admin", "{}")

	for _, tt := range []struct {
		user   string
		status int
	}{{"", 401}, {"zhangsan", 403}} {
		if w := e.api(http.MethodGet, "/api/v1/admin/status", tt.user, ""); w.Code != tt.status {
			t.Errorf("GET /api/v1/admin/status as %q = %d, want %d", tt.user, w.Code, tt.status)
		}
	}
	w := e.api(http.MethodGet, "/api/v1/admin/status", "admin", "")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/admin/status = %d %s, want 200", w.Code, w.Body)
	}
	for _, want := range []string{`"interval_seconds":3600`, `"cutover":"2023-04-17T00:00:00+08:00"`, `"freeze":"2023-04-16T23:00:00+08:00"`, `"steady_month":21600`, `"guarded":3`} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("GET /api/v1/admin/status body lacks %s:\n%s", want, w.Body)
		}
	}
	got := decode[models.AdminStatus](t, w)
	want := models.AdminStatus{
		Runs: []models.SyncSummary{
			{Backend: "dingtalk", StartedAt: testNow, DurationMS: 2400, MeteredCalls: 30, Guarded: 3, Note: "empty answer"},
			{Backend: "oa", StartedAt: testNow, DurationMS: 350, Seen: 6, Created: 1},
		},
		Usage:   []models.UsageStatus{{Backend: "dingtalk", Month: "2023-04", Budget: 20000, Used: 1230, PerPass: 30, Projected: 16050, SteadyMonth: 21600, Interval: time.Hour, Overage: 1000}},
		Outbox:  map[string]int{"pending": 1},
		Cutover: cutover, Freeze: freeze, Demo: true,
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(x, y time.Time) bool { return x.Equal(y) })); diff != "" {
		t.Errorf("GET /api/v1/admin/status mismatch (-want +got):\n%s", diff)
	}
}

func TestUsageStatusJSON(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		seconds  string
	}{
		{"hour", time.Hour, `"interval_seconds":3600`},
		{"fraction", 1500 * time.Millisecond, `"interval_seconds":1.5`},
		{"zero", 0, `"interval_seconds":0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := models.UsageStatus{Backend: "dingtalk", Month: "2023-04", Budget: 3000, Used: 12, PerPass: 4, Projected: 100, SteadyMonth: 120, Interval: tt.interval}
			b, err := json.Marshal(in)
			if err != nil || !strings.Contains(string(b), tt.seconds) || !strings.Contains(string(b), `"per_pass":4`) || strings.Contains(string(b), "Interval") {
				t.Fatalf("json.Marshal(%+v) = %s, %v; want snake_case with %s", in, b, err, tt.seconds)
			}
			var out models.UsageStatus
			if err := json.Unmarshal(b, &out); err != nil || out != in {
				t.Errorf("json.Unmarshal(%s) = %+v, %v; want %+v", b, out, err, in)
			}
		})
	}
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d      time.Duration
		zh, en string
	}{
		{0, "—", "—"},
		{45 * time.Second, "45 秒", "45 s"},
		{12 * time.Minute, "12 分钟", "12 min"},
		{time.Hour, "1 小时", "1 h"},
		{150 * time.Minute, "2 小时 30 分钟", "2 h 30 min"},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			if got := humanDuration(langZH, tt.d); got != tt.zh {
				t.Errorf("humanDuration(zh, %v) = %q, want %q", tt.d, got, tt.zh)
			}
			if got := humanDuration(langEN, tt.d); got != tt.en {
				t.Errorf("humanDuration(en, %v) = %q, want %q", tt.d, got, tt.en)
			}
		})
	}
}

func TestGrouped(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {16050, "16,050"}, {1234567, "1,234,567"}, {-4500, "-4,500"}}
	for _, tt := range tests {
		if got := grouped(tt.n); got != tt.want {
			t.Errorf("grouped(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// The admin page says whether DingTalk's Stream connection is up and which events
// arrive, so an admin can tell whether room bookings come as meetingroom_book (and cost
// no call) or only as calendar_event_change; with Stream off there is no such section.
func TestAdminPageStream(t *testing.T) {
	var a *admin
	e := newEnv(t, withAdmin(&a))
	zh := e.browser().login("admin")
	en := e.browser().login("admin")
	en.get("/lang?to=en&next=/")
	if body := zh.get("/admin").Body.String(); strings.Contains(body, "钉钉 Stream 事件") {
		t.Error("GET /admin with Stream off shows a Stream section")
	}
	at := time.Date(2023, 4, 10, 9, 30, 0, 0, shanghai)
	for _, tt := range []struct {
		name   string
		stream models.StreamStatus
		zh, en []string
	}{
		{"room events arrive", models.StreamStatus{Connected: true, Since: at, RoomEventsAt: at.Add(time.Hour), CalendarEventsAt: at.Add(2 * time.Hour), RoomEventsTrusted: true},
			[]string{"钉钉 Stream 事件", "已连接（2023-04-10 09:30:00 起）", "最近一次：2023-04-10 10:30:00", "新预订直接按事件入库", "最近一次：2023-04-10 11:30:00", "日程变更事件不再读取"},
			[]string{"DingTalk Stream events", "Connected since 2023-04-10 09:30:00", "Last: 2023-04-10 10:30:00", "(room booking events arrive, so these are not read)"}},
		{"only calendar events", models.StreamStatus{Connected: true, Since: at, CalendarEventsAt: at.Add(time.Hour)},
			[]string{"本次启动以来未收到。每个日程变更事件都要读一次日程（计费调用）", "最近一次：2023-04-10 10:30:00"},
			[]string{"None since the start. Every calendar change event then costs one metered read"}},
		{"down", models.StreamStatus{Since: at},
			[]string{`<dd class="sync-state over"><strong>2023-04-10 09:30:00 起断开，正在重连；同步照常进行</strong>`, "本次启动以来未收到</dd>"},
			[]string{"Down since 2023-04-10 09:30:00, reconnecting"}},
		{"never connected", models.StreamStatus{},
			[]string{"本次启动以来尚未连上；同步照常进行"}, []string{"Not connected since the start"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a.mu.Lock()
			a.stream = &tt.stream
			a.mu.Unlock()
			for _, page := range []struct {
				b    *browser
				want []string
			}{{zh, tt.zh}, {en, tt.en}} {
				body := page.b.get("/admin").Body.String()
				for _, want := range page.want {
					if !strings.Contains(body, want) {
						t.Errorf("GET /admin lacks %q", want)
					}
				}
			}
			if tt.stream.RoomEventsTrusted {
				body := zh.get("/admin").Body.String()
				_, section, _ := strings.Cut(body, "钉钉 Stream 事件")
				section, _, _ = strings.Cut(section, "</section>")
				if strings.Contains(section, "未") || strings.Contains(section, "断开") {
					t.Error("GET /admin with Stream up and room events arriving warns anyway")
				}
				got := decode[models.AdminStatus](t, e.api(http.MethodGet, "/api/v1/admin/status", "admin", ""))
				if got.Stream == nil || !got.Stream.Connected || !got.Stream.RoomEventsAt.Equal(at.Add(time.Hour)) || !got.Stream.RoomEventsTrusted {
					t.Errorf("GET /api/v1/admin/status stream = %+v, want it as the engine reports it", got.Stream)
				}
			}
		})
	}
}
