package web

import (
	"encoding/json"
	"net/http"
	"testing"

	"roombridge/models"
)

func TestGetBookingLongPoll(t *testing.T) {
	var e *env
	var bk *booker
	e = newEnv(t, func(c *Config) {
		bk = c.Booker.(*booker)
		bk.onWait = func(id string) { confirm(t, e, id, "dt-event-1") }
	})
	w := e.api("POST", "/api/v1/bookings", "zhangsan", `{"room_id":"duowei","title":"周会","start":"2023-04-20T10:00:00+08:00","end":"2023-04-20T11:00:00+08:00"}`)
	var r models.Reservation
	if err := json.Unmarshal(w.Body.Bytes(), &r); w.Code != http.StatusCreated || err != nil {
		t.Fatalf("POST booking = %d %s", w.Code, w.Body)
	}
	tests := []struct {
		name       string
		query      string
		wantStatus int
		wantState  string
		wantWaits  int
	}{
		{"no wait answers at once", "", http.StatusOK, "pending", 0},
		{"bad duration", "?wait=soon", http.StatusBadRequest, "", 0},
		{"wait returns the decided booking", "?wait=5s", http.StatusOK, "confirmed", 1},
		{"a decided booking does not wait", "?wait=5s", http.StatusOK, "confirmed", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.api("GET", "/api/v1/bookings/"+r.ID+tt.query, "zhangsan", "")
			if w.Code != tt.wantStatus {
				t.Fatalf("GET ...%s = %d %s, want %d", tt.query, w.Code, w.Body, tt.wantStatus)
			}
			if tt.wantState != "" {
				var got struct{ Status string }
				json.Unmarshal(w.Body.Bytes(), &got)
				if got.Status != tt.wantState {
					t.Errorf("GET ...%s status = %q, want %q", tt.query, got.Status, tt.wantState)
				}
			}
			if bk.waited != tt.wantWaits {
				t.Errorf("GET ...%s: Wait called %d times, want %d", tt.query, bk.waited, tt.wantWaits)
			}
		})
	}
}
