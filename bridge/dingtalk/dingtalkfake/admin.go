package dingtalkfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"roombridge/models"
)

// adminRoutes registers the /_fake/ endpoints that drive the fake from outside the process:
//
//	GET    /_fake/events        every event, as []Event
//	POST   /_fake/events        {"organizerUnionId","roomId","title","start","end"} books natively
//	PATCH  /_fake/events/{id}   {"title"?,"start"?,"end"?} renames or moves a native booking
//	DELETE /_fake/events/{id}   cancels an event
//	GET    /_fake/faults        the active faults
//	POST   /_fake/faults        {"kind","api","times","delay":"2s","status"} injects a fault
//	DELETE /_fake/faults        clears every fault
//	GET    /_fake/messages      the work notifications sent (asyncsend_v2), oldest first
//	DELETE /_fake/tokens        expires every access token
//	GET    /_fake/calls         {"metered":n,"calls":{"CreateEvent":n,…}}
func (s *Server) adminRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /_fake/events", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Events())
	})
	m.HandleFunc("POST /_fake/events", s.adminAddEvent)
	m.HandleFunc("PATCH /_fake/events/{id}", s.adminPatchEvent)
	m.HandleFunc("DELETE /_fake/events/{id}", func(w http.ResponseWriter, r *http.Request) {
		adminResult(w, http.StatusNoContent, nil, s.CancelNative(r.PathValue("id")))
	})
	m.HandleFunc("GET /_fake/faults", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		out := make([]faultJSON, 0, len(s.faults))
		for _, f := range s.faults {
			out = append(out, toFaultJSON(*f))
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	})
	m.HandleFunc("POST /_fake/faults", s.adminSetFault)
	m.HandleFunc("DELETE /_fake/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("DELETE /_fake/tokens", func(w http.ResponseWriter, r *http.Request) {
		s.ExpireTokens()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("GET /_fake/messages", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Messages())
	})
	m.HandleFunc("GET /_fake/calls", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		out := map[string]any{"metered": s.metered, "calls": maps.Clone(s.calls)}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	})
}

// adminResult answers an admin call: body on success, otherwise the error with a status
// chosen by its kind.
func adminResult(w http.ResponseWriter, status int, body any, err error) {
	switch {
	case err == nil:
		writeJSON(w, status, body)
	case errors.Is(err, models.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case errors.Is(err, models.ErrConflict):
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	}
}

func (s *Server) event(id string) (Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, found := s.events[id]
	if !found {
		return Event{}, fmt.Errorf("event %s: %w", id, models.ErrNotFound)
	}
	return e.snapshot(), nil
}

func (s *Server) adminAddEvent(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OrganizerUnionID string    `json:"organizerUnionId"`
		RoomID           string    `json:"roomId"`
		Title            string    `json:"title"`
		Start            time.Time `json:"start"`
		End              time.Time `json:"end"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		adminResult(w, 0, nil, fmt.Errorf("decode native booking: %w: %w", models.ErrInvalid, err))
		return
	}
	id, err := s.AddNative(req.OrganizerUnionID, req.RoomID, req.Title, req.Start, req.End)
	if err != nil {
		adminResult(w, 0, nil, err)
		return
	}
	e, err := s.event(id)
	adminResult(w, http.StatusCreated, e, err)
}

func (s *Server) adminPatchEvent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req struct {
		Title *string    `json:"title"`
		Start *time.Time `json:"start"`
		End   *time.Time `json:"end"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		adminResult(w, 0, nil, fmt.Errorf("decode native change: %w: %w", models.ErrInvalid, err))
		return
	}
	cur, err := s.event(id)
	if err != nil {
		adminResult(w, 0, nil, err)
		return
	}
	if req.Start != nil || req.End != nil {
		start, end := cur.Start, cur.End
		if req.Start != nil {
			start = *req.Start
		}
		if req.End != nil {
			end = *req.End
		}
		if err := s.MoveNative(id, start, end); err != nil {
			adminResult(w, 0, nil, err)
			return
		}
	}
	if req.Title != nil {
		if err := s.RenameNative(id, *req.Title); err != nil {
			adminResult(w, 0, nil, err)
			return
		}
	}
	cur, err = s.event(id)
	adminResult(w, http.StatusOK, cur, err)
}

// faultJSON is the admin form of a Fault, with the delay as a Go duration string.
type faultJSON struct {
	Kind   FaultKind `json:"kind"`
	API    string    `json:"api,omitempty"`
	Times  int       `json:"times,omitempty"`
	Delay  string    `json:"delay,omitempty"`
	Status int       `json:"status,omitempty"`
	Rate   float64   `json:"rate,omitempty"`
}

func toFaultJSON(f Fault) faultJSON {
	j := faultJSON{Kind: f.Kind, API: f.API, Times: f.Times, Status: f.Status, Rate: f.Rate}
	if f.Delay > 0 {
		j.Delay = f.Delay.String()
	}
	return j
}

func (s *Server) adminSetFault(w http.ResponseWriter, r *http.Request) {
	var j faultJSON
	if err := json.NewDecoder(r.Body).Decode(&j); err != nil {
		adminResult(w, 0, nil, fmt.Errorf("decode fault: %w", err))
		return
	}
	f := Fault{Kind: j.Kind, API: j.API, Times: j.Times, Status: j.Status, Rate: j.Rate}
	if j.Delay != "" {
		d, err := time.ParseDuration(j.Delay)
		if err != nil {
			adminResult(w, 0, nil, fmt.Errorf("fault delay: %w", err))
			return
		}
		f.Delay = d
	}
	if err := f.validate(); err != nil {
		adminResult(w, 0, nil, err)
		return
	}
	if f.API != "" && !s.apis[f.API] {
		known := slices.Sorted(maps.Keys(s.apis))
		adminResult(w, 0, nil, fmt.Errorf("unknown API %q (the fake serves %s)", f.API, strings.Join(known, ", ")))
		return
	}
	s.SetFault(f)
	adminResult(w, http.StatusCreated, toFaultJSON(f), nil)
}
