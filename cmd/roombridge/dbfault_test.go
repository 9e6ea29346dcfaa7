package main

import (
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"roombridge/models"
)

// mariadb is a MariaDB server of the test's own (its own data directory and port), so
// it can be killed and restarted without touching the shared server.
type mariadb struct {
	t       *testing.T
	dir     string
	port    int
	cmd     *exec.Cmd
	started time.Time
}

func startMariaDB(t *testing.T) *mariadb {
	t.Helper()
	install, err := exec.LookPath("mariadb-install-db")
	if err != nil {
		t.Skip("mariadb-install-db is not installed")
	}
	m := &mariadb{t: t, dir: t.TempDir(), port: freePort(t)}
	out, err := exec.Command(install, "--no-defaults", "--datadir="+filepath.Join(m.dir, "data"), "--user=root",
		"--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	m.start()
	t.Cleanup(m.stop)
	return m
}

func (m *mariadb) start() {
	m.t.Helper()
	m.cmd = exec.Command("mariadbd", "--no-defaults", "--datadir="+filepath.Join(m.dir, "data"), "--user=root",
		"--bind-address=127.0.0.1", fmt.Sprint("--port=", m.port), "--socket="+filepath.Join(m.dir, "sock"),
		"--pid-file="+filepath.Join(m.dir, "pid"), "--innodb-buffer-pool-size=32M", "--skip-log-bin")
	m.cmd.Stdout, m.cmd.Stderr = nil, nil
	if err := m.cmd.Start(); err != nil {
		m.t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, _ := sql.Open("mysql", m.server()+"?timeout=1s")
		err := db.Ping()
		db.Close()
		if err == nil {
			m.started = time.Now()
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("mariadbd on port %d did not start: %v", m.port, err)
		}
		time.Sleep(100 * time.Millisecond) // another process starting: nothing to wait on
	}
}

func (m *mariadb) kill() {
	m.cmd.Process.Signal(syscall.SIGKILL)
	m.cmd.Wait()
}

func (m *mariadb) stop() {
	if m.cmd != nil && m.cmd.ProcessState == nil {
		m.cmd.Process.Signal(syscall.SIGTERM)
		m.cmd.Wait()
	}
}

func (m *mariadb) server() string { return fmt.Sprintf("root:@tcp(127.0.0.1:%d)/", m.port) }

// TestDatabaseRestart: the database is killed and restarted under a stream of bookings.
// While it is down /readyz answers 503; afterwards the server works again without a
// restart of its own, and every booking it accepted is confirmed exactly once.
func TestDatabaseRestart(t *testing.T) {
	chaosEnabled(t)
	db := startMariaDB(t)
	admin, err := sql.Open("mysql", db.server())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE DATABASE rb CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatal(err)
	}
	admin.Close()
	bin := buildBinary(t)
	_, env := startChaosFakes(t, bin)
	dsn := "mysql:" + db.server() + "rb?parseTime=true"
	env = append(env, "ROOMBRIDGE_DB="+dsn, "ROOMBRIDGE_ADDR=127.0.0.1:0")
	mig := exec.Command(bin, "migrate")
	mig.Env = append(os.Environ(), env...)
	if out, err := mig.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	srv := spawn(t, bin, env)
	ready := func() int {
		resp, err := http.Get(srv.url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := ready(); c != http.StatusOK {
		t.Fatalf("/readyz before the outage = %d", c)
	}

	// Bookings keep coming; each is retried with its key until the server accepts it.
	work := slots(200)
	var accepted atomic.Int64
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if c := submit(t, func() string { return srv.url }, fmt.Sprintf("db-%04d", i), work[i]); c == http.StatusCreated || c == http.StatusOK {
					accepted.Add(1)
				} else {
					t.Errorf("booking %d answered %d", i, c)
				}
			}
		}()
	}
	go func() {
		for i := range work {
			next <- i
		}
		close(next)
	}()
	for accepted.Load() < 50 {
		time.Sleep(10 * time.Millisecond) // another process's progress
	}
	db.kill()
	down := time.Now()
	sawOutage := false
	for time.Since(down) < 20*time.Second {
		if ready() == http.StatusServiceUnavailable {
			sawOutage = true
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !sawOutage {
		t.Error("/readyz never reported the database outage")
	}
	time.Sleep(2 * time.Second) // keep the database down a while under load: the outage itself is the test
	db.start()
	back := time.Now()
	for ready() != http.StatusOK {
		if time.Since(back) > 30*time.Second {
			t.Fatalf("/readyz still failing 30 s after the database came back\n%s", srv.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("database down for %v; /readyz ready again %v after it came back", back.Sub(down).Round(time.Millisecond), time.Since(back).Round(time.Millisecond))
	wg.Wait()
	deadline := time.Now().Add(2 * time.Minute)
	var counts map[models.Status]int
	for {
		counts = countStatuses(t, dsn)
		if counts[models.StatusConfirmed] == int(accepted.Load()) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("%d bookings accepted around the outage: %v", accepted.Load(), counts)
	if counts[models.StatusConfirmed] != int(accepted.Load()) || accepted.Load() != int64(len(work)) {
		t.Errorf("%d of %d accepted bookings confirmed (of %d sent), want all\n%s", counts[models.StatusConfirmed], accepted.Load(), len(work), srv.log)
	}
	t.Logf("verify:\n%s", runVerify(t, bin, env))
}
