package models

import (
	"fmt"
	"sort"
	"time"
)

// Backend names a booking system.
type Backend string

// The two backends.
const (
	BackendOA       Backend = "oa"
	BackendDingTalk Backend = "dingtalk"
)

// Valid reports whether b is a known backend.
func (b Backend) Valid() bool { return b == BackendOA || b == BackendDingTalk }

// Span is a half-open interval of time [From, To) owned by one backend. A zero From or To
// means unbounded on that side.
type Span struct {
	From, To time.Time
	Backend  Backend
}

func (s Span) contains(t time.Time) bool {
	return (s.From.IsZero() || !t.Before(s.From)) && (s.To.IsZero() || t.Before(s.To))
}

// Routing is the policy that decides which backend owns a booking: a list of date spans,
// each owned by one backend, plus per-backend write freezes. A booking belongs to the
// backend that owns its start instant, even when it ends after a boundary.
type Routing struct {
	Zone   *time.Location
	Spans  []Span
	Freeze map[Backend]time.Time // after this instant the backend takes no more writes
}

// NewRouting builds the migration policy: everything before cutover belongs to the OA,
// everything from cutover on to DingTalk, and the OA takes no writes from freeze on.
func NewRouting(zone *time.Location, cutover, freeze time.Time) Routing {
	return Routing{
		Zone: zone,
		Spans: []Span{
			{To: cutover, Backend: BackendOA},
			{From: cutover, Backend: BackendDingTalk},
		},
		Freeze: map[Backend]time.Time{BackendOA: freeze},
	}
}

// SplitAt is r with the boundary between the OA and DingTalk moved to cutover (r itself
// when cutover is nil): the routing a series recorded as split at cutover was split with.
func (r Routing) SplitAt(cutover *time.Time) Routing {
	if cutover == nil || r.Cutover().Equal(*cutover) {
		return r
	}
	return NewRouting(r.Zone, *cutover, r.Freeze[BackendOA])
}

// Cutover returns the first instant owned by DingTalk, or the zero time if no span is
// owned by DingTalk.
func (r Routing) Cutover() time.Time {
	for _, s := range r.Spans {
		if s.Backend == BackendDingTalk {
			return s.From
		}
	}
	return time.Time{}
}

// Validate checks that the spans cover all time without gaps or overlaps.
func (r Routing) Validate() error {
	if r.Zone == nil {
		return fmt.Errorf("%w: routing needs a time zone", ErrInvalid)
	}
	if len(r.Spans) == 0 {
		return fmt.Errorf("%w: routing needs at least one span", ErrInvalid)
	}
	spans := append([]Span(nil), r.Spans...)
	sort.Slice(spans, func(i, j int) bool { return spans[i].From.Before(spans[j].From) })
	if !spans[0].From.IsZero() || !spans[len(spans)-1].To.IsZero() {
		return fmt.Errorf("%w: routing spans must be open at both ends", ErrInvalid)
	}
	for i, s := range spans {
		if !s.Backend.Valid() {
			return fmt.Errorf("%w: unknown backend %q", ErrInvalid, s.Backend)
		}
		if i > 0 && !spans[i-1].To.Equal(s.From) {
			return fmt.Errorf("%w: routing spans leave a gap or overlap at %s", ErrInvalid, s.From.Format(time.RFC3339))
		}
	}
	return nil
}

// Decision is the outcome of routing one booking.
type Decision struct {
	Backend Backend
	// Cutover is the first instant owned by DingTalk: the booking goes to the OA because
	// it starts before it, or to DingTalk because it starts on or after it.
	Cutover time.Time
	// Frozen is set when the owning backend no longer takes writes at the time asked.
	Frozen bool
}

// Owner returns the backend that owns a booking starting at start.
func (r Routing) Owner(start time.Time) Backend {
	for _, s := range r.Spans {
		if s.contains(start) {
			return s.Backend
		}
	}
	return r.Spans[len(r.Spans)-1].Backend
}

// Route decides where a booking starting at start goes when written at now, and why.
func (r Routing) Route(start, now time.Time) Decision {
	b := r.Owner(start)
	d := Decision{Backend: b, Cutover: r.Cutover()}
	if f, ok := r.Freeze[b]; ok && !now.Before(f) {
		d.Frozen = true
	}
	return d
}

// CheckWritable returns an ErrFrozen user error (code "oa_frozen") when backend b no
// longer takes writes at now, and nil otherwise.
func (r Routing) CheckWritable(b Backend, now time.Time) error {
	f, ok := r.Freeze[b]
	if !ok || now.Before(f) {
		return nil
	}
	return E(ErrFrozen, string(b)+"_frozen", "start", ArgBackend, string(b), ArgAt, TimeArg(f), ArgDay, TimeArg(r.Cutover()))
}
