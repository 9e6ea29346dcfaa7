package models

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Freq is how often a recurrence rule repeats.
type Freq string

// The frequencies roombridge books. RFC 5545 has more (YEARLY, HOURLY, ...); no room
// booking needs them and neither backend takes them all.
const (
	Daily   Freq = "DAILY"
	Weekly  Freq = "WEEKLY"
	Monthly Freq = "MONTHLY"
)

// WeekdayNum is one BYDAY entry: a weekday, with N = 0 for every such weekday of the
// period, N > 0 for the Nth and N < 0 for the Nth from the end of the month (-1FR: the
// last Friday).
type WeekdayNum struct {
	N   int
	Day time.Weekday
}

// RRule is the subset of an RFC 5545 recurrence rule that roombridge books: FREQ
// (DAILY, WEEKLY, MONTHLY), INTERVAL, BYDAY (weekdays, with an ordinal for MONTHLY),
// BYMONTHDAY, COUNT, UNTIL and WKST. A rule always ends: COUNT or UNTIL is required.
type RRule struct {
	Freq       Freq
	Interval   int // at least 1
	ByDay      []WeekdayNum
	ByMonthDay []int // 1..31, or -1..-31 counted from the month's end
	Count      int
	Until      time.Time // UTC; zero when the rule ends by Count
	WeekStart  time.Weekday
}

// Limits on a series.
const (
	// MaxOccurrences caps the occurrences one series may have.
	MaxOccurrences = 200
	// DefaultBookingWindow is how far ahead the last occurrence of a series may start.
	DefaultBookingWindow = 180 * 24 * time.Hour
)

var weekdayCodes = map[string]time.Weekday{
	"SU": time.Sunday, "MO": time.Monday, "TU": time.Tuesday, "WE": time.Wednesday,
	"TH": time.Thursday, "FR": time.Friday, "SA": time.Saturday,
}

// WeekdayCode is the RFC 5545 two-letter code of d ("MO").
func WeekdayCode(d time.Weekday) string { return strings.ToUpper(d.String()[:2]) }

func rruleErr(code string, part ...string) *Error {
	if len(part) == 0 {
		return E(ErrInvalid, code, "rrule")
	}
	return E(ErrInvalid, code, "rrule", ArgPart, part[0])
}

// ParseRRule reads an RFC 5545 RRULE value (an "RRULE:" prefix is allowed). A floating or
// date-only UNTIL is read as a wall clock in zone (a date means the end of that day).
// Errors are ErrInvalid user errors on field "rrule": rrule_syntax (arg: the bad part),
// rrule_unsupported (arg: the part roombridge does not book), rrule_unbounded (neither
// COUNT nor UNTIL).
func ParseRRule(s string, zone *time.Location) (RRule, error) {
	s = strings.TrimSpace(s)
	if len(s) >= 6 && strings.EqualFold(s[:6], "RRULE:") {
		s = s[6:]
	}
	r := RRule{Interval: 1, WeekStart: time.Monday}
	if s == "" {
		return r, rruleErr("rrule_syntax", "")
	}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ";") {
		name, value, ok := strings.Cut(part, "=")
		name = strings.ToUpper(strings.TrimSpace(name))
		value = strings.ToUpper(strings.TrimSpace(value))
		if !ok || name == "" || value == "" || seen[name] {
			return r, rruleErr("rrule_syntax", part)
		}
		seen[name] = true
		switch name {
		case "FREQ":
			switch Freq(value) {
			case Daily, Weekly, Monthly:
				r.Freq = Freq(value)
			case "YEARLY", "HOURLY", "MINUTELY", "SECONDLY":
				return r, rruleErr("rrule_unsupported", part)
			default:
				return r, rruleErr("rrule_syntax", part)
			}
		case "INTERVAL":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 || n > 365 {
				return r, rruleErr("rrule_syntax", part)
			}
			r.Interval = n
		case "COUNT":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 {
				return r, rruleErr("rrule_syntax", part)
			}
			r.Count = n
		case "UNTIL":
			t, err := parseUntil(value, zone)
			if err != nil {
				return r, rruleErr("rrule_syntax", part)
			}
			r.Until = t
		case "WKST":
			d, ok := weekdayCodes[value]
			if !ok {
				return r, rruleErr("rrule_syntax", part)
			}
			r.WeekStart = d
		case "BYDAY":
			for v := range strings.SplitSeq(value, ",") {
				wd, err := parseWeekdayNum(v)
				if err != nil {
					return r, rruleErr("rrule_syntax", part)
				}
				if !slices.Contains(r.ByDay, wd) {
					r.ByDay = append(r.ByDay, wd)
				}
			}
		case "BYMONTHDAY":
			for v := range strings.SplitSeq(value, ",") {
				n, err := strconv.Atoi(v)
				if err != nil || n == 0 || n < -31 || n > 31 {
					return r, rruleErr("rrule_syntax", part)
				}
				if !slices.Contains(r.ByMonthDay, n) {
					r.ByMonthDay = append(r.ByMonthDay, n)
				}
			}
		default:
			return r, rruleErr("rrule_unsupported", part)
		}
	}
	switch {
	case r.Freq == "":
		return r, rruleErr("rrule_syntax", "FREQ")
	case r.Count > 0 && !r.Until.IsZero():
		return r, rruleErr("rrule_syntax", "COUNT+UNTIL")
	case r.Count == 0 && r.Until.IsZero():
		return r, rruleErr("rrule_unbounded")
	}
	for _, d := range r.ByDay {
		if d.N != 0 && r.Freq != Monthly {
			return r, rruleErr("rrule_unsupported", "BYDAY="+d.String())
		}
	}
	if r.Freq == Daily && len(r.ByMonthDay) > 0 {
		return r, rruleErr("rrule_unsupported", "BYMONTHDAY")
	}
	if r.Freq == Weekly && len(r.ByMonthDay) > 0 {
		return r, rruleErr("rrule_unsupported", "BYMONTHDAY")
	}
	return r, nil
}

func parseWeekdayNum(v string) (WeekdayNum, error) {
	v = strings.TrimSpace(v)
	if len(v) < 2 {
		return WeekdayNum{}, fmt.Errorf("weekday %q", v)
	}
	d, ok := weekdayCodes[v[len(v)-2:]]
	if !ok {
		return WeekdayNum{}, fmt.Errorf("weekday %q", v)
	}
	w := WeekdayNum{Day: d}
	if n := v[:len(v)-2]; n != "" {
		i, err := strconv.Atoi(n)
		if err != nil || i == 0 || i < -5 || i > 5 {
			return WeekdayNum{}, fmt.Errorf("weekday %q", v)
		}
		w.N = i
	}
	return w, nil
}

func parseUntil(v string, zone *time.Location) (time.Time, error) {
	if zone == nil {
		zone = time.UTC
	}
	if t, err := time.Parse("20060102T150405Z", v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation("20060102T150405", v, zone); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation("20060102", v, zone); err == nil {
		return t.AddDate(0, 0, 1).Add(-time.Second).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("until %q", v)
}

// String is the weekday as written in BYDAY ("MO", "-1FR", "2TU").
func (w WeekdayNum) String() string {
	if w.N == 0 {
		return WeekdayCode(w.Day)
	}
	return strconv.Itoa(w.N) + WeekdayCode(w.Day)
}

// String writes the rule in a canonical order, UNTIL in UTC (as RFC 5545 requires next
// to a DTSTART with a time zone).
func (r RRule) String() string {
	parts := []string{"FREQ=" + string(r.Freq)}
	if r.Interval > 1 {
		parts = append(parts, "INTERVAL="+strconv.Itoa(r.Interval))
	}
	if len(r.ByDay) > 0 {
		var ds []string
		for _, d := range r.ByDay {
			ds = append(ds, d.String())
		}
		parts = append(parts, "BYDAY="+strings.Join(ds, ","))
	}
	if len(r.ByMonthDay) > 0 {
		var ds []string
		for _, d := range r.ByMonthDay {
			ds = append(ds, strconv.Itoa(d))
		}
		parts = append(parts, "BYMONTHDAY="+strings.Join(ds, ","))
	}
	if r.Count > 0 {
		parts = append(parts, "COUNT="+strconv.Itoa(r.Count))
	}
	if !r.Until.IsZero() {
		parts = append(parts, "UNTIL="+r.Until.UTC().Format("20060102T150405Z"))
	}
	if r.WeekStart != time.Monday && r.Freq == Weekly && r.Interval > 1 {
		parts = append(parts, "WKST="+WeekdayCode(r.WeekStart))
	}
	return strings.Join(parts, ";")
}

// Matches reports whether start is an occurrence of r started at start, that is, whether
// start's own date fits the rule (RFC 5545 counts DTSTART as the first occurrence, and
// roombridge requires it to fit so that both backends see the same series).
func (r RRule) Matches(start time.Time, zone *time.Location) bool {
	l := start.In(zone)
	d := civil(l)
	return len(r.periodDays(d, d, d)) == 1
}

// Expand returns the starts of the occurrences of r whose first one is dtstart, as wall
// clock times in zone: an occurrence keeps dtstart's local time of day across daylight
// saving changes. A wall clock that does not exist (clocks went forward) is read with the
// offset before the gap and one that occurs twice as its first occurrence (RFC 5545
// §3.3.5). At most limit starts come back (MaxOccurrences when limit <= 0); more reports
// truncated.
func (r RRule) Expand(dtstart time.Time, zone *time.Location, limit int) (starts []time.Time, truncated bool) {
	if limit <= 0 {
		limit = MaxOccurrences
	}
	l := dtstart.In(zone)
	first := civil(l)
	hh, mm, ss := l.Clock()
	interval := max(r.Interval, 1)
	for period := 0; period < 20000; period++ {
		var days []civilDate
		switch r.Freq {
		case Daily:
			d := first.addDays(period * interval)
			days = r.periodDays(d, d, first)
		case Weekly:
			ws := first.addDays(-((int(first.weekday()) - int(r.WeekStart) + 7) % 7)).addDays(7 * period * interval)
			days = r.periodDays(ws, ws.addDays(6), first)
		case Monthly:
			y, m := first.y, time.Month(int(first.m)+period*interval)
			ms := civil(time.Date(y, m, 1, 0, 0, 0, 0, time.UTC))
			days = r.periodDays(ms, ms.addDays(ms.monthLength()-1), first)
		default:
			return nil, false
		}
		for _, d := range days {
			if d.before(first) {
				continue
			}
			t := wallClock(d, hh, mm, ss, zone)
			if !r.Until.IsZero() && t.After(r.Until) {
				return starts, false
			}
			if r.Count > 0 && len(starts) == r.Count {
				return starts, false
			}
			if len(starts) == limit {
				return starts, true
			}
			starts = append(starts, t)
		}
	}
	return starts, false
}

// periodDays lists the days of [from, to] that fit r's BYDAY and BYMONTHDAY, in order.
// Without either, a weekly rule takes first's weekday and a monthly one its day of the
// month (months without that day have no occurrence); daily rules take every day.
func (r RRule) periodDays(from, to, first civilDate) []civilDate {
	var out []civilDate
	for d := from; !to.before(d); d = d.addDays(1) {
		ok := true
		if len(r.ByDay) > 0 {
			ok = r.dayFits(d)
		} else if r.Freq == Weekly {
			ok = d.weekday() == first.weekday()
		}
		switch {
		case len(r.ByMonthDay) > 0:
			ok = ok && slices.ContainsFunc(r.ByMonthDay, func(n int) bool {
				if n > 0 {
					return d.d == n
				}
				return d.d == d.monthLength()+1+n
			})
		case r.Freq == Monthly && len(r.ByDay) == 0:
			ok = d.d == first.d
		}
		if ok {
			out = append(out, d)
		}
	}
	return out
}

// dayFits reports whether d fits one of r's BYDAY entries.
func (r RRule) dayFits(d civilDate) bool {
	for _, w := range r.ByDay {
		if d.weekday() != w.Day {
			continue
		}
		switch {
		case w.N == 0:
			return true
		case w.N > 0 && (d.d-1)/7+1 == w.N:
			return true
		case w.N < 0 && (d.monthLength()-d.d)/7+1 == -w.N:
			return true
		}
	}
	return false
}

// civilDate is a calendar date without a zone.
type civilDate struct{ y, m, d int }

func civil(t time.Time) civilDate {
	y, m, d := t.Date()
	return civilDate{y, int(m), d}
}

func (c civilDate) time() time.Time {
	return time.Date(c.y, time.Month(c.m), c.d, 0, 0, 0, 0, time.UTC)
}
func (c civilDate) addDays(n int) civilDate {
	return civil(c.time().AddDate(0, 0, n))
}
func (c civilDate) weekday() time.Weekday { return c.time().Weekday() }
func (c civilDate) before(o civilDate) bool {
	return c.time().Before(o.time())
}
func (c civilDate) monthLength() int {
	return time.Date(c.y, time.Month(c.m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// wallClock is the instant at which zone's clocks read d hh:mm:ss: the earlier one when
// the clocks read it twice, and the one given by the offset before the gap when they
// skip it.
func wallClock(d civilDate, hh, mm, ss int, zone *time.Location) time.Time {
	naive := time.Date(d.y, time.Month(d.m), d.d, hh, mm, ss, 0, time.UTC)
	var best time.Time
	for _, probe := range []time.Time{naive.Add(-26 * time.Hour), naive.Add(26 * time.Hour)} {
		_, off := probe.In(zone).Zone()
		t := naive.Add(-time.Duration(off) * time.Second)
		if lt := t.In(zone); lt.Year() == d.y && int(lt.Month()) == d.m && lt.Day() == d.d && lt.Hour() == hh && lt.Minute() == mm && lt.Second() == ss {
			if best.IsZero() || t.Before(best) {
				best = t
			}
		}
	}
	if !best.IsZero() {
		return best
	}
	_, off := naive.Add(-26 * time.Hour).In(zone).Zone()
	return naive.Add(-time.Duration(off) * time.Second)
}

// MoveStart is start moved by days calendar days in zone and set to the wall clock of
// clock (hours, minutes and seconds of clock in zone): how an occurrence of a series
// moves when the series is moved.
func MoveStart(start time.Time, days int, clock time.Time, zone *time.Location) time.Time {
	l, c := start.In(zone), clock.In(zone)
	return wallClock(civil(l).addDays(days), c.Hour(), c.Minute(), c.Second(), zone)
}

// CalendarDays is the number of calendar days in zone from a's date to b's date.
func CalendarDays(a, b time.Time, zone *time.Location) int {
	da, db := civil(a.In(zone)).time(), civil(b.In(zone)).time()
	return int(db.Sub(da).Round(24*time.Hour) / (24 * time.Hour))
}

// Moved is r for a series whose occurrences all move by days calendar days: weekdays
// and days of the month move along. UNTIL is left as it is (the caller moves it with
// the last occurrence). Moves a rule cannot follow (the last Friday one day later, a
// day of the month beyond the 28th) come back changed anyway; compare the expansions.
func (r RRule) Moved(days int) RRule {
	out := r
	out.ByDay = nil
	for _, d := range r.ByDay {
		d.Day = time.Weekday(((int(d.Day)+days)%7 + 7) % 7)
		out.ByDay = append(out.ByDay, d)
	}
	out.ByMonthDay = nil
	for _, d := range r.ByMonthDay {
		out.ByMonthDay = append(out.ByMonthDay, d+days)
	}
	return out
}
