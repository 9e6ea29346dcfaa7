package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// instance is roombridge started through run(), as `go run ./cmd/roombridge` would.
type instance struct {
	t      testing.TB
	url    string
	oaURL  string
	dtURL  string
	stderr *bytes.Buffer
	zone   *time.Location
	// db is the instance's database (ROOMBRIDGE_DB).
	db string
	// stop stops the server (once) and returns what run() returned.
	stop func() error
}

var (
	listenRe = regexp.MustCompile(`listening on (http://\S+)`)
	fakesRe  = regexp.MustCompile(`fake at (http://\S+), DingTalk fake at (http://\S+) `)
)

// start runs `roombridge serve` in demo mode on a free port with its own SQLite file,
// and stops it (checking it stops cleanly) at cleanup.
func start(t testing.TB, env map[string]string) *instance {
	t.Helper()
	dir := t.TempDir()
	base := map[string]string{
		"ROOMBRIDGE_ADDR": "127.0.0.1:0",
		"ROOMBRIDGE_DB":   "sqlite:" + filepath.Join(dir, "roombridge.db"),
	}
	for k, v := range env {
		base[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	in := &instance{t: t, stderr: &bytes.Buffer{}, db: base["ROOMBRIDGE_DB"]}
	in.zone, _ = time.LoadLocation("Asia/Shanghai")
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return base[k] }, pw, &lockedBuffer{b: in.stderr})
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		if m := listenRe.FindStringSubmatch(line); m != nil {
			in.url = m[1]
			if base["ROOMBRIDGE_DEMO"] == "0" {
				break // no demo fakes to wait for
			}
		}
		if m := fakesRe.FindStringSubmatch(line); m != nil {
			in.oaURL, in.dtURL = m[1], m[2]
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if in.url == "" || (in.oaURL == "" && base["ROOMBRIDGE_DEMO"] != "0") {
		cancel()
		t.Fatalf("roombridge did not start: %v\n%s", <-done, in.stderr)
	}
	var once sync.Once
	var stopErr error
	in.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(10 * time.Second):
				stopErr = errors.New("run() did not stop within 10 s")
			}
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := in.stop(); err != nil {
			t.Errorf("run() = %v, want a clean stop", err)
		}
	})
	return in
}

// lockedBuffer lets the server log while the test reads.
type lockedBuffer struct{ b *bytes.Buffer }

func (l *lockedBuffer) Write(p []byte) (int, error) { return l.b.Write(p) }

type reply struct {
	code int
	body []byte
}

func (r reply) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (in *instance) do(method, url, user string, body io.Reader, header ...string) reply {
	in.t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		in.t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("X-Forwarded-User", user)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, b}
}

type booking struct {
	ID       string `json:"id"`
	UID      string `json:"uid"`
	Status   string `json:"status"`
	Backend  string `json:"backend"`
	RemoteID string `json:"remote_id"`
	Reason   string `json:"reason"`
}

// day returns a time days from today at hour:minute in Shanghai.
func (in *instance) day(days, hour, minute int) time.Time {
	n := time.Now().In(in.zone).AddDate(0, 0, days)
	return time.Date(n.Year(), n.Month(), n.Day(), hour, minute, 0, 0, in.zone)
}

func bookingBody(room, title string, start time.Time, d time.Duration) string {
	return fmt.Sprintf(`{"room_id":%q,"title":%q,"start":%q,"end":%q}`, room, title, start.Format(time.RFC3339), start.Add(d).Format(time.RFC3339))
}

// settle long-polls a booking until its backend has decided.
func (in *instance) settle(user, id string) booking {
	in.t.Helper()
	var b booking
	for i := 0; i < 6; i++ {
		in.do("GET", in.url+"/api/v1/bookings/"+id+"?wait=10s", user, nil).json(in.t, &b)
		if b.Status != "pending" {
			return b
		}
	}
	in.t.Fatalf("booking %s still pending after a minute", id)
	return b
}

func (in *instance) error(r reply) (code, message string) {
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	json.Unmarshal(r.body, &e)
	return e.Error.Code, e.Error.Message
}

// TestServeDemo walks the booking core as a user meets it: one booking routed to each
// system, refusals naming the system, bad input, idempotency, and a backend outage.
func TestServeDemo(t *testing.T) {
	in := start(t, nil)
	in.sync(t) // the seeded native bookings are in before the first check, whatever the workers' timing
	// The demo catalog and the seeded native bookings are there from the start.
	var rooms []map[string]any
	in.do("GET", in.url+"/api/v1/rooms", "zhangsan", nil).json(t, &rooms)
	if len(rooms) < 8 {
		t.Fatalf("rooms = %d, want the demo catalog", len(rooms))
	}

	t.Run("tomorrow goes to the OA, ten days ahead to DingTalk", func(t *testing.T) {
		for _, tc := range []struct {
			start   time.Time
			backend string
		}{{in.day(1, 17, 0), "oa"}, {in.day(10, 17, 0), "dingtalk"}} {
			r := in.do("POST", in.url+"/api/v1/bookings", "zhangsan", strings.NewReader(bookingBody("duowei", "项目周会", tc.start, time.Hour)))
			var b booking
			r.json(t, &b)
			if r.code != http.StatusCreated || b.Backend != tc.backend {
				t.Fatalf("POST booking at %s = %d %s, want 201 for %s", tc.start, r.code, r.body, tc.backend)
			}
			if got := in.settle("zhangsan", b.ID); got.Status != "confirmed" || got.RemoteID == "" {
				t.Errorf("booking at %s = %+v, want confirmed with a remote id", tc.start, got)
			}
		}
		var mine []booking
		in.do("GET", in.url+"/api/v1/bookings?mine=1", "zhangsan", nil).json(t, &mine)
		confirmed := 0
		for _, b := range mine {
			if b.Status == "confirmed" {
				confirmed++
			}
		}
		if confirmed != 2 {
			t.Errorf("my bookings = %+v, want two confirmed", mine)
		}
	})

	t.Run("a slot taken in either system is refused naming it", func(t *testing.T) {
		for _, tc := range []struct {
			start time.Time
			names string
		}{{in.day(1, 10, 30), "OA"}, {in.day(7+1, 10, 30), "钉钉"}} {
			r := in.do("POST", in.url+"/api/v1/bookings", "lisi", strings.NewReader(bookingBody("duowei", "抢会议室", tc.start, 30*time.Minute)))
			code, msg := in.error(r)
			if r.code != http.StatusConflict || code != "room_taken" || !strings.Contains(msg, tc.names) {
				t.Errorf("POST over a %s booking = %d %s %q, want 409 room_taken naming %s\n%s", tc.names, r.code, code, msg, tc.names, in.stderr)
			}
		}
	})

	t.Run("bad input changes nothing", func(t *testing.T) {
		before := in.do("GET", in.url+"/api/v1/bookings?mine=1", "wangwu", nil)
		tomorrow := in.day(1, 18, 0)
		huge := `{"room_id":"duowei","title":"` + strings.Repeat("长", 10<<20/3) + `"}`
		for _, tc := range []struct {
			name string
			body string
			code int
		}{
			{"empty title", bookingBody("duowei", "", tomorrow, time.Hour), 422},
			{"end before start", bookingBody("duowei", "会", tomorrow, -time.Hour), 422},
			{"unknown room", bookingBody("no-such-room", "会", tomorrow, time.Hour), 404},
			{"malformed time", `{"room_id":"duowei","title":"会","start":"明天","end":"后天"}`, 400},
			{"malformed JSON", `{"room_id":`, 400},
			{"a 10 MB body", huge, 413},
		} {
			r := in.do("POST", in.url+"/api/v1/bookings", "wangwu", strings.NewReader(tc.body))
			code, msg := in.error(r)
			if r.code != tc.code || code == "" || msg == "" {
				t.Errorf("%s: POST = %d %q %q, want %d with a code and a message", tc.name, r.code, code, msg, tc.code)
			}
		}
		if after := in.do("GET", in.url+"/api/v1/bookings?mine=1", "wangwu", nil); !bytes.Equal(before.body, after.body) {
			t.Errorf("bad input changed wangwu's bookings: %s → %s", before.body, after.body)
		}
	})

	t.Run("the same Idempotency-Key books once", func(t *testing.T) {
		body := bookingBody("sk-xiaoyao", "一次就好", in.day(12, 9, 0), time.Hour)
		a := in.do("POST", in.url+"/api/v1/bookings", "zhaoliu", strings.NewReader(body), "Idempotency-Key", "e2e-key-1")
		b := in.do("POST", in.url+"/api/v1/bookings", "zhaoliu", strings.NewReader(body), "Idempotency-Key", "e2e-key-1")
		var ba, bb booking
		a.json(t, &ba)
		b.json(t, &bb)
		if a.code != 201 || b.code != 200 || ba.ID != bb.ID {
			t.Fatalf("two POSTs with one key = %d %s and %d %s, want 201 and 200 with one id", a.code, ba.ID, b.code, bb.ID)
		}
		in.settle("zhaoliu", ba.ID)
		var events []struct {
			Summary string `json:"summary"`
			Status  string `json:"status"`
		}
		in.do("GET", in.dtURL+"/_fake/events", "", nil).json(t, &events)
		n := 0
		for _, e := range events {
			if e.Summary == "一次就好" && e.Status != "cancelled" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("DingTalk holds %d events for the booking, want 1", n)
		}
	})

	t.Run("an OA outage leaves the booking pending, then it is confirmed once", func(t *testing.T) {
		if r := in.do("POST", in.oaURL+"/_fake/faults", "", strings.NewReader(`{"kind":"down"}`)); r.code >= 300 {
			t.Fatalf("inject fault = %d %s", r.code, r.body)
		}
		r := in.do("POST", in.url+"/api/v1/bookings", "lisi", strings.NewReader(bookingBody("sk-tianyuan", "断网也不丢", in.day(3, 15, 0), time.Hour)))
		var b booking
		r.json(t, &b)
		in.do("GET", in.url+"/api/v1/bookings/"+b.ID+"?wait=1s", "lisi", nil).json(t, &b)
		if b.Status != "pending" {
			t.Fatalf("booking while the OA is down = %+v, want pending", b)
		}
		in.do("DELETE", in.oaURL+"/_fake/faults", "", nil)
		if got := in.settle("lisi", b.ID); got.Status != "confirmed" {
			t.Fatalf("booking after the OA recovered = %+v, want confirmed", got)
		}
		var held []struct {
			Description string `json:"description"`
			Cancelled   bool   `json:"cancelled"`
		}
		in.do("GET", in.oaURL+"/_fake/bookings", "", nil).json(t, &held)
		n := 0
		for _, h := range held {
			if strings.HasPrefix(h.Description, "断网也不丢") && !h.Cancelled {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the OA holds %d bookings for it, want exactly 1", n)
		}
	})

	t.Run("cancel releases the booking in its system", func(t *testing.T) {
		r := in.do("POST", in.url+"/api/v1/bookings", "wangwu", strings.NewReader(bookingBody("sz-lianhuashan", "取消我", in.day(9, 11, 0), time.Hour)))
		var b booking
		r.json(t, &b)
		in.settle("wangwu", b.ID)
		if r := in.do("DELETE", in.url+"/api/v1/bookings/"+b.ID, "lisi", nil); r.code != http.StatusNotFound && r.code != http.StatusForbidden {
			t.Errorf("DELETE by someone else = %d, want 403 or 404", r.code)
		}
		if r := in.do("DELETE", in.url+"/api/v1/bookings/"+b.ID, "wangwu", nil); r.code != http.StatusOK {
			t.Fatalf("DELETE = %d %s", r.code, r.body)
		}
		var got booking
		in.do("GET", in.url+"/api/v1/bookings/"+b.ID, "wangwu", nil).json(t, &got)
		if got.Status != "cancelled" {
			t.Errorf("after DELETE status = %s, want cancelled", got.Status)
		}
	})
}

func TestBadConfigurationStopsWithOneLine(t *testing.T) {
	tests := []struct {
		name, env, value string
	}{
		{"cutover", "ROOMBRIDGE_CUTOVER", "next monday"},
		{"zone", "ROOMBRIDGE_TIMEZONE", "Mars/Olympus"},
		{"database", "ROOMBRIDGE_DB", "postgres://x"},
		{"auth", "ROOMBRIDGE_AUTH", "ldap"},
		{"base url", "ROOMBRIDGE_BASE_URL", "localhost"},
		{"budget", "ROOMBRIDGE_DINGTALK_MONTHLY_BUDGET", "-5"},
		{"database connections", "ROOMBRIDGE_DB_CONNS", "0"},
		{"database connections not a number", "ROOMBRIDGE_DB_CONNS", "many"},
		{"catalog", "ROOMBRIDGE_CATALOG", "/no/such/catalog.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{tt.env: tt.value, "ROOMBRIDGE_ADDR": "127.0.0.1:0", "ROOMBRIDGE_DB": "sqlite:" + filepath.Join(t.TempDir(), "x.db")}
			if tt.env == "ROOMBRIDGE_DB" {
				env["ROOMBRIDGE_DB"] = tt.value
			}
			err := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
			if err == nil || !strings.HasPrefix(err.Error(), tt.env+":") || strings.Contains(err.Error(), "\n") {
				t.Errorf("run(%s=%q) = %v, want one line starting with %s:", tt.env, tt.value, err, tt.env)
			}
		})
	}
}

func TestDemoCutoverIsAWeekAhead(t *testing.T) {
	now := time.Date(2026, 11, 24, 22, 0, 0, 0, time.UTC) // 2026-11-25 06:00 in Shanghai
	cfg, _, err := loadConfig(nil, func(string) string { return "" }, now)
	if err != nil {
		t.Fatal(err)
	}
	want := "2026-12-02T00:00:00+08:00"
	if !cfg.FreshDemoDB {
		t.Error("demo mode on the default database does not start fresh; its backends are in memory")
	}
	if !cfg.Demo || cfg.Cutover.Format(time.RFC3339) != want || !cfg.Freeze.Equal(cfg.Cutover.Add(-time.Hour)) {
		t.Errorf("demo config = demo %v cutover %s freeze %s, want cutover %s and freeze an hour before", cfg.Demo, cfg.Cutover.Format(time.RFC3339), cfg.Freeze.Format(time.RFC3339), want)
	}
	explicit, _, _ := loadConfig([]string{"--cutover", "2023-04-17T00:00:00+08:00"}, func(string) string { return "" }, now)
	if explicit.Cutover.Format(time.RFC3339) != "2023-04-17T00:00:00+08:00" || explicit.Freeze.Format(time.RFC3339) != "2023-04-16T23:00:00+08:00" {
		t.Errorf("explicit cutover = %s / %s, want the configured 2023 dates", explicit.Cutover, explicit.Freeze)
	}
}

// After the OA freeze, a slot the OA still owns is refused with oa_frozen and the reason.
func TestServeAfterFreeze(t *testing.T) {
	zone, _ := time.LoadLocation("Asia/Shanghai")
	n := time.Now().In(zone).AddDate(0, 0, 3)
	cutover := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, zone)
	in := start(t, map[string]string{
		"ROOMBRIDGE_CUTOVER":   cutover.Format(time.RFC3339),
		"ROOMBRIDGE_OA_FREEZE": time.Now().Add(-time.Hour).Format(time.RFC3339),
	})
	r := in.do("POST", in.url+"/api/v1/bookings", "zhangsan", strings.NewReader(bookingBody("duowei", "冻结后", in.day(1, 16, 0), time.Hour)))
	code, msg := in.error(r)
	if r.code != http.StatusConflict || code != "oa_frozen" || !strings.Contains(msg, "OA") {
		t.Errorf("POST an OA slot after the freeze = %d %s %q, want 409 oa_frozen explaining the freeze", r.code, code, msg)
	}
	var route struct {
		Backend string `json:"backend"`
		Frozen  bool   `json:"frozen"`
	}
	in.do("GET", in.url+"/api/v1/route?start="+url.QueryEscape(in.day(1, 16, 0).Format(time.RFC3339)), "zhangsan", nil).json(t, &route)
	if route.Backend != "oa" || !route.Frozen {
		t.Errorf("route after the freeze = %+v, want oa and frozen", route)
	}
	// DingTalk slots are still bookable.
	r = in.do("POST", in.url+"/api/v1/bookings", "zhangsan", strings.NewReader(bookingBody("duowei", "切换后", in.day(4, 16, 0), time.Hour)))
	if r.code != http.StatusCreated {
		t.Errorf("POST a DingTalk slot after the freeze = %d %s, want 201", r.code, r.body)
	}
}

// Concurrent requests for the same slot through HTTP: exactly one wins, the rest get 409.
func TestServeConcurrentSameSlot(t *testing.T) {
	in := start(t, nil)
	const n = 20
	body := bookingBody("sh-waitan", "抢同一个时段", in.day(11, 14, 0), time.Hour)
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			users := []string{"zhangsan", "lisi", "wangwu", "zhaoliu"}
			req, _ := http.NewRequest("POST", in.url+"/api/v1/bookings", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-User", users[i%len(users)])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}(i)
	}
	wg.Wait()
	close(codes)
	won, lost := 0, 0
	for c := range codes {
		switch c {
		case http.StatusCreated:
			won++
		case http.StatusConflict:
			lost++
		default:
			t.Errorf("unexpected status %d", c)
		}
	}
	if won != 1 || lost != n-1 {
		t.Errorf("%d concurrent POSTs for one slot: %d won, %d refused; want 1 and %d", n, won, lost, n-1)
	}
}

// TestServeRoomFinder books natively in each fake (as staff using the OA and DingTalk
// directly), lets sync read both, and asks the finder: exactly the rooms free in both
// systems come back, best fit first.
func TestServeRoomFinder(t *testing.T) {
	in := start(t, nil)
	from, to := in.day(3, 14, 0), in.day(3, 15, 0)
	native := []struct{ url, body string }{
		{in.oaURL + "/_fake/bookings", fmt.Sprintf(`{"roomId":"8127730061934455129","loginName":"lisi","start":%q,"end":%q,"description":"OA 里直接订的"}`,
			in.day(3, 13, 30).Format(time.RFC3339), in.day(3, 14, 30).Format(time.RFC3339))}, // lxx-gugong
		{in.dtURL + "/_fake/events", fmt.Sprintf(`{"organizerUnionId":"union-wangwu","roomId":"dt-sh-lujiazui","title":"钉钉里直接订的","start":%q,"end":%q}`,
			in.day(3, 14, 45).Format(time.RFC3339), in.day(3, 16, 0).Format(time.RFC3339))},
	}
	for _, n := range native {
		if r := in.do("POST", n.url, "", strings.NewReader(n.body)); r.code != http.StatusCreated {
			t.Fatalf("POST %s = %d %s", n.url, r.code, r.body)
		}
	}
	if r := in.do("POST", in.url+"/api/v1/sync", "admin", strings.NewReader(`{}`)); r.code != http.StatusOK {
		t.Fatalf("POST /api/v1/sync = %d %s", r.code, r.body)
	}
	q := url.Values{"free_from": {from.Format(time.RFC3339)}, "free_to": {to.Format(time.RFC3339)}, "capacity": {"8"}}
	var rooms []struct{ ID string }
	in.do("GET", in.url+"/api/v1/rooms?"+q.Encode(), "zhangsan", nil).json(t, &rooms)
	var got []string
	for _, r := range rooms {
		got = append(got, r.ID)
	}
	want := []string{"sk-tianyuan", "sz-shenzhenwan", "lxx-changcheng", "sh-waitan", "duowei"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("GET /api/v1/rooms?%s = %v, want %v (gugong is held in the OA, lujiazui in DingTalk)", q.Encode(), got, want)
	}
}

// TestDemoDayShowsBothSystems: on the demo day (tomorrow) 多维缩放会议室 is busy in both
// systems, double-booked across them, and 天元会议室 holds bookings of both side by side.
func TestDemoDayShowsBothSystems(t *testing.T) {
	in := start(t, nil)
	from, to := in.day(1, 0, 0), in.day(2, 0, 0)
	busy := func(room string) []struct {
		Start, End time.Time
		Backend    string
	} {
		var out []struct {
			Start, End time.Time
			Backend    string
		}
		q := url.Values{"room": {room}, "from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
		in.do("GET", in.url+"/api/v1/availability?"+q.Encode(), "zhangsan", nil).json(t, &out)
		return out
	}
	// The OA's bookings are synced at start; DingTalk's arrive by Stream or the first pass.
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, tian := busy("duowei"), busy("sk-tianyuan")
		systems := map[string]bool{}
		double := false
		for i, a := range d {
			systems[a.Backend] = true
			for _, b := range d[i+1:] {
				if a.Backend != b.Backend && a.Start.Before(b.End) && b.Start.Before(a.End) {
					double = true
				}
			}
		}
		tianSystems := map[string]bool{}
		for _, b := range tian {
			tianSystems[b.Backend] = true
		}
		if double && len(systems) == 2 && len(tianSystems) == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo day: duowei %+v (want both systems and a cross-system double booking), tianyuan %+v (want both systems)", d, tian)
		}
		if r := in.do("POST", in.url+"/api/v1/sync", "admin", strings.NewReader(`{}`)); r.code != http.StatusOK {
			t.Fatalf("POST /api/v1/sync = %d %s", r.code, r.body)
		}
	}
}
