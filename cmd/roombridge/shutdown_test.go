package main

import (
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"
)

// A normal stop while a long-poll (up to 30 s) is waiting on a pending booking: the poll
// answers with the booking as it stands and run() returns nil, within the grace period.
func TestStopDuringLongPollIsClean(t *testing.T) {
	in := start(t, nil)
	if r := in.do("POST", in.oaURL+"/_fake/faults", "", strings.NewReader(`{"kind":"down"}`)); r.code >= 300 {
		t.Fatalf("inject fault = %d %s", r.code, r.body)
	}
	var b booking
	in.do("POST", in.url+"/api/v1/bookings", "lisi", strings.NewReader(bookingBody("sk-tianyuan", "停机时还在等", in.day(3, 9, 0), time.Hour))).json(t, &b)
	if b.Status != "pending" {
		t.Fatalf("booking while the OA is down = %+v, want pending", b)
	}
	sent := make(chan struct{})
	polled := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", in.url+"/api/v1/bookings/"+b.ID+"?wait=30s", nil)
		req.Header.Set("X-Forwarded-User", "lisi")
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(sent) }}))
		// A fresh connection: a reused idle one could be closed by the stop before the
		// server reads the request (the client would then retry and find no server).
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Do(req)
		if err != nil {
			t.Logf("long-poll: %v", err)
			polled <- 0
			return
		}
		resp.Body.Close()
		polled <- resp.StatusCode
	}()
	<-sent
	// The listener accepts connections in order: once a later request is answered, the
	// long-poll's connection is the server's (a stop no longer drops it unanswered).
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	hr, err := fresh.Get(in.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	hr.Body.Close()
	if err := in.stop(); err != nil {
		t.Fatalf("run() with a long-poll in flight = %v, want nil", err)
	}
	if code := <-polled; code != http.StatusOK {
		t.Errorf("long-poll during the stop answered %d, want 200 with the pending booking", code)
	}
}
