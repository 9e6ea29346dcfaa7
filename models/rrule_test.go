package models

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseRRule(t *testing.T) {
	sh := mustZone(t, "Asia/Shanghai")
	tests := []struct {
		in       string
		want     string // canonical String(); "" when an error is expected
		wantCode string
	}{
		{"FREQ=WEEKLY;BYDAY=MO;COUNT=8", "FREQ=WEEKLY;BYDAY=MO;COUNT=8", ""},
		{"RRULE:freq=weekly;byday=mo,we;until=20230531T160000Z", "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20230531T160000Z", ""},
		{"FREQ=WEEKLY;BYDAY=MO;UNTIL=20230601", "FREQ=WEEKLY;BYDAY=MO;UNTIL=20230601T155959Z", ""}, // a date ends that day in the zone
		{"FREQ=WEEKLY;BYDAY=MO;UNTIL=20230601T100000", "FREQ=WEEKLY;BYDAY=MO;UNTIL=20230601T020000Z", ""},
		{"FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", "FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", ""},
		{"FREQ=MONTHLY;BYMONTHDAY=15;INTERVAL=2;COUNT=3", "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=15;COUNT=3", ""},
		{"FREQ=DAILY;INTERVAL=1;COUNT=5", "FREQ=DAILY;COUNT=5", ""},
		{"FREQ=WEEKLY;BYDAY=MO", "", "rrule_unbounded"},
		{"FREQ=YEARLY;COUNT=2", "", "rrule_unsupported"},
		{"FREQ=WEEKLY;BYSETPOS=1;COUNT=2", "", "rrule_unsupported"},
		{"FREQ=WEEKLY;BYDAY=1MO;COUNT=2", "", "rrule_unsupported"},
		{"FREQ=WEEKLY;BYDAY=XX;COUNT=2", "", "rrule_syntax"},
		{"FREQ=WEEKLY;COUNT=2;UNTIL=20230601", "", "rrule_syntax"},
		{"FREQ=WEEKLY;COUNT=0", "", "rrule_syntax"},
		{"COUNT=3", "", "rrule_syntax"},
		{"", "", "rrule_syntax"},
		{"FREQ=WEEKLY;FREQ=DAILY;COUNT=1", "", "rrule_syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseRRule(tt.in, sh)
			if tt.wantCode != "" {
				ue := UserError(err)
				if ue == nil || ue.Code != tt.wantCode || !errors.Is(err, ErrInvalid) || ue.Field != "rrule" {
					t.Fatalf("ParseRRule(%q) = %v, want ErrInvalid code %s on rrule", tt.in, err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRRule(%q) = %v", tt.in, err)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("ParseRRule(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
			again, err := ParseRRule(r.String(), sh)
			if err != nil || again.String() != r.String() {
				t.Errorf("reparse of %q = %q, %v", r.String(), again.String(), err)
			}
		})
	}
}

func TestRRuleExpand(t *testing.T) {
	sh := mustZone(t, "Asia/Shanghai")
	ny := mustZone(t, "America/New_York")
	at := func(z *time.Location, s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, z)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	list := func(z *time.Location, ss ...string) []string {
		var out []string
		for _, s := range ss {
			out = append(out, at(z, s).UTC().Format(time.RFC3339))
		}
		return out
	}
	tests := []struct {
		name  string
		rule  string
		zone  *time.Location
		start string
		want  []string
	}{
		{"weekly Monday, 8 times", "FREQ=WEEKLY;BYDAY=MO;COUNT=8", sh, "2023-04-03 10:00",
			list(sh, "2023-04-03 10:00", "2023-04-10 10:00", "2023-04-17 10:00", "2023-04-24 10:00",
				"2023-05-01 10:00", "2023-05-08 10:00", "2023-05-15 10:00", "2023-05-22 10:00")},
		{"weekly Monday and Wednesday until a date", "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20230412", sh, "2023-04-03 10:00",
			list(sh, "2023-04-03 10:00", "2023-04-05 10:00", "2023-04-10 10:00", "2023-04-12 10:00")},
		{"start on Wednesday of a MO,WE rule", "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=3", sh, "2023-04-05 09:00",
			list(sh, "2023-04-05 09:00", "2023-04-10 09:00", "2023-04-12 09:00")},
		{"every other week", "FREQ=WEEKLY;INTERVAL=2;COUNT=3", sh, "2023-04-04 14:00",
			list(sh, "2023-04-04 14:00", "2023-04-18 14:00", "2023-05-02 14:00")},
		{"daily, UNTIL inclusive", "FREQ=DAILY;UNTIL=20230405T020000Z", sh, "2023-04-03 10:00",
			list(sh, "2023-04-03 10:00", "2023-04-04 10:00", "2023-04-05 10:00")},
		{"monthly by day of month skips short months", "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=3", sh, "2023-01-31 10:00",
			list(sh, "2023-01-31 10:00", "2023-03-31 10:00", "2023-05-31 10:00")},
		{"monthly on dtstart's day", "FREQ=MONTHLY;COUNT=3", sh, "2023-04-17 10:00",
			list(sh, "2023-04-17 10:00", "2023-05-17 10:00", "2023-06-17 10:00")},
		{"last Friday", "FREQ=MONTHLY;BYDAY=-1FR;COUNT=4", sh, "2023-04-28 16:00",
			list(sh, "2023-04-28 16:00", "2023-05-26 16:00", "2023-06-30 16:00", "2023-07-28 16:00")},
		{"second Tuesday", "FREQ=MONTHLY;BYDAY=2TU;COUNT=2", sh, "2023-04-11 09:30",
			list(sh, "2023-04-11 09:30", "2023-05-09 09:30")},
		{"last day of the month", "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3", sh, "2023-01-31 18:00",
			list(sh, "2023-01-31 18:00", "2023-02-28 18:00", "2023-03-31 18:00")},
		{"keeps the wall clock over DST (spring)", "FREQ=WEEKLY;BYDAY=MO;COUNT=3", ny, "2023-03-06 10:00",
			list(ny, "2023-03-06 10:00", "2023-03-13 10:00", "2023-03-20 10:00")},
		{"keeps the wall clock over DST (autumn)", "FREQ=DAILY;COUNT=3", ny, "2023-11-04 09:00",
			list(ny, "2023-11-04 09:00", "2023-11-05 09:00", "2023-11-06 09:00")},
		{"a skipped wall clock takes the offset before the gap", "FREQ=DAILY;COUNT=2", ny, "2023-03-11 02:30",
			[]string{"2023-03-11T07:30:00Z", "2023-03-12T07:30:00Z"}},
		{"a repeated wall clock is its first occurrence", "FREQ=DAILY;COUNT=2", ny, "2023-11-04 01:30",
			[]string{"2023-11-04T05:30:00Z", "2023-11-05T05:30:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRRule(tt.rule, tt.zone)
			if err != nil {
				t.Fatalf("ParseRRule(%q) = %v", tt.rule, err)
			}
			start := at(tt.zone, tt.start)
			if !r.Matches(start, tt.zone) {
				t.Errorf("Matches(%s) = false, want true", tt.start)
			}
			got, trunc := r.Expand(start, tt.zone, 0)
			var gs []string
			for _, g := range got {
				gs = append(gs, g.UTC().Format(time.RFC3339))
			}
			if diff := cmp.Diff(tt.want, gs); diff != "" || trunc {
				t.Errorf("Expand(%s) truncated=%v (-want +got):\n%s", tt.rule, trunc, diff)
			}
		})
	}
}

func TestRRuleMatchesAndLimit(t *testing.T) {
	sh := mustZone(t, "Asia/Shanghai")
	r, _ := ParseRRule("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=500", sh)
	tue := time.Date(2023, 4, 4, 10, 0, 0, 0, sh)
	if r.Matches(tue, sh) {
		t.Errorf("Matches(Tuesday) = true for BYDAY=MO,WE")
	}
	got, trunc := r.Expand(time.Date(2023, 4, 3, 10, 0, 0, 0, sh), sh, 10)
	if len(got) != 10 || !trunc {
		t.Errorf("Expand(limit 10) = %d starts, truncated %v; want 10, true", len(got), trunc)
	}
}

func TestMoveStart(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	sh := time.FixedZone("CST", 8*3600)
	tests := []struct {
		name  string
		start time.Time
		days  int
		clock time.Time
		zone  *time.Location
		want  time.Time
	}{
		{"a week earlier, same time", time.Date(2023, 4, 17, 10, 0, 0, 0, sh), -7, time.Date(2023, 4, 10, 10, 0, 0, 0, sh), sh, time.Date(2023, 4, 10, 10, 0, 0, 0, sh)},
		{"same day, 14:30", time.Date(2023, 4, 17, 10, 0, 0, 0, sh), 0, time.Date(2023, 1, 1, 14, 30, 0, 0, sh), sh, time.Date(2023, 4, 17, 14, 30, 0, 0, sh)},
		{"across a month end", time.Date(2023, 4, 28, 10, 0, 0, 0, sh), 4, time.Date(2023, 5, 2, 9, 0, 0, 0, sh), sh, time.Date(2023, 5, 2, 9, 0, 0, 0, sh)},
		{"the wall clock stays across daylight saving", time.Date(2023, 3, 6, 10, 0, 0, 0, ny), 7, time.Date(2023, 3, 6, 10, 0, 0, 0, ny), ny, time.Date(2023, 3, 13, 10, 0, 0, 0, ny)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MoveStart(tt.start, tt.days, tt.clock, tt.zone); !got.Equal(tt.want) {
				t.Errorf("MoveStart(%s, %d, %s) = %s, want %s", tt.start, tt.days, tt.clock.Format("15:04"), got, tt.want)
			}
			if tt.days != 0 {
				if got := CalendarDays(tt.start, tt.want, tt.zone); got != tt.days {
					t.Errorf("CalendarDays(%s, %s) = %d, want %d", tt.start, tt.want, got, tt.days)
				}
			}
		})
	}
}

func TestRRuleMoved(t *testing.T) {
	sh := time.FixedZone("CST", 8*3600)
	tests := []struct {
		name, rule string
		start      time.Time
		days       int
		want       string
		follows    bool // the moved rule gives the moved occurrences
	}{
		{"weekly two days later", "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4", time.Date(2023, 4, 17, 10, 0, 0, 0, sh), 2, "FREQ=WEEKLY;BYDAY=WE,FR;COUNT=4", true},
		{"weekly a day earlier over the week start", "FREQ=WEEKLY;BYDAY=MO;COUNT=3", time.Date(2023, 4, 17, 10, 0, 0, 0, sh), -1, "FREQ=WEEKLY;BYDAY=SU;COUNT=3", true},
		{"monthly by date", "FREQ=MONTHLY;BYMONTHDAY=10;COUNT=3", time.Date(2023, 4, 10, 10, 0, 0, 0, sh), 3, "FREQ=MONTHLY;BYMONTHDAY=13;COUNT=3", true},
		{"the last Friday a week later", "FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", time.Date(2023, 4, 28, 10, 0, 0, 0, sh), 7, "FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRRule(tt.rule, sh)
			if err != nil {
				t.Fatal(err)
			}
			m := r.Moved(tt.days)
			if got := m.String(); got != tt.want {
				t.Errorf("Moved(%s, %d) = %s, want %s", tt.rule, tt.days, got, tt.want)
			}
			old, _ := r.Expand(tt.start, sh, 0)
			moved, _ := m.Expand(tt.start.AddDate(0, 0, tt.days), sh, 0)
			same := len(old) == len(moved)
			for i := 0; same && i < len(old); i++ {
				same = old[i].AddDate(0, 0, tt.days).Equal(moved[i])
			}
			if same != tt.follows {
				t.Errorf("Moved(%s, %d) expands to %v from %v; follows = %v, want %v", tt.rule, tt.days, moved, old, same, tt.follows)
			}
		})
	}
}

func TestRoutingSplitAt(t *testing.T) {
	sh := time.FixedZone("CST", 8*3600)
	cut := time.Date(2023, 4, 17, 0, 0, 0, 0, sh)
	r := NewRouting(sh, cut, cut.Add(-time.Hour))
	later := cut.AddDate(0, 0, 7)
	tests := []struct {
		name string
		at   *time.Time
		want time.Time
	}{
		{"not recorded", nil, cut},
		{"the same", &cut, cut},
		{"a week later", &later, later},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.SplitAt(tt.at)
			if !got.Cutover().Equal(tt.want) || !got.Freeze[BackendOA].Equal(cut.Add(-time.Hour)) {
				t.Errorf("SplitAt(%v) cutover %s freeze %s, want %s and the same freeze", tt.at, got.Cutover(), got.Freeze[BackendOA], tt.want)
			}
		})
	}
}
