package dingtalk

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roombridge/models"
)

func TestRecurrenceMapping(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, sh)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name  string
		rrule string
		start time.Time
		want  Recurrence
		back  string // the RRULE the recurrence maps back to
	}{
		{"weekly Monday, count", "FREQ=WEEKLY;BYDAY=MO;COUNT=6", at("2023-04-17 10:00"),
			Recurrence{RecurrencePattern{Type: "weekly", Interval: 1, DaysOfWeek: "monday", FirstDayOfWeek: "monday"}, RecurrenceRange{Type: "numbered", NumberOfOccurrences: 6}},
			"FREQ=WEEKLY;BYDAY=MO;COUNT=6"},
		{"weekly Monday and Wednesday until a date", "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20230531T160000Z", at("2023-04-17 10:00"),
			Recurrence{RecurrencePattern{Type: "weekly", Interval: 1, DaysOfWeek: "monday,wednesday", FirstDayOfWeek: "monday"}, RecurrenceRange{Type: "endDate", EndDate: "2023-05-31T10:00:00+08:00"}},
			"FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20230531T020000Z"},
		{"every other week, weekday from the start", "FREQ=WEEKLY;INTERVAL=2;COUNT=4", at("2023-04-18 09:00"),
			Recurrence{RecurrencePattern{Type: "weekly", Interval: 2, DaysOfWeek: "tuesday", FirstDayOfWeek: "monday"}, RecurrenceRange{Type: "numbered", NumberOfOccurrences: 4}},
			"FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;COUNT=4"},
		{"daily", "FREQ=DAILY;COUNT=5", at("2023-04-17 09:00"),
			Recurrence{RecurrencePattern{Type: "daily", Interval: 1}, RecurrenceRange{Type: "numbered", NumberOfOccurrences: 5}},
			"FREQ=DAILY;COUNT=5"},
		{"monthly by day", "FREQ=MONTHLY;BYMONTHDAY=17;COUNT=3", at("2023-04-17 10:00"),
			Recurrence{RecurrencePattern{Type: "absoluteMonthly", Interval: 1, DayOfMonth: 17}, RecurrenceRange{Type: "numbered", NumberOfOccurrences: 3}},
			"FREQ=MONTHLY;BYMONTHDAY=17;COUNT=3"},
		{"monthly on the start's day", "FREQ=MONTHLY;UNTIL=20230901", at("2023-04-20 10:00"),
			Recurrence{RecurrencePattern{Type: "absoluteMonthly", Interval: 1, DayOfMonth: 20}, RecurrenceRange{Type: "endDate", EndDate: "2023-08-20T10:00:00+08:00"}},
			"FREQ=MONTHLY;BYMONTHDAY=20;UNTIL=20230820T020000Z"},
		{"last Friday", "FREQ=MONTHLY;BYDAY=-1FR;COUNT=4", at("2023-04-28 16:00"),
			Recurrence{RecurrencePattern{Type: "relativeMonthly", Interval: 1, DaysOfWeek: "friday", Index: "last"}, RecurrenceRange{Type: "numbered", NumberOfOccurrences: 4}},
			"FREQ=MONTHLY;BYDAY=-1FR;COUNT=4"},
		{"second Tuesday every two months", "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TU;COUNT=2", at("2023-04-11 09:30"),
			Recurrence{RecurrencePattern{Type: "relativeMonthly", Interval: 2, DaysOfWeek: "tuesday", Index: "second"}, RecurrenceRange{Type: "numbered", NumberOfOccurrences: 2}},
			"FREQ=MONTHLY;INTERVAL=2;BYDAY=2TU;COUNT=2"},
		{"a count above DingTalk's 99 becomes an end date", "FREQ=DAILY;COUNT=120", at("2023-04-17 09:00"),
			Recurrence{RecurrencePattern{Type: "daily", Interval: 1}, RecurrenceRange{Type: "endDate", EndDate: "2023-08-14T09:00:00+08:00"}},
			"FREQ=DAILY;UNTIL=20230814T010000Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule, err := models.ParseRRule(tt.rrule, sh)
			if err != nil {
				t.Fatal(err)
			}
			got, err := RecurrenceOf(rule, tt.start, sh)
			if err != nil {
				t.Fatalf("RecurrenceOf(%s) = %v", tt.rrule, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("RecurrenceOf(%s) (-want +got):\n%s", tt.rrule, diff)
			}
			back, err := tt.want.RRule(sh)
			if err != nil {
				t.Fatalf("RRule(%+v) = %v", tt.want, err)
			}
			if back.String() != tt.back {
				t.Errorf("RRule(%+v) = %s, want %s", tt.want, back, tt.back)
			}
			// Both rules give the same occurrences.
			a, _ := rule.Expand(tt.start, sh, 0)
			b, _ := back.Expand(tt.start, sh, 0)
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("occurrences of %s and of its round trip %s differ (-orig +back):\n%s", tt.rrule, back, diff)
			}
		})
	}
}

func TestRecurrenceMappingRefuses(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	start := time.Date(2023, 4, 17, 10, 0, 0, 0, sh)
	for _, rr := range []string{"FREQ=DAILY;BYDAY=MO,TU;COUNT=3", "FREQ=MONTHLY;BYMONTHDAY=1,15;COUNT=3", "FREQ=MONTHLY;BYDAY=MO,TU;COUNT=3", "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3"} {
		rule, err := models.ParseRRule(rr, sh)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := RecurrenceOf(rule, start, sh); models.UserError(err) == nil || models.UserError(err).Code != "rrule_not_in_dingtalk" {
			t.Errorf("RecurrenceOf(%s) = %v, want rrule_not_in_dingtalk", rr, err)
		}
	}
	for _, rc := range []Recurrence{
		{RecurrencePattern{Type: "absoluteYearly", Interval: 1}, RecurrenceRange{Type: "numbered", NumberOfOccurrences: 2}},
		{RecurrencePattern{Type: "weekly", Interval: 1, DaysOfWeek: "monday"}, RecurrenceRange{Type: "noEnd"}},
		{RecurrencePattern{Type: "weekly", Interval: 1, DaysOfWeek: "funday"}, RecurrenceRange{Type: "numbered", NumberOfOccurrences: 2}},
	} {
		if _, err := rc.RRule(sh); !errors.Is(err, models.ErrInvalid) {
			t.Errorf("RRule(%+v) = %v, want ErrInvalid", rc, err)
		}
	}
}
