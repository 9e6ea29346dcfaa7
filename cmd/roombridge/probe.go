package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"roombridge/bridge/dingtalk"
	"roombridge/bridge/oa"
	"roombridge/models"
)

// probe checks, against the configured OA and DingTalk, every assumption the adapters make
// that only the in-repo fakes confirm: credentials and token refresh, the catalog's rooms
// and users, readable room schedules, the shapes of the OA's list calls and, with a write
// room, one booking round trip in each system. It never leaves a booking behind.

// probeCheck is one line of the report.
type probeCheck struct {
	System   string `json:"system"` // "oa", "dingtalk" or "config"
	Check    string `json:"check"`
	OK       bool   `json:"ok"`
	Evidence string `json:"evidence"`
}

// probeReport is the whole report (the JSON of probe --json).
type probeReport struct {
	OK     bool         `json:"ok"`
	Checks []probeCheck `json:"checks"`
}

func (r *probeReport) add(system, check string, ok bool, format string, args ...any) bool {
	r.Checks = append(r.Checks, probeCheck{System: system, Check: check, OK: ok, Evidence: fmt.Sprintf(format, args...)})
	return ok
}

// errEvidence is the evidence line of a failed call: its error, which names the request,
// the status and the backend's own text.
func errEvidence(err error) string { return err.Error() }

// probeStep bounds one probe call.
const probeStep = 30 * time.Second

// probeOptions are probe's own flags.
type probeOptions struct {
	writeRoom string // catalog room id for the booking round trip; "" skips it
	asJSON    bool
}

// parseProbeArgs takes probe's own flags out of args.
func parseProbeArgs(args []string) (probeOptions, []string, error) {
	var o probeOptions
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--json" || a == "-json":
			o.asJSON = true
		case a == "--write" || a == "-write":
			if i+1 >= len(args) || strings.HasPrefix(args[i+1], "-") {
				return o, nil, fmt.Errorf("probe: --write needs a catalog room id")
			}
			i++
			o.writeRoom = args[i]
		case strings.HasPrefix(a, "--write=") || strings.HasPrefix(a, "-write="):
			o.writeRoom = a[strings.Index(a, "=")+1:]
		default:
			rest = append(rest, a)
		}
	}
	return o, rest, nil
}

// runProbe runs every check and prints the report; it returns an error when any check
// failed.
func runProbe(ctx context.Context, cfg config, o probeOptions, stdout, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	cat, err := cfg.catalog()
	if err != nil {
		return err
	}
	a := &app{cfg: cfg, catalog: cat, log: log, now: time.Now}
	oaURL, dtURL, dtOAPI := cfg.OAURL, cfg.DingTalkURL, cfg.DingTalkOAPIURL
	oaUser, oaPass, appKey, appSecret := cfg.OAUser, cfg.OAPassword, cfg.DingTalkAppKey, cfg.DingTalkAppSecret
	if cfg.Demo {
		f, err := startFakes(ctx, cat, cfg.Zone, time.Now, log)
		if err != nil {
			return err
		}
		defer f.close()
		oaURL, dtURL, dtOAPI = f.oaURL, f.dtURL, f.dtURL
		oaUser, oaPass, appKey, appSecret = fakeOAUser, fakeOAPassword, fakeAppKey, fakeAppSecret
	}

	rep := &probeReport{}
	var writeRoom *models.Room
	if o.writeRoom != "" {
		for _, r := range cat.Rooms() {
			if r.ID == o.writeRoom {
				writeRoom = &r
			}
		}
		if writeRoom == nil {
			rep.add("config", "write room", false, "--write %s: no such room in the catalog", o.writeRoom)
		}
	}
	if oaURL == "" && appKey == "" {
		rep.add("config", "backends", false, "neither ROOMBRIDGE_OA_URL nor ROOMBRIDGE_DINGTALK_APP_KEY is set")
	}
	if oaURL != "" {
		client, err := oa.New(oa.Config{BaseURL: oaURL, RestUser: oaUser, RestPassword: oaPass, Zone: cfg.Zone})
		if err != nil {
			rep.add("oa", "configuration", false, "%v", err)
		} else {
			probeOA(ctx, rep, client, cat, a.syncLogin(), cfg.Zone, writeRoom)
		}
	}
	if appKey != "" {
		client, err := dingtalk.New(dingtalk.Config{BaseURL: dtURL, OAPIURL: dtOAPI, AppKey: appKey, AppSecret: appSecret, MaxAttempts: 2})
		if err != nil {
			rep.add("dingtalk", "configuration", false, "%v", err)
		} else {
			probeDingTalk(ctx, rep, client, cat, a.operator(), cfg.Zone, writeRoom)
		}
	}

	failed := 0
	for _, c := range rep.Checks {
		if !c.OK {
			failed++
		}
	}
	rep.OK = failed == 0
	if o.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		for _, c := range rep.Checks {
			mark := "✔"
			if !c.OK {
				mark = "✘"
			}
			fmt.Fprintf(stdout, "%s %-8s %s: %s\n", mark, c.System, c.Check, c.Evidence)
		}
	}
	if failed > 0 {
		return fmt.Errorf("probe: %d of %d checks failed", failed, len(rep.Checks))
	}
	return nil
}

// step gives one probe call its own timeout.
func step(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, probeStep)
}

func probeOA(ctx context.Context, rep *probeReport, c *oa.Client, cat models.Catalog, login string, zone *time.Location, write *models.Room) {
	const sys = "oa"
	if login == "" {
		rep.add(sys, "credentials", false, "no OA login to act as: set ROOMBRIDGE_OA_SYNC_LOGIN or give a catalog user an oa_login")
		return
	}
	sctx, cancel := step(ctx)
	member, err := c.MemberID(sctx, login)
	cancel()
	switch {
	case err != nil:
		rep.add(sys, "credentials", false, "POST /seeyon/rest/token {userName, loginName %s}: %s (remaining OA checks skipped)", login, errEvidence(err))
		return
	case member == "":
		rep.add(sys, "credentials", false, "POST /seeyon/rest/token {loginName %s} → 200 with a token but no bindingUser.id: native OA bookings cannot be mapped to their applicants", login)
	default:
		rep.add(sys, "credentials", true, "POST /seeyon/rest/token {loginName %s} → 200, token id, bindingUser.id %s", login, member)
	}
	sctx, cancel = step(ctx)
	err = c.CheckTokenRejection(sctx)
	cancel()
	if err != nil {
		rep.add(sys, "token refresh", false, "%s", errEvidence(err))
	} else {
		rep.add(sys, "token refresh", true, "POST meeting/getMeetingRooms with an invalid token → 401 or code 1010, which the client answers with a new token")
	}

	sctx, cancel = step(ctx)
	rooms, err := c.Rooms(sctx, login)
	cancel()
	listed := map[string]oa.Room{}
	if err != nil {
		rep.add(sys, "room list", false, "POST meeting/getMeetingRooms as %s: %s", login, errEvidence(err))
	} else if rep.add(sys, "room list", len(rooms) > 0, "POST meeting/getMeetingRooms as %s → %d rows with an id (FlipInfo data[].id/roomId, name)", login, len(rooms)) {
		for _, r := range rooms {
			listed[r.ID] = r
		}
	}
	var mapped []models.Room
	for _, r := range cat.Rooms() {
		if r.OARoomID == "" {
			continue
		}
		mapped = append(mapped, r)
		if err != nil || len(rooms) == 0 {
			continue
		}
		if got, ok := listed[r.OARoomID]; ok {
			rep.add(sys, "room "+r.ID, true, "oa_room_id %s listed by getMeetingRooms as %q", r.OARoomID, got.Name)
		} else {
			rep.add(sys, "room "+r.ID, false, "oa_room_id %s (%s) is not among the %d rooms getMeetingRooms lists for %s", r.OARoomID, r.Name, len(rooms), login)
		}
	}

	for _, u := range cat.Users {
		if u.OALogin == "" {
			continue
		}
		sctx, cancel = step(ctx)
		m, err := c.MemberID(sctx, u.OALogin)
		cancel()
		if err != nil {
			rep.add(sys, "user "+u.ID, false, "POST /seeyon/rest/token {loginName %s}: %s", u.OALogin, errEvidence(err))
		} else {
			rep.add(sys, "user "+u.ID, true, "login %s → token, bindingUser.id %q", u.OALogin, m)
		}
	}

	today := dayOf(time.Now(), zone)
	for _, r := range mapped {
		sctx, cancel = step(ctx)
		occ, err := c.Occupancy(sctx, login, r.OARoomID, today, today.AddDate(0, 0, 1))
		cancel()
		if err != nil {
			rep.add(sys, "schedule "+r.ID, false, "%s", errEvidence(err))
		} else {
			rep.add(sys, "schedule "+r.ID, true, "POST meeting/%s {roomId %s, qDate %s} → list of %d MeetingRoomOccupancyVO (appId, startDatetime, endDatetime, description)",
				strings.TrimPrefix(c.OccupancyEndpoint(), "meeting/"), r.OARoomID, today.Format("2006-01-02"), len(occ))
		}
	}
	if len(mapped) > 0 {
		sctx, cancel = step(ctx)
		days, err := c.OrderDates(sctx, login, mapped[0].OARoomID)
		cancel()
		if err != nil {
			rep.add(sys, "getOrderDate shape", false, "%s", errEvidence(err))
		} else {
			rep.add(sys, "getOrderDate shape", true, "POST meeting/getOrderDate {roomId %s} → %d yyyy-MM-dd strings (a hint only; sync reads every day)", mapped[0].OARoomID, len(days))
		}
	}
	sctx, cancel = step(ctx)
	mine, err := c.MyBookings(sctx, login, today.AddDate(0, 0, -30), today.AddDate(0, 0, 180))
	cancel()
	if err != nil {
		rep.add(sys, "getApplyMeemtingRooms shape", false, "%s", errEvidence(err))
	} else {
		rep.add(sys, "getApplyMeemtingRooms shape", true, "POST meeting/getApplyMeemtingRooms {openFrom meetingRoomList} → FlipInfo of MeetingRoomRestVO, %d of %s's bookings in the window", len(mine), login)
	}

	if write != nil {
		if write.OARoomID == "" {
			rep.add(sys, "write", false, "room %s has no oa_room_id", write.ID)
		} else {
			probeOAWrite(ctx, rep, c, login, *write, zone)
		}
	}
}

// probeOAWrite books a free ten-minute slot a week ahead, finds it, cancels it and checks
// it is gone; whatever fails, every booking carrying its marker is cancelled at the end.
func probeOAWrite(ctx context.Context, rep *probeReport, c *oa.Client, login string, room models.Room, zone *time.Location) {
	const sys = "oa"
	day := dayOf(time.Now(), zone).AddDate(0, 0, 7)
	sctx, cancel := step(ctx)
	occ, err := c.Occupancy(sctx, login, room.OARoomID, day, day.AddDate(0, 0, 1))
	cancel()
	if err != nil {
		rep.add(sys, "write: free slot", false, "%s", errEvidence(err))
		return
	}
	var busy [][2]time.Time
	for _, o := range occ {
		busy = append(busy, [2]time.Time{o.Start, o.End})
	}
	start, ok := freeSlot(day, busy)
	if !rep.add(sys, "write: free slot", ok, "room %s on %s: %d bookings, first free 10 minutes at %s", room.ID, day.Format("2006-01-02"), len(occ), start.Format("15:04")) {
		return
	}
	end := start.Add(10 * time.Minute)
	marker := "[rb:probe-" + randomHex() + "]"
	listed := func() ([]string, error) {
		sctx, cancel := step(context.WithoutCancel(ctx))
		defer cancel()
		occ, err := c.Occupancy(sctx, login, room.OARoomID, day, day.AddDate(0, 0, 1))
		var ids []string
		for _, o := range occ {
			if slices.Contains(strings.Fields(o.Description), marker) {
				ids = append(ids, o.AppID)
			}
		}
		return ids, err
	}
	defer func() {
		// Clean up: whatever carries the marker goes.
		ids, err := listed()
		if err != nil {
			rep.add(sys, "write: clean up", false, "could not read room %s to clean up booking %s: %s", room.ID, marker, errEvidence(err))
			return
		}
		for _, id := range ids {
			sctx, cancel := step(context.WithoutCancel(ctx))
			err := c.Cancel(sctx, login, id, "roombridge probe")
			cancel()
			rep.add(sys, "write: clean up", err == nil, "cancelMeetRoomApp %s left by a failed step: %v", id, err)
		}
	}()

	sctx, cancel = step(ctx)
	id, err := c.Book(sctx, login, oa.BookRequest{RoomID: room.OARoomID, Start: start, End: end, Description: "roombridge probe", Marker: marker})
	cancel()
	if !rep.add(sys, "write: book", err == nil, "checkMeetingRoomConflict, execApp {roomId %s, %s–%s}, found via getMeetingRoomApps → roomAppId %s%s",
		room.OARoomID, start.Format("2006-01-02 15:04"), end.Format("15:04"), id, errSuffix(err)) {
		return
	}
	ids, err := listed()
	if !rep.add(sys, "write: find", err == nil && slices.Contains(ids, id), "getMeetingRoomApps {roomId %s, qDate %s} lists roomAppId %s with marker %s: %v%s",
		room.OARoomID, day.Format("2006-01-02"), id, marker, slices.Contains(ids, id), errSuffix(err)) {
		return
	}
	sctx, cancel = step(ctx)
	err = c.Cancel(sctx, login, id, "roombridge probe")
	cancel()
	if !rep.add(sys, "write: cancel", err == nil, "cancelMeetRoomApp {roomAppId %s, cancelContent}%s", id, errSuffix(err)) {
		return
	}
	ids, err = listed()
	rep.add(sys, "write: gone", err == nil && !slices.Contains(ids, id), "getMeetingRoomApps no longer lists %s: %v%s", id, !slices.Contains(ids, id), errSuffix(err))
}

func probeDingTalk(ctx context.Context, rep *probeReport, c *dingtalk.Client, cat models.Catalog, operator string, zone *time.Location, write *models.Room) {
	const sys = "dingtalk"
	sctx, cancel := step(ctx)
	err := c.RefreshToken(sctx)
	if err == nil {
		err = c.RefreshToken(sctx)
	}
	cancel()
	if err != nil {
		rep.add(sys, "credentials", false, "POST /v1.0/oauth2/accessToken {appKey, appSecret}: %s (remaining DingTalk checks skipped)", errEvidence(err))
		return
	}
	rep.add(sys, "credentials", true, "POST /v1.0/oauth2/accessToken → accessToken, expireIn; dropped and issued again")

	var opUnion string
	var opUser models.User
	for _, u := range cat.Users {
		if u.ID == operator {
			opUser = u
		}
	}
	unions := map[string]string{} // catalog user id → unionId
	for _, u := range cat.Users {
		if u.DingTalkUserID == "" {
			if u.DingTalkUnionID != "" {
				unions[u.ID] = u.DingTalkUnionID
			}
			continue
		}
		sctx, cancel = step(ctx)
		union, err := c.UnionID(sctx, u.DingTalkUserID)
		cancel()
		switch {
		case err != nil:
			rep.add(sys, "user "+u.ID, false, "POST /topapi/v2/user/get {userid %s}: %s", u.DingTalkUserID, errEvidence(err))
		case u.DingTalkUnionID != "" && u.DingTalkUnionID != union:
			rep.add(sys, "user "+u.ID, false, "userid %s → unionid %s, but the catalog says dingtalk_union_id %s", u.DingTalkUserID, union, u.DingTalkUnionID)
		default:
			unions[u.ID] = union
			rep.add(sys, "user "+u.ID, true, "POST /topapi/v2/user/get {userid %s} → errcode 0, unionid %s", u.DingTalkUserID, union)
		}
	}
	opUnion = unions[opUser.ID]
	if opUnion == "" {
		rep.add(sys, "operator", false, "operator %q has no resolvable DingTalk identity: set ROOMBRIDGE_DINGTALK_OPERATOR to a catalog user with dingtalk_user_id (room and schedule checks skipped)", operator)
		return
	}
	sctx, cancel = step(ctx)
	err = c.CheckTokenRejection(sctx, opUnion)
	cancel()
	if err != nil {
		rep.add(sys, "token refresh", false, "%s", errEvidence(err))
	} else {
		rep.add(sys, "token refresh", true, "an invalid token → old API errcode 40001/40014/42001 (or 88 with that sub_code), new API 400 InvalidAuthentication: both make the client fetch a new token")
	}

	sctx, cancel = step(ctx)
	rooms, err := c.Rooms(sctx, opUnion)
	cancel()
	var ids []string
	var mapped []models.Room
	for _, r := range cat.Rooms() {
		if r.DingTalkRoomID != "" {
			ids = append(ids, r.DingTalkRoomID)
			mapped = append(mapped, r)
		}
	}
	if err != nil {
		rep.add(sys, "room list", false, "GET /v1.0/rooms/meetingRoomLists?unionId=%s: %s", opUnion, errEvidence(err))
	} else {
		rep.add(sys, "room list", true, "GET /v1.0/rooms/meetingRoomLists as %s → %d rooms", operator, len(rooms))
		for _, r := range mapped {
			i := slices.IndexFunc(rooms, func(x dingtalk.Room) bool { return x.ID == r.DingTalkRoomID })
			if i >= 0 {
				rep.add(sys, "room "+r.ID, true, "dingtalk_room_id %s listed as %q", r.DingTalkRoomID, rooms[i].Name)
			} else {
				rep.add(sys, "room "+r.ID, false, "dingtalk_room_id %s (%s) is not among the %d rooms DingTalk lists for %s", r.DingTalkRoomID, r.Name, len(rooms), operator)
			}
		}
	}
	if len(ids) > 0 {
		now := time.Now()
		sctx, cancel = step(ctx)
		sched, err := c.RoomSchedules(sctx, opUnion, ids, now, now.Add(24*time.Hour))
		cancel()
		var roomErrs map[string]error
		if err != nil {
			roomErrs = map[string]error{}
			var re *dingtalk.RoomError
			for _, e := range unwrapAll(err) {
				if errors.As(e, &re) {
					roomErrs[re.RoomID] = e
				}
			}
			if len(roomErrs) == 0 {
				rep.add(sys, "schedules", false, "POST /v1.0/calendar/users/%s/meetingRooms/schedules/query: %s", opUnion, errEvidence(err))
			}
		}
		if err == nil || len(roomErrs) > 0 {
			for _, r := range mapped {
				if e, bad := roomErrs[r.DingTalkRoomID]; bad {
					rep.add(sys, "schedule "+r.ID, false, "schedules/query room %s: %s", r.DingTalkRoomID, e)
				} else {
					rep.add(sys, "schedule "+r.ID, true, "schedules/query {roomIds [%s], next 24 h} → %d scheduleItems, no per-room error", r.DingTalkRoomID, len(sched[r.DingTalkRoomID]))
				}
			}
		}
	}

	if write != nil {
		if write.DingTalkRoomID == "" {
			rep.add(sys, "write", false, "room %s has no dingtalk_room_id", write.ID)
		} else {
			probeDingTalkWrite(ctx, rep, c, opUnion, *write, zone)
		}
	}
}

// probeDingTalkWrite books a free ten-minute slot a week ahead as the operator, finds it,
// cancels it and checks it is gone; whatever fails, the event is cancelled at the end.
func probeDingTalkWrite(ctx context.Context, rep *probeReport, c *dingtalk.Client, opUnion string, room models.Room, zone *time.Location) {
	const sys = "dingtalk"
	day := dayOf(time.Now(), zone).AddDate(0, 0, 7)
	sctx, cancel := step(ctx)
	sched, err := c.RoomSchedules(sctx, opUnion, []string{room.DingTalkRoomID}, day, day.AddDate(0, 0, 1))
	cancel()
	if err != nil {
		rep.add(sys, "write: free slot", false, "%s", errEvidence(err))
		return
	}
	var busy [][2]time.Time
	for _, it := range sched[room.DingTalkRoomID] {
		busy = append(busy, [2]time.Time{it.Start, it.End})
	}
	start, ok := freeSlot(day, busy)
	if !rep.add(sys, "write: free slot", ok, "room %s on %s: %d busy periods, first free 10 minutes at %s", room.ID, day.Format("2006-01-02"), len(busy), start.Format("15:04")) {
		return
	}
	tag := randomHex()
	key := "probe-" + tag
	summary := "roombridge probe " + tag
	req := dingtalk.BookRequest{Key: key, OrganizerUnionID: opUnion, Summary: summary, Start: start, End: start.Add(10 * time.Minute), Zone: zone,
		RoomID: room.DingTalkRoomID, RoomName: room.Name}
	cancelled := false
	defer func() {
		if cancelled {
			return
		}
		// Clean up: every event of this probe on the operator's calendar goes.
		sctx, cancel := step(context.WithoutCancel(ctx))
		defer cancel()
		events, _, err := c.ListEvents(sctx, opUnion, dingtalk.ListQuery{TimeMin: req.Start, TimeMax: req.End})
		if err != nil {
			rep.add(sys, "write: clean up", false, "could not list %s's calendar to clean up %q: %s", opUnion, summary, errEvidence(err))
			return
		}
		for _, ev := range events {
			if ev.Summary == summary && ev.Status != dingtalk.StatusCancelled {
				err := c.CancelBooking(sctx, key, opUnion, ev.ID, room.DingTalkRoomID)
				rep.add(sys, "write: clean up", err == nil, "event %s left by a failed step removed: %v", ev.ID, err)
			}
		}
	}()

	sctx, cancel = step(ctx)
	id, err := c.BookRoom(sctx, req)
	cancel()
	if !rep.add(sys, "write: book", err == nil, "POST events (x-client-token), POST meetingRooms {roomId %s} %s–%s → event %s%s",
		room.DingTalkRoomID, req.Start.Format("2006-01-02 15:04"), req.End.Format("15:04"), id, errSuffix(err)) {
		return
	}
	sctx, cancel = step(ctx)
	ev, gerr := c.GetEvent(sctx, opUnion, id)
	got, serr := c.RoomSchedules(sctx, opUnion, []string{room.DingTalkRoomID}, day, day.AddDate(0, 0, 1))
	cancel()
	inSchedule := slices.ContainsFunc(got[room.DingTalkRoomID], func(it dingtalk.ScheduleItem) bool { return it.EventID == id })
	held := gerr == nil && slices.ContainsFunc(ev.Rooms, func(r dingtalk.EventRoom) bool { return r.RoomID == room.DingTalkRoomID })
	if !rep.add(sys, "write: find", held && inSchedule, "GET event %s holds room %s: %v; schedules/query lists it: %v%s%s",
		id, room.DingTalkRoomID, held, inSchedule, errSuffix(gerr), errSuffix(serr)) {
		return
	}
	sctx, cancel = step(ctx)
	err = c.CancelBooking(sctx, key, opUnion, id, room.DingTalkRoomID)
	cancel()
	if !rep.add(sys, "write: cancel", err == nil, "POST meetingRooms/batchRemove, DELETE event %s%s", id, errSuffix(err)) {
		return
	}
	cancelled = true
	sctx, cancel = step(ctx)
	got, serr = c.RoomSchedules(sctx, opUnion, []string{room.DingTalkRoomID}, day, day.AddDate(0, 0, 1))
	cancel()
	still := slices.ContainsFunc(got[room.DingTalkRoomID], func(it dingtalk.ScheduleItem) bool { return it.EventID == id })
	rep.add(sys, "write: gone", serr == nil && !still, "schedules/query no longer lists event %s: %v%s", id, !still, errSuffix(serr))
}

// freeSlot returns the first ten minutes between 09:00 and 18:00 of day that overlap no
// busy period.
func freeSlot(day time.Time, busy [][2]time.Time) (time.Time, bool) {
	for t := day.Add(9 * time.Hour); t.Before(day.Add(18 * time.Hour)); t = t.Add(10 * time.Minute) {
		end := t.Add(10 * time.Minute)
		if !slices.ContainsFunc(busy, func(b [2]time.Time) bool { return b[0].Before(end) && t.Before(b[1]) }) {
			return t, true
		}
	}
	return time.Time{}, false
}

func dayOf(t time.Time, zone *time.Location) time.Time {
	y, m, d := t.In(zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, zone)
}

func randomHex() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return " — " + err.Error()
}

// unwrapAll flattens err's tree of joined and wrapped errors.
func unwrapAll(err error) []error {
	out := []error{err}
	switch x := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range x.Unwrap() {
			out = append(out, unwrapAll(e)...)
		}
	case interface{ Unwrap() error }:
		if e := x.Unwrap(); e != nil {
			out = append(out, unwrapAll(e)...)
		}
	}
	return out
}
