package seeyonfake

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// FaultKind is what a Fault does to a request.
type FaultKind string

// Fault kinds. The "AfterWrite" kinds let the request do its work (execApp books,
// cancelMeetRoomApp cancels) and then lose the answer, which is how callers prove
// a retry does not write twice.
const (
	// FaultHTTP500 answers HTTP 500 without doing anything.
	FaultHTTP500 FaultKind = "http500"
	// FaultEmpty answers HTTP 200 with an empty body without doing anything, as
	// Seeyon's per-user lock does.
	FaultEmpty FaultKind = "empty"
	// FaultErrorMsg answers HTTP 200 {"errorMsg": Msg} without doing anything.
	FaultErrorMsg FaultKind = "errorMsg"
	// FaultMalformed answers HTTP 200 with a body that is not valid JSON.
	FaultMalformed FaultKind = "malformed"
	// FaultLatency waits Delay, then answers normally.
	FaultLatency FaultKind = "latency"
	// FaultHang never answers: it blocks until the client goes away or Close.
	FaultHang FaultKind = "hang"
	// FaultTokenExpired kills the request's token and answers HTTP 401.
	FaultTokenExpired FaultKind = "tokenExpired"
	// FaultDown drops the connection without an answer (HTTP 503 where the
	// connection cannot be taken over).
	FaultDown FaultKind = "down"
	// FaultEmptyAfterWrite does the work, then answers HTTP 200 with an empty body.
	FaultEmptyAfterWrite FaultKind = "emptyAfterWrite"
	// FaultHTTP500AfterWrite does the work, then answers HTTP 500.
	FaultHTTP500AfterWrite FaultKind = "http500AfterWrite"
	// FaultHangAfterWrite does the work, then blocks like FaultHang.
	FaultHangAfterWrite FaultKind = "hangAfterWrite"
)

// Fault makes requests misbehave.
type Fault struct {
	// Endpoint is the endpoint's last path element ("execApp", "token", ...);
	// "meeting/execApp" also works. Empty means every Seeyon endpoint.
	Endpoint string
	Kind     FaultKind
	// Times is how many requests the fault affects; 0 means until ClearFaults.
	Times int
	// Msg is the errorMsg text of FaultErrorMsg.
	Msg string
	// Delay is the wait of FaultLatency.
	Delay time.Duration
	// Rate, when between 0 and 1, makes the fault meet each matching request with that
	// probability (a flaky system); Times then counts only the requests it met.
	Rate float64
}

// check reports whether f is usable.
func (f Fault) check() error {
	switch f.Kind {
	case FaultHTTP500, FaultEmpty, FaultErrorMsg, FaultMalformed, FaultLatency, FaultHang,
		FaultTokenExpired, FaultDown, FaultEmptyAfterWrite, FaultHTTP500AfterWrite, FaultHangAfterWrite:
	default:
		return fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	if f.Times < 0 {
		return fmt.Errorf("fault times %d is negative", f.Times)
	}
	if f.Kind == FaultLatency && f.Delay <= 0 {
		return fmt.Errorf("latency fault needs a positive delay")
	}
	return nil
}

// SetFault adds f after the faults already set; a request meets the first
// matching one. A fault with an unknown kind matches but does nothing.
func (s *Server) SetFault(f Fault) {
	f.Endpoint = endpointName(f.Endpoint)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Faults returns the faults still set.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Fault(nil), s.faults...)
}

// take counts a request to endpoint and returns the fault it meets, if any,
// using up one of the fault's times.
func (s *Server) take(endpoint string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[endpoint]++
	for i, f := range s.faults {
		if f.Endpoint != "" && f.Endpoint != endpoint {
			continue
		}
		if f.Rate > 0 && f.Rate < 1 && rand.Float64() >= f.Rate {
			continue
		}
		if f.Times > 0 {
			s.faults[i].Times--
			if s.faults[i].Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return f, true
	}
	return Fault{}, false
}

// serve runs one Seeyon request through the faults and h.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, endpoint string, h func(*http.Request) reply) {
	f, faulty := s.take(endpoint)
	if faulty {
		switch f.Kind {
		case FaultHTTP500:
			reply{status: http.StatusInternalServerError, text: "Internal Server Error"}.write(w)
			return
		case FaultEmpty:
			reply{raw: true}.write(w)
			return
		case FaultErrorMsg:
			errorMsg(f.Msg).write(w)
			return
		case FaultMalformed:
			reply{raw: true, text: `{"roomAppState":`}.write(w)
			return
		case FaultLatency:
			if !s.wait(r, f.Delay) {
				return
			}
		case FaultHang:
			s.wait(r, -1)
			return
		case FaultTokenExpired:
			s.mu.Lock()
			delete(s.sessions, r.Header.Get("token"))
			s.mu.Unlock()
			reply{status: http.StatusUnauthorized, text: msgInvalidToken}.write(w)
			return
		case FaultDown:
			drop(w)
			return
		}
	}
	rep := h(r)
	if faulty {
		switch f.Kind {
		case FaultEmptyAfterWrite:
			rep = reply{raw: true}
		case FaultHTTP500AfterWrite:
			rep = reply{status: http.StatusInternalServerError, text: "Internal Server Error"}
		case FaultHangAfterWrite:
			s.wait(r, -1)
			return
		}
	}
	rep.write(w)
}

// wait blocks for d (forever if d < 0) or until the client goes away or the
// server is closed. It reports whether the full wait elapsed.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	var elapsed <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		elapsed = t.C
	}
	select {
	case <-elapsed:
		return true
	case <-r.Context().Done():
		return false
	case <-s.quit:
		return false
	}
}

// drop closes the connection under the request without an answer.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		reply{status: http.StatusServiceUnavailable, text: "Service Unavailable"}.write(w)
		return
	}
	_ = conn.Close()
}
