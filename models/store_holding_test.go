package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// TestStoreBookOverlapLongAndShort: the overlap check finds a booking that began days
// before the slot (longer than ShortSpan) as well as one that began hours before, for a
// booking alone and for concurrent ones (written as a group), and lets the free slots
// through.
func TestStoreBookOverlapLongAndShort(t *testing.T) {
	c := newClock()
	modelstest.Each(t, c.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		for round, concurrent := range []bool{false, true} {
			base := time.Date(2023, 4, 12, 0, 0, 0, 0, time.UTC).AddDate(0, round, 0)
			long := res("duowei", base, 72*time.Hour, models.BackendOA, models.OriginNative)
			short := res("sk-tianyuan", base, 20*time.Hour, models.BackendOA, models.OriginNative)
			for _, r := range []models.Reservation{long, short} {
				r.Status = models.StatusConfirmed
				if _, _, err := s.Book(ctx, r, nil, nil); err != nil {
					t.Fatal(err)
				}
			}
			tests := []struct {
				room  string
				start time.Time
				want  string // id of the holder, "" when free
			}{
				{"duowei", base.Add(60 * time.Hour), long.ID},
				{"duowei", base.Add(72 * time.Hour), ""},
				{"sk-tianyuan", base.Add(19 * time.Hour), short.ID},
				{"sk-tianyuan", base.Add(20 * time.Hour), ""},
			}
			var wg sync.WaitGroup
			errs := make([]error, len(tests))
			for i, tt := range tests {
				r := res(tt.room, tt.start, time.Hour, models.BackendOA, models.OriginBridge)
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _, errs[i] = s.Book(ctx, r, nil, nil)
				}()
				if !concurrent {
					wg.Wait()
				}
			}
			wg.Wait()
			for i, tt := range tests {
				var ce *models.ConflictError
				got := ""
				if errors.As(errs[i], &ce) {
					got = ce.With.ID
				} else if errs[i] != nil {
					t.Fatalf("Book(%s at %s) = %v", tt.room, tt.start, errs[i])
				}
				if got != tt.want {
					t.Errorf("Book(%s at %s, concurrent %v) held by %q, want %q", tt.room, tt.start, concurrent, got, tt.want)
				}
			}
		}
	})
}
