package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// seriesBooking is a weekly Monday series of n occurrences from start in room duowei,
// the first two in the OA and the rest in DingTalk.
func seriesBooking(start time.Time, n int, key string) models.SeriesBooking {
	id := models.NewID()
	ser := models.Series{ID: id, UID: models.SeriesUID(id), RoomID: "duowei", Title: "周会", OrganizerID: "zhangsan",
		RRule: "FREQ=WEEKLY;BYDAY=MO;COUNT=8", Start: start, End: start.Add(time.Hour), TimeZone: "Asia/Shanghai", Status: models.SeriesActive}
	if key != "" {
		ser.IdempotencyKey = &key
	}
	var rows []models.Reservation
	for i := range n {
		at := start.AddDate(0, 0, 7*i)
		b := models.BackendDingTalk
		if i < 2 {
			b = models.BackendOA
		}
		sid := id
		rows = append(rows, models.Reservation{ID: models.NewID(), UID: models.OccurrenceUID(id, at), RoomID: "duowei",
			Start: at, End: at.Add(time.Hour), Title: "周会", OrganizerID: "zhangsan", Backend: b, Origin: models.OriginBridge,
			Status: models.StatusPending, SeriesID: &sid, RecurrenceID: &at})
	}
	return models.SeriesBooking{Series: ser, Rows: rows, Jobs: func(s models.Series, kept []models.Reservation) []models.Job {
		var jobs []models.Job
		for _, r := range kept {
			if r.Backend == models.BackendOA {
				jobs = append(jobs, models.Job{ReservationID: r.ID, Kind: models.JobCreate, Backend: models.BackendOA})
			}
		}
		return append(jobs, models.Job{ReservationID: s.ID, Kind: models.JobSeriesCreate, Backend: models.BackendDingTalk})
	}}
}

func TestStoreBookSeries(t *testing.T) {
	start := time.Date(2023, 4, 3, 2, 0, 0, 0, time.UTC)
	taken := start.AddDate(0, 0, 21)
	modelstest.Each(t, newClock().Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		native := res("duowei", taken.Add(30*time.Minute), time.Hour, models.BackendDingTalk, models.OriginNative)
		native.Status = models.StatusConfirmed
		if _, _, err := s.Book(ctx, native, nil, nil); err != nil {
			t.Fatal(err)
		}

		_, _, tk, _, err := s.BookSeries(ctx, seriesBooking(start, 8, ""))
		var sce *models.SeriesConflictError
		if !errors.As(err, &sce) || !errors.Is(err, models.ErrConflict) || len(tk) != 1 || !sce.Taken[0].Start.Equal(taken) || sce.Taken[0].With.ID != native.ID {
			t.Fatalf("BookSeries(refuse) = %v, taken %v; want a SeriesConflictError naming %s", err, tk, taken)
		}
		if rs, _ := s.Reservations(ctx, models.Filter{RoomIDs: []string{"duowei"}}); len(rs) != 1 {
			t.Fatalf("after a refused series the room has %d reservations, want 1", len(rs))
		}

		b := seriesBooking(start, 8, "k1")
		b.Skip = true
		ser, kept, tk, created, err := s.BookSeries(ctx, b)
		if err != nil || !created || len(kept) != 7 || len(tk) != 1 || !tk[0].Start.Equal(taken) {
			t.Fatalf("BookSeries(skip) = %d kept, %d taken, created %v, %v; want 7, 1, true", len(kept), len(tk), created, err)
		}
		if len(ser.ExDates) != 1 || !ser.ExDates[0].Equal(taken) {
			t.Errorf("series ExDates = %v, want [%s]", ser.ExDates, taken)
		}
		got, err := s.Series(ctx, ser.ID)
		if err != nil || len(got.ExDates) != 1 || !got.ExDates[0].Equal(taken) || got.UID != ser.UID {
			t.Errorf("Series(%s) = %+v, %v; want the stored ExDate", ser.ID, got, err)
		}
		occ, err := s.SeriesOccurrences(ctx, ser.ID)
		if err != nil || len(occ) != 7 || occ[0].Series() != ser.ID || !occ[0].RecurrenceID.Equal(start) {
			t.Fatalf("SeriesOccurrences = %d, %v; want 7 linked rows", len(occ), err)
		}
		jobs, _ := s.Jobs(ctx, ser.ID)
		if len(jobs) != 1 || jobs[0].Kind != models.JobSeriesCreate {
			t.Errorf("series jobs = %+v, want one series_create", jobs)
		}

		// The same key gives the same series back without writing.
		again, kept2, _, created, err := s.BookSeries(ctx, seriesBooking(start, 8, "k1"))
		if err != nil || created || again.ID != ser.ID || len(kept2) != 7 {
			t.Errorf("BookSeries(same key) = %s, %d rows, created %v, %v; want %s, 7, false", again.ID, len(kept2), created, err, ser.ID)
		}

		// UpdateSeries and a series job's outcome reach every occurrence.
		if _, err := s.UpdateSeries(ctx, ser.ID, func(x *models.Series, rows []models.Reservation, _ func(time.Time, time.Time) (*models.Reservation, error)) ([]models.Reservation, []models.Job, *models.AuditEntry, error) {
			x.Sequence++
			rows[0].Title = "改名"
			return rows[:1], nil, nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishJob(ctx, models.JobResult{Job: jobs[0], State: models.JobDone,
			SeriesRows: func(r *models.Reservation) bool { r.Status = models.StatusConfirmed; return true },
			SeriesUpdate: func(x *models.Series) bool {
				id := "master"
				x.DingTalkEventID = &id
				return true
			}}); err != nil {
			t.Fatal(err)
		}
		occ, _ = s.SeriesOccurrences(ctx, ser.ID)
		confirmed := 0
		for _, r := range occ {
			if r.Status == models.StatusConfirmed {
				confirmed++
				if r.Backend != models.BackendDingTalk {
					t.Errorf("occurrence %s in %s confirmed by the DingTalk series job", r.ID, r.Backend)
				}
			}
		}
		got, _ = s.Series(ctx, ser.ID)
		if confirmed != 5 || got.DingTalkEvent() != "master" || got.Sequence != 1 || occ[0].Title != "改名" {
			t.Errorf("after the series job: %d confirmed, event %q, sequence %d, first title %q; want 5, master, 1, 改名", confirmed, got.DingTalkEvent(), got.Sequence, occ[0].Title)
		}
	})
}

// SeriesAcross finds a series once when it has OA occurrences before the instant and
// occurrences from it on, counting them by system and side.
func TestStoreSeriesAcross(t *testing.T) {
	start := time.Date(2023, 4, 3, 2, 0, 0, 0, time.UTC)
	modelstest.Each(t, newClock().Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		seeded(t, s)
		ser, _, _, _, err := s.BookSeries(ctx, seriesBooking(start, 5, "")) // OA: 0, 1; DingTalk: 2, 3, 4
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, _, err := s.BookSeries(ctx, seriesBooking(start.AddDate(0, 2, 0), 3, "")); err != nil { // after every cut below
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name                       string
			at                         time.Time
			want                       bool
			oaBefore, oaAfter, dtAfter int
		}{
			{"between the OA and DingTalk parts", start.AddDate(0, 0, 14), true, 2, 0, 3},
			{"inside the OA part", start.AddDate(0, 0, 7), true, 1, 1, 3},
			{"before the series", start.Add(-time.Hour), false, 0, 0, 0},
			{"after the series", start.AddDate(0, 0, 40), false, 0, 0, 0},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.SeriesAcross(ctx, tt.at)
				if err != nil {
					t.Fatal(err)
				}
				if !tt.want {
					if len(got) != 0 {
						t.Errorf("SeriesAcross(%s) = %+v, want none", tt.at, got)
					}
					return
				}
				if len(got) != 1 || got[0].ID != ser.ID || got[0].OABefore != tt.oaBefore || got[0].OAAfter != tt.oaAfter || got[0].DingTalkAfter != tt.dtAfter || got[0].Title != "周会" {
					t.Errorf("SeriesAcross(%s) = %+v, want series %s once with OA %d before, %d after, DingTalk %d after", tt.at, got, ser.ID, tt.oaBefore, tt.oaAfter, tt.dtAfter)
				}
			})
		}
	})
}
