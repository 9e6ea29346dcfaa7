package web

import (
	"strings"
	"testing"
	"time"

	"roombridge/models"
)

func TestMyBookingsListsAttendedBookings(t *testing.T) {
	e := newEnv(t)
	sh, _ := time.LoadLocation("Asia/Shanghai")
	start := time.Date(2023, 4, 14, 10, 0, 0, 0, sh)
	r := e.book("duowei", "zhangsan", start, start.Add(time.Hour), models.BackendOA, models.OriginBridge, "评审会", "lisi")
	body := e.browser().login("lisi").get("/bookings").Body.String()
	if !strings.Contains(body, "评审会") {
		t.Fatalf("GET /bookings as an attendee lacks the booking")
	}
	if strings.Contains(body, "/bookings/"+r.ID+"/cancel") || strings.Contains(body, "/bookings/"+r.ID+"/edit") {
		t.Errorf("GET /bookings as an attendee offers cancel or reschedule of someone else's booking")
	}
}
