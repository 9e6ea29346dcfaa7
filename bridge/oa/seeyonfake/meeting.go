package seeyonfake

import (
	"cmp"
	"html"
	"slices"
	"strconv"
	"strings"
	"time"
)

// meetingEndpoints is every endpoint the fake serves under /seeyon/rest/meeting/, by
// name, with its handler: the one list the router and fault injection both go by. The
// legacy build (WithLegacyOccupancy) lacks getMeetingUserInfo.
func (s *Server) meetingEndpoints() map[string]func(User, params) reply {
	m := map[string]func(User, params) reply{
		"getMeetingRooms":          s.getMeetingRooms,
		"checkMeetingRoomConflict": s.checkMeetingRoomConflict,
		"execApp":                  s.execApp,
		"getApplyMeemtingRooms":    s.getApplyMeemtingRooms,
		"cancelMeetRoomApp":        s.cancelMeetRoomApp,
		"getMeetingUserInfo":       func(u User, p params) reply { return s.occupancy(p, true) },
		"getMeetingRoomApps":       func(u User, p params) reply { return s.occupancy(p, false) },
		"getMeetingRoomAppDetail":  s.getMeetingRoomAppDetail,
		"getOrderDate":             s.getOrderDate,
	}
	if s.legacy {
		delete(m, "getMeetingUserInfo")
	}
	return m
}

// getOrderDate lists the days ("yyyy-MM-dd") on which the room has a booking
// awaiting approval or approved. Like the older build, it walks the room's
// bookings in id order, past ones included, and stops after counting about 300
// booking-days, so on a busy room later days are missing.
func (s *Server) getOrderDate(u User, p params) reply {
	if p.str("roomId") == "" {
		return errorMsg(msgParams)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*Booking
	for _, b := range s.byRoom[p.str("roomId")] {
		if !b.Cancelled && (b.Status == 0 || b.Status == 1) {
			list = append(list, b)
		}
	}
	slices.SortFunc(list, func(a, b *Booking) int {
		return cmp.Or(a.AppliedAt.Compare(b.AppliedAt), strings.Compare(a.AppID, b.AppID))
	})
	days := map[string]bool{}
	count := 0
walk:
	for _, b := range list {
		day := dayOf(b.Start, s.zone)
		last := dayOf(b.End.Add(-time.Nanosecond), s.zone)
		days[day.Format(layoutDay)] = true
		for ; day.Before(last); day = day.AddDate(0, 0, 1) {
			days[day.AddDate(0, 0, 1).Format(layoutDay)] = true
			if count++; count > orderDateCap {
				break walk
			}
		}
		if count++; count > orderDateCap {
			break
		}
	}
	out := make([]string, 0, len(days))
	for d := range days {
		out = append(out, d)
	}
	slices.Sort(out)
	return jsonReply(out)
}

// orderDateCap is where getOrderDate stops counting.
const orderDateCap = 300

// flip is Seeyon's FlipInfo page wrapper over rows.
func flip(p params, rows []any) map[string]any {
	page, size := p.int("pageNo", 1), p.int("pageSize", 20)
	if page < 1 {
		page = 1
	}
	if size < 1 {
		size = 20
	}
	from := min((page-1)*size, len(rows))
	to := min(from+size, len(rows))
	return map[string]any{"page": page, "size": size, "total": len(rows), "data": rows[from:to]}
}

func (s *Server) getMeetingRooms(u User, p params) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := []any{}
	for _, r := range s.rooms {
		if p.str("condition") == "roomName" && !strings.Contains(r.Name, p.str("roomName")) {
			continue
		}
		rows = append(rows, map[string]any{"id": idValue(r.ID), "name": r.Name, "seatCount": r.Seats})
	}
	return jsonReply(flip(p, rows))
}

func (s *Server) checkMeetingRoomConflict(u User, p params) reply {
	start, ok1 := parseLocal(p.str("beginDate"), s.zone)
	end, ok2 := parseLocal(p.str("endDate"), s.zone)
	if p.str("roomId") == "" || !ok1 || !ok2 {
		return errorMsg(msgParams)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.takenLocked(p.str("roomId"), start, end, "") {
		return jsonReply(map[string]any{"success": "true", "errorMsg": msgTaken})
	}
	return jsonReply(map[string]any{"success": "true"})
}

func (s *Server) execApp(u User, p params) reply {
	roomID := p.str("roomId")
	start, ok1 := parseLocal(p.str("startDatetime"), s.zone)
	end, ok2 := parseLocal(p.str("endDatetime"), s.zone)
	if roomID == "" || !ok1 || !ok2 {
		return errorMsg(msgParams)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// As in the real OA, a room the user may not book and a room that does not
	// exist look the same: neither is in the user's applicable list.
	var can []string
	for _, r := range s.rooms {
		if len(r.Applicants) == 0 || slices.Contains(r.Applicants, u.LoginName) {
			can = append(can, r.ID)
		}
	}
	switch {
	case len(can) == 0:
		return errorMsg(msgHasNoCanApply)
	case !slices.Contains(can, roomID):
		return errorMsg(msgCanNotApply)
	case !end.After(start):
		return errorMsg(msgBadRange)
	case s.takenLocked(roomID, start, end, ""):
		return errorMsg(msgTaken)
	}
	b, err := s.addLocked(roomID, u, start, end, p.str("description"), false)
	if err != nil {
		return errorMsg(err.Error())
	}
	return jsonReply(map[string]any{"roomAppState": b.Status})
}

// getApplyMeemtingRooms lists the caller's bookings. As in MeetingListDao, the
// condition "time" (condition 2) filters on when the application was made
// (appDatetime between startDate 00:00 and endDate 23:59:59), not on the meeting's
// time; the legacy build ignores the dates altogether.
func (s *Server) getApplyMeemtingRooms(u User, p params) reply {
	var from, to time.Time
	byTime := p.str("openFrom") == "meetingRoomList" && p.str("condition") != "roomName" && !s.legacy
	byName := p.str("openFrom") == "meetingRoomList" && p.str("condition") == "roomName"
	if byTime {
		if t, ok := parseLocal(p.str("startDate"), s.zone); ok {
			from = dayOf(t, s.zone)
		}
		if t, ok := parseLocal(p.str("endDate"), s.zone); ok {
			to = dayOf(t, s.zone).AddDate(0, 0, 1)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var mine []*Booking
	for _, b := range s.bookings {
		if b.Cancelled || b.LoginName != u.LoginName {
			continue
		}
		room, _ := s.roomLocked(b.RoomID)
		switch {
		case byName && !strings.Contains(room.Name, p.str("roomName")):
			continue
		case !from.IsZero() && b.AppliedAt.Before(from):
			continue
		case !to.IsZero() && !b.AppliedAt.Before(to):
			continue
		case p.str("openFrom") == "meetingCreate" && b.Status != 1:
			continue
		}
		mine = append(mine, b)
	}
	// Newest first, as the OA lists them.
	slices.SortFunc(mine, func(a, b *Booking) int {
		return cmp.Or(b.Start.Compare(a.Start), strings.Compare(a.AppID, b.AppID))
	})
	now := s.now()
	rows := make([]any, 0, len(mine))
	for _, b := range mine {
		room, _ := s.roomLocked(b.RoomID)
		rows = append(rows, map[string]any{
			"roomId":        idValue(b.RoomID),
			"roomAppId":     idValue(b.AppID),
			"meetingId":     nil,
			"roomName":      room.Name,
			"roomSeatCount": room.Seats,
			"appStatus":     b.Status,
			"startDatetime": b.Start.In(s.zone).Format(layoutMinute),
			"endDatetime":   b.End.In(s.zone).Format(layoutMinute),
			"appPerName":    b.ApplicantName,
			"appPerId":      idValue(u.MemberID),
			"description":   b.Description,
			// Jackson names boolean getters isX() as "x".
			"cancelMRApp": b.End.After(now),
			"finishMRApp": !b.Start.After(now) && b.End.After(now),
		})
	}
	return jsonReply(flip(p, rows))
}

// dayOf returns local midnight of t's day.
func dayOf(t time.Time, zone *time.Location) time.Time {
	y, m, d := t.In(zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, zone)
}

func (s *Server) cancelMeetRoomApp(u User, p params) reply {
	if !p.has("roomAppId") || !p.has("cancelContent") {
		return errorMsg(msgParams)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	ok := true
	for _, id := range strings.Split(p.str("roomAppId"), ",") {
		// The applicant may cancel until the booking has ended; anything else,
		// including an unknown id, is a bare false.
		b := s.bookings[strings.TrimSpace(id)]
		if b == nil || b.Cancelled || b.LoginName != u.LoginName || !b.End.After(now) {
			ok = false
			continue
		}
		b.Cancelled, b.CancelReason = true, p.str("cancelContent")
	}
	return jsonReply(ok)
}

// occupancy answers getMeetingUserInfo (withFinish) and getMeetingRoomApps: the
// bookings of one room that touch one day, times as epoch milliseconds.
func (s *Server) occupancy(p params, withFinish bool) reply {
	day, ok := parseLocal(p.str("qDate"), s.zone)
	if p.str("roomId") == "" || !ok {
		return errorMsg(msgParams)
	}
	next := day.AddDate(0, 0, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	var hits []*Booking
	for _, b := range s.byRoom[p.str("roomId")] {
		if !b.Cancelled && b.Start.Before(next) && b.End.After(day) {
			hits = append(hits, b)
		}
	}
	slices.SortFunc(hits, func(a, b *Booking) int {
		return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.AppID, b.AppID))
	})
	now := s.now()
	rows := make([]any, 0, len(hits))
	for _, b := range hits {
		row := map[string]any{
			"startDatetime": b.Start.UnixMilli(),
			"endDatetime":   b.End.UnixMilli(),
			"description":   toHTML(b.Description),
			"appPerName":    b.ApplicantName,
			"status":        b.Status,
			"appId":         idValue(b.AppID),
		}
		if withFinish {
			row["finish"] = !b.End.After(now)
		}
		rows = append(rows, row)
	}
	return jsonReply(rows)
}

func (s *Server) getMeetingRoomAppDetail(u User, p params) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bookings[p.str("appId")]
	if b == nil || b.Cancelled {
		return errorMsg(msgNoApp)
	}
	room, _ := s.roomLocked(b.RoomID)
	owner, _ := s.userLocked(b.LoginName, "")
	return jsonReply(map[string]any{
		"startDatetime": b.Start.In(s.zone).Format(layoutSecond),
		"endDatetime":   b.End.In(s.zone).Format(layoutSecond),
		"roomName":      room.Name,
		"appPerName":    b.ApplicantName,
		"appDepartment": "",
		"description":   toHTML(b.Description),
		"roomId":        idValue(b.RoomID),
		"perId":         idValue(owner.MemberID),
	})
}

// toHTML escapes a description the way the OA does before sending it.
func toHTML(s string) string {
	return strings.ReplaceAll(html.EscapeString(s), "\n", "<br/>")
}

// takenLocked reports whether room is booked anywhere in [start, end), ignoring
// booking except.
func (s *Server) takenLocked(room string, start, end time.Time, except string) bool {
	for _, b := range s.byRoom[room] {
		if b.AppID != except && !b.Cancelled && b.Status != 2 &&
			b.Start.Before(end) && b.End.After(start) {
			return true
		}
	}
	return false
}

// addLocked stores a new approved booking under a fresh id.
func (s *Server) addLocked(room string, u User, start, end time.Time, desc string, native bool) (*Booking, error) {
	id := ""
	for range 100 {
		n := s.nextID()
		if c := strconv.FormatInt(n, 10); n != 0 && s.bookings[c] == nil {
			id = c
			break
		}
	}
	if id == "" {
		return nil, errIDs
	}
	b := &Booking{
		AppID:         id,
		RoomID:        room,
		LoginName:     u.LoginName,
		ApplicantName: u.Name,
		Start:         start.In(s.zone),
		End:           end.In(s.zone),
		Description:   desc,
		Status:        1,
		AppliedAt:     s.now(),
		Native:        native,
	}
	s.bookings[id] = b
	s.byRoom[room] = append(s.byRoom[room], b)
	return b, nil
}
