package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"roombridge/bridge/dingtalk"
	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/bridge/oa"
	"roombridge/bridge/oa/seeyonfake"
	"roombridge/models"
	"roombridge/models/modelstest"
)

// liveRig is the engine wired to the real adapters, talking HTTP to both fakes.
type liveRig struct {
	*rig
	oaFake *seeyonfake.Server
	dtFake *dingtalkfake.Server
	oaSync *Syncer
	dtSync *Syncer
	usage  *Usage
	dt     *DingTalk
	// connected receives a value each time a Stream-mode connection is up.
	connected chan struct{}
}

func newLiveRig(t *testing.T, s *models.Store, c *modelstest.Clock) *liveRig {
	t.Helper()
	return newLiveRigWith(t, s, c, false)
}

// newLiveRigWith is newLiveRig with DingTalk work notifications on or off (the booking
// form's wait: notifyWait; links under notifyBase).
func newLiveRigWith(t *testing.T, s *models.Store, c *modelstest.Clock, notify bool) *liveRig {
	t.Helper()
	r := newRig(t, s, c)
	cat := models.DemoCatalog()
	var oaRooms []seeyonfake.Room
	var dtRooms []dingtalkfake.Room
	for _, room := range cat.Rooms() {
		oaRooms = append(oaRooms, seeyonfake.Room{ID: room.OARoomID, Name: room.Name})
		dtRooms = append(dtRooms, dingtalkfake.Room{ID: room.DingTalkRoomID, Name: room.Name})
	}
	var oaUsers []seeyonfake.User
	var dtUsers []dingtalkfake.User
	for _, u := range cat.Users {
		oaUsers = append(oaUsers, seeyonfake.User{LoginName: u.OALogin, Name: u.Name})
		dtUsers = append(dtUsers, dingtalkfake.User{UserID: u.DingTalkUserID, UnionID: "union-" + u.ID, Name: u.Name})
	}
	// Someone the catalog does not know, in both systems.
	oaUsers = append(oaUsers, seeyonfake.User{LoginName: "sunqi", Name: "孙七"})
	dtUsers = append(dtUsers, dingtalkfake.User{UserID: "sunqi", UnionID: "union-sunqi", Name: "孙七"})
	lr := &liveRig{rig: r, connected: make(chan struct{}, 8),
		oaFake: seeyonfake.New("rest", "pw", oaRooms, oaUsers, seeyonfake.WithZone(shanghai), seeyonfake.WithNow(c.Now)),
		dtFake: dingtalkfake.New("key", "secret", dtRooms, dtUsers, dingtalkfake.WithNow(c.Now)),
	}
	oaSrv := httptest.NewServer(lr.oaFake)
	dtSrv := httptest.NewServer(lr.dtFake)
	t.Cleanup(func() { lr.oaFake.Close(); oaSrv.Close(); dtSrv.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	oc, err := oa.New(oa.Config{BaseURL: oaSrv.URL, RestUser: "rest", RestPassword: "pw", Zone: shanghai, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	lr.usage = NewUsage(s, models.BackendDingTalk, 3000, shanghai, log)
	if err := lr.usage.Load(context.Background(), c.Now()); err != nil {
		t.Fatal(err)
	}
	dc, err := dingtalk.New(dingtalk.Config{BaseURL: dtSrv.URL, OAPIURL: dtSrv.URL, AppKey: "key", AppSecret: "secret", Now: c.Now,
		Sleep: func(context.Context, time.Duration) error { return nil },
		OnCall: func(api string, metered bool, err error) {
			if metered {
				lr.usage.Record(c.Now())
			}
		},
		OnStreamConnect: func() {
			select {
			case lr.connected <- struct{}{}:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	oaB := &OA{Client: oc, SyncLogin: "admin", Store: s}
	dtB := &DingTalk{Client: dc, Store: s, Zone: shanghai, Log: log, Operator: "admin", Now: c.Now}
	lr.dt = dtB
	var nc *NotifyConfig
	if notify {
		nc = &NotifyConfig{Notifier: DingTalkNotifier{Client: dc, AgentID: 4242, Location: shanghai}, BaseURL: notifyBase, After: notifyWait}
		s.SetNotifyConflicts(true)
	}
	r.disp = NewDispatcher(DispatcherConfig{Store: s, Backends: []Backend{oaB, dtB}, Routing: r.routing, Now: c.Now, Logger: log,
		Backoff: func(int) time.Duration { return time.Minute }, Notify: nc})
	r.svc = NewService(ServiceConfig{Store: s, Routing: r.routing, Backends: []models.Backend{models.BackendOA, models.BackendDingTalk},
		Access: models.NewAccess("admin"), Now: c.Now, Logger: log, Dispatcher: r.disp})
	// A short window keeps the OA's day-by-day occupancy reads few.
	lr.oaSync = NewSyncer(SyncerConfig{Store: s, Source: oaB, Routing: r.routing, Now: c.Now, Logger: log, Back: 24 * time.Hour, Ahead: 14 * 24 * time.Hour})
	lr.dtSync = NewSyncer(SyncerConfig{Store: s, Source: dtB, Routing: r.routing, Now: c.Now, Logger: log, Usage: lr.usage, Back: 24 * time.Hour, Ahead: 14 * 24 * time.Hour})
	return lr
}

func eachLive(t *testing.T, fn func(t *testing.T, r *liveRig)) {
	eachRig(t, func(t *testing.T, r *rig) { fn(t, newLiveRig(t, r.store, r.clock)) })
}

func liveOA(f *seeyonfake.Server) int {
	n := 0
	for _, b := range f.Bookings() {
		if !b.Cancelled {
			n++
		}
	}
	return n
}

func liveDT(f *dingtalkfake.Server) int {
	n := 0
	for _, e := range f.Events() {
		if e.Status != "cancelled" {
			n++
		}
	}
	return n
}

func TestLiveBookBothSystems(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		tomorrow, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(11, 14), time.Hour), "")
		later, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 14), time.Hour), "")
		r.drain(t)
		a, b := mustGet(t, r.rig, tomorrow.ID), mustGet(t, r.rig, later.ID)
		if a.Backend != models.BackendOA || a.Status != models.StatusConfirmed || b.Backend != models.BackendDingTalk || b.Status != models.StatusConfirmed {
			t.Fatalf("bookings = %s/%s and %s/%s, want oa/confirmed and dingtalk/confirmed (reasons %v %v)", a.Backend, a.Status, b.Backend, b.Status, a.Reason(), b.Reason())
		}
		if liveOA(r.oaFake) != 1 || liveDT(r.dtFake) != 1 {
			t.Errorf("fakes hold OA %d, DingTalk %d; want 1 and 1", liveOA(r.oaFake), liveDT(r.dtFake))
		}
		// The DingTalk event carries the room; the organizer's unionId was resolved and kept.
		ev := r.dtFake.Events()[0]
		if ev.OrganizerUnionID != "union-zhangsan" || len(ev.RoomIDs) != 1 || ev.RoomIDs[0] != "dt-duowei" {
			t.Errorf("DingTalk event = %+v, want organizer union-zhangsan in room dt-duowei", ev)
		}
		if u, _ := r.store.User(ctx, "zhangsan"); u.DingTalkUnionID != "union-zhangsan" {
			t.Errorf("stored unionId = %q", u.DingTalkUnionID)
		}
		// Sync sees the bridge bookings and imports nothing twice.
		r.clock.Add(time.Minute) // each pass reads the backend after the last change
		if _, err := r.oaSync.Pass(ctx, false); err != nil {
			t.Fatal(err)
		}
		r.clock.Add(time.Minute) // each pass reads the backend after the last change
		if _, err := r.dtSync.Pass(ctx, false); err != nil {
			t.Fatal(err)
		}
		if all, _ := r.store.Reservations(ctx, models.Filter{}); len(all) != 2 {
			t.Errorf("after sync %d reservations, want 2", len(all))
		}
		// Cancel through the bridge releases both.
		r.svc.Cancel(ctx, r.zhangsan, tomorrow.ID)
		r.svc.Cancel(ctx, r.zhangsan, later.ID)
		r.drain(t)
		if liveOA(r.oaFake) != 0 || liveDT(r.dtFake) != 0 {
			t.Errorf("after cancel fakes hold OA %d, DingTalk %d; want 0 and 0", liveOA(r.oaFake), liveDT(r.dtFake))
		}
	})
}

func TestLiveNativeBookingsSync(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		oaID, err := r.oaFake.AddNative("-2295828016161864200", "lisi", at(12, 9), at(12, 10), "部门例会，讨论；预算")
		if err != nil {
			t.Fatal(err)
		}
		dtID, err := r.dtFake.AddNative("union-wangwu", "dt-duowei", "钉钉直接预订", at(20, 15), at(20, 16))
		if err != nil {
			t.Fatal(err)
		}
		r.clock.Add(time.Minute) // each pass reads the backend after the last change
		r.oaSync.Pass(ctx, false)
		r.clock.Add(time.Minute) // each pass reads the backend after the last change
		r.dtSync.Pass(ctx, false)
		o, err1 := r.store.ReservationByRemote(ctx, models.BackendOA, oaID)
		d, err2 := r.store.ReservationByRemote(ctx, models.BackendDingTalk, dtID)
		if err1 != nil || err2 != nil || o.Title != "部门例会，讨论；预算" || d.Title != "钉钉直接预订" || d.OrganizerName != "王五" {
			t.Fatalf("synced = %+v (%v), %+v (%v)", o, err1, d, err2)
		}
		// Both now block the form in their slots.
		for _, slot := range []time.Time{at(12, 9), at(20, 15)} {
			if _, err := r.svc.Book(ctx, r.zhangsan, req("duowei", slot, 30*time.Minute), ""); err == nil {
				t.Errorf("Book(%s) over a native booking succeeded", slot)
			}
		}
		// Native edits: the DingTalk one moves, the OA one is cancelled.
		if err := r.dtFake.MoveNative(dtID, at(20, 17), at(20, 18)); err != nil {
			t.Fatal(err)
		}
		if err := r.oaFake.CancelNative(oaID); err != nil {
			t.Fatal(err)
		}
		r.clock.Add(time.Minute) // each pass reads the backend after the last change
		r.oaSync.Pass(ctx, false)
		r.clock.Add(time.Minute) // each pass reads the backend after the last change
		r.dtSync.Pass(ctx, false)
		o, _ = r.store.ReservationByRemote(ctx, models.BackendOA, oaID)
		d, _ = r.store.ReservationByRemote(ctx, models.BackendDingTalk, dtID)
		if o.Status != models.StatusCancelled || o.Sequence != 1 {
			t.Errorf("natively cancelled OA booking = %s seq %d, want cancelled seq 1", o.Status, o.Sequence)
		}
		if !d.Start.Equal(at(20, 17)) || d.Sequence != 1 {
			t.Errorf("natively moved DingTalk booking = %s seq %d, want 17:00 seq 1", d.Start, d.Sequence)
		}
		if r.usage.Count() == 0 {
			t.Error("no metered DingTalk calls were counted")
		}
	})
}

func TestLiveBackendDownThenRecovers(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		r.oaFake.SetFault(seeyonfake.Fault{Kind: seeyonfake.FaultDown})
		r.dtFake.SetFault(dingtalkfake.Fault{Kind: dingtalkfake.FaultServerError})
		a, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(11, 14), time.Hour), "")
		b, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 14), time.Hour), "")
		r.drain(t)
		if mustGet(t, r.rig, a.ID).Status != models.StatusPending || mustGet(t, r.rig, b.ID).Status != models.StatusPending {
			t.Fatal("bookings are not pending while both backends are down")
		}
		r.oaFake.ClearFaults()
		r.dtFake.ClearFaults()
		r.clock.Add(2 * time.Minute)
		r.drain(t)
		if mustGet(t, r.rig, a.ID).Status != models.StatusConfirmed || mustGet(t, r.rig, b.ID).Status != models.StatusConfirmed {
			t.Fatal("bookings not confirmed after the backends recovered")
		}
		if liveOA(r.oaFake) != 1 || liveDT(r.dtFake) != 1 {
			t.Errorf("fakes hold OA %d, DingTalk %d; want exactly 1 and 1", liveOA(r.oaFake), liveDT(r.dtFake))
		}
	})
}

func TestLiveLostAnswersBookOnce(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		r.oaFake.SetFault(seeyonfake.Fault{Endpoint: "execApp", Kind: seeyonfake.FaultEmptyAfterWrite, Times: 1})
		r.dtFake.SetFault(dingtalkfake.Fault{API: dingtalkfake.APIAddMeetingRooms, Kind: dingtalkfake.FaultLostAnswer, Times: 10})
		a, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(11, 14), time.Hour), "")
		b, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 14), time.Hour), "")
		r.drain(t)
		r.dtFake.ClearFaults()
		for i := 0; i < 3; i++ {
			r.clock.Add(2 * time.Minute)
			r.drain(t)
		}
		if s := mustGet(t, r.rig, a.ID); s.Status != models.StatusConfirmed {
			t.Errorf("OA booking = %s %v, want confirmed", s.Status, s.Reason())
		}
		if s := mustGet(t, r.rig, b.ID); s.Status != models.StatusConfirmed {
			t.Errorf("DingTalk booking = %s %v, want confirmed", s.Status, s.Reason())
		}
		if liveOA(r.oaFake) != 1 || liveDT(r.dtFake) != 1 {
			t.Errorf("fakes hold OA %d, DingTalk %d; want exactly 1 and 1", liveOA(r.oaFake), liveDT(r.dtFake))
		}
	})
}

// An exhausted DingTalk quota refuses the booking with the reason instead of leaving it
// pending until the month turns.
func TestLiveDingTalkQuotaExhausted(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		r.dtFake.SetFault(dingtalkfake.Fault{API: dingtalkfake.APICreateEvent, Kind: dingtalkfake.FaultQuotaExhausted})
		b, _ := r.svc.Book(ctx, r.zhangsan, req("duowei", at(20, 14), time.Hour), "")
		r.drain(t)
		got := mustGet(t, r.rig, b.ID)
		if got.Status != models.StatusRejected || got.ReasonCode != "dingtalk_quota" {
			t.Errorf("booking with DingTalk's quota used up = %s %v, want rejected with reason dingtalk_quota", got.Status, got.Reason())
		}
	})
}

// With Stream mode on, a booking made, moved or cancelled directly in DingTalk reaches
// the reservations table at once, without a sync pass, whichever events the org's
// Stream delivers. A new booking announced by meetingroom_book costs no metered call;
// calendar_event_change is read (one call) until room events are seen to arrive.
func TestLiveStreamEvents(t *testing.T) {
	for _, tc := range []struct {
		name      string
		delivered []string
		perChange int // events the fake sends for each change
		calls     [3]int
	}{
		{"calendar events only", []string{dingtalkfake.EventCalendarChange}, 1, [3]int{1, 1, 1}},
		{"room events only", []string{dingtalkfake.EventRoomBooking}, 1, [3]int{0, 1, 1}},
		// The first calendar event is read (no room event seen yet); later ones are not.
		{"both", nil, 2, [3]int{1, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachLive(t, func(t *testing.T, r *liveRig) { checkStreamEvents(t, r, tc.delivered, tc.perChange, tc.calls) })
		})
	}
}

// checkStreamEvents makes, moves and cancels a booking directly in DingTalk with the
// fake delivering the event types delivered, and checks the table after each change and
// the metered calls each change cost.
func checkStreamEvents(t *testing.T, r *liveRig, delivered []string, perChange int, calls [3]int) {
	r.dtFake.SetStreamEvents(delivered...)
	ctx, cancel := context.WithCancel(context.Background())
	handled := make(chan error, 8)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.dt.Client.Listen(ctx, func(ctx context.Context, ev dingtalk.StreamEvent) error {
			err := r.dt.HandleEvent(ctx, ev)
			handled <- err
			return err
		})
	}()
	defer func() { cancel(); <-done }()
	// The directory lookup that resolves unionIds runs with sync; do it once so the
	// organiser's name is known.
	r.dtSync.Pass(context.Background(), false)
	step := 0
	wait := func(what string) {
		t.Helper()
		for range perChange {
			select {
			case err := <-handled:
				if err != nil {
					t.Fatalf("%s: HandleEvent() = %v", what, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: no event handled within 10 s", what)
			}
		}
		step++
	}
	select {
	case <-r.connected:
	case <-time.After(10 * time.Second):
		t.Fatal("no Stream connection within 10 s")
	}
	metered := r.dtFake.MeteredCalls()
	spent := func(what string) {
		t.Helper()
		if got := r.dtFake.MeteredCalls() - metered; got != calls[step-1] {
			t.Errorf("%s cost %d metered calls, want %d", what, got, calls[step-1])
		}
		metered = r.dtFake.MeteredCalls()
	}
	id, err := r.dtFake.AddNative("union-wangwu", "dt-sk-xiaoyao", "钉钉里直接约", at(20, 9), at(20, 10))
	if err != nil {
		t.Fatal(err)
	}
	wait("create")
	spent("create")
	got, err := r.store.ReservationByRemote(context.Background(), models.BackendDingTalk, id)
	if err != nil || got.Title != "钉钉里直接约" || got.RoomID != "sk-xiaoyao" || got.OrganizerName != "王五" || got.OrganizerID != "wangwu" || got.Status != models.StatusConfirmed || !got.Start.Equal(at(20, 9)) || !got.End.Equal(at(20, 10)) {
		t.Fatalf("after the create event: %+v, %v", got, err)
	}
	if err := r.dtFake.MoveNative(id, at(20, 14), at(20, 15)); err != nil {
		t.Fatal(err)
	}
	wait("move")
	spent("move")
	got, _ = r.store.ReservationByRemote(context.Background(), models.BackendDingTalk, id)
	if !got.Start.Equal(at(20, 14)) || got.Sequence != 1 {
		t.Errorf("after the move event: %s seq %d, want 14:00 seq 1", got.Start, got.Sequence)
	}
	if err := r.dtFake.CancelNative(id); err != nil {
		t.Fatal(err)
	}
	wait("cancel")
	spent("cancel")
	got, _ = r.store.ReservationByRemote(context.Background(), models.BackendDingTalk, id)
	if got.Status != models.StatusCancelled || got.Sequence != 2 {
		t.Errorf("after the cancel event: %s seq %d, want cancelled seq 2", got.Status, got.Sequence)
	}
	// What /admin shows of it.
	r.dt.NoteStream(true)
	st := r.dt.StreamStatus()
	rooms, calendars := len(delivered) == 0 || slices.Contains(delivered, dingtalkfake.EventRoomBooking), len(delivered) == 0 || slices.Contains(delivered, dingtalkfake.EventCalendarChange)
	if !st.Connected || !st.Since.Equal(r.clock.Now()) || st.RoomEventsAt.IsZero() != !rooms || st.CalendarEventsAt.IsZero() != !calendars || st.RoomEventsTrusted != rooms {
		t.Errorf("StreamStatus() = %+v, want connected now, room events %v, calendar events %v", st, rooms, calendars)
	}
}

// roomEvent is a meetingroom_book Stream event born at bornAt with the given payload.
func roomEvent(t *testing.T, bornAt time.Time, payload map[string]any) dingtalk.StreamEvent {
	t.Helper()
	data, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return dingtalk.StreamEvent{Type: dingtalk.EventRoomBooking, ID: "evt", At: bornAt, Data: data}
}

// A meetingroom_book payload is applied as DingTalk states it: approval pending is
// tentative, an organizer the catalog does not know keeps DingTalk's name, rooms the
// catalog does not map are ignored, a redelivered event changes nothing, and an event
// older than a later change does not undo it.
func TestLiveRoomBookingEvents(t *testing.T) {
	eachLive(t, func(t *testing.T, r *liveRig) {
		ctx := context.Background()
		born := r.clock.Now()
		booked := map[string]any{"eventSubType": "appvaral", "bookId": "b1", "roomId": "dt-sk-xiaoyao", "roomName": "逍遥",
			"userId": "sunqi", "userName": "孙七", "title": "评审", "startTime": "2023-04-20 09:00:00", "endTime": "2023-04-20 10:30:00",
			"isApproval": true, "preStatus": "INIT", "extension": map[string]string{"calendarEventId": "primary;ev-approve"}}
		metered := r.dtFake.MeteredCalls()
		for range 2 { // DingTalk may deliver an event again
			if err := r.dt.HandleEvent(ctx, roomEvent(t, born, booked)); err != nil {
				t.Fatalf("HandleEvent(appvaral) = %v", err)
			}
		}
		got, err := r.store.ReservationByRemote(ctx, models.BackendDingTalk, "ev-approve")
		if err != nil || got.Status != models.StatusTentative || got.RoomID != "sk-xiaoyao" || got.Title != "评审" ||
			got.OrganizerID != "" || got.OrganizerName != "孙七" || got.OrganizerRef != "dingtalk-union:union-sunqi" ||
			!got.Start.Equal(at(20, 9)) || !got.End.Equal(at(20, 10).Add(30*time.Minute)) || got.Sequence != 0 {
			t.Fatalf("after appvaral: %+v, %v", got, err)
		}
		if n := r.dtFake.MeteredCalls() - metered; n != 0 {
			t.Errorf("applying a new booking from its event cost %d metered calls, want 0", n)
		}

		other := maps.Clone(booked)
		other["eventSubType"], other["roomId"] = "bookSuccess", "dt-not-in-catalog"
		other["extension"] = map[string]string{"calendarEventId": "primary;ev-elsewhere"}
		if err := r.dt.HandleEvent(ctx, roomEvent(t, born, other)); err != nil {
			t.Fatalf("HandleEvent(unmapped room) = %v", err)
		}
		if _, err := r.store.ReservationByRemote(ctx, models.BackendDingTalk, "ev-elsewhere"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("a booking of a room the catalog does not map was stored (err %v)", err)
		}

		// The event is gone in DingTalk (the fake never held it): a cancel read a minute
		// later cancels the booking, and the first event, delivered again, does not bring
		// it back.
		r.clock.Add(time.Minute)
		cancelled := map[string]any{"eventSubType": "bookCancel", "bookId": "b1", "preStatus": "APPROVALING", "isApproval": true,
			"extension": map[string]string{"calendarEventId": "primary;ev-approve"}}
		if err := r.dt.HandleEvent(ctx, roomEvent(t, r.clock.Now(), cancelled)); err != nil {
			t.Fatalf("HandleEvent(bookCancel) = %v", err)
		}
		r.clock.Add(time.Minute)
		if err := r.dt.HandleEvent(ctx, roomEvent(t, born, booked)); err != nil {
			t.Fatalf("HandleEvent(stale appvaral) = %v", err)
		}
		got, _ = r.store.ReservationByRemote(ctx, models.BackendDingTalk, "ev-approve")
		if got.Status != models.StatusCancelled || got.Sequence != 1 {
			t.Errorf("after the cancel and a stale redelivery: %s seq %d, want cancelled seq 1", got.Status, got.Sequence)
		}
	})
}

func TestRoomBookingPayload(t *testing.T) {
	for _, tc := range []struct {
		ext, start, end string
		id              string
		ok              bool
	}{
		{"primary;VjhtS2", "2026-09-01 10:00:00", "2026-09-01 11:00:00", "VjhtS2", true},
		{"VjhtS2", " 2026-09-01 10:00:00 ", "2026-09-01 11:00:00", "VjhtS2", true},
		{"", "2026-09-01 10:00", "2026-09-01 11:00:00", "", false},
		{"primary;x", "2026-09-01T10:00:00+08:00", "2026-09-01 11:00:00", "x", false},
		{"primary;x", "2026-09-01 11:00:00", "2026-09-01 11:00:00", "x", false},
	} {
		var b dingtalk.RoomBooking
		b.Extension.CalendarEventID, b.StartTime, b.EndTime = tc.ext, tc.start, tc.end
		if got := b.EventID(); got != tc.id {
			t.Errorf("EventID(%q) = %q, want %q", tc.ext, got, tc.id)
		}
		start, end, ok := b.Times()
		if ok != tc.ok {
			t.Errorf("Times(%q, %q) ok = %v, want %v", tc.start, tc.end, ok, tc.ok)
		}
		if ok && (!start.Equal(time.Date(2026, 9, 1, 10, 0, 0, 0, shanghai)) || end.Sub(start) != time.Hour) {
			t.Errorf("Times(%q, %q) = %s, %s; want 10:00–11:00 China time", tc.start, tc.end, start, end)
		}
	}
}
