package dingtalk

import (
	"fmt"
	"strings"
	"time"

	"roombridge/models"
)

// Recurrence is DingTalk's description of a recurring event: how often (Pattern) and for
// how long (Range). It is DingTalk's own JSON, shaped like Microsoft Graph's
// patternedRecurrence, not an RRULE; RecurrenceOf and Recurrence.RRule map between the two.
type Recurrence struct {
	Pattern RecurrencePattern `json:"pattern"`
	Range   RecurrenceRange   `json:"range"`
}

// RecurrencePattern is the "how often" half of a Recurrence.
type RecurrencePattern struct {
	// Type is daily, weekly, absoluteMonthly, relativeMonthly or absoluteYearly.
	Type     string `json:"type"`
	Interval int    `json:"interval,omitempty"` // 1..365
	// DaysOfWeek is a comma-separated list of English day names ("monday,wednesday").
	DaysOfWeek string `json:"daysOfWeek,omitempty"`
	DayOfMonth int    `json:"dayOfMonth,omitempty"`
	// Index is first, second, third, fourth or last (relativeMonthly).
	Index          string `json:"index,omitempty"`
	FirstDayOfWeek string `json:"firstDayOfWeek,omitempty"`
}

// RecurrenceRange is the "for how long" half of a Recurrence.
type RecurrenceRange struct {
	// Type is noEnd, endDate or numbered.
	Type                string `json:"type"`
	EndDate             string `json:"endDate,omitempty"` // ISO-8601 date-time
	NumberOfOccurrences int    `json:"numberOfOccurrences,omitempty"`
}

// Recurrence pattern and range types.
const (
	PatternDaily           = "daily"
	PatternWeekly          = "weekly"
	PatternAbsoluteMonthly = "absoluteMonthly"
	PatternRelativeMonthly = "relativeMonthly"
	PatternAbsoluteYearly  = "absoluteYearly"
	RangeNoEnd             = "noEnd"
	RangeEndDate           = "endDate"
	RangeNumbered          = "numbered"
	// MaxNumberedOccurrences is the largest numberOfOccurrences DingTalk takes; a longer
	// count is sent as an end date.
	MaxNumberedOccurrences = 99
)

var weekIndex = []string{"", "first", "second", "third", "fourth"}

func dayName(d time.Weekday) string { return strings.ToLower(d.String()) }

func parseDayName(s string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		if strings.EqualFold(strings.TrimSpace(s), d.String()) {
			return d, true
		}
	}
	return 0, false
}

// RecurrenceOf maps rule, whose first occurrence starts at start, to DingTalk's
// recurrence. An end by UNTIL (or a COUNT above 99) is sent as the start of the last
// occurrence, so DingTalk reads the same last occurrence whether it takes endDate as an
// instant or as a day. It returns a user error of kind ErrInvalid (code
// rrule_not_in_dingtalk, with the part) for a rule DingTalk cannot hold: a daily rule
// limited to weekdays, several days of the month, or several ordinal weekdays.
func RecurrenceOf(rule models.RRule, start time.Time, zone *time.Location) (Recurrence, error) {
	unfit := func(part string) (Recurrence, error) {
		return Recurrence{}, models.E(models.ErrInvalid, "rrule_not_in_dingtalk", "rrule", models.ArgPart, part)
	}
	local := start.In(zone)
	var rc Recurrence
	rc.Pattern.Interval = max(rule.Interval, 1)
	switch rule.Freq {
	case models.Daily:
		if len(rule.ByDay) > 0 {
			return unfit("BYDAY")
		}
		rc.Pattern.Type = PatternDaily
	case models.Weekly:
		rc.Pattern.Type = PatternWeekly
		var days []string
		for _, d := range rule.ByDay {
			days = append(days, dayName(d.Day))
		}
		if len(days) == 0 {
			days = []string{dayName(local.Weekday())}
		}
		rc.Pattern.DaysOfWeek = strings.Join(days, ",")
		rc.Pattern.FirstDayOfWeek = dayName(rule.WeekStart)
	case models.Monthly:
		switch {
		case len(rule.ByDay) > 0 && len(rule.ByMonthDay) > 0:
			return unfit("BYDAY+BYMONTHDAY")
		case len(rule.ByDay) == 1 && (rule.ByDay[0].N >= 1 && rule.ByDay[0].N <= 4 || rule.ByDay[0].N == -1):
			rc.Pattern.Type = PatternRelativeMonthly
			rc.Pattern.DaysOfWeek = dayName(rule.ByDay[0].Day)
			if n := rule.ByDay[0].N; n > 0 {
				rc.Pattern.Index = weekIndex[n]
			} else {
				rc.Pattern.Index = "last"
			}
		case len(rule.ByDay) > 0:
			return unfit("BYDAY")
		case len(rule.ByMonthDay) == 1 && rule.ByMonthDay[0] > 0:
			rc.Pattern.Type = PatternAbsoluteMonthly
			rc.Pattern.DayOfMonth = rule.ByMonthDay[0]
		case len(rule.ByMonthDay) > 0:
			return unfit("BYMONTHDAY")
		default:
			rc.Pattern.Type = PatternAbsoluteMonthly
			rc.Pattern.DayOfMonth = local.Day()
		}
	default:
		return unfit("FREQ=" + string(rule.Freq))
	}
	if rule.Count > 0 && rule.Count <= MaxNumberedOccurrences {
		rc.Range = RecurrenceRange{Type: RangeNumbered, NumberOfOccurrences: rule.Count}
		return rc, nil
	}
	starts, _ := rule.Expand(start, zone, models.MaxOccurrences)
	if len(starts) == 0 {
		return unfit("UNTIL")
	}
	rc.Range = RecurrenceRange{Type: RangeEndDate, EndDate: starts[len(starts)-1].In(zone).Format(time.RFC3339)}
	return rc, nil
}

// RRule maps the recurrence back to an RRULE. An end date becomes UNTIL at that instant
// (a bare date: the end of that day in zone). It returns an error wrapping
// models.ErrInvalid for a recurrence roombridge does not book (yearly, or no end).
func (rc Recurrence) RRule(zone *time.Location) (models.RRule, error) {
	r := models.RRule{Interval: max(rc.Pattern.Interval, 1), WeekStart: time.Monday}
	days := func() ([]time.Weekday, error) {
		var out []time.Weekday
		for s := range strings.SplitSeq(rc.Pattern.DaysOfWeek, ",") {
			d, ok := parseDayName(s)
			if !ok {
				return nil, fmt.Errorf("recurrence daysOfWeek %q: %w", rc.Pattern.DaysOfWeek, models.ErrInvalid)
			}
			out = append(out, d)
		}
		return out, nil
	}
	switch rc.Pattern.Type {
	case PatternDaily:
		r.Freq = models.Daily
	case PatternWeekly:
		r.Freq = models.Weekly
		ds, err := days()
		if err != nil {
			return r, err
		}
		for _, d := range ds {
			r.ByDay = append(r.ByDay, models.WeekdayNum{Day: d})
		}
		if d, ok := parseDayName(rc.Pattern.FirstDayOfWeek); ok {
			r.WeekStart = d
		}
	case PatternAbsoluteMonthly:
		r.Freq = models.Monthly
		if rc.Pattern.DayOfMonth < 1 || rc.Pattern.DayOfMonth > 31 {
			return r, fmt.Errorf("recurrence dayOfMonth %d: %w", rc.Pattern.DayOfMonth, models.ErrInvalid)
		}
		r.ByMonthDay = []int{rc.Pattern.DayOfMonth}
	case PatternRelativeMonthly:
		r.Freq = models.Monthly
		ds, err := days()
		if err != nil || len(ds) != 1 {
			return r, fmt.Errorf("recurrence daysOfWeek %q: %w", rc.Pattern.DaysOfWeek, models.ErrInvalid)
		}
		n := 0
		for i, name := range weekIndex {
			if i > 0 && name == rc.Pattern.Index {
				n = i
			}
		}
		switch {
		case rc.Pattern.Index == "last":
			n = -1
		case rc.Pattern.Index == "":
			n = 1
		case n == 0:
			return r, fmt.Errorf("recurrence index %q: %w", rc.Pattern.Index, models.ErrInvalid)
		}
		r.ByDay = []models.WeekdayNum{{N: n, Day: ds[0]}}
	default:
		return r, fmt.Errorf("recurrence type %q: %w", rc.Pattern.Type, models.ErrInvalid)
	}
	switch rc.Range.Type {
	case RangeNumbered:
		if rc.Range.NumberOfOccurrences < 1 {
			return r, fmt.Errorf("recurrence numberOfOccurrences %d: %w", rc.Range.NumberOfOccurrences, models.ErrInvalid)
		}
		r.Count = rc.Range.NumberOfOccurrences
	case RangeEndDate:
		t, err := parseEndDate(rc.Range.EndDate, zone)
		if err != nil {
			return r, err
		}
		r.Until = t
	default:
		return r, fmt.Errorf("recurrence range %q: %w", rc.Range.Type, models.ErrInvalid)
	}
	return r, nil
}

func parseEndDate(s string, zone *time.Location) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, zone); err == nil {
		return t.AddDate(0, 0, 1).Add(-time.Second).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("recurrence endDate %q: %w", s, models.ErrInvalid)
}
