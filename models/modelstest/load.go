package modelstest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"roombridge/models"
)

// SyncLoad fills s with total OA bookings from base (one hour each, back to back in
// every room of the demo catalog, which it stores), calls settled (to let the caller
// look at them once), moves the clock on an hour and then changes `changed` of them as
// a sync pass would: most renamed, one in a hundred joined by a DingTalk booking of the
// same slot. It returns the instant the change began.
func SyncLoad(tb testing.TB, s *models.Store, c *Clock, base time.Time, total, changed int, settled func()) time.Time {
	tb.Helper()
	ctx := context.Background()
	if err := s.SyncCatalog(ctx, models.DemoCatalog()); err != nil {
		tb.Fatal(err)
	}
	rooms := models.DemoCatalog().Rooms()
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
			tb.Fatal(err)
		}
	}
	settled()
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
			tb.Fatal(err)
		}
	}
	return since
}
