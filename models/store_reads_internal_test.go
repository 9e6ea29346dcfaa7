package models

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roombridge/migrations"
)

// TestClaimReadsAsManyJobsAsItTakes: choosing the jobs to claim walks the due index in
// its own order and stops at the limit, so a backlog of thousands of due jobs costs a
// claim of eight about eight index reads, not a read and a sort of the whole backlog
// (which made a dispatcher with a backlog slower the longer the backlog was).
func TestClaimReadsAsManyJobsAsItTakes(t *testing.T) {
	const backlog, limit = 2000, 8
	ctx := context.Background()
	now := time.Date(2023, 4, 10, 2, 0, 0, 0, time.UTC)
	for _, dialect := range []string{DialectSQLite, DialectMySQL} {
		t.Run(dialect, func(t *testing.T) {
			s := openInternal(t, dialect, func() time.Time { return now })
			tx, err := s.SQL().BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < backlog; i++ {
				// Due over the last minute; every other reservation has a second job
				// that waits for its first.
				due := now.Add(-time.Duration(i%60) * time.Second)
				res := NewID()
				for seq := 0; seq <= i%2; seq++ {
					if _, err := tx.Exec("INSERT INTO outbox_jobs (id, reservation_id, kind, backend, seq, payload, state, attempts, next_attempt_at, last_error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, '{}', ?, 0, ?, '', ?, ?)",
						NewID(), res, JobCreate, BackendOA, seq, JobPending, due, due, due); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			q, args := s.dueJobsQuery(now, limit)
			if dialect == DialectSQLite {
				plan := queryPlan(t, s.SQL(), "EXPLAIN QUERY PLAN "+q, args...)
				if strings.Contains(plan, "TEMP B-TREE") {
					t.Errorf("choosing due jobs sorts them:\n%s", plan)
				}
			} else {
				if _, err := s.SQL().Exec("ANALYZE TABLE outbox_jobs"); err != nil {
					t.Fatal(err)
				}
				conn, err := s.SQL().Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				before := handlerReads(t, conn)
				rows, err := conn.QueryContext(ctx, q, args...)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for rows.Next() {
					n++
				}
				rows.Close()
				if n != limit {
					t.Fatalf("due jobs = %d, want %d", n, limit)
				}
				if reads := handlerReads(t, conn) - before; reads > 10*limit {
					t.Errorf("choosing %d of %d due jobs read %d index entries and rows, want at most %d", limit, backlog, reads, 10*limit)
				}
			}
			jobs, err := s.ClaimJobs(ctx, "w1", time.Minute, limit)
			if err != nil || len(jobs) != limit {
				t.Fatalf("ClaimJobs() = %d jobs, %v; want %d", len(jobs), err, limit)
			}
			for _, j := range jobs {
				if j.Seq != 0 {
					t.Errorf("ClaimJobs() took job %d of reservation %s before its first", j.Seq, j.ReservationID)
				}
				if !j.NextAttemptAt.Equal(now.Add(-59 * time.Second)) {
					t.Errorf("ClaimJobs() took a job due at %s before the oldest due ones (%s)", j.NextAttemptAt, now.Add(-59*time.Second))
				}
			}
		})
	}
}

// handlerReads is the sum of the connection's Handler_read_* counters (MySQL): the index
// entries and rows its statements have read so far.
func handlerReads(t *testing.T, conn interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}) int64 {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), "SHOW SESSION STATUS LIKE 'Handler_read%'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sum int64
	for rows.Next() {
		var name string
		var v int64
		if err := rows.Scan(&name, &v); err != nil {
			t.Fatal(err)
		}
		sum += v
	}
	return sum
}

// queryPlan is SQLite's plan for a query, one step a line.
func queryPlan(t *testing.T, db *sql.DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, detail)
	}
	return b.String()
}

// openInternal returns a fresh migrated store of dialect (MySQL from
// ROOMBRIDGE_TEST_MYSQL, skipped when unreachable unless
// ROOMBRIDGE_TEST_MYSQL_REQUIRED=1), closed and removed at cleanup: modelstest's, for
// the package's own tests, which cannot import it.
func openInternal(t *testing.T, dialect string, now func() time.Time) *Store {
	t.Helper()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "test.db")
	if dialect == DialectMySQL {
		server := os.Getenv("ROOMBRIDGE_TEST_MYSQL")
		if server == "" {
			server = "root:@tcp(127.0.0.1:3306)/"
		}
		admin, err := sql.Open("mysql", server+"?timeout=3s")
		if err == nil {
			err = admin.Ping()
		}
		if err != nil {
			if os.Getenv("ROOMBRIDGE_TEST_MYSQL_REQUIRED") == "1" {
				t.Fatalf("MySQL at %s is required but unreachable: %v", server, err)
			}
			t.Skipf("no MySQL at %s (%v)", server, err)
		}
		name := fmt.Sprintf("rbtest_%d_%s", time.Now().UnixNano()%1e9, strings.ToLower(NewID()[:8]))
		if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			admin.Exec("DROP DATABASE " + name)
			admin.Close()
		})
		dsn = "mysql:" + strings.TrimSuffix(server, "/") + "/" + name + "?parseTime=true"
	}
	s, err := Open(dsn, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := migrations.Up(context.Background(), s.SQL(), dialect); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestHoldingInReadsNearTheWindow: looking for what holds a room around a window reads
// the bookings that start up to a day before it (and the long ones), not the week of
// bookings before it that MaxSpan allows for long ones: conflict detection after each
// dispatcher pass looks around every booking the pass sent.
func TestHoldingInReadsNearTheWindow(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2030, 3, 10, 0, 0, 0, 0, time.UTC)
	s := openInternal(t, DialectMySQL, nil)
	if err := s.SyncCatalog(ctx, DemoCatalog()); err != nil {
		t.Fatal(err)
	}
	// A week of ten-minute bookings, round the clock, and one of three days.
	tx, err := s.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	insert := func(start time.Time, d time.Duration) {
		id := NewID()
		if _, err := tx.Exec("INSERT INTO reservations (id, uid, room_id, starts_at, ends_at, title, description, attendees, backend, origin, status, reason, created_at, updated_at, long_span) VALUES (?, ?, 'duowei', ?, ?, ?, '', '[]', 'oa', 'bridge', 'confirmed', '', ?, ?, ?)",
			id, BridgeUID(id), start, start.Add(d), id, start, start, d > ShortSpan); err != nil {
			t.Fatal(err)
		}
	}
	for m := -7 * 24 * 60; m < 60; m += 10 {
		insert(day.Add(time.Duration(m)*time.Minute), 10*time.Minute)
	}
	insert(day.Add(-50*time.Hour), 72*time.Hour)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SQL().Exec("ANALYZE TABLE reservations"); err != nil {
		t.Fatal(err)
	}
	// One connection: the session's counters are the store's statements'.
	s.SQL().SetMaxOpenConns(1)
	before := handlerReads(t, s.SQL())
	got, err := s.HoldingIn(ctx, []RoomWindow{{RoomID: "duowei", From: day, To: day.Add(30 * time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	reads := handlerReads(t, s.SQL()) - before
	if len(got) != 4 {
		t.Errorf("HoldingIn() = %d reservations, want 4 (three short ones and the long one)", len(got))
	}
	// A day of ten-minute bookings is 144 index entries.
	if reads > 2*144+20 {
		t.Errorf("HoldingIn() read %d index entries and rows, want at most %d", reads, 2*144+20)
	}
}
