package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is a roombridge binary running as its own process.
type proc struct {
	cmd *exec.Cmd
	url string
	log *strings.Builder
}

// syncWriter serialises writes from the process's stderr copier and reads by the test.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// spawn runs the binary with args and env and waits for the line that says where it
// listens.
func spawn(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, log: &strings.Builder{}}
	cmd.Stderr = &syncWriter{w: p.log}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listenRe.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case p.url = <-found:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s %v did not start", bin, args)
	}
	return p
}

// TestKillDashNineBooksOnce: the OA books the room but the answer never arrives, the
// server is killed with SIGKILL, and a new server on the same database finishes the job:
// the booking is confirmed and the OA holds it exactly once.
func TestKillDashNineBooksOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills processes")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "roombridge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	oa := spawn(t, bin, nil, "fake-oa", "--addr", "127.0.0.1:0")
	env := []string{
		"ROOMBRIDGE_DEMO=0", "ROOMBRIDGE_ADDR=127.0.0.1:0", "ROOMBRIDGE_DB=sqlite:" + filepath.Join(dir, "rb.db"),
		"ROOMBRIDGE_OA_URL=" + oa.url, "ROOMBRIDGE_OA_REST_USER=" + fakeOAUser, "ROOMBRIDGE_OA_REST_PASSWORD=" + fakeOAPassword,
		"ROOMBRIDGE_CUTOVER=2099-01-01T00:00:00+08:00", "ROOMBRIDGE_OA_FREEZE=2098-12-31T23:00:00+08:00",
		"ROOMBRIDGE_AUTH=header", "ROOMBRIDGE_OUTBOX_LEASE=3s",
	}
	first := spawn(t, bin, env)
	post := func(url, body string) *http.Response {
		t.Helper()
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := post(oa.url+"/_fake/faults", `{"endpoint":"execApp","kind":"hangAfterWrite","times":1}`)
	resp.Body.Close()

	zone, _ := time.LoadLocation("Asia/Shanghai")
	n := time.Now().In(zone).AddDate(0, 0, 2)
	start := time.Date(n.Year(), n.Month(), n.Day(), 15, 0, 0, 0, zone)
	req, _ := http.NewRequest("POST", first.url+"/api/v1/bookings", strings.NewReader(bookingBody("duowei", "断电也只订一次", start, time.Hour)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-User", "zhangsan")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var b booking
	json.NewDecoder(resp.Body).Decode(&b)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST booking = %d", resp.StatusCode)
	}

	// Wait until the OA holds the booking (its answer hangs), then kill the server.
	held := func() int {
		resp, err := http.Get(oa.url + "/_fake/bookings")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var all []struct {
			Description string `json:"description"`
			Cancelled   bool   `json:"cancelled"`
		}
		json.NewDecoder(resp.Body).Decode(&all)
		n := 0
		for _, x := range all {
			if strings.HasPrefix(x.Description, "断电也只订一次") && !x.Cancelled {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(20 * time.Second)
	for held() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the OA never received the booking")
		}
		time.Sleep(20 * time.Millisecond) // another process: nothing to wait on but its state
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.cmd.Wait()

	second := spawn(t, bin, env)
	var got booking
	for i := 0; i < 6 && got.Status != "confirmed"; i++ {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/bookings/%s?wait=10s", second.url, b.ID), nil)
		req.Header.Set("X-Forwarded-User", "zhangsan")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
	}
	if got.Status != "confirmed" || got.RemoteID == "" {
		t.Fatalf("after the restart the booking is %+v, want confirmed\nfirst server:\n%s\nsecond server:\n%s", got, first.log, second.log)
	}
	if n := held(); n != 1 {
		t.Errorf("the OA holds the booking %d times, want exactly once", n)
	}
}
