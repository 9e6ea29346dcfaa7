package bridge

import (
	"context"
	"fmt"
	"testing"
	"time"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// BenchmarkRenderFeed measures serving the "all rooms" feed: token lookup, the window
// query over 2,000 reservations, and building, folding and hashing the calendar.
func BenchmarkRenderFeed(b *testing.B) {
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
				start := at(11, 8).Add(time.Duration(i/len(rooms)) * time.Hour)
				id := models.NewID()
				if _, _, err := s.Book(ctx, models.Reservation{ID: id, UID: models.BridgeUID(id), RoomID: room, Start: start, End: start.Add(time.Hour),
					Title: fmt.Sprintf("季度规划会议，第 %d 场；请准时参加", i), OrganizerID: "zhangsan", Backend: models.BackendDingTalk,
					Origin: models.OriginBridge, Status: models.StatusConfirmed}, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
			f := &Feeds{Store: s, Zone: shanghai, Now: c.Now, BaseURL: "https://rooms.example.com", Admins: map[string]bool{}}
			token, _, err := f.CreateToken(ctx, "zhangsan", "bench")
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			var size int
			for i := 0; i < b.N; i++ {
				r, err := f.Render(ctx, token, FeedAll, "")
				if err != nil {
					b.Fatal(err)
				}
				size = len(r.Body)
			}
			b.ReportMetric(float64(size), "bytes/feed")
		})
	}
}
