package bridge

import (
	"context"
	"testing"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// BenchmarkRenderFeed measures serving the "all rooms" feed: token lookup, the window
// query over 2,000 reservations, and building, folding and hashing the calendar.
func BenchmarkRenderFeed(b *testing.B) {
	for _, dialect := range []string{models.DialectSQLite, models.DialectMySQL} {
		b.Run(dialect, func(b *testing.B) {
			c := modelstest.NewClock(at(10, 10))
			s := modelstest.New(b, dialect, c.Now)
			ctx := context.Background()
			seedReservations(b, s, 2000)
			f := &Feeds{Store: s, Zone: shanghai, Now: c.Now}
			token, _, err := f.CreateToken(ctx, "zhangsan", "bench")
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			var size int
			for i := 0; i < b.N; i++ {
				r, err := f.Render(ctx, token, models.FeedAll, "")
				if err != nil {
					b.Fatal(err)
				}
				size = len(r.Body)
			}
			b.ReportMetric(float64(size), "bytes/feed")
		})
	}
}
