package models

import (
	"context"
	"testing"
	"time"
)

// A listing whose row cannot be written (here: both its native UID and the one it gets
// beside the reservation holding that are taken) is left out of the pass, named with
// its error, and the rest of the pass applies, on every path that imports.
func TestSyncSkipsARowItCannotWrite(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2023, 4, 10, 2, 0, 0, 0, time.UTC)
	for _, dialect := range []string{DialectSQLite, DialectMySQL} {
		t.Run(dialect, func(t *testing.T) {
			s := openInternal(t, dialect, func() time.Time { return now })
			if err := s.SyncCatalog(ctx, DemoCatalog()); err != nil {
				t.Fatal(err)
			}
			start := now.Add(48 * time.Hour)
			taken := func(id, uid, remote string) {
				r := Reservation{ID: id, UID: uid, RoomID: "duowei", Start: start.Add(10 * time.Hour), End: start.Add(11 * time.Hour), Title: "x",
					Backend: BackendOA, RemoteID: &remote, Origin: OriginBridge, Status: StatusConfirmed, CreatedAt: now, UpdatedAt: now}
				r.normalize()
				if err := s.db.Create(&r).Error; err != nil {
					t.Fatal(err)
				}
			}
			holder := NewID()
			taken(holder, NativeUID(BackendOA, "-7"), "-1")
			taken(NewID(), nativeUIDBeside(BackendOA, "-7", holder), "-2")
			bad := Remote{RemoteID: "-7", RoomID: "duowei", Start: start, End: start.Add(time.Hour), Title: "坏", Status: StatusConfirmed}
			good := Remote{RemoteID: "-8", RoomID: "duowei", Start: start.Add(2 * time.Hour), End: start.Add(3 * time.Hour), Title: "好", Status: StatusConfirmed}
			got, err := s.ApplySync(ctx, BackendOA, []Remote{bad, good}, ApplyOptions{From: now, To: now.Add(30 * 24 * time.Hour), Rooms: []string{"duowei"}, ReadAt: now})
			if err != nil || got.Created != 1 || len(got.Skipped) != 1 || got.Skipped[0].RemoteID != "-7" || !isDuplicate(got.Skipped[0].Err) {
				t.Errorf("ApplySync(bad, good) = %+v, %v; want -8 imported and -7 skipped for its UID", got, err)
			}
			if _, err := s.ReservationByRemote(ctx, BackendOA, "-8"); err != nil {
				t.Errorf("the good row: %v", err)
			}
			got, err = s.ApplyChanges(ctx, BackendOA, []Remote{bad}, nil, now, nil)
			if err != nil || got.Created != 0 || len(got.Skipped) != 1 {
				t.Errorf("ApplyChanges(bad) = %+v, %v; want it skipped", got, err)
			}
			if _, err := s.ApplyRemote(ctx, BackendOA, bad, now); err == nil {
				t.Errorf("ApplyRemote(bad) = nil, want the row's error")
			}
		})
	}
}
