package bridge

import (
	"context"
	"fmt"
	"testing"
	"time"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// BenchmarkBook measures one booking through the pipeline: validate, route, the
// one-transaction check and enqueue, and the dispatcher's write to an in-memory backend.
func BenchmarkBook(b *testing.B) {
	for _, dialect := range []string{models.DialectSQLite, models.DialectMySQL} {
		b.Run(dialect, func(b *testing.B) {
			c := modelstest.NewClock(at(10, 10))
			s := modelstest.New(b, dialect, c.Now)
			r := newRigTB(b, s, c)
			ctx := context.Background()
			rooms := models.DemoCatalog().Rooms()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				room := rooms[i%len(rooms)].ID
				start := at(20, 0).Add(time.Duration(i/len(rooms)) * 30 * time.Minute)
				if _, err := r.svc.Book(ctx, r.zhangsan, req(room, start, 30*time.Minute), ""); err != nil {
					b.Fatal(err)
				}
				if _, err := r.disp.RunOnce(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAvailability measures the form's busy-times query: one room, one day, with
// 2,000 reservations in the table.
func BenchmarkAvailability(b *testing.B) {
	for _, dialect := range []string{models.DialectSQLite, models.DialectMySQL} {
		b.Run(dialect, func(b *testing.B) {
			c := modelstest.NewClock(at(10, 10))
			s := modelstest.New(b, dialect, c.Now)
			ctx := context.Background()
			seedReservations(b, s, 2000)
			day := at(15, 0) // a day well inside the seeded range
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				got, err := s.Reservations(ctx, models.Filter{RoomIDs: []string{"duowei"}, From: day, To: day.Add(24 * time.Hour), Statuses: models.HoldingStatuses})
				if err != nil || len(got) == 0 {
					b.Fatalf("Reservations() = %d, %v", len(got), err)
				}
			}
		})
	}
}

// seedReservations fills the demo catalog's rooms with n one-hour confirmed bookings of
// zhangsan's from 2023-04-11 08:00 on, round-robin over the rooms.
func seedReservations(b *testing.B, s *models.Store, n int) {
	b.Helper()
	ctx := context.Background()
	if err := s.SyncCatalog(ctx, models.DemoCatalog()); err != nil {
		b.Fatal(err)
	}
	rooms := models.DemoCatalog().Rooms()
	for i := 0; i < n; i++ {
		start := at(11, 8).Add(time.Duration(i/len(rooms)) * time.Hour)
		id := models.NewID()
		if _, _, err := s.Book(ctx, models.Reservation{ID: id, UID: models.BridgeUID(id), RoomID: rooms[i%len(rooms)].ID, Start: start, End: start.Add(time.Hour),
			Title: fmt.Sprintf("季度规划会议，第 %d 场；请准时参加", i), OrganizerID: "zhangsan", Backend: models.BackendDingTalk,
			Origin: models.OriginBridge, Status: models.StatusConfirmed}, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}
