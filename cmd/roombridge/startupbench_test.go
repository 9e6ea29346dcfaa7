package main

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// TestStartupBigTable measures `roombridge serve` starting on a SQLite table of
// ROOMBRIDGE_STARTUP_ROWS reservations, twice (a first start, then a restart on the same
// database): the process CPU and wall time until its start-up work settles, and what a
// caller meets meanwhile (readiness, a room's availability, a booking). It only reports;
// run it with -cpuprofile to see where the start spends its time.
func TestStartupBigTable(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ROOMBRIDGE_STARTUP_ROWS"))
	if n <= 0 {
		t.Skip("set ROOMBRIDGE_STARTUP_ROWS=100000 to measure the start on a large table")
	}
	db := sqliteDB(t, t.TempDir(), n)
	for i, name := range []string{"first start", "restart"} {
		t.Run(name, func(t *testing.T) {
			t0, c0 := time.Now(), processCPU()
			base := benchServer(t, map[string]string{"ROOMBRIDGE_DB": "sqlite:" + db})
			up := time.Since(t0)
			// What a caller meets right after the listen line.
			probe := func(what, method, url, body string) {
				p0 := time.Now()
				code, b, _ := call(t, method, url, "zhangsan", body)
				if len(b) > 80 {
					b = b[:80]
				}
				t.Logf("%s: %s %d after %v (%q)", name, what, code, time.Since(p0).Round(time.Millisecond), b)
			}
			start := time.Now().Add(time.Duration(175+i) * 24 * time.Hour).Truncate(time.Hour)
			probe("booking", "POST", base+"/api/v1/bookings", bookingBody("duowei", "start-up probe", start, 7*time.Minute))
			probe("readyz", "GET", base+"/readyz", "")
			day := time.Now().Truncate(24 * time.Hour).Add(3 * 24 * time.Hour)
			probe("availability", "GET", base+"/api/v1/availability?room=duowei&from="+day.Format(time.RFC3339)+"&to="+day.Add(24*time.Hour).Format(time.RFC3339), "")
			settled := settle(time.Second, 0.1, 3*time.Minute)
			el, cpu := time.Since(t0), processCPU()-c0
			t.Logf("%s on %d rows: listening after %v; settled=%v after %v wall (including the 1 s settle window), %v CPU",
				name, n, up.Round(time.Millisecond), settled, el.Round(100*time.Millisecond), cpu.Round(10*time.Millisecond))
		})
	}
}
