package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"roombridge/bridge"
	"roombridge/models"
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

// BenchmarkColdFeed measures what the report's cold builds measure: the all-rooms feed
// rendered by a new Feeds (empty caches) over a SQLite file of n reservations, all inside
// the feed window.
func BenchmarkColdFeed(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s, err := models.Open("sqlite:"+sqliteDB(b, b.TempDir(), n), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			zone, _ := time.LoadLocation("Asia/Shanghai")
			ctx := context.Background()
			token, _, err := (&bridge.Feeds{Store: s, Zone: zone}).CreateToken(ctx, "zhangsan", "bench")
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			var growth float64
			var cpu time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				runtime.GC()
				debug.FreeOSMemory()
				before := procStatusKB("VmRSS")
				os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM
				b.StartTimer()
				c0 := processCPU()
				f := &bridge.Feeds{Store: s, Zone: zone}
				r, err := f.Render(ctx, token, models.FeedAll, "")
				if err != nil {
					b.Fatal(err)
				}
				cpu += processCPU() - c0
				growth = max(growth, float64(procStatusKB("VmHWM")-before)/1024)
				b.ReportMetric(float64(len(r.Body)), "bytes/feed")
			}
			b.ReportMetric(growth, "peak-RSS-growth-MB")
			// CPU time is steadier than wall time on a shared machine.
			b.ReportMetric(float64(cpu)/float64(b.N)/float64(time.Millisecond), "cpu-ms/op")
		})
	}
}

// BenchmarkAvailabilityLarge measures GET /api/v1/availability for one room and one day,
// serially, over a SQLite table of 100,000 reservations, as the report does.
func BenchmarkAvailabilityLarge(b *testing.B) {
	base := benchServer(b, map[string]string{"ROOMBRIDGE_DB": "sqlite:" + sqliteDB(b, b.TempDir(), 100000)})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	day := time.Now().Truncate(24 * time.Hour)
	lats := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		d := day.Add(time.Duration(i%150) * 24 * time.Hour)
		u := base + "/api/v1/availability?room=duowei&from=" + url.QueryEscape(d.Format(time.RFC3339)) + "&to=" + url.QueryEscape(d.Add(24*time.Hour).Format(time.RFC3339))
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("X-Forwarded-User", "zhangsan")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET availability = %d", resp.StatusCode)
		}
		lats = append(lats, time.Since(t0))
	}
	b.ReportMetric(ms(percentile(lats, 0.5)), "p50-ms")
	b.ReportMetric(ms(percentile(lats, 0.99)), "p99-ms")
}
