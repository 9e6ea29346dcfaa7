package bridge

import (
	"context"
	"testing"
	"time"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// BenchmarkRenderFeed measures serving the "all rooms" feed from a warm cache: token
// lookup, the stamp read, and the cached bytes.
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
			if _, err := f.Render(ctx, token, models.FeedAll, ""); err != nil { // fills the cache
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

// BenchmarkRenderFeedCold measures building the "all rooms" feed of 2,000 reservations
// with empty caches: the window query, rendering every event, assembling, hashing and
// compressing.
func BenchmarkRenderFeedCold(b *testing.B) {
	c := modelstest.NewClock(at(10, 10))
	s := modelstest.New(b, models.DialectSQLite, c.Now)
	ctx := context.Background()
	seedReservations(b, s, 2000)
	token, _, err := (&Feeds{Store: s}).CreateToken(ctx, "zhangsan", "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := &Feeds{Store: s, Zone: shanghai, Now: func() time.Time { return c.Now() }}
		if _, err := f.Render(ctx, token, models.FeedAll, ""); err != nil {
			b.Fatal(err)
		}
	}
}
