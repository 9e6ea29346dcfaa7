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
