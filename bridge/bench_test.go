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
			c := &testClock{t: at(10, 10)}
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
			c := &testClock{t: at(10, 10)}
			s := modelstest.New(b, dialect, c.Now)
			ctx := context.Background()
			if err := s.SyncCatalog(ctx, models.DemoCatalog()); err != nil {
				b.Fatal(err)
			}
			rooms := models.DemoCatalog().Rooms()
			for i := 0; i < 2000; i++ {
				room := rooms[i%len(rooms)].ID
				start := at(11, 0).Add(time.Duration(i/len(rooms)) * time.Hour)
				id := models.NewID()
				if _, _, err := s.Book(ctx, models.Reservation{ID: id, UID: models.BridgeUID(id), RoomID: room, Start: start, End: start.Add(time.Hour),
					Title: fmt.Sprint("会议 ", i), Backend: models.BackendDingTalk, Origin: models.OriginNative, Status: models.StatusConfirmed}, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
			day := at(15, 0)
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
