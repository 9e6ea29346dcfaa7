package bridge

import (
	"bytes"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"roombridge/models"
)

// TestAppendEventMatchesGoICal checks that the direct writer of single events gives the
// bytes go-ical gives for the same event (feedEvent, which series still use), across
// the properties that depend on the subscriber: details, own bookings, attendees.
func TestAppendEventMatchesGoICal(t *testing.T) {
	zone, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no zone data:", err)
	}
	now := time.Date(2023, 4, 10, 2, 0, 0, 0, time.UTC)
	spec := FeedSpec{Name: "x", Zone: zone, Now: now, URL: func(id string) string { return "https://rooms.example.com/bookings/" + id }}
	base := models.Reservation{ID: "r1", UID: "r1@roombridge", RoomID: "duowei", Start: now.Add(time.Hour), End: now.Add(2 * time.Hour),
		Title: "周会; 第一季度, 复盘：一个很长很长很长很长很长很长很长很长很长很长很长很长的标题", Description: "议程\n一、二", OrganizerID: "zhangsan",
		Backend: models.BackendDingTalk, Origin: models.OriginBridge, Status: models.StatusConfirmed, Sequence: 2,
		CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Minute)}
	room := models.Room{ID: "duowei", OfficeID: "bj", Name: "多维缩放会议室", Floor: "1F"}
	office := models.Office{ID: "bj", Name: "北京首开"}
	people := []FeedPerson{{ID: "lisi", Name: "李四"}, {ID: "wang wu", Name: `王"五, 组长`}, {ID: "zhao", Name: ""}}
	cancelled := base
	cancelled.Status = models.StatusCancelled
	pending := base
	pending.Status, pending.Origin, pending.Backend, pending.Title = models.StatusPending, models.OriginNative, models.BackendOA, ""
	for name, it := range map[string]FeedItem{
		"busy":           {R: base, Room: room, Office: office},
		"busy no room":   {R: base},
		"details":        {R: base, Room: room, Office: office, Details: true, OrganizerName: "张三"},
		"mine":           {R: base, Room: room, Office: office, Details: true, Mine: true, Attendees: people},
		"mine cancelled": {R: cancelled, Room: room, Office: office, Details: true, Mine: true, Attendees: people},
		"mine busy":      {R: base, Room: room, Office: office, Mine: true, Attendees: people},
		"pending native": {R: pending, Room: room, Office: office, Details: true, Mine: true},
	} {
		got, err := appendEvent(nil, spec, it)
		if err != nil {
			t.Fatalf("%s: appendEvent() = %v", name, err)
		}
		ev, err := feedEvent(spec, it)
		if err != nil {
			t.Fatalf("%s: feedEvent() = %v", name, err)
		}
		cal := ical.NewCalendar()
		cal.Props.Set(icalRaw(ical.PropVersion, "2.0"))
		cal.Props.Set(icalRaw(ical.PropProductID, FeedProductID))
		cal.Children = []*ical.Component{ev}
		var buf bytes.Buffer
		if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
			t.Fatalf("%s: encode: %v", name, err)
		}
		folded := foldICal(buf.Bytes())
		want := folded[bytes.Index(folded, []byte("BEGIN:VEVENT")):bytes.LastIndex(folded, []byte(feedTail))]
		if !bytes.Equal(got, want) {
			t.Errorf("%s: direct writer differs from go-ical:\n got:\n%s\nwant:\n%s", name, got, want)
		}
	}
}

// TestFeedTextClean checks the fast path of feedText: a string is taken as it is exactly
// when cleaning would not change it.
func TestFeedTextClean(t *testing.T) {
	for _, s := range []string{"", "周会 weekly", "a\tb\nc", "a\r\nb", "a\rb", "nul\x00", "del\x7f", "bell\x07", "bad \xff utf-8",
		"cut \xe5\x91", "replacement \uFFFD", "emoji 😀", "；，\\"} {
		if got, want := feedTextClean(s), feedTextCleaned(s) == s; got != want {
			t.Errorf("feedTextClean(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestEventWriterTimes checks that the event writer, which keeps the date and the zone's
// offset of the times it wrote last, writes every time as icalLocal and icalUTC do: in
// zones with and without daylight saving time (the repeated hour of a change back
// included), in any order, across days, years and the ends of the four-digit years.
func TestEventWriterTimes(t *testing.T) {
	var zones []*time.Location
	for _, name := range []string{"Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham", "America/St_Johns"} {
		z, err := time.LoadLocation(name)
		if err != nil {
			t.Skip("no zone data:", err)
		}
		zones = append(zones, z)
	}
	zones = append(zones, time.UTC)
	var times []time.Time
	// Every quarter hour around a change back and a change forward in Berlin and New York,
	// and Lord Howe's half-hour change.
	for _, c := range []time.Time{
		time.Date(2023, 10, 29, 0, 0, 0, 0, time.UTC), time.Date(2023, 3, 26, 0, 0, 0, 0, time.UTC),
		time.Date(2023, 11, 5, 5, 0, 0, 0, time.UTC), time.Date(2024, 4, 6, 14, 0, 0, 0, time.UTC),
	} {
		for m := -120; m <= 240; m += 15 {
			times = append(times, c.Add(time.Duration(m)*time.Minute), c.Add(time.Duration(m)*time.Minute+59*time.Second+time.Millisecond))
		}
	}
	// The same backwards: a time in the repeated hour after a later one.
	for i := len(times) - 1; i >= 0; i-- {
		times = append(times, times[i])
	}
	// Pseudo-random instants over two centuries, and the edges of what is written as is.
	x := uint64(1)
	for range 2000 {
		x = x*6364136223846793005 + 1442695040888963407
		times = append(times, time.Unix(int64(x>>33)%(200*365*86400)-100*365*86400, int64(x>>7)%1e9))
	}
	times = append(times, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 999, time.UTC))
	prop := func(p *ical.Prop) string {
		s := p.Name
		if tz := p.Params.Get(ical.ParamTimezoneID); tz != "" {
			s += ";TZID=" + tz
		}
		return s + ":" + p.Value + "\r\n"
	}
	for _, zone := range zones {
		var w eventWriter
		for _, tm := range times {
			w.out = w.out[:0]
			w.local("DTSTART", tm, zone)
			w.utc("DTSTAMP", tm)
			want := prop(icalLocal("DTSTART", tm, zone)) + prop(icalUTC("DTSTAMP", tm))
			if string(w.out) != want {
				t.Fatalf("%s in %s: wrote %q, want %q", tm.UTC(), zone, w.out, want)
			}
		}
	}
}
