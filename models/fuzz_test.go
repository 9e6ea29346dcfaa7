package models_test

import (
	"testing"
	"time"

	"roombridge/models"
)

// The catalog loader never panics, and a catalog it accepts is valid, with unique rooms.
func FuzzParseCatalog(f *testing.F) {
	f.Add([]byte("offices:\n  - id: bj\n    name: 北京\n    rooms:\n      - id: r1\n        name: 一号\n        oa_room_id: \"-2295828016161864200\"\n        dingtalk_room_id: dt-1\nusers:\n  - id: zhangsan\n    name: 张三\n"))
	f.Add([]byte("offices: []\n"))
	f.Add([]byte("offices:\n  - id: a\n    rooms:\n      - id: x\n      - id: x\n"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := models.ParseCatalog(b)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Errorf("ParseCatalog accepted a catalog that Validate refuses: %v", err)
		}
		seen := map[string]bool{}
		for _, r := range c.Rooms() {
			if seen[r.ID] {
				t.Errorf("ParseCatalog accepted room %q twice", r.ID)
			}
			seen[r.ID] = true
		}
	})
}

// The RRULE parser never panics; a rule it accepts writes itself back to a rule that
// parses to the same text, and expands to at most the limit of strictly increasing starts.
func FuzzParseRRule(f *testing.F) {
	for _, s := range []string{
		"FREQ=WEEKLY;BYDAY=MO;UNTIL=20230522T020000Z",
		"FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=10;WKST=SU",
		"FREQ=MONTHLY;BYDAY=-1FR;COUNT=6",
		"FREQ=MONTHLY;BYMONTHDAY=31;UNTIL=20231231",
		"RRULE:FREQ=DAILY;COUNT=3",
		"FREQ=YEARLY;COUNT=2",
		"FREQ=WEEKLY",
		"FREQ=WEEKLY;BYDAY=99XX;COUNT=-1",
		";;=",
	} {
		f.Add(s)
	}
	zone, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	start := time.Date(2024, 3, 4, 2, 30, 0, 0, zone)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := models.ParseRRule(s, zone)
		if err != nil {
			return
		}
		text := r.String()
		again, err := models.ParseRRule(text, zone)
		if err != nil {
			t.Fatalf("ParseRRule(%q) accepted, but its String %q is refused: %v", s, text, err)
		}
		if again.String() != text {
			t.Fatalf("ParseRRule(%q).String() = %q, which reads back as %q", s, text, again.String())
		}
		starts, _ := r.Expand(start, zone, 50)
		if len(starts) > 50 {
			t.Fatalf("Expand(%q, limit 50) gave %d starts", text, len(starts))
		}
		for i := 1; i < len(starts); i++ {
			if !starts[i].After(starts[i-1]) {
				t.Fatalf("Expand(%q): start %d (%v) is not after %v", text, i, starts[i], starts[i-1])
			}
		}
	})
}
