package bridge

import (
	"context"
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

// seedDetection fills a store with total OA bookings and changes `changed` of them as a
// sync pass would (modelstest.SyncLoad), and returns a Detector that has seen the store
// before the change and the instant the change began.
func seedDetection(b testing.TB, dialect string, total, changed int) (*Detector, time.Time) {
	b.Helper()
	c := modelstest.NewClock(at(1, 0))
	s := modelstest.New(b, dialect, c.Now)
	det := NewDetector(s, models.NewRouting(shanghai, at(17, 0).AddDate(2, 0, 0), at(16, 23).AddDate(2, 0, 0)), slog.New(slog.NewTextHandler(io.Discard, nil)))
	since := modelstest.SyncLoad(b, s, c, at(1, 0), total, changed, func() {
		if _, err := det.DetectSince(context.Background(), time.Time{}); err != nil {
			b.Fatal(err)
		}
	})
	return det, since
}
