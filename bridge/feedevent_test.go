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
