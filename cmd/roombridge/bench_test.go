package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// BenchmarkAPIBook measures POST /api/v1/bookings end to end on the demo server
// (SQLite): HTTP, validation, the one-transaction check and enqueue. Each booking takes a
// fresh slot, spread over rooms and days ahead of the cutover.
func BenchmarkAPIBook(b *testing.B) {
	in := start(b, nil)
	rooms := []string{"duowei", "sk-tianyuan", "sk-xiaoyao", "lxx-changcheng", "lxx-gugong", "sh-waitan", "sh-lujiazui", "sz-shenzhenwan", "sz-lianhuashan"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		slot := in.day(20+i/(len(rooms)*24), 0, 0).Add(time.Duration(i/len(rooms)%24) * time.Hour)
		r := in.do("POST", in.url+"/api/v1/bookings", "zhangsan", strings.NewReader(bookingBody(rooms[i%len(rooms)], fmt.Sprint("压测 ", i), slot, 30*time.Minute)))
		if r.code != http.StatusCreated {
			b.Fatalf("POST = %d %s", r.code, r.body)
		}
	}
}

// BenchmarkAPIAvailability measures GET /api/v1/availability for one room and day, from
// parallel clients.
func BenchmarkAPIAvailability(b *testing.B) {
	in := start(b, nil)
	day := in.day(1, 0, 0)
	u := in.url + "/api/v1/availability?room=duowei&from=" + urlTime(day) + "&to=" + urlTime(day.Add(24*time.Hour))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", u, nil)
			req.Header.Set("X-Forwarded-User", "zhangsan")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("GET = %d", resp.StatusCode)
				return
			}
		}
	})
}
