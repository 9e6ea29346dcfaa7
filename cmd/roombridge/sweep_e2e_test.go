package main

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"roombridge/models"
)

// A conflict written while no process ran (here: two overlapping bookings stored by a
// process that stopped before it detected anything) is found by the next start, which
// looks only at what changed since the last sweep the store recorded.
func TestRestartFindsConflictsWrittenWhileStopped(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "roombridge.db")
	first := start(t, map[string]string{"ROOMBRIDGE_DB": db})
	s, err := models.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var mark models.DetectionMark
	for deadline := time.Now().Add(20 * time.Second); mark.At.IsZero(); {
		if time.Now().After(deadline) {
			t.Fatalf("the first start recorded no sweep\n%s", first.stderr)
		}
		time.Sleep(20 * time.Millisecond)
		if mark, err = s.DetectionMark(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}

	// Stored straight into the table while nothing runs: two confirmed bookings of one
	// room at overlapping times (bridge bookings without a remote id, which sync leaves
	// alone).
	start0 := first.day(3, 15, 0)
	now := time.Now().UTC().Truncate(time.Second)
	var ids []string
	for i, title := range []string{"先订的会", "后订的会"} {
		id := models.NewID()
		ids = append(ids, id)
		st := start0.Add(time.Duration(i) * 30 * time.Minute).UTC()
		if _, err := s.SQL().ExecContext(ctx, `INSERT INTO reservations (id, uid, room_id, starts_at, ends_at, title, description, organizer_id, organizer_name,
			attendees, backend, remote_id, origin, status, reason, sequence, idempotency_key, created_at, updated_at, long_span)
			VALUES (?, ?, 'duowei', ?, ?, ?, '', 'zhangsan', '张三', '[]', 'oa', NULL, 'bridge', 'confirmed', '', 0, NULL, ?, ?, 0)`,
			id, models.BridgeUID(id), st, st.Add(time.Hour), title, now, now); err != nil {
			t.Fatal(err)
		}
	}

	second := start(t, map[string]string{"ROOMBRIDGE_DB": db})
	for deadline := time.Now().Add(20 * time.Second); ; {
		var all []conflictReply
		r := second.do("GET", second.url+"/api/v1/conflicts", "admin", nil)
		if r.code != http.StatusOK {
			t.Fatalf("GET /api/v1/conflicts = %d %s", r.code, r.body)
		}
		r.json(t, &all)
		for _, c := range all {
			if c.Kind == "overlap" && c.Status == "open" && len(c.Sides) == 2 &&
				((c.Sides[0].ReservationID == ids[0] && c.Sides[1].ReservationID == ids[1]) || (c.Sides[0].ReservationID == ids[1] && c.Sides[1].ReservationID == ids[0])) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart no open overlap of %v: %+v\n%s", ids, all, second.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
