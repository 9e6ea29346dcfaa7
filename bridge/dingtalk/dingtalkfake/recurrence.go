package dingtalkfake

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Recurrence is DingTalk's recurrence object as the calendar API takes and returns it.
// The fake expands it on its own (it shares no code with the bridge's RRULE mapping), so a
// wrong mapping in the bridge shows up as occurrences on the wrong days.
type Recurrence struct {
	Pattern struct {
		Type           string `json:"type"`
		Interval       int    `json:"interval,omitempty"`
		DaysOfWeek     string `json:"daysOfWeek,omitempty"`
		DayOfMonth     int    `json:"dayOfMonth,omitempty"`
		Index          string `json:"index,omitempty"`
		FirstDayOfWeek string `json:"firstDayOfWeek,omitempty"`
	} `json:"pattern"`
	Range struct {
		Type                string `json:"type"`
		EndDate             string `json:"endDate,omitempty"`
		NumberOfOccurrences int    `json:"numberOfOccurrences,omitempty"`
	} `json:"range"`
}

// Limits of the fake's expansion: a series without an end is expanded this far, and no
// series has more instances than maxInstances.
const (
	noEndHorizon = 2 * 366 * 24 * time.Hour
	maxInstances = 1000
)

// instance is one occurrence of an event: the event itself when it does not recur.
type instance struct {
	ID          string
	Start, End  time.Time
	OriginStart time.Time
	Master      *event
}

// InstanceID is the id the fake gives the occurrence of recurring event masterID that
// originally starts at originStart: the master id, "_", and the start in UTC, as Google
// Calendar does. Whether DingTalk's instance ids look like this is not known; the bridge
// never builds them itself, it only reads them from instance listings and room schedules.
func InstanceID(masterID string, originStart time.Time) string {
	return masterID + "_" + originStart.UTC().Format("20060102T150405Z")
}

// splitInstanceID returns the master id and original start of an instance id.
func splitInstanceID(id string) (string, time.Time, bool) {
	i := strings.LastIndexByte(id, '_')
	if i < 0 {
		return "", time.Time{}, false
	}
	t, err := time.Parse("20060102T150405Z", id[i+1:])
	if err != nil {
		return "", time.Time{}, false
	}
	return id[:i], t, true
}

var dayNames = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

var indexes = map[string]int{"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}

// check validates a recurrence as DingTalk's create and patch do.
func (rc *Recurrence) check() error {
	p, r := rc.Pattern, rc.Range
	if p.Interval < 0 || p.Interval > 365 {
		return fmt.Errorf("recurrence interval must be 1-365")
	}
	days := func() error {
		if p.DaysOfWeek == "" {
			return fmt.Errorf("recurrence daysOfWeek is required for %s", p.Type)
		}
		for d := range strings.SplitSeq(p.DaysOfWeek, ",") {
			if _, ok := dayNames[strings.TrimSpace(d)]; !ok {
				return fmt.Errorf("recurrence daysOfWeek %q is invalid", p.DaysOfWeek)
			}
		}
		return nil
	}
	switch p.Type {
	case "daily":
	case "weekly":
		if err := days(); err != nil {
			return err
		}
	case "absoluteMonthly":
		if p.DayOfMonth < 1 || p.DayOfMonth > 31 {
			return fmt.Errorf("recurrence dayOfMonth must be 1-31")
		}
	case "relativeMonthly":
		if err := days(); err != nil {
			return err
		}
		if _, ok := indexes[p.Index]; !ok && p.Index != "" {
			return fmt.Errorf("recurrence index %q is invalid", p.Index)
		}
	default:
		return fmt.Errorf("recurrence pattern type %q is not supported by the fake", p.Type)
	}
	switch r.Type {
	case "noEnd":
	case "numbered":
		if r.NumberOfOccurrences < 1 || r.NumberOfOccurrences > 99 {
			return fmt.Errorf("recurrence numberOfOccurrences must be 1-99")
		}
		if r.EndDate != "" {
			return fmt.Errorf("recurrence endDate and numberOfOccurrences cannot both be set")
		}
	case "endDate":
		if _, err := rc.endDate(time.UTC); err != nil {
			return err
		}
		if r.NumberOfOccurrences != 0 {
			return fmt.Errorf("recurrence endDate and numberOfOccurrences cannot both be set")
		}
	default:
		return fmt.Errorf("recurrence range type %q is invalid", r.Type)
	}
	return nil
}

// endDate is the last instant an occurrence may start at: the given date-time, or the end
// of a bare date in the event's zone.
func (rc *Recurrence) endDate(loc *time.Location) (time.Time, error) {
	s := rc.Range.EndDate
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t.AddDate(0, 0, 1).Add(-time.Second), nil
	}
	return time.Time{}, fmt.Errorf("recurrence endDate %q is not ISO-8601", s)
}

// starts lists the original starts of a recurring event, in order, excluded ones included.
func (rc *Recurrence) starts(first time.Time, loc *time.Location) []time.Time {
	p := rc.Pattern
	interval := max(p.Interval, 1)
	l := first.In(loc)
	hh, mm, ss := l.Clock()
	y, m, d := l.Date()
	day0 := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	limit := first.Add(noEndHorizon)
	if rc.Range.Type == "endDate" {
		limit, _ = rc.endDate(loc)
	}
	var wanted []time.Weekday
	for s := range strings.SplitSeq(p.DaysOfWeek, ",") {
		if wd, ok := dayNames[strings.TrimSpace(s)]; ok {
			wanted = append(wanted, wd)
		}
	}
	var out []time.Time
	add := func(day time.Time) bool {
		if day.Before(day0) {
			return true
		}
		t := time.Date(day.Year(), day.Month(), day.Day(), hh, mm, ss, 0, loc)
		if t.After(limit) || len(out) >= maxInstances ||
			rc.Range.Type == "numbered" && len(out) >= rc.Range.NumberOfOccurrences {
			return false
		}
		out = append(out, t)
		return true
	}
	for k := 0; ; k++ {
		var days []time.Time
		switch p.Type {
		case "daily":
			days = []time.Time{day0.AddDate(0, 0, k*interval)}
		case "weekly":
			wkst, ok := dayNames[p.FirstDayOfWeek]
			if !ok {
				wkst = time.Sunday
			}
			ws := day0.AddDate(0, 0, -((int(day0.Weekday())-int(wkst)+7)%7)+7*k*interval)
			for i := range 7 {
				if day := ws.AddDate(0, 0, i); slices.Contains(wanted, day.Weekday()) {
					days = append(days, day)
				}
			}
		case "absoluteMonthly", "relativeMonthly":
			ms := time.Date(y, m+time.Month(k*interval), 1, 0, 0, 0, 0, time.UTC)
			n := ms.AddDate(0, 1, -1).Day()
			for i := range n {
				day := ms.AddDate(0, 0, i)
				if p.Type == "absoluteMonthly" && day.Day() == p.DayOfMonth {
					days = append(days, day)
				}
				if p.Type == "relativeMonthly" && slices.Contains(wanted, day.Weekday()) {
					idx := indexes[p.Index]
					if p.Index == "" {
						idx = 1
					}
					if idx > 0 && (day.Day()-1)/7+1 == idx || idx < 0 && day.Day() > n-7 {
						days = append(days, day)
					}
				}
			}
		default:
			return out
		}
		for _, day := range days {
			if !add(day) {
				return out
			}
		}
		if k > 20000 {
			return out
		}
	}
}

// instances lists e's occurrences overlapping [from, to) (all of them when both are zero),
// deleted ones left out. It runs with s.mu held.
func (e *event) instances(from, to time.Time) []instance {
	in := func(a, b time.Time) bool {
		return (to.IsZero() || a.Before(to)) && (from.IsZero() || from.Before(b))
	}
	if e.Recurrence == nil {
		if in(e.Start, e.End) {
			return []instance{{ID: e.ID, Start: e.Start, End: e.End, OriginStart: e.Start, Master: e}}
		}
		return nil
	}
	d := e.End.Sub(e.Start)
	var out []instance
	for _, st := range e.Recurrence.starts(e.Start, zone(e.TimeZone)) {
		if slices.ContainsFunc(e.ExDates, func(x time.Time) bool { return x.Equal(st) }) {
			continue
		}
		if in(st, st.Add(d)) {
			out = append(out, instance{ID: InstanceID(e.ID, st), Start: st, End: st.Add(d), OriginStart: st, Master: e})
		}
	}
	return out
}

// Instances returns the start of every live occurrence of event id (one for an event that
// does not recur), for tests.
func (s *Server) Instances(id string) ([]time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.live("instances of", id)
	if err != nil {
		return nil, err
	}
	var out []time.Time
	for _, in := range e.instances(time.Time{}, time.Time{}) {
		out = append(out, in.Start)
	}
	return out, nil
}

// listInstances answers GET …/events/{eid}/instances: the occurrences of a recurring event
// in [timeMin, timeMax), each with its own id and seriesMasterId.
func (s *Server) listInstances(r *http.Request, _ []byte) reply {
	uid, rep, okUser := s.calendarUser(r)
	if !okUser {
		return rep
	}
	e, rep, found := s.lookup(r, uid)
	if !found {
		return rep
	}
	q := r.URL.Query()
	var from, to time.Time
	var err error
	if v := q.Get("timeMin"); v != "" {
		if from, err = time.Parse(time.RFC3339, v); err != nil {
			return apiErr(http.StatusBadRequest, codeInvalidParam, "timeMin is not ISO-8601")
		}
	}
	if v := q.Get("timeMax"); v != "" {
		if to, err = time.Parse(time.RFC3339, v); err != nil {
			return apiErr(http.StatusBadRequest, codeInvalidParam, "timeMax is not ISO-8601")
		}
	}
	out := struct {
		Events []eventOut `json:"events"`
	}{Events: []eventOut{}}
	for _, in := range e.instances(from, to) {
		out.Events = append(out.Events, s.instanceOut(in, uid))
	}
	return ok(out)
}

// instanceOut is one occurrence as the API shows it.
func (s *Server) instanceOut(in instance, viewer string) eventOut {
	o := s.out(in.Master, viewer)
	if in.Master.Recurrence == nil {
		return o
	}
	o.ID = in.ID
	o.SeriesMasterID = in.Master.ID
	o.Recurrence = nil
	o.Start, o.End = formatTime(in.Start, in.Master.TimeZone), formatTime(in.End, in.Master.TimeZone)
	o.OriginStart = &dateTime{DateTime: in.OriginStart.UTC().Format(time.RFC3339)}
	return o
}

// deleteInstance deletes one occurrence of a recurring event, as its organiser (an
// attendee may not). It runs with s.mu held.
func (s *Server) deleteInstance(uid, masterID string, originStart time.Time) reply {
	e, found := s.events[masterID]
	if !found || !e.visibleTo(uid) || e.Status == StatusCancelled || e.Recurrence == nil {
		return apiErr(http.StatusNotFound, codeItemNotFound, "event not found")
	}
	if e.OrganizerUnionID != uid {
		return apiErr(http.StatusBadRequest, codePermissionDeny, "only the organizer may delete an occurrence")
	}
	live := false
	for _, in := range e.instances(time.Time{}, time.Time{}) {
		if in.OriginStart.Equal(originStart) {
			live = true
		}
	}
	if !live {
		return apiErr(http.StatusNotFound, codeInstanceMissing, "instance does not exist")
	}
	e.ExDates = append(e.ExDates, originStart.UTC())
	s.touch(e)
	return reply{status: http.StatusOK}
}

// Hold is one stretch of time a live event holds a room for: a single event, or one live
// occurrence of a recurring event (ID is then the occurrence's id, as room schedules list
// it, and MasterID the event's).
type Hold struct {
	ID       string
	MasterID string
	Summary  string
	Start    time.Time
	End      time.Time
	Native   bool
}

// RoomHolds returns everything that holds room, by start (then id): every live single
// event and every live occurrence of every live recurring event with the room, for tests
// that check a slot is held once, and by the event the bridge keeps for it.
func (s *Server) RoomHolds(room string) []Hold {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Hold
	for _, id := range s.order {
		e := s.events[id]
		if e.Status == StatusCancelled || !slices.Contains(e.RoomIDs, room) {
			continue
		}
		for _, in := range e.instances(time.Time{}, time.Time{}) {
			out = append(out, Hold{ID: in.ID, MasterID: e.ID, Summary: e.Summary, Start: in.Start, End: in.End, Native: e.Native})
		}
	}
	slices.SortStableFunc(out, func(a, b Hold) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}
