package main

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"roombridge/models"
)

// The chaos runs (make chaos) start the fakes and servers as their own processes on
// loopback, kill servers with SIGKILL under load and check that nothing accepted was
// lost or doubled. They are skipped unless ROOMBRIDGE_CHAOS=1: they take minutes.

func chaosEnabled(t *testing.T) {
	t.Helper()
	if os.Getenv("ROOMBRIDGE_CHAOS") != "1" {
		t.Skip("chaos run: set ROOMBRIDGE_CHAOS=1 (make chaos)")
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return v
	}
	return def
}

// freePort returns a loopback port nobody listens on (for a server restarted on the
// same address).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "roombridge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// chaosFakes runs both fakes as processes and returns the server environment for them.
type chaosFakes struct{ oa, dt *proc }

func startChaosFakes(t *testing.T, bin string) (chaosFakes, []string) {
	f := chaosFakes{oa: spawn(t, bin, nil, "fake-oa", "--addr", "127.0.0.1:0"), dt: spawn(t, bin, nil, "fake-dingtalk", "--addr", "127.0.0.1:0")}
	zone, _ := time.LoadLocation("Asia/Shanghai")
	n := time.Now().In(zone).AddDate(0, 0, 10)
	cutover := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, zone)
	env := []string{
		"ROOMBRIDGE_DEMO=0", "ROOMBRIDGE_AUTH=header", "ROOMBRIDGE_ADMINS=admin",
		"ROOMBRIDGE_OA_URL=" + f.oa.url, "ROOMBRIDGE_OA_REST_USER=" + fakeOAUser, "ROOMBRIDGE_OA_REST_PASSWORD=" + fakeOAPassword,
		"ROOMBRIDGE_DINGTALK_URL=" + f.dt.url, "ROOMBRIDGE_DINGTALK_OAPI_URL=" + f.dt.url,
		"ROOMBRIDGE_DINGTALK_APP_KEY=" + fakeAppKey, "ROOMBRIDGE_DINGTALK_APP_SECRET=" + fakeAppSecret,
		"ROOMBRIDGE_DINGTALK_STREAM=0",
		"ROOMBRIDGE_CUTOVER=" + cutover.Format(time.RFC3339), "ROOMBRIDGE_OA_FREEZE=" + cutover.Add(-time.Hour).Format(time.RFC3339),
		"ROOMBRIDGE_OUTBOX_LEASE=5s", "ROOMBRIDGE_OUTBOX_RETRY_MAX=3s",
	}
	return f, env
}

// faults makes each fake fail about rate of its calls: 5xx, throttling, and requests
// applied whose answer is lost (the caller sees a failure after the write happened).
func (f chaosFakes) faults(t *testing.T, rate float64) {
	t.Helper()
	// Three independent faults of rate r each fail 1-(1-r)^3 of the calls.
	r := 1 - math.Pow(1-rate, 1.0/3)
	set := func(url string, kinds ...string) {
		for _, k := range kinds {
			resp, err := http.Post(url+"/_fake/faults", "application/json", strings.NewReader(fmt.Sprintf(`{%s,"rate":%.4f}`, k, r)))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 300 {
				t.Fatalf("set fault %s on %s = %d %s", k, url, resp.StatusCode, b)
			}
		}
	}
	if rate <= 0 {
		return
	}
	set(f.oa.url, `"kind":"http500"`, `"kind":"empty"`, `"kind":"http500AfterWrite"`)
	set(f.dt.url, `"kind":"server_error","status":503`, `"kind":"throttle"`, `"kind":"lost_answer"`)
}

func (f chaosFakes) clearFaults(t *testing.T) {
	for _, url := range []string{f.oa.url, f.dt.url} {
		req, _ := http.NewRequest("DELETE", url+"/_fake/faults", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
}

// slot is one booking of a burst: a distinct room and hour.
type slot struct {
	room  string
	start time.Time
}

// slots returns n (at most 1,512) distinct one-hour slots over the next 14 days, in rooms
// mapped in both systems, about 9 in 14 before the cutover (OA) and the rest after
// (DingTalk, which takes at most 100 new events a day from one organiser).
func slots(n int) []slot {
	zone, _ := time.LoadLocation("Asia/Shanghai")
	var rooms []string
	for _, r := range models.DemoCatalog().Rooms() {
		if r.OARoomID != "" && r.DingTalkRoomID != "" {
			rooms = append(rooms, r.ID)
		}
	}
	today := time.Now().In(zone)
	var out []slot
	for hour := 8; hour < 20; hour++ {
		for _, room := range rooms {
			for day := 1; day <= 14; day++ { // days 1–9 go to the OA, 10–14 to DingTalk
				if len(out) == n {
					return out
				}
				d := today.AddDate(0, 0, day)
				out = append(out, slot{room, time.Date(d.Year(), d.Month(), d.Day(), hour, 0, 0, 0, zone)})
			}
		}
	}
	return out
}

var chaosUsers = []string{"zhangsan", "lisi", "wangwu", "zhaoliu", "admin"}

// submit books s through whichever server url() names at the time, retrying with the
// same Idempotency-Key through outages until the server accepts it (bounded).
func submit(t *testing.T, url func() string, key string, s slot) (status int) {
	deadline := time.Now().Add(3 * time.Minute)
	body := bookingBody(s.room, "混沌测试 "+key, s.start, time.Hour)
	h := crc32.ChecksumIEEE([]byte(key))
	addr := fmt.Sprintf("10.%d.%d.%d", h>>16&255, h>>8&255, h&255|1)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("POST", url()+"/api/v1/bookings", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		// Spread over the users: DingTalk lets one organiser create 100 events a day.
		req.Header.Set("X-Forwarded-User", chaosUsers[crc32.ChecksumIEEE([]byte(key))%uint32(len(chaosUsers))])
		req.Header.Set("Idempotency-Key", key)
		// Each booking from its own address, as from many people: the per-address write
		// limit (120 a minute) is for one client, not for a whole load.
		req.Header.Set("X-Forwarded-For", addr)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return resp.StatusCode
			}
		}
		time.Sleep(50 * time.Millisecond) // the server is restarting: nothing to wait on but time
	}
	t.Errorf("booking %s never accepted", key)
	return 0
}

// countStatuses counts the bridge reservations by status.
func countStatuses(t *testing.T, dsn string) map[models.Status]int {
	t.Helper()
	s, err := models.Open(dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all, err := s.Reservations(context.Background(), models.Filter{Origin: models.OriginBridge})
	if err != nil {
		t.Fatal(err)
	}
	out := map[models.Status]int{}
	for _, r := range all {
		out[r.Status]++
	}
	return out
}

var seenRe = regexp.MustCompile(`backend (\w+) \((\d+) bookings seen`)

// runVerify runs `roombridge verify` and returns its output, failing the test on exit 1.
func runVerify(t *testing.T, bin string, env []string) string {
	t.Helper()
	cmd := exec.Command(bin, "verify")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("roombridge verify: %v\n%s", err, out)
	}
	return string(out)
}

// TestChaos: a burst of bookings against the fakes failing a share of their calls,
// while the server is killed with SIGKILL and restarted several times. Afterwards every
// booking is confirmed, each exactly once in its backend, and verify finds nothing.
// ROOMBRIDGE_CHAOS_BOOKINGS (500), _KILLS (5) and _FAULT_RATE (0.3) tune it.
func TestChaos(t *testing.T) {
	chaosEnabled(t)
	n, kills, rate := envInt("ROOMBRIDGE_CHAOS_BOOKINGS", 500), envInt("ROOMBRIDGE_CHAOS_KILLS", 5), envFloat("ROOMBRIDGE_CHAOS_FAULT_RATE", 0.3)
	bin := buildBinary(t)
	fakes, env := startChaosFakes(t, bin)
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "chaos.db")
	env = append(env, "ROOMBRIDGE_DB="+dsn, fmt.Sprintf("ROOMBRIDGE_ADDR=127.0.0.1:%d", freePort(t)), "ROOMBRIDGE_INSTANCE=chaos-1")
	fakes.faults(t, rate)

	var mu sync.Mutex
	srv := spawn(t, bin, env)
	url := func() string { mu.Lock(); defer mu.Unlock(); return srv.url }
	lastRestart := time.Now()

	work := slots(n)
	var submitted atomic.Int64
	codes := make(chan int, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				codes <- submit(t, url, fmt.Sprintf("chaos-%04d", i), work[i])
				submitted.Add(1)
			}
		}()
	}
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		for k := 1; k <= kills; k++ {
			for submitted.Load() < int64(k*n/(kills+1)) {
				time.Sleep(10 * time.Millisecond) // another process's progress: nothing to wait on
			}
			mu.Lock()
			old := srv
			mu.Unlock()
			old.cmd.Process.Signal(syscall.SIGKILL)
			old.cmd.Wait()
			fresh := spawn(t, bin, env)
			mu.Lock()
			srv, lastRestart = fresh, time.Now()
			mu.Unlock()
			t.Logf("kill %d after %d bookings accepted; restarted", k, submitted.Load())
		}
	}()
	began := time.Now()
	for i := range work {
		next <- i
	}
	close(next)
	wg.Wait()
	<-killed
	close(codes)
	accepted := 0
	for c := range codes {
		if c == http.StatusCreated || c == http.StatusOK {
			accepted++
		} else {
			t.Errorf("a booking of the burst answered %d", c)
		}
	}
	t.Logf("burst: %d bookings accepted in %v with %d kills, %.0f%% of backend calls failing", accepted, time.Since(began).Round(time.Millisecond), kills, rate*100)
	fakes.clearFaults(t)

	deadline := time.Now().Add(2 * time.Minute)
	var counts map[models.Status]int
	for {
		counts = countStatuses(t, dsn)
		if counts[models.StatusConfirmed] == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	mu.Lock()
	settled := time.Since(lastRestart)
	mu.Unlock()
	t.Logf("statuses %v; all confirmed %v after the last restart", counts, settled.Round(time.Millisecond))
	if counts[models.StatusConfirmed] != n {
		t.Fatalf("%d of %d bookings confirmed, want all\nserver log:\n%s", counts[models.StatusConfirmed], n, srv.log)
	}
	if settled > 30*time.Second {
		t.Errorf("bookings confirmed %v after the last restart, want within 30 s", settled)
	}
	out := runVerify(t, bin, env)
	t.Logf("verify:\n%s", out)
	held := 0
	for _, m := range seenRe.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.Atoi(m[2])
		held += v
	}
	if held != n {
		t.Errorf("the backends hold %d bookings, want exactly %d", held, n)
	}
}

// mysqlChaosDB creates a database on the test MySQL server and returns its DSN.
func mysqlChaosDB(t *testing.T) string {
	t.Helper()
	return emptyMySQL(t, "rbchaos")
}

// leaseHolder reads who holds a lease now.
func leaseHolder(t *testing.T, dsn, name string) string {
	s, err := models.Open(dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, err := s.LeaseHolder(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type pass struct {
	Backend    string    `json:"backend"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS int64     `json:"duration_ms"`
}

// TestReplicas: three servers on one MariaDB database behind no balancer (requests
// spread by hand). One slot asked for 100 times at once is won once; a load of bookings
// with faults is written exactly once; "sync now" on every replica at once runs one pass
// of a backend at a time; killing the sync leader hands leadership over within a lease.
func TestReplicas(t *testing.T) {
	chaosEnabled(t)
	bin := buildBinary(t)
	fakes, env := startChaosFakes(t, bin)
	dsn := mysqlChaosDB(t)
	const syncLease = 6 * time.Second
	// Three replicas of 24 connections each leave room on a default server (151) for the
	// test's own reads and whatever else shares it.
	env = append(env, "ROOMBRIDGE_DB="+dsn, "ROOMBRIDGE_SYNC_LEASE="+syncLease.String(), "ROOMBRIDGE_DB_CONNS=24")
	mig := exec.Command(bin, "migrate")
	mig.Env = append(os.Environ(), env...)
	if out, err := mig.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	replicas := map[string]*proc{}
	var names []string
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("replica-%d", i)
		replicas[name] = spawn(t, bin, append(env, "ROOMBRIDGE_ADDR=127.0.0.1:0", "ROOMBRIDGE_INSTANCE="+name))
		names = append(names, name)
	}
	urlOf := func(i int) string { return replicas[names[i%len(names)]].url }

	// 100 requests for one slot, spread over the replicas.
	one := slots(1)[0]
	var wg sync.WaitGroup
	var won, lost atomic.Int64
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			u := urlOf(i)
			switch submit(t, func() string { return u }, fmt.Sprintf("same-slot-%03d", i), one) {
			case http.StatusCreated:
				won.Add(1)
			case http.StatusConflict:
				lost.Add(1)
			}
		}(i)
	}
	wg.Wait()
	t.Logf("100 concurrent requests for one slot over 3 replicas: %d won, %d refused", won.Load(), lost.Load())
	if won.Load() != 1 || lost.Load() != 99 {
		t.Errorf("one slot: %d won, %d refused; want 1 and 99", won.Load(), lost.Load())
	}

	// A load of bookings under faults, while admins press "sync now" on every replica.
	n := envInt("ROOMBRIDGE_CHAOS_REPLICA_BOOKINGS", 300)
	fakes.faults(t, envFloat("ROOMBRIDGE_CHAOS_FAULT_RATE", 0.3))
	work := slots(n + 1)[1:]
	var passes []pass
	var pmu sync.Mutex
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for round := 0; round < 3; round++ {
				req, _ := http.NewRequest("POST", urlOf(i)+"/api/v1/sync", strings.NewReader(`{}`))
				req.Header.Set("X-Forwarded-User", "admin")
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				var out struct{ Passes []pass }
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != http.StatusOK {
					t.Errorf("POST /api/v1/sync = %d %s", resp.StatusCode, b)
				}
				pmu.Lock()
				passes = append(passes, out.Passes...)
				pmu.Unlock()
			}
		}(i)
	}
	next := make(chan int)
	for w := 0; w < 9; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := range next {
				u := urlOf(w)
				if c := submit(t, func() string { return u }, fmt.Sprintf("load-%04d", i), work[i]); c != http.StatusCreated {
					t.Errorf("booking %d answered %d", i, c)
				}
			}
		}(w)
	}
	for i := range work {
		next <- i
	}
	close(next)
	wg.Wait()
	fakes.clearFaults(t)
	if len(passes) < 9*2 {
		t.Errorf("%d sync passes recorded from 9 requests, want 18", len(passes))
	}
	byBackend := map[string][]pass{}
	for _, p := range passes {
		byBackend[p.Backend] = append(byBackend[p.Backend], p)
	}
	for b, ps := range byBackend {
		sort.Slice(ps, func(i, j int) bool { return ps[i].StartedAt.Before(ps[j].StartedAt) })
		for i := 1; i < len(ps); i++ {
			prevEnd := ps[i-1].StartedAt.Add(time.Duration(ps[i-1].DurationMS) * time.Millisecond)
			if ps[i].StartedAt.Before(prevEnd.Add(-time.Millisecond)) {
				t.Errorf("%s passes overlap: one from %s for %d ms, the next from %s", b, ps[i-1].StartedAt.Format(time.StampMilli), ps[i-1].DurationMS, ps[i].StartedAt.Format(time.StampMilli))
			}
		}
		t.Logf("%s: %d passes from 9 concurrent \"sync now\" requests on 3 replicas, none overlapping", b, len(ps))
	}
	deadline := time.Now().Add(2 * time.Minute)
	var counts map[models.Status]int
	for {
		counts = countStatuses(t, dsn)
		if counts[models.StatusConfirmed] == n+1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("after the load: %v", counts)
	if counts[models.StatusConfirmed] != n+1 {
		t.Errorf("%d bookings confirmed, want %d", counts[models.StatusConfirmed], n+1)
	}
	t.Logf("verify:\n%s", runVerify(t, bin, env))

	// The leader dies: another replica leads within one lease.
	leader := leaseHolder(t, dsn, "sync-leader/oa")
	p, ok := replicas[leader]
	if !ok {
		t.Fatalf("sync leader is %q, not one of the replicas", leader)
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	died := time.Now()
	var successor string
	for time.Since(died) < 3*syncLease {
		if h := leaseHolder(t, dsn, "sync-leader/oa"); h != "" && h != leader {
			successor = h
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	handover := time.Since(died)
	t.Logf("sync leader %s killed; %s leads %v later (lease %v)", leader, successor, handover.Round(time.Millisecond), syncLease)
	if successor == "" || handover > syncLease+syncLease/10+time.Second {
		t.Errorf("handover took %v to %q, want another replica within one lease (%v)", handover, successor, syncLease)
	}
}
