package models

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gorm.io/gorm"
)

// TestBookGroupWritesEveryColumn: a group's rows, written without gorm, read back as
// they were given, every column, on both databases: the reservations (with attendees,
// an idempotency key, a series, a recurrence id, the own-event mark and a reason), their outbox jobs (one
// leased, as a handed-over job is) and their audit entries.
func TestBookGroupWritesEveryColumn(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2023, 4, 10, 2, 0, 0, 0, time.UTC)
	for _, dialect := range []string{DialectSQLite, DialectMySQL} {
		t.Run(dialect, func(t *testing.T) {
			s := openInternal(t, dialect, func() time.Time { return now })
			if err := s.SyncCatalog(ctx, DemoCatalog()); err != nil {
				t.Fatal(err)
			}
			key, series, remote := "k-1", "series-1", "oa-7"
			rec := now.Add(48 * time.Hour)
			until, owner := now.Add(15*time.Second), "host/pid1"
			var group []*bookCall
			for i, room := range []string{"duowei", "sk-tianyuan"} {
				id := NewID()
				r := Reservation{ID: id, UID: BridgeUID(id), RoomID: room, Start: now.Add(48 * time.Hour), End: now.Add(49 * time.Hour),
					Title: "周会", Description: "第一行\n第二行", OrganizerID: "zhangsan", OrganizerName: "张三", Attendees: StringList{"lisi", "wangwu"},
					Backend: BackendOA, Origin: OriginBridge, Status: StatusPending, Sequence: 2, OrganizerRef: "oa:zhangsan"}
				job := Job{ReservationID: id, Kind: JobCreate, Backend: BackendOA, Payload: `{"restore":true}`}
				if i == 0 {
					r.IdempotencyKey, r.SeriesID, r.RecurrenceID, r.RemoteID, r.OwnEvent = &key, &series, &rec, &remote, true
					r.SetReason(Reason{Code: "room_taken", Args: Args{"backend": "oa"}})
					job.ID, job.Attempts, job.LockedUntil, job.LockedBy = NewID(), 1, &until, &owner
				}
				group = append(group, &bookCall{ctx: ctx, r: r, jobs: []Job{job},
					audit: &AuditEntry{Actor: "zhangsan", Action: "book", ReservationID: id, Detail: room + " → oa"}})
			}
			if err := s.transaction(ctx, func(tx *gorm.DB) error { return s.bookGroupTx(tx, group, now) }); err != nil {
				t.Fatal(err)
			}
			for _, c := range group {
				if !c.created || c.err != nil {
					t.Fatalf("booking in %s: created %v, %v", c.r.RoomID, c.created, c.err)
				}
				got, err := s.Reservation(ctx, c.r.ID)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(c.res, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("reservation in %s read back (-written +read):\n%s", c.r.RoomID, diff)
				}
				jobs, err := s.Jobs(ctx, c.r.ID)
				if err != nil || len(jobs) != 1 {
					t.Fatalf("Jobs() = %+v, %v", jobs, err)
				}
				want := numberJobs(c.jobs, now, 0)[0]
				jobs[0].ID = want.ID
				if c.jobs[0].ID != "" && jobs[0].ID != c.jobs[0].ID {
					t.Errorf("job id = %s, want %s", jobs[0].ID, c.jobs[0].ID)
				}
				normalizeJob(&want)
				normalizeJob(&jobs[0])
				if diff := cmp.Diff(want, jobs[0]); diff != "" {
					t.Errorf("job in %s read back (-written +read):\n%s", c.r.RoomID, diff)
				}
				trail, err := s.Audit(ctx, c.r.ID)
				if err != nil || len(trail) != 1 {
					t.Fatalf("Audit() = %+v, %v", trail, err)
				}
				wantAudit := auditAt(*c.audit, now, 0)
				wantAudit.ID = trail[0].ID
				trail[0].At = trail[0].At.UTC()
				if diff := cmp.Diff(wantAudit, trail[0]); diff != "" {
					t.Errorf("audit entry in %s read back (-written +read):\n%s", c.r.RoomID, diff)
				}
			}
		})
	}
}

// normalizeJob puts j's times in UTC for comparing.
func normalizeJob(j *Job) {
	j.NextAttemptAt, j.CreatedAt, j.UpdatedAt = j.NextAttemptAt.UTC(), j.CreatedAt.UTC(), j.UpdatedAt.UTC()
	if j.LockedUntil != nil {
		u := j.LockedUntil.UTC()
		j.LockedUntil = &u
	}
}

// TestGroupColumnsAreEveryColumn: the columns a group's inserts name are every column gorm
// maps for each table (in any order), so that a field added to a model is written by a
// group too.
func TestGroupColumnsAreEveryColumn(t *testing.T) {
	s := openInternal(t, DialectSQLite, time.Now)
	for _, tt := range []struct {
		model any
		cols  []string
	}{{&Reservation{}, reservationColumns}, {&Job{}, jobColumns}, {&AuditEntry{}, auditColumns}} {
		stmt := &gorm.Statement{DB: s.db}
		if err := stmt.Parse(tt.model); err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, f := range stmt.Schema.Fields {
			if f.DBName != "" {
				want = append(want, f.DBName)
			}
		}
		if diff := cmp.Diff(want, tt.cols, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("columns of %s (-gorm +group):\n%s", stmt.Schema.Table, diff)
		}
	}
}
