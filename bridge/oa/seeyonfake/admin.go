package seeyonfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"roombridge/models"
)

// adminRoutes is the JSON admin surface under /_fake/:
//
//	GET    /_fake/bookings        every booking, cancelled ones included
//	POST   /_fake/bookings        {"roomId","loginName","start","end","description"} → 201 {"appId"}
//	PATCH  /_fake/bookings/{id}   {"start","end"}: move a booking
//	DELETE /_fake/bookings/{id}   cancel a booking
//	GET    /_fake/faults          the faults still set
//	POST   /_fake/faults          {"endpoint","kind","times","msg","delay":"2s"}; 400 for an
//	                              endpoint the fake does not serve, naming those it does
//	DELETE /_fake/faults          clear all faults
//	POST   /_fake/tokens/expire   invalidate every token
//	GET    /_fake/calls           requests per endpoint
//
// Times are RFC 3339 or OA-local "yyyy-MM-dd HH:mm".
func (s *Server) adminRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_fake/bookings", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Bookings())
	})
	mux.HandleFunc("POST /_fake/bookings", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			RoomID      string `json:"roomId"`
			LoginName   string `json:"loginName"`
			Start       string `json:"start"`
			End         string `json:"end"`
			Description string `json:"description"`
		}
		if !readJSON(w, r, &in) {
			return
		}
		start, end, ok := s.adminRange(w, in.Start, in.End)
		if !ok {
			return
		}
		id, err := s.AddNative(in.RoomID, in.LoginName, start, end, in.Description)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"appId": id})
	})
	mux.HandleFunc("PATCH /_fake/bookings/{id}", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Start string `json:"start"`
			End   string `json:"end"`
		}
		if !readJSON(w, r, &in) {
			return
		}
		start, end, ok := s.adminRange(w, in.Start, in.End)
		if !ok {
			return
		}
		if err := s.MoveNative(r.PathValue("id"), start, end); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	// The room's approver refuses the booking (approval status 2).
	mux.HandleFunc("POST /_fake/bookings/{id}/reject", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Reject(r.PathValue("id")); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /_fake/bookings/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.CancelNative(r.PathValue("id")); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_fake/faults", func(w http.ResponseWriter, r *http.Request) {
		out := []faultJSON{}
		for _, f := range s.Faults() {
			out = append(out, faultJSON{Endpoint: f.Endpoint, Kind: f.Kind, Times: f.Times, Msg: f.Msg, Delay: durationText(f.Delay), Rate: f.Rate})
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /_fake/faults", func(w http.ResponseWriter, r *http.Request) {
		var in faultJSON
		if !readJSON(w, r, &in) {
			return
		}
		f := Fault{Endpoint: in.Endpoint, Kind: in.Kind, Times: in.Times, Msg: in.Msg, Rate: in.Rate}
		if in.Delay != "" {
			d, err := time.ParseDuration(in.Delay)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "delay: " + err.Error()})
				return
			}
			f.Delay = d
		}
		if err := f.check(); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		// A misspelt endpoint would match no request and inject nothing.
		if name := endpointName(f.Endpoint); name != "" && !slices.Contains(s.Endpoints(), name) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("unknown endpoint %q (the fake serves %s)", f.Endpoint, strings.Join(s.Endpoints(), ", "))})
			return
		}
		s.SetFault(f)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /_fake/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_fake/tokens/expire", func(w http.ResponseWriter, r *http.Request) {
		s.ExpireTokens()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_fake/calls", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		out := make(map[string]int, len(s.calls))
		for k, v := range s.calls {
			out[k] = v
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	})
	return mux
}

// faultJSON is a Fault on the admin surface; the delay is a Go duration string.
type faultJSON struct {
	Endpoint string    `json:"endpoint"`
	Kind     FaultKind `json:"kind"`
	Times    int       `json:"times"`
	Msg      string    `json:"msg,omitempty"`
	Delay    string    `json:"delay,omitempty"`
	Rate     float64   `json:"rate,omitempty"`
}

func durationText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// adminRange parses an admin start and end, answering 400 if either is bad.
func (s *Server) adminRange(w http.ResponseWriter, start, end string) (time.Time, time.Time, bool) {
	a, ok1 := s.adminTime(start)
	b, ok2 := s.adminTime(end)
	if !ok1 || !ok2 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "start and end must be RFC 3339 or yyyy-MM-dd HH:mm"})
		return time.Time{}, time.Time{}, false
	}
	return a, b, true
}

func (s *Server) adminTime(v string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	return parseLocal(v, s.zone)
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "malformed JSON: " + err.Error()})
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with the status of err's kind.
func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, models.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, models.ErrConflict):
		status = http.StatusConflict
	case errors.Is(err, models.ErrInvalid):
		status = http.StatusBadRequest
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
