package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"roombridge/bridge"
	"roombridge/models"
	"roombridge/models/modelstest"
)

// benchConflicts measures conflict detection after a sync pass that changed 1,000
// reservations, with the large table (100,000 reservations) on SQLite and MariaDB, and
// writes the report's section.
func benchConflicts(t *testing.T, cfg benchCfg, rep *report) {
	const changed = 1000
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Conflict detection\n\n")
	fmt.Fprintf(&b, "`bridge.Detector.DetectSince` after a sync pass that changed %d reservations (990 renamed OA bookings, 10 new DingTalk bookings each overlapping an OA one), with %d OA bookings in the table (one hour each, back to back in the demo catalog's rooms); the detector has seen the table before the pass. %d runs over the same change, median (min–max).\n\n",
		changed, cfg.big, cfg.runs)
	fmt.Fprintf(&b, "| database | reservations | changed | detection ms |\n|---|---|---|---|\n")
	zone, _ := time.LoadLocation("Asia/Shanghai")
	base := time.Date(2023, 4, 3, 0, 0, 0, 0, zone)
	for _, dialect := range []string{models.DialectSQLite, models.DialectMySQL} {
		name := "SQLite"
		if dialect == models.DialectMySQL {
			name = "MariaDB"
			db, err := sql.Open("mysql", modelstest.MySQLServer()+"?timeout=3s")
			if err == nil {
				err = db.Ping()
				db.Close()
			}
			if err != nil {
				fmt.Fprintf(&b, "| %s | — | — | not reachable: %v |\n", name, err)
				continue
			}
		}
		clock := modelstest.NewClock(base)
		s := modelstest.New(t, dialect, clock.Now)
		det := bridge.NewDetector(s, models.NewRouting(zone, base.AddDate(2, 0, 0), base.AddDate(2, 0, 0).Add(-time.Hour)), slog.New(slog.NewTextHandler(io.Discard, nil)))
		ctx := context.Background()
		since := modelstest.SyncLoad(t, s, clock, base, cfg.big, changed, func() {
			if _, err := det.DetectSince(ctx, time.Time{}); err != nil {
				t.Fatal(err)
			}
		})
		var took series
		for i := 0; i < cfg.runs; i++ {
			t0 := time.Now()
			if _, err := det.DetectSince(ctx, since); err != nil {
				t.Fatal(err)
			}
			took = append(took, ms(time.Since(t0)))
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s |\n", name, cfg.big, changed, med(took, f0))
	}
	rep.conflicts = b.String()
}
