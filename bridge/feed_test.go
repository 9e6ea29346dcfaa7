package bridge_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"roombridge/bridge"
	"roombridge/models"
)

// Regenerate the golden feeds in testdata/feeds with
//
//	ROOMBRIDGE_FEED_SAMPLES=$PWD/bridge/testdata/feeds go test ./bridge -run 'TestBuildFeed$'
//
// and read the diff before committing it.
const goldenFeeds = "testdata/feeds"

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%s) = %v", name, err)
	}
	return l
}

// feedNow is the moment the samples are built for: Monday 2023-04-10 10:00 in Shanghai.
func feedNow() time.Time { return time.Date(2023, 4, 10, 2, 0, 0, 0, time.UTC) }

func cst(t testing.TB, day, hour, min int) time.Time {
	return time.Date(2023, 4, day, hour, min, 0, 0, zone(t, "Asia/Shanghai"))
}

var (
	shoukai  = models.Office{ID: "bj-shoukai", Name: "北京首开"}
	duowei   = models.Room{ID: "duowei", OfficeID: "bj-shoukai", Name: "多维缩放会议室", Floor: "1F"}
	tianyuan = models.Room{ID: "sk-tianyuan", OfficeID: "bj-shoukai", Name: "天元会议室", Floor: "3F"}
)

// row is a reservation changed one hour before feedNow and made a day before that.
func row(id string, start time.Time, d time.Duration, st models.Status, b models.Backend, o models.Origin, title string) models.Reservation {
	return models.Reservation{
		ID: id, UID: models.BridgeUID(id), RoomID: duowei.ID, Start: start.UTC(), End: start.Add(d).UTC(),
		Title: title, OrganizerID: "zhangsan", OrganizerName: "张三", Backend: b, Origin: o, Status: st,
		CreatedAt: feedNow().Add(-25 * time.Hour), UpdatedAt: feedNow().Add(-time.Hour),
	}
}

func item(r models.Reservation, details bool) bridge.FeedItem {
	room := duowei
	if r.RoomID == tianyuan.ID {
		room = tianyuan
	}
	return bridge.FeedItem{R: r, Room: room, Office: shoukai, Details: details}
}

// parsedEvent is what a client reads back from one VEVENT.
type parsedEvent struct {
	UID, Status, Sequence, Summary, Location, Categories, Description, URL string
	Start, End, Stamp                                                      time.Time
	// Attendees are "cal-address CN" of each ATTENDEE.
	Attendees []string
	// Transp is TRANSP (not compared by the samples, which count it on the bytes).
	Transp string
}

type feedSample struct {
	name  string
	spec  bridge.FeedSpec
	items []bridge.FeedItem
	want  []parsedEvent
	// utcAllowed lists UIDs whose times may be written in UTC (a wall clock that occurs
	// twice); every other DTSTART/DTEND must carry TZID.
	utcAllowed []string
	// absent are strings that must not appear anywhere in the unfolded feed.
	absent []string
}

func sourceLine(backend, how string) string { return "来源：" + backend + "（" + how + "）" }

// feedSamples are the feeds every check below runs on, each named after its file.
func feedSamples(t testing.TB) []feedSample {
	sh := zone(t, "Asia/Shanghai")
	spec := func() bridge.FeedSpec {
		return bridge.FeedSpec{Name: "roombridge · 北京首开 多维缩放会议室", Description: "北京首开 1F 多维缩放会议室的预订", Zone: sh, Now: feedNow()}
	}
	loc := "北京首开 1F 多维缩放会议室"
	stamp := feedNow().Add(-time.Hour)

	training := row("training1", cst(t, 4, 10, 0), 2*time.Hour, models.StatusConfirmed, models.BackendDingTalk, models.OriginNative, "钉钉培训（第一场）")
	training.Description = "请提前安装钉钉。"
	weekly := row("weekly", cst(t, 4, 14, 0), 2*time.Hour, models.StatusPending, models.BackendOA, models.OriginBridge, "产品周会")
	weekly.Sequence = 1
	review := row("review", cst(t, 12, 9, 30), 90*time.Minute, models.StatusTentative, models.BackendOA, models.OriginNative, "季度评审")
	review.RoomID = tianyuan.ID
	rejected := row("rejected", cst(t, 12, 9, 30), time.Hour, models.StatusRejected, models.BackendOA, models.OriginBridge, "被拒绝的会议")
	// Same start as training in another room: the order falls to the UID.
	parallel := row("a-parallel", cst(t, 4, 10, 0), time.Hour, models.StatusConfirmed, models.BackendDingTalk, models.OriginBridge, "另一间会议室")
	parallel.RoomID = tianyuan.ID

	tricky := row("tricky", cst(t, 11, 15, 0), time.Hour, models.StatusConfirmed, models.BackendDingTalk, models.OriginBridge,
		`周会, 讨论; 计划 \ 备注 "引号" : 冒号`)
	tricky.Description = "第一行\r\n第二行, 逗号; 分号 \\ 反斜杠\n第三行\r末尾\x07\t制表"
	tricky.OrganizerName = "Li, Si; 李四"

	gone := row("gone", cst(t, 13, 10, 0), time.Hour, models.StatusCancelled, models.BackendDingTalk, models.OriginBridge, "早已取消")
	gone.Sequence, gone.UpdatedAt = 2, feedNow().Add(-8*24*time.Hour)
	cancelled := row("cancelled", cst(t, 13, 14, 0), time.Hour, models.StatusCancelled, models.BackendDingTalk, models.OriginNative, "刚取消的会议")
	cancelled.Sequence, cancelled.UpdatedAt = 3, feedNow().Add(-2*24*time.Hour)

	long := row("long", cst(t, 14, 9, 0), 3*time.Hour, models.StatusConfirmed, models.BackendOA, models.OriginNative, strings.Repeat("超长标题", 20))
	long.Description = strings.Repeat("本次会议讨论钉钉切换的安排，包括OA冻结时间、会议室预订迁移和考勤模块下线。😀 ", 25)

	secret := row("secret", cst(t, 17, 16, 0), time.Hour, models.StatusConfirmed, models.BackendOA, models.OriginBridge, "绝密：收购谈判")
	secret.Description, secret.OrganizerName = "报价 9999 万", "王五"
	linked := spec()
	linked.URL = func(id string) string { return "https://rooms.example.com/bookings/" + id }

	be := zone(t, "Europe/Berlin")
	berlin := spec()
	berlin.Zone, berlin.Name = be, "roombridge · Berlin"
	winter := row("winter", time.Date(2023, 3, 20, 9, 0, 0, 0, be), time.Hour, models.StatusConfirmed, models.BackendDingTalk, models.OriginNative, "before spring forward")
	summer := row("summer", time.Date(2023, 3, 26, 3, 30, 0, 0, be), time.Hour, models.StatusConfirmed, models.BackendDingTalk, models.OriginNative, "just after spring forward")
	// 02:30 on 29 October happens twice in Berlin; this is the second one (01:30 UTC).
	twice := row("twice", time.Date(2023, 10, 29, 1, 30, 0, 0, time.UTC), time.Hour, models.StatusConfirmed, models.BackendDingTalk, models.OriginNative, "in the repeated hour")

	details := func(r models.Reservation, extra ...string) string {
		return strings.Join(append(extra, "预订人："+r.OrganizerName), "\n")
	}
	ev := func(r models.Reservation, status, seq, summary, cats, desc string) parsedEvent {
		return parsedEvent{UID: r.UID, Status: status, Sequence: seq, Summary: summary, Location: loc, Categories: cats,
			Description: desc, Start: r.Start.UTC(), End: r.End.UTC(), Stamp: stamp}
	}
	reviewEv := ev(review, "TENTATIVE", "0", "季度评审", "OA,直接预订", details(review)+"\n"+sourceLine("OA", "直接预订"))
	reviewEv.Location = "北京首开 3F 天元会议室"
	parallelEv := ev(parallel, "CONFIRMED", "0", bridge.BusyTitle("天元会议室"), "钉钉,roombridge", sourceLine("钉钉", "经 roombridge 预订"))
	parallelEv.Location = "北京首开 3F 天元会议室"
	office := spec()
	office.Name, office.Description = "roombridge · 北京首开", "北京首开所有会议室的预订"
	cancelledEv := ev(cancelled, "CANCELLED", "3", "刚取消的会议", "钉钉,直接预订", details(cancelled)+"\n"+sourceLine("钉钉", "直接预订"))
	cancelledEv.Stamp = cancelled.UpdatedAt
	linkedEv := ev(training, "CONFIRMED", "0", "钉钉培训（第一场）", "钉钉,直接预订", details(training, "请提前安装钉钉。", "")+"\n"+sourceLine("钉钉", "直接预订"))
	linkedEv.URL = "https://rooms.example.com/bookings/training1"
	berlinEv := func(r models.Reservation) parsedEvent {
		e := ev(r, "CONFIRMED", "0", r.Title, "钉钉,直接预订", details(r)+"\n"+sourceLine("钉钉", "直接预订"))
		return e
	}

	// The subscriber's own booking: busy time, attendees, the link in the text too.
	own := row("own", cst(t, 18, 10, 0), time.Hour, models.StatusConfirmed, models.BackendDingTalk, models.OriginBridge, "我的评审会")
	ownItem := item(own, true)
	ownItem.Mine, ownItem.Attendees = true, []bridge.FeedPerson{{ID: "lisi", Name: "李四"}, {ID: "wang wu", Name: `王五; "组长"`}}
	ownEv := ev(own, "CONFIRMED", "0", "我的评审会", "钉钉,roombridge",
		details(own)+"\n参会人：李四、王五; \"组长\"\n预订页面：https://rooms.example.com/bookings/own\n"+sourceLine("钉钉", "经 roombridge 预订"))
	ownEv.URL = "https://rooms.example.com/bookings/own"
	ownEv.Attendees = []string{"urn:x-roombridge:user:lisi 李四", `urn:x-roombridge:user:wang%20wu 王五; '组长'`}
	ownGone := row("own-gone", cst(t, 18, 14, 0), time.Hour, models.StatusCancelled, models.BackendDingTalk, models.OriginBridge, "取消了的我的会")
	ownGone.UpdatedAt = feedNow().Add(-time.Hour)
	ownGoneItem := item(ownGone, true)
	ownGoneItem.Mine = true
	ownGoneEv := ev(ownGone, "CANCELLED", "0", "取消了的我的会", "钉钉,roombridge",
		details(ownGone)+"\n预订页面：https://rooms.example.com/bookings/own-gone\n"+sourceLine("钉钉", "经 roombridge 预订"))
	ownGoneEv.URL, ownGoneEv.Stamp = "https://rooms.example.com/bookings/own-gone", ownGone.UpdatedAt

	return []feedSample{
		{
			name:  "office-chinese",
			spec:  office,
			items: []bridge.FeedItem{item(review, true), item(weekly, true), item(rejected, true), item(training, true), item(parallel, false)},
			want: []parsedEvent{
				parallelEv,
				ev(training, "CONFIRMED", "0", "钉钉培训（第一场）", "钉钉,直接预订", details(training, "请提前安装钉钉。", "")+"\n"+sourceLine("钉钉", "直接预订")),
				ev(weekly, "TENTATIVE", "1", "产品周会", "OA,roombridge", details(weekly)+"\n"+sourceLine("OA", "经 roombridge 预订")),
				reviewEv,
			},
			absent: []string{"被拒绝的会议", "METHOD"},
		},
		{
			name:  "escaping",
			spec:  spec(),
			items: []bridge.FeedItem{item(tricky, true)},
			want: []parsedEvent{ev(tricky, "CONFIRMED", "0", `周会, 讨论; 计划 \ 备注 "引号" : 冒号`, "钉钉,roombridge",
				"第一行\n第二行, 逗号; 分号 \\ 反斜杠\n第三行末尾\t制表\n\n预订人：Li, Si; 李四\n"+sourceLine("钉钉", "经 roombridge 预订"))},
			absent: []string{"\r\r", "\x07"},
		},
		{
			name:   "cancelled",
			spec:   spec(),
			items:  []bridge.FeedItem{item(gone, true), item(cancelled, true)},
			want:   []parsedEvent{cancelledEv},
			absent: []string{"早已取消"},
		},
		{
			name: "empty-room",
			spec: spec(),
		},
		{
			name:  "long-description",
			spec:  spec(),
			items: []bridge.FeedItem{item(long, true)},
			want: []parsedEvent{ev(long, "CONFIRMED", "0", long.Title, "OA,直接预订",
				strings.TrimSpace(long.Description)+"\n\n预订人：张三\n"+sourceLine("OA", "直接预订"))},
		},
		{
			name:  "busy-only",
			spec:  linked,
			items: []bridge.FeedItem{item(secret, false), item(training, true)},
			want: []parsedEvent{
				linkedEv,
				ev(secret, "CONFIRMED", "0", bridge.BusyTitle("多维缩放会议室"), "OA,roombridge", sourceLine("OA", "经 roombridge 预订")),
			},
			absent: []string{"绝密", "收购", "9999", "王五", "bookings/secret"},
		},
		{
			name:  "mine",
			spec:  linked,
			items: []bridge.FeedItem{ownItem, ownGoneItem, item(secret, false)},
			want:  []parsedEvent{ev(secret, "CONFIRMED", "0", bridge.BusyTitle("多维缩放会议室"), "OA,roombridge", sourceLine("OA", "经 roombridge 预订")), ownEv, ownGoneEv},
		},
		{
			name:       "berlin-dst",
			spec:       berlin,
			items:      []bridge.FeedItem{item(twice, true), item(summer, true), item(winter, true)},
			want:       []parsedEvent{berlinEv(winter), berlinEv(summer), berlinEv(twice)},
			utcAllowed: []string{twice.UID},
		},
	}
}

// opaque counts the events that are busy time for the subscriber: their own bookings
// that hold a room.
func (s feedSample) opaque() int {
	n := 0
	for _, it := range s.items {
		if it.Mine && it.R.Status.Holds() {
			n++
		}
	}
	return n
}

func unfold(body []byte) string {
	return strings.NewReplacer("\r\n ", "", "\r\n\t", "").Replace(string(body))
}

// checkFeedBytes checks the rules every feed keeps on its raw bytes: CRLF line ends, no
// BOM, lines folded at 75 octets without splitting a UTF-8 character, the calendar
// properties once each, no METHOD, UTC stamps.
func checkFeedBytes(t *testing.T, s feedSample, body []byte) {
	t.Helper()
	if !bytes.HasSuffix(body, []byte("\r\n")) || bytes.Count(body, []byte("\n")) != bytes.Count(body, []byte("\r\n")) || bytes.Count(body, []byte("\r")) != bytes.Count(body, []byte("\r\n")) {
		t.Errorf("feed has a line not ended by CRLF, or a bare CR or LF")
	}
	if bytes.Contains(body, []byte("\uFFFD")) || bytes.HasPrefix(body, []byte("\uFEFF")) {
		t.Errorf("feed contains U+FFFD or a BOM")
	}
	for i, l := range strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf("line %d is %d octets, want at most 75: %q", i+1, len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("line %d splits a UTF-8 character: %q", i+1, l)
		}
	}

	lines := strings.Split(strings.TrimSuffix(unfold(body), "\r\n"), "\r\n")
	zone := s.spec.Zone.String()
	for _, c := range []struct {
		line string
		want int
	}{
		{"VERSION:2.0", 1}, {"PRODID:" + bridge.FeedProductID, 1}, {"BEGIN:VTIMEZONE", 1}, {"TZID:" + zone, 1},
		{"NAME:" + s.spec.Name, 1}, {"X-WR-CALNAME:" + s.spec.Name, 1}, {"X-WR-TIMEZONE:" + zone, 1},
		{"REFRESH-INTERVAL;VALUE=DURATION:PT1H", 1}, {"X-PUBLISHED-TTL:PT1H", 1},
		{"BEGIN:VEVENT", len(s.want)}, {"TRANSP:TRANSPARENT", len(s.want) - s.opaque()}, {"TRANSP:OPAQUE", s.opaque()},
	} {
		if got := countLines(lines, func(l string) bool { return l == c.line }); got != c.want {
			t.Errorf("%d lines are %q, want %d", got, c.line, c.want)
		}
	}
	if n := countLines(lines, func(l string) bool { return strings.HasPrefix(l, "METHOD") }); n != 0 {
		t.Errorf("feed has METHOD, want none")
	}
	utcStamp := regexp.MustCompile(`^(DTSTAMP|LAST-MODIFIED|CREATED):\d{8}T\d{6}Z$`)
	seq := regexp.MustCompile(`^SEQUENCE:\d+$`)
	local := regexp.MustCompile(`^DT(START|END);TZID=` + regexp.QuoteMeta(zone) + `:\d{8}T\d{6}$`)
	utc := regexp.MustCompile(`^DT(START|END):\d{8}T\d{6}Z$`)
	var event []string
	for _, l := range lines {
		switch {
		case strings.Contains(l, "VALUE=TEXT"):
			t.Errorf("line %q carries VALUE=TEXT", l)
		case strings.HasPrefix(l, "DTSTAMP") || strings.HasPrefix(l, "LAST-MODIFIED") || strings.HasPrefix(l, "CREATED"):
			if !utcStamp.MatchString(l) {
				t.Errorf("line %q, want a UTC time without TZID", l)
			}
		case strings.HasPrefix(l, "SEQUENCE") && !seq.MatchString(l):
			t.Errorf("line %q, want a raw integer", l)
		}
		switch {
		case l == "BEGIN:VEVENT":
			event = []string{}
		case l == "END:VEVENT":
			var uid string
			for _, e := range event {
				if v, ok := strings.CutPrefix(e, "UID:"); ok {
					uid = v
				}
			}
			for _, e := range event {
				if (strings.HasPrefix(e, "DTSTART") || strings.HasPrefix(e, "DTEND")) &&
					!local.MatchString(e) && !(utc.MatchString(e) && slices.Contains(s.utcAllowed, uid)) {
					t.Errorf("event %s: line %q, want TZID=%s", uid, e, zone)
				}
			}
			event = nil
		case event != nil:
			event = append(event, l)
		}
	}
	text := unfold(body)
	for _, a := range s.absent {
		if strings.Contains(text, a) {
			t.Errorf("feed contains %q, which must not appear", a)
		}
	}
}

func countLines(lines []string, match func(string) bool) int {
	n := 0
	for _, l := range lines {
		if match(l) {
			n++
		}
	}
	return n
}

// parseFeed reads the feed with github.com/arran4/golang-ical, a parser independent of the
// one that wrote it, which resolves TZID through Go's zone database.
func parseFeed(t *testing.T, body []byte) []parsedEvent {
	t.Helper()
	cal, err := ics.ParseCalendar(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("golang-ical ParseCalendar() = %v", err)
	}
	var tz int
	for _, c := range cal.Components {
		if _, ok := c.(*ics.VTimezone); ok {
			tz++
		}
	}
	if tz != 1 {
		t.Errorf("golang-ical sees %d VTIMEZONE, want 1", tz)
	}
	var out []parsedEvent
	for _, e := range cal.Events() {
		prop := func(p ics.ComponentProperty) string {
			if v := e.GetProperty(p); v != nil {
				return v.Value
			}
			return ""
		}
		at := func(name string, get func() (time.Time, error)) time.Time {
			v, err := get()
			if err != nil {
				t.Errorf("event %s: %s: %v", e.Id(), name, err)
			}
			return v.UTC()
		}
		var attendees []string
		for _, a := range e.Attendees() {
			attendees = append(attendees, a.Value+" "+strings.Join(a.ICalParameters["CN"], ","))
		}
		out = append(out, parsedEvent{
			Attendees: attendees, Transp: prop(ics.ComponentPropertyTransp),
			UID: e.Id(), Status: prop(ics.ComponentPropertyStatus), Sequence: prop(ics.ComponentPropertySequence),
			Summary: prop(ics.ComponentPropertySummary), Location: prop(ics.ComponentPropertyLocation),
			Categories: prop(ics.ComponentPropertyCategories), Description: prop(ics.ComponentPropertyDescription),
			URL:   prop(ics.ComponentPropertyUrl),
			Start: at("DTSTART", e.GetStartAt), End: at("DTEND", e.GetEndAt), Stamp: at("DTSTAMP", e.GetDtStampTime),
		})
	}
	return out
}

func TestBuildFeed(t *testing.T) {
	samplesDir := os.Getenv("ROOMBRIDGE_FEED_SAMPLES")
	for _, s := range feedSamples(t) {
		t.Run(s.name, func(t *testing.T) {
			body, err := bridge.BuildFeed(s.spec, s.items)
			if err != nil {
				t.Fatalf("BuildFeed() = %v", err)
			}
			checkFeedBytes(t, s, body)
			if diff := cmp.Diff(s.want, parseFeed(t, body), cmpopts.IgnoreFields(parsedEvent{}, "Transp")); diff != "" {
				t.Errorf("BuildFeed() events as golang-ical reads them (-want +got):\n%s", diff)
			}

			reversed := slices.Clone(s.items)
			slices.Reverse(reversed)
			again, err := bridge.BuildFeed(s.spec, reversed)
			if err != nil || !bytes.Equal(again, body) {
				t.Errorf("BuildFeed(same items, other order) differs from the first build (err %v)", err)
			}

			file := s.name + ".ics"
			if samplesDir != "" {
				if err := os.MkdirAll(samplesDir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(samplesDir, file), body, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			golden, err := os.ReadFile(filepath.Join(goldenFeeds, file))
			if err != nil {
				t.Fatalf("read golden feed: %v (regenerate: see goldenFeeds)", err)
			}
			if diff := cmp.Diff(string(golden), string(body)); diff != "" {
				t.Errorf("BuildFeed() differs from %s/%s (-golden +got):\n%s", goldenFeeds, file, diff)
			}
		})
	}
}

func TestBuildFeedEmptyIsValid(t *testing.T) {
	body, err := bridge.BuildFeed(bridge.FeedSpec{Name: "空", Zone: zone(t, "Asia/Shanghai"), Now: feedNow()}, nil)
	if err != nil {
		t.Fatalf("BuildFeed(no items) = %v, want a calendar", err)
	}
	want := "BEGIN:VTIMEZONE\r\nTZID:Asia/Shanghai\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZNAME:CST\r\n" +
		"TZOFFSETFROM:+0800\r\nTZOFFSETTO:+0800\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n"
	if !strings.HasSuffix(string(body), want) {
		t.Errorf("BuildFeed(no items) = %q, want it to end with the fixed Asia/Shanghai VTIMEZONE %q", body, want)
	}
}

func TestBuildFeedFolding(t *testing.T) {
	// Shift a text of 1-, 3- and 4-octet characters so that every fold point falls at
	// every position inside a character.
	for pad := 0; pad < 8; pad++ {
		r := row("fold", cst(t, 11, 9, 0), time.Hour, models.StatusConfirmed, models.BackendOA, models.OriginNative, "折行")
		r.Description = strings.Repeat("x", pad) + strings.Repeat("会议室😀a预订", 40)
		body, err := bridge.BuildFeed(bridge.FeedSpec{Name: "折行", Zone: zone(t, "Asia/Shanghai"), Now: feedNow()}, []bridge.FeedItem{item(r, true)})
		if err != nil {
			t.Fatal(err)
		}
		folds := 0
		for i, l := range strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n") {
			if len(l) > 75 || !utf8.ValidString(l) {
				t.Errorf("pad %d: line %d is %d octets or splits a character: %q", pad, i+1, len(l), l)
			}
			if strings.HasPrefix(l, " ") {
				folds++
			}
		}
		evs := parseFeed(t, body)
		want := r.Description + "\n\n预订人：张三\n" + sourceLine("OA", "直接预订")
		if len(evs) != 1 || evs[0].Description != want || folds < 10 {
			t.Errorf("pad %d: %d folds, DESCRIPTION unfolds to %q, want %q", pad, folds, evs, want)
		}
	}
}

func TestBuildFeedCancelledWindow(t *testing.T) {
	sh := zone(t, "Asia/Shanghai")
	c := row("c", cst(t, 20, 9, 0), time.Hour, models.StatusCancelled, models.BackendDingTalk, models.OriginBridge, "取消")
	c.Sequence = 2
	kept := row("kept", cst(t, 21, 9, 0), time.Hour, models.StatusConfirmed, models.BackendDingTalk, models.OriginBridge, "保留")
	kept.UpdatedAt = c.UpdatedAt.Add(-time.Hour)
	items := []bridge.FeedItem{item(c, true), item(kept, true)}
	week := 7 * 24 * time.Hour
	tests := []struct {
		name      string
		now       time.Time
		keep      time.Duration
		shown     bool
		wantLastM time.Time
	}{
		{"just cancelled", c.UpdatedAt, 0, true, c.UpdatedAt},
		{"six days later", c.UpdatedAt.Add(6 * 24 * time.Hour), 0, true, c.UpdatedAt},
		{"a second before seven days", c.UpdatedAt.Add(week - time.Second), 0, true, c.UpdatedAt},
		{"seven days later", c.UpdatedAt.Add(week), 0, false, c.UpdatedAt.Add(week)},
		{"a month later", c.UpdatedAt.Add(30 * 24 * time.Hour), 0, false, c.UpdatedAt.Add(week)},
		{"kept one day only", c.UpdatedAt.Add(25 * time.Hour), 24 * time.Hour, false, c.UpdatedAt.Add(24 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := bridge.FeedSpec{Name: "取消", Zone: sh, Now: tt.now, KeepCancelled: tt.keep}
			body, err := bridge.BuildFeed(spec, items)
			if err != nil {
				t.Fatal(err)
			}
			text := unfold(body)
			if got := strings.Contains(text, "UID:"+c.UID); got != tt.shown {
				t.Errorf("BuildFeed(now %v) shows the cancelled booking = %v, want %v", tt.now, got, tt.shown)
			}
			if tt.shown && !strings.Contains(text, "STATUS:CANCELLED\r\n") {
				t.Errorf("cancelled booking shown without STATUS:CANCELLED")
			}
			if !strings.Contains(text, "UID:"+kept.UID) {
				t.Errorf("the confirmed booking disappeared")
			}
			if got := bridge.FeedLastModified(spec, items); !got.Equal(tt.wantLastM) {
				t.Errorf("FeedLastModified(now %v) = %v, want %v", tt.now, got, tt.wantLastM)
			}
		})
	}
}

func TestFeedLastModifiedWindow(t *testing.T) {
	now := feedNow()
	spec := bridge.FeedSpec{Zone: zone(t, "Asia/Shanghai"), Now: now, From: now.Add(-30 * 24 * time.Hour), To: now.Add(180 * 24 * time.Hour)}
	old := now.Add(-90 * 24 * time.Hour) // last change of every row below
	mk := func(start time.Time) bridge.FeedItem {
		r := row("w", start, time.Hour, models.StatusConfirmed, models.BackendOA, models.OriginNative, "窗口")
		r.CreatedAt, r.UpdatedAt = old, old
		return item(r, true)
	}
	tests := []struct {
		name  string
		items []bridge.FeedItem
		want  time.Time
	}{
		{"nothing", nil, time.Time{}},
		{"long in the window", []bridge.FeedItem{mk(now.Add(24 * time.Hour))}, old},
		{"entered the window two hours ago", []bridge.FeedItem{mk(spec.To.Add(-2 * time.Hour))}, now.Add(-2 * time.Hour)},
		{"not yet in the window", []bridge.FeedItem{mk(spec.To.Add(time.Hour))}, old},
		{"left the window three hours ago", []bridge.FeedItem{mk(spec.From.Add(-4 * time.Hour))}, now.Add(-3 * time.Hour)},
		{"changed in the future (clock skew)", []bridge.FeedItem{func() bridge.FeedItem {
			it := mk(now.Add(24 * time.Hour))
			it.R.UpdatedAt = now.Add(time.Hour)
			return it
		}()}, now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bridge.FeedLastModified(spec, tt.items); !got.Equal(tt.want) {
				t.Errorf("FeedLastModified() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFeedETag(t *testing.T) {
	a, b := bridge.FeedETag([]byte("BEGIN:VCALENDAR\r\n")), bridge.FeedETag([]byte("BEGIN:VCALENDAR\r\n"))
	if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(a) || a != b {
		t.Errorf("FeedETag() = %s, %s; want the same strong quoted 32-hex-digit tag twice", a, b)
	}
	if c := bridge.FeedETag([]byte("BEGIN:VCALENDAR\r\n ")); c == a {
		t.Errorf("FeedETag() of different bodies = %s for both", c)
	}
	// A large body, hashed in chunks at once: the same tag for the same bytes, another
	// for a byte changed in any chunk, or one more byte.
	large := bytes.Repeat([]byte("BEGIN:VEVENT\r\nSUMMARY:会\r\nEND:VEVENT\r\n"), 300000)
	tag := bridge.FeedETag(large)
	if again := bridge.FeedETag(bytes.Clone(large)); !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(tag) || again != tag {
		t.Errorf("FeedETag() of %d bytes = %s, %s; want the same strong quoted 32-hex-digit tag twice", len(large), tag, again)
	}
	seen := map[string]int{tag: -1}
	for _, at := range []int{0, 1 << 20, 5<<20 + 17, len(large) - 1, len(large)} {
		changed := append(bytes.Clone(large), 'x')
		if at < len(large) {
			changed = changed[:len(large)]
			changed[at] ^= 1
		}
		got := bridge.FeedETag(changed)
		if prev, ok := seen[got]; ok {
			t.Errorf("FeedETag() with byte %d changed = %s, as with byte %d", at, got, prev)
		}
		seen[got] = at
	}
}

func TestBuildFeedRefusesBadInput(t *testing.T) {
	sh := zone(t, "Asia/Shanghai")
	good := row("ok", cst(t, 11, 9, 0), time.Hour, models.StatusConfirmed, models.BackendOA, models.OriginNative, "好")
	noUID := good
	noUID.UID = ""
	backwards := good
	backwards.End = good.Start.Add(-time.Minute)
	unstamped := good
	unstamped.CreatedAt, unstamped.UpdatedAt = time.Time{}, time.Time{}
	tests := []struct {
		name  string
		spec  bridge.FeedSpec
		items []bridge.FeedItem
	}{
		{"no zone", bridge.FeedSpec{Now: feedNow()}, nil},
		{"zone named Local", bridge.FeedSpec{Zone: time.FixedZone("Local", 8*3600), Now: feedNow()}, nil},
		{"fixed zone", bridge.FeedSpec{Zone: time.FixedZone("CST", 8*3600), Now: feedNow()}, nil},
		{"no clock", bridge.FeedSpec{Zone: sh}, nil},
		{"no UID", bridge.FeedSpec{Zone: sh, Now: feedNow()}, []bridge.FeedItem{item(noUID, true)}},
		{"ends before it starts", bridge.FeedSpec{Zone: sh, Now: feedNow()}, []bridge.FeedItem{item(backwards, true)}},
		{"no change time", bridge.FeedSpec{Zone: sh, Now: feedNow()}, []bridge.FeedItem{item(unstamped, true)}},
		{"relative booking link", bridge.FeedSpec{Zone: sh, Now: feedNow(), URL: func(id string) string { return "/bookings/" + id }}, []bridge.FeedItem{item(good, true)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := bridge.BuildFeed(tt.spec, tt.items); !errors.Is(err, models.ErrInvalid) {
				t.Errorf("BuildFeed(%s) = %v, want ErrInvalid", tt.name, err)
			}
		})
	}
}

// TestFeedValidators runs the offline validators of tools/ical (ical.js as in Thunderbird,
// node-ical, libical) on every sample feed and on deliberately broken ones, which each
// validator must refuse. Build the tools as tools/ical/README.md says; without them the
// test skips, unless ROOMBRIDGE_FEED_VALIDATORS=1 makes a missing tool a failure.
func TestFeedValidators(t *testing.T) {
	tools := filepath.Join(bridge.RepoRoot(t), "tools", "ical")
	required := os.Getenv("ROOMBRIDGE_FEED_VALIDATORS") == "1"
	_, noNode := exec.LookPath("node")
	need := func(err error, paths ...string) error {
		if err != nil {
			return err
		}
		for _, p := range paths {
			if _, err := os.Stat(filepath.Join(tools, p)); err != nil {
				return err
			}
		}
		return nil
	}

	dir := t.TempDir()
	files := map[string]string{}
	write := func(name string, body []byte) {
		files[name] = filepath.Join(dir, name+".ics")
		if err := os.WriteFile(files[name], body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	samples := feedSamples(t)
	bodies := map[string][]byte{}
	for _, s := range samples {
		body, err := bridge.BuildFeed(s.spec, s.items)
		if err != nil {
			t.Fatalf("BuildFeed(%s) = %v", s.name, err)
		}
		bodies[s.name] = body
		write(s.name, body)
	}
	// Negative controls, made from good samples the way naive code goes wrong: no folding
	// (a DESCRIPTION line of several hundred octets), and a DTSTAMP in local time.
	unfolded := unfold(bodies["long-description"])
	localStamp := strings.NewReplacer("DTSTAMP:20230410T010000Z", "DTSTAMP;TZID=Asia/Shanghai:20230410T090000")
	write("broken-long-line", []byte(unfolded))
	write("broken-dtstamp-tzid", []byte(localStamp.Replace(string(bodies["office-chinese"]))))
	write("broken-both", []byte(localStamp.Replace(unfolded)))
	if !strings.Contains(unfolded, "DTSTAMP:20230410T010000Z") || !regexp.MustCompile(`(?m)^.{200,}\r$`).MatchString(unfolded) {
		t.Fatal("negative controls are not broken the way they should be; fix the test")
	}

	validators := []struct {
		name    string
		missing error
		args    []string
		// refuses maps each broken feed this validator must refuse to a text its report
		// must contain (so a crash does not count as a refusal).
		refuses map[string]string
	}{
		{"ical.js", need(noNode, "node_modules/ical.js/package.json"), []string{"node", filepath.Join(tools, "check-icaljs.mjs")},
			map[string]string{"broken-long-line": "octets (>75, not folded)", "broken-dtstamp-tzid": "DTSTAMP must be UTC", "broken-both": "DTSTAMP must be UTC"}},
		{"node-ical", need(noNode, "node_modules/node-ical/package.json"), []string{"node", filepath.Join(tools, "check-nodeical.cjs")},
			map[string]string{"broken-dtstamp-tzid": "DTSTAMP is not UTC", "broken-both": "DTSTAMP is not UTC"}},
		{"libical", need(nil, "icalcheck"), []string{filepath.Join(tools, "icalcheck")},
			map[string]string{"broken-dtstamp-tzid": "DTSTAMP is not UTC", "broken-both": "DTSTAMP is not UTC"}},
	}
	run := func(args []string, file string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, args[0], append(args[1:], file)...)
		cmd.Dir = tools
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, v := range validators {
		t.Run(v.name, func(t *testing.T) {
			if v.missing != nil {
				if required {
					t.Fatalf("validator %s is required (ROOMBRIDGE_FEED_VALIDATORS=1) but not built: %v", v.name, v.missing)
				}
				t.Skipf("validator %s not built (%v); see tools/ical/README.md", v.name, v.missing)
			}
			for _, s := range samples {
				if out, err := run(v.args, files[s.name]); err != nil {
					t.Errorf("%s %s = %v, want OK:\n%s", v.name, s.name, err, out)
				}
			}
			for name, want := range v.refuses {
				out, err := run(v.args, files[name])
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(out, want) {
					t.Errorf("%s %s = %v, want exit status 1 reporting %q:\n%s", v.name, name, err, want, out)
				}
			}
		})
	}

	// ical.js knows no zone database: the instants it computes come from the feed's own
	// VTIMEZONE, so this checks the VTIMEZONE, not just the syntax.
	t.Run("ical.js instants", func(t *testing.T) {
		if err := need(noNode, "node_modules/ical.js/package.json"); err != nil {
			if required {
				t.Fatalf("ical.js is required but not installed: %v", err)
			}
			t.Skipf("ical.js not installed (%v)", err)
		}
		for _, s := range samples {
			out, err := run([]string{"node", filepath.Join(tools, "instants-icaljs.mjs")}, files[s.name])
			if err != nil {
				t.Fatalf("instants-icaljs.mjs %s = %v:\n%s", s.name, err, out)
			}
			var want []string
			for _, e := range s.want {
				want = append(want, fmt.Sprintf("%s %s %s", e.UID, e.Start.Format(time.RFC3339), e.End.Format(time.RFC3339)))
			}
			var got []string
			for _, l := range strings.Split(out, "\n") {
				if l != "" {
					got = append(got, l)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: instants as ical.js computes them from the VTIMEZONE (-want +got):\n%s", s.name, diff)
			}
		}
	})
}
