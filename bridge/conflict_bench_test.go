package bridge

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// BenchmarkDetectAfterSync measures conflict detection after a sync pass that changed
// 1,000 reservations (990 renamed, 10 new DingTalk bookings overlapping OA ones) with
// 100,000 reservations in the table.
func BenchmarkDetectAfterSync(outer *testing.B) {
	for _, dialect := range []string{models.DialectSQLite, models.DialectMySQL} {
		var (
			det   *Detector
			since time.Time
		)
		outer.Run(dialect, func(b *testing.B) {
			if det == nil {
				// The store lives as long as the outer benchmark: this function runs once
				// per b.N, the seeding only once.
				det, since = seedDetection(outer, dialect, 100_000, 1_000)
			}
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := det.DetectSince(ctx, since); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// seedDetection fills a store with total OA bookings (one hour each, back to back in
// every demo room), then changes `changed` of them as a sync pass would, and returns a
// Detector and the instant the change began.
func seedDetection(b *testing.B, dialect string, total, changed int) (*Detector, time.Time) {
	b.Helper()
	ctx := context.Background()
	c := modelstest.NewClock(at(1, 0))
	s := modelstest.New(b, dialect, c.Now)
	if err := s.SyncCatalog(ctx, models.DemoCatalog()); err != nil {
		b.Fatal(err)
	}
	rooms := models.DemoCatalog().Rooms()
	base := at(1, 0)
	slot := func(i int) (string, time.Time) {
		return rooms[i%len(rooms)].ID, base.Add(time.Duration(i/len(rooms)) * time.Hour)
	}
	const chunkSize = 10_000
	for from := 0; from < total; from += chunkSize {
		var rs []models.Remote
		for i := from; i < min(from+chunkSize, total); i++ {
			room, start := slot(i)
			rs = append(rs, models.Remote{RemoteID: fmt.Sprint("oa-", i), RoomID: room, Start: start, End: start.Add(time.Hour),
				Title: "周会", OrganizerID: "zhangsan", OrganizerName: "张三", Status: models.StatusConfirmed})
		}
		_, wFrom := slot(from)
		_, wTo := slot(min(from+chunkSize, total) - 1)
		if _, err := s.ApplySync(ctx, models.BackendOA, rs, models.ApplyOptions{From: wFrom, To: wTo.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	det := NewDetector(s, models.NewRouting(shanghai, at(17, 0).AddDate(2, 0, 0), at(16, 23).AddDate(2, 0, 0)), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := det.DetectSince(ctx, time.Time{}); err != nil {
		b.Fatal(err)
	}
	c.Add(time.Hour)
	since := c.Now()
	step := total / changed
	for k := 0; k < changed; k++ {
		i := k * step
		room, start := slot(i)
		rm := models.Remote{RemoteID: fmt.Sprint("oa-", i), RoomID: room, Start: start, End: start.Add(time.Hour), Title: "周会（改）", OrganizerID: "zhangsan", OrganizerName: "张三", Status: models.StatusConfirmed}
		b := models.BackendOA
		if k%100 == 0 {
			rm.RemoteID, rm.Title, b = fmt.Sprint("dt-", i), "钉钉里约的", models.BackendDingTalk
		}
		if _, err := s.ApplyRemote(ctx, b, rm, time.Time{}); err != nil {
			panic(err)
		}
	}
	return det, since
}
