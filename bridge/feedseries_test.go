package bridge_test

import (
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/google/go-cmp/cmp"

	"roombridge/bridge"
	"roombridge/models"
)

func occurrenceLines(uid string, d time.Duration, starts ...time.Time) []string {
	var out []string
	for _, s := range starts {
		out = append(out, uid+" "+s.UTC().Format(time.RFC3339)+" "+s.Add(d).UTC().Format(time.RFC3339))
	}
	return out
}

// seriesItems is a weekly Monday series of 8 occurrences from 04-03 10:00 in duowei: the
// first two in the OA, the rest in DingTalk; the status of each occurrence comes from
// statuses (default confirmed), and moved shifts the given occurrence by an hour.
func seriesItems(t *testing.T, rrule string, statuses map[int]models.Status, moved int) (models.Series, []bridge.FeedItem) {
	first := cst(t, 3, 10, 0)
	ser := models.Series{ID: "s1", UID: models.SeriesUID("s1"), RoomID: duowei.ID, Title: "项目周会", OrganizerID: "zhangsan", OrganizerName: "张三",
		RRule: rrule, Start: first.UTC(), End: first.Add(time.Hour).UTC(), TimeZone: "Asia/Shanghai", Status: models.SeriesActive,
		CreatedAt: feedNow().Add(-25 * time.Hour), UpdatedAt: feedNow().Add(-time.Hour)}
	starts, err := ser.Occurrences()
	if err != nil {
		t.Fatal(err)
	}
	var items []bridge.FeedItem
	for i, st := range starts {
		b := models.BackendDingTalk
		if st.Before(cst(t, 17, 0, 0)) {
			b = models.BackendOA
		}
		status := models.StatusConfirmed
		if s, ok := statuses[i]; ok {
			status = s
		}
		r := row("o"+string(rune('a'+i)), st, time.Hour, status, b, models.OriginBridge, "项目周会")
		r.UID = models.OccurrenceUID("s1", st)
		sid, rid := "s1", st.UTC()
		r.SeriesID, r.RecurrenceID = &sid, &rid
		if i == moved {
			r.Start, r.End = r.Start.Add(time.Hour), r.End.Add(time.Hour)
			r.Sequence = 1
		}
		it := item(r, true)
		it.Series = &ser
		items = append(items, it)
	}
	return ser, items
}

func TestBuildFeedSeries(t *testing.T) {
	spec := bridge.FeedSpec{Name: "roombridge · 多维", Zone: zone(t, "Asia/Shanghai"), Now: feedNow()}
	mondays := func(days ...int) []time.Time {
		var out []time.Time
		for _, d := range days {
			out = append(out, time.Date(2023, 4, 1, 10, 0, 0, 0, zone(t, "Asia/Shanghai")).AddDate(0, 0, d-1))
		}
		return out
	}
	uid := models.SeriesUID("s1")
	tests := []struct {
		name     string
		statuses map[int]models.Status
		moved    int
		want     []string
		exdates  int
		override bool
	}{
		{"eight Mondays", nil, -1, occurrenceLines(uid, time.Hour, mondays(3, 10, 17, 24, 31, 38, 45, 52)...), 0, false},
		{"one skipped, one cancelled, one refused", map[int]models.Status{1: models.StatusCancelled, 3: models.StatusRejected, 6: models.StatusCancelled}, -1,
			occurrenceLines(uid, time.Hour, mondays(3, 17, 31, 38, 52)...), 3, false},
		{"one moved an hour later", nil, 4, append(occurrenceLines(uid, time.Hour, mondays(3, 10, 17, 24, 38, 45, 52)...),
			occurrenceLines(uid, time.Hour, mondays(31)[0].Add(time.Hour))...), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, items := seriesItems(t, "FREQ=WEEKLY;BYDAY=MO;UNTIL=20230528T155959Z", tt.statuses, tt.moved)
			body, err := bridge.BuildFeed(spec, items)
			if err != nil {
				t.Fatalf("BuildFeed() = %v", err)
			}
			// An independent parser sees one master with RRULE and the EXDATEs, plus overrides.
			cal, err := ics.ParseCalendar(strings.NewReader(string(body)))
			if err != nil {
				t.Fatalf("golang-ical ParseCalendar() = %v", err)
			}
			var masters, overrides, exdates int
			for _, ev := range cal.Events() {
				if p := ev.GetProperty(ics.ComponentPropertyUniqueId); p == nil || p.Value != uid {
					t.Errorf("event UID = %v, want %s for every event", p, uid)
				}
				if ev.GetProperty(ics.ComponentPropertyRecurrenceId) != nil {
					overrides++
					continue
				}
				masters++
				if r := ev.GetProperty(ics.ComponentPropertyRrule); r == nil || r.Value != "FREQ=WEEKLY;BYDAY=MO;UNTIL=20230528T155959Z" {
					t.Errorf("master RRULE = %v", r)
				}
				for _, p := range ev.Properties {
					if p.IANAToken == string(ics.ComponentPropertyExdate) {
						exdates++
					}
				}
			}
			if masters != 1 || exdates != tt.exdates || (overrides == 1) != tt.override || overrides > 1 {
				t.Errorf("feed has %d masters, %d EXDATEs, %d overrides; want 1, %d, override %v:\n%s", masters, exdates, overrides, tt.exdates, tt.override, body)
			}
			got := bridge.ValidateFeed(t, strings.ReplaceAll(tt.name, " ", "-"), body)
			want := append([]string(nil), tt.want...)
			slicesSort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("occurrences ical.js expands (-want +got):\n%s", diff)
			}
		})
	}
}

func slicesSort(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
