package bridge

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/models"
)

const (
	notifyBase = "http://rb.test"
	notifyWait = 30 * time.Second
)

// messagesTo are the work notifications the fake holds, as title → link.
func messagesTo(t *testing.T, f *dingtalkfake.Server, user string) []string {
	t.Helper()
	var out []string
	for _, m := range f.Messages() {
		var link struct {
			Link struct{ MessageURL, Title string } `json:"link"`
		}
		if err := json.Unmarshal(m.Msg, &link); err != nil {
			t.Fatalf("message %s: %v", m.Msg, err)
		}
		if len(m.UserIDs) == 1 && m.UserIDs[0] == user && m.AgentID == 4242 {
			out = append(out, link.Link.Title+" "+link.Link.MessageURL)
		}
	}
	return out
}

func TestNotifyLateOutcomes(t *testing.T) {
	tests := []struct {
		name   string
		notify bool
		down   bool // the backend fails first, so the outcome comes after the form's wait
		want   string
	}{
		{name: "pending, confirmed later: one message", notify: true, down: true, want: "会议室预订已确认"},
		{name: "confirmed at once: none", notify: true},
		{name: "notifications off: none", notify: false, down: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachRig(t, func(t *testing.T, base *rig) {
				r := newLiveRigWith(t, base.store, base.clock, tt.notify)
				ctx := context.Background()
				if tt.down {
					r.dtFake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultServerError, API: dingtalkfake.APICreateEvent})
				}
				b, err := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 14), time.Hour), "")
				if err != nil {
					t.Fatal(err)
				}
				r.drain(t)
				if tt.down {
					if got := mustGet(t, r.rig, b.ID).Status; got != models.StatusPending {
						t.Fatalf("status while DingTalk fails = %s, want pending", got)
					}
					r.dtFake.ClearFaults()
					r.clock.Add(2 * time.Minute)
					r.drain(t)
				}
				if got := mustGet(t, r.rig, b.ID).Status; got != models.StatusConfirmed {
					t.Fatalf("status = %s, want confirmed", got)
				}
				// Re-runs find nothing more to send.
				r.clock.Add(10 * time.Minute)
				r.drain(t)
				r.drain(t)
				got := messagesTo(t, r.dtFake, "zhangsan")
				if tt.want == "" {
					if len(got) != 0 {
						t.Fatalf("messages = %q, want none", got)
					}
					return
				}
				if len(got) != 1 || got[0] != tt.want+" "+notifyBase+"/bookings/"+b.ID {
					t.Fatalf("messages = %q, want exactly one %q linking to the booking", got, tt.want)
				}
			})
		})
	}
}

// A send that fails is retried until it goes through, and sends one message.
func TestNotifyRetriedOnce(t *testing.T) {
	eachRig(t, func(t *testing.T, base *rig) {
		r := newLiveRigWith(t, base.store, base.clock, true)
		ctx := context.Background()
		r.dtFake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultServerError, API: dingtalkfake.APICreateEvent})
		b, err := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 14), time.Hour), "")
		if err != nil {
			t.Fatal(err)
		}
		r.drain(t)
		r.dtFake.ClearFaults()
		r.dtFake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultServerError, API: dingtalkfake.APISendMessage})
		r.clock.Add(2 * time.Minute)
		r.drain(t) // confirmed; the message fails
		if got := mustGet(t, r.rig, b.ID).Status; got != models.StatusConfirmed {
			t.Fatalf("status = %s, want confirmed", got)
		}
		if n := len(r.dtFake.Messages()); n != 0 {
			t.Fatalf("messages while sending fails = %d", n)
		}
		r.dtFake.ClearFaults()
		for range 3 {
			r.clock.Add(2 * time.Minute)
			r.drain(t)
		}
		if got := messagesTo(t, r.dtFake, "zhangsan"); len(got) != 1 {
			t.Fatalf("messages = %q, want one", got)
		}
		if n := r.dtFake.Calls(dingtalkfake.APISendMessage); n < 2 {
			t.Errorf("send attempts = %d, want a failed one and a retry", n)
		}
	})
}

// A booking that becomes a side of a new conflict gets one message, however often the
// conflict is detected.
func TestNotifyNewConflict(t *testing.T) {
	eachRig(t, func(t *testing.T, base *rig) {
		r := newLiveRigWith(t, base.store, base.clock, true)
		det := r.detector(t)
		ctx := context.Background()
		b, err := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 15), time.Hour), "")
		if err != nil || b.Status != models.StatusPending {
			t.Fatal(b.Status, err)
		}
		r.drain(t)
		if n := len(r.dtFake.Messages()); n != 0 {
			t.Fatalf("messages after an immediate confirmation = %d", n)
		}
		if _, err := r.oaFake.AddNative("-2295828016161864200", "lisi", at(20, 15), at(20, 16), "OA 直接预订"); err != nil {
			t.Fatal(err)
		}
		r.clock.Add(time.Minute)
		r.oaSync.Pass(ctx, false)
		for range 2 {
			if _, err := det.DetectSince(ctx, time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
		if cs, _ := r.store.Conflicts(ctx, models.ConflictFilter{Reservation: b.ID, Status: models.ConflictOpen}); len(cs) == 0 {
			t.Fatal("no open conflict")
		}
		r.drain(t)
		r.drain(t)
		got := messagesTo(t, r.dtFake, "zhangsan")
		if len(got) != 1 || !strings.HasPrefix(got[0], "会议室预订冲突") || !strings.HasSuffix(got[0], "/bookings/"+b.ID) {
			t.Fatalf("messages = %q, want one conflict notice", got)
		}
		if n := len(r.dtFake.Messages()); n != 1 {
			t.Errorf("messages in all = %d, want 1 (the OA booking was not made through roombridge)", n)
		}
	})
}

// notice is one work notification the DingTalk fake recorded.
type notice struct{ Title, Text, URL string }

// noticesTo are the work notifications of the rig's app the fake recorded for user.
func noticesTo(t *testing.T, f *dingtalkfake.Server, user string) []notice {
	t.Helper()
	var out []notice
	for _, m := range f.Messages() {
		var link struct {
			Link struct{ MessageURL, Title, Text string } `json:"link"`
		}
		if err := json.Unmarshal(m.Msg, &link); err != nil {
			t.Fatalf("message %s: %v", m.Msg, err)
		}
		if len(m.UserIDs) == 1 && m.UserIDs[0] == user && m.AgentID == 4242 {
			out = append(out, notice{link.Link.Title, link.Link.Text, link.Link.MessageURL})
		}
	}
	return out
}

// oneNotice checks that got holds exactly one notice titled title (a prefix) about
// reservation id: it links to the booking, and its text names the booking's title and
// room and its local start.
func oneNotice(t *testing.T, got []notice, title string, r models.Reservation, room string) {
	t.Helper()
	var hits []notice
	for _, n := range got {
		if strings.HasPrefix(n.Title, title) {
			hits = append(hits, n)
		}
	}
	if len(hits) != 1 {
		t.Fatalf("notices = %+v, want exactly one titled %q", got, title)
	}
	n := hits[0]
	if n.URL != notifyBase+"/bookings/"+r.ID {
		t.Errorf("notice links to %q, want the booking %s", n.URL, r.ID)
	}
	start := r.Start.In(shanghai).Format("15:04")
	if !strings.Contains(n.Text, "「"+r.Title+"」") || !strings.Contains(n.Text, room) || !strings.Contains(n.Text, start) {
		t.Errorf("notice text = %q, want the title %q, the room %q and the start %s", n.Text, r.Title, room, start)
	}
}

// An admin who keeps the other side of a conflict cancels the organizer's booking: the
// organizer hears of the conflict, then of the cancellation, once each.
func TestNotifyCancelledByResolution(t *testing.T) {
	eachRig(t, func(t *testing.T, base *rig) {
		r := newLiveRigWith(t, base.store, base.clock, true)
		det := r.detector(t)
		ctx := context.Background()
		admin, _ := r.store.User(ctx, "admin")
		b, err := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 15), time.Hour), "")
		if err != nil {
			t.Fatal(err)
		}
		r.drain(t)
		if _, err := r.oaFake.AddNative("-2295828016161864200", "lisi", at(20, 15), at(20, 16), "OA 直接预订"); err != nil {
			t.Fatal(err)
		}
		r.clock.Add(time.Minute)
		if _, err := r.oaSync.Pass(ctx, false); err != nil {
			t.Fatal(err)
		}
		if _, err := det.DetectSince(ctx, time.Time{}); err != nil {
			t.Fatal(err)
		}
		c := r.onlyConflict(t, models.ConflictFilter{Reservation: b.ID, Status: models.ConflictOpen})
		var other string
		for _, s := range c.Sides {
			if s.ReservationID != b.ID {
				other = s.ReservationID
			}
		}
		if _, err := r.svc.Resolve(ctx, admin, c.ID, models.Resolution{Action: "keep", Keep: other}); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			r.drain(t)
			r.clock.Add(2 * time.Minute)
		}
		if got := mustGet(t, r.rig, b.ID); got.Status != models.StatusCancelled {
			t.Fatalf("the organizer's booking after the admin kept the other = %s, want cancelled", got.Status)
		}
		got := noticesTo(t, r.dtFake, "zhangsan")
		oneNotice(t, got, "会议室预订冲突", b, "多维")
		oneNotice(t, got, "会议室预订已被管理员取消", b, "多维")
		if len(got) != 2 {
			t.Errorf("notices = %+v, want the conflict and the cancellation", got)
		}
		if n := len(r.dtFake.Messages()); n != 2 {
			t.Errorf("messages in all = %d, want 2 (the kept booking was not made through roombridge)", n)
		}
	})
}

// A booking moved from the OA to DingTalk, by the admin's "migrate" action on its
// wrong_system conflict or by migrate-bookings, tells its organizer once.
func TestNotifyMigrated(t *testing.T) {
	for _, how := range []string{"conflict action", "migrate-bookings"} {
		t.Run(how, func(t *testing.T) {
			eachRig(t, func(t *testing.T, base *rig) {
				r := newLiveRigWith(t, base.store, base.clock, true)
				det := r.detector(t)
				ctx := context.Background()
				admin, _ := r.store.User(ctx, "admin")
				if _, err := r.oaFake.AddNative("-2295828016161864200", "zhangsan", at(18, 9), at(18, 10), "OA 里的周会"); err != nil {
					t.Fatal(err)
				}
				r.clock.Add(time.Minute)
				if _, err := r.oaSync.Pass(ctx, false); err != nil {
					t.Fatal(err)
				}
				rep, err := r.svc.Cutover(ctx)
				if err != nil || len(rep.Items) != 1 {
					t.Fatalf("Cutover() = %+v, %v; want the OA booking", rep, err)
				}
				x := rep.Items[0].Reservation
				if how == "conflict action" {
					if _, err := det.DetectSince(ctx, time.Time{}); err != nil {
						t.Fatal(err)
					}
					c := r.onlyConflict(t, models.ConflictFilter{Kind: models.KindWrongSystem, Status: models.ConflictOpen})
					if _, err := r.svc.Resolve(ctx, admin, c.ID, models.Resolution{Action: models.ActionMigrate, Reservation: x.ID}); err != nil {
						t.Fatal(err)
					}
				} else if _, err := r.svc.MigrateAsOperator(ctx, "operator", x.ID); err != nil {
					t.Fatal(err)
				}
				for range 3 {
					r.drain(t)
					r.clock.Add(2 * time.Minute)
				}
				got := mustGet(t, r.rig, x.ID)
				if got.Backend != models.BackendDingTalk || got.Status != models.StatusConfirmed {
					t.Fatalf("migrated = %s %s, want confirmed in DingTalk", got.Backend, got.Status)
				}
				notices := noticesTo(t, r.dtFake, "zhangsan")
				oneNotice(t, notices, "会议室预订已迁移到钉钉", got, "多维")
				if n := len(r.dtFake.Messages()); n != 1 {
					t.Errorf("messages in all = %d, want the one migration notice", n)
				}
			})
		})
	}
}

// When DingTalk refuses the new recurring event of a series change, the occurrences go
// back as they were; the organizer is told once when the refusal came after the form
// stopped waiting, and not at all when the form showed it.
func TestNotifySeriesChangeRefused(t *testing.T) {
	for _, late := range []bool{true, false} {
		t.Run(map[bool]string{true: "after the wait: one message", false: "within the wait: none"}[late], func(t *testing.T) {
			eachRig(t, func(t *testing.T, base *rig) {
				r := newLiveRigWith(t, base.store, base.clock, true)
				ctx := context.Background()
				seriesRig(t, r)
				got := bookMondays(t, r)
				before := occurrencesAt(t, r, got.Series.ID)
				if _, err := r.dtFake.AddNative("union-lisi", "dt-duowei", "李四在钉钉里直接预订", at(24, 14), at(24, 15)); err != nil {
					t.Fatal(err)
				}
				if late {
					r.dtFake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultServerError, API: dingtalkfake.APICreateEvent})
				}
				if _, err := r.svc.EditSeries(ctx, r.zhangsan, before[3].ID, models.ScopeFollowing,
					models.BookingRequest{RoomID: "duowei", Title: "项目周会（改）", Start: at(24, 14), End: at(24, 15)}, models.ConflictRefuse); err != nil {
					t.Fatalf("EditSeries(following) = %v", err)
				}
				r.drain(t)
				if late {
					if rows := occurrencesAt(t, r, got.Series.ID); rows[3].Status != models.StatusPending {
						t.Fatalf("occurrence while DingTalk fails = %s, want pending", rows[3].Status)
					}
					r.dtFake.ClearFaults()
					r.clock.Add(2 * time.Minute)
				}
				for range 3 {
					r.drain(t)
					r.clock.Add(2 * time.Minute)
				}
				rows := occurrencesAt(t, r, got.Series.ID)
				for i := 3; i < len(rows); i++ {
					putBackAt(t, rows[i], before[i].Start, models.BackendDingTalk, before[i].Remote())
				}
				notices := noticesTo(t, r.dtFake, "zhangsan")
				if !late {
					if len(notices) != 0 {
						t.Fatalf("notices = %+v, want none (the form showed the refusal)", notices)
					}
					return
				}
				oneNotice(t, notices, "会议室预订未成功", rows[3], "多维")
				if n := len(r.dtFake.Messages()); n != 1 {
					t.Errorf("messages in all = %d, want 1", n)
				}
			})
		})
	}
}

// A new series whose recurring event DingTalk refuses after the form stopped waiting
// tells its organizer once, on its first DingTalk occurrence.
func TestNotifyNewSeriesRefusedLate(t *testing.T) {
	eachRig(t, func(t *testing.T, base *rig) {
		r := newLiveRigWith(t, base.store, base.clock, true)
		seriesRig(t, r)
		r.dtFake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultServerError, API: dingtalkfake.APICreateEvent})
		got := bookMondays(t, r)
		if _, err := r.dtFake.AddNative("union-lisi", "dt-duowei", "李四在钉钉里直接预订", at(24, 10), at(24, 11)); err != nil {
			t.Fatal(err)
		}
		r.dtFake.ClearFaults()
		for range 3 {
			r.clock.Add(2 * time.Minute)
			r.drain(t)
		}
		rows := occurrencesAt(t, r, got.Series.ID)
		if rows[2].Backend != models.BackendDingTalk || rows[2].Status != models.StatusRejected {
			t.Fatalf("first DingTalk occurrence = %s %s, want rejected in DingTalk", rows[2].Backend, rows[2].Status)
		}
		oneNotice(t, noticesTo(t, r.dtFake, "zhangsan"), "会议室预订未成功", rows[2], "多维")
		if n := len(r.dtFake.Messages()); n != 1 {
			t.Errorf("messages in all = %d, want 1", n)
		}
	})
}
