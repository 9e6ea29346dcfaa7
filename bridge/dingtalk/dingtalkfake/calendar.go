package dingtalkfake

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	idempotencyTTL  = 24 * time.Hour
	maxScheduleSpan = 90 * 24 * time.Hour
	maxListSpan     = 366 * 24 * time.Hour
	maxRoomsPerCall = 5
	dailyCreates    = 100
)

// shanghai returns China Standard Time, which has had no daylight saving since 1991, so
// it needs no time zone database.
func shanghai() *time.Location { return time.FixedZone("Asia/Shanghai", 8*3600) }

// idempotent remembers the answer given to one x-client-token.
type idempotent struct {
	fingerprint string
	rep         reply
	at          time.Time
}

// idempotently runs h unless the request's x-client-token was seen within a day: the same
// request then gets the first answer again, a different one 409. It runs with s.mu held.
func (s *Server) idempotently(spec apiSpec, r *http.Request, body []byte, h func(*http.Request, []byte) reply) reply {
	tok := r.Header.Get("x-client-token")
	if !spec.write || tok == "" {
		return h(r, body)
	}
	now := s.now()
	for k, v := range s.clientTokens {
		if now.Sub(v.at) >= idempotencyTTL {
			delete(s.clientTokens, k)
		}
	}
	fp := fingerprint(r, body)
	if prev, seen := s.clientTokens[tok]; seen {
		if prev.fingerprint != fp || s.dupConflicts {
			return apiErr(http.StatusConflict, codeDuplicateToken, "x-client-token was already used for a different request")
		}
		return prev.rep
	}
	rep := h(r, body)
	s.clientTokens[tok] = idempotent{fingerprint: fp, rep: rep, at: now}
	return rep
}

// fingerprint identifies a request independently of JSON key order.
func fingerprint(r *http.Request, body []byte) string {
	canon := body
	var v any
	if json.Unmarshal(body, &v) == nil {
		canon, _ = json.Marshal(v)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s %s?%s\n", r.Method, r.URL.Path, r.URL.Query().Encode())
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil))
}

// Wire types of the calendar API.
type dateTime struct {
	Date     string `json:"date,omitempty"`
	DateTime string `json:"dateTime,omitempty"`
	TimeZone string `json:"timeZone,omitempty"`
}

type eventRequest struct {
	ID          string    `json:"id"`
	Summary     *string   `json:"summary"`
	Description *string   `json:"description"`
	Start       *dateTime `json:"start"`
	End         *dateTime `json:"end"`
	IsAllDay    bool      `json:"isAllDay"`
	Location    *struct {
		DisplayName string `json:"displayName"`
	} `json:"location"`
	Attendees []struct {
		ID string `json:"id"`
	} `json:"attendees"`
	Recurrence *Recurrence `json:"recurrence"`
}

type person struct {
	ID             string `json:"id"`
	DisplayName    string `json:"displayName,omitempty"`
	ResponseStatus string `json:"responseStatus"`
	Self           bool   `json:"self"`
}

type eventOut struct {
	ID           string    `json:"id"`
	Summary      string    `json:"summary"`
	Description  string    `json:"description,omitempty"`
	Status       string    `json:"status"`
	IsAllDay     bool      `json:"isAllDay"`
	Start        dateTime  `json:"start"`
	End          dateTime  `json:"end"`
	Organizer    person    `json:"organizer"`
	Attendees    []person  `json:"attendees"`
	Location     *location `json:"location,omitempty"`
	MeetingRooms []roomOut `json:"meetingRooms,omitempty"`
	CreateTime   string    `json:"createTime"`
	UpdateTime   string    `json:"updateTime"`
	// Recurrence is set on a recurring event; its occurrences carry SeriesMasterID and
	// OriginStart (always UTC) instead.
	Recurrence     *Recurrence `json:"recurrence,omitempty"`
	SeriesMasterID string      `json:"seriesMasterId,omitempty"`
	OriginStart    *dateTime   `json:"originStart,omitempty"`
}

type location struct {
	DisplayName  string   `json:"displayName,omitempty"`
	MeetingRooms []string `json:"meetingRooms,omitempty"`
}

type roomOut struct {
	RoomID         string `json:"roomId"`
	DisplayName    string `json:"displayName"`
	ResponseStatus string `json:"responseStatus"`
}

func zone(name string) *time.Location {
	if name == "Asia/Shanghai" {
		return shanghai()
	}
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return time.UTC
}

func formatTime(t time.Time, tz string) dateTime {
	return dateTime{DateTime: t.In(zone(tz)).Format(time.RFC3339), TimeZone: tz}
}

func parseDateTime(d *dateTime) (time.Time, string, error) {
	if d == nil || d.DateTime == "" {
		return time.Time{}, "", fmt.Errorf("dateTime is required (all-day events are not supported)")
	}
	tz := d.TimeZone
	if tz == "" {
		tz = "Asia/Shanghai"
	}
	if t, err := time.Parse(time.RFC3339, d.DateTime); err == nil {
		return t, tz, nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05", d.DateTime, zone(tz))
	if err != nil {
		return time.Time{}, "", fmt.Errorf("dateTime %q is not ISO-8601", d.DateTime)
	}
	return t, tz, nil
}

func (s *Server) out(e *event, viewer string) eventOut {
	o := eventOut{
		ID:          e.ID,
		Summary:     e.Summary,
		Description: e.Description,
		Status:      e.Status,
		Start:       formatTime(e.Start, e.TimeZone),
		End:         formatTime(e.End, e.TimeZone),
		CreateTime:  e.Created.UTC().Format(time.RFC3339),
		UpdateTime:  e.Updated.UTC().Format(time.RFC3339),
		Recurrence:  e.Recurrence,
	}
	org, _ := s.userByUnion(e.OrganizerUnionID)
	o.Organizer = person{ID: e.OrganizerUnionID, DisplayName: org.Name, ResponseStatus: "accepted", Self: viewer == e.OrganizerUnionID}
	o.Attendees = []person{o.Organizer}
	for _, a := range e.AttendeeUnionIDs {
		u, _ := s.userByUnion(a)
		o.Attendees = append(o.Attendees, person{ID: a, DisplayName: u.Name, ResponseStatus: "needsAction", Self: viewer == a})
	}
	loc := &location{DisplayName: e.Location}
	for _, id := range e.RoomIDs {
		rm, _ := s.room(id)
		o.MeetingRooms = append(o.MeetingRooms, roomOut{RoomID: id, DisplayName: rm.Name, ResponseStatus: "accepted"})
		loc.MeetingRooms = append(loc.MeetingRooms, rm.Name)
	}
	if loc.DisplayName != "" || len(loc.MeetingRooms) > 0 {
		o.Location = loc
	}
	return o
}

// calendarUser checks the {uid} and {cal} path segments. It runs with s.mu held.
func (s *Server) calendarUser(r *http.Request) (string, reply, bool) {
	uid := r.PathValue("uid")
	if _, known := s.userByUnion(uid); !known {
		return "", apiErr(http.StatusBadRequest, codePermissionDeny, "user "+uid+" is not in the app's authorised range"), false
	}
	if cal := r.PathValue("cal"); cal != "" && cal != "primary" {
		return "", apiErr(http.StatusNotFound, codeItemNotFound, "calendar "+cal+" not found"), false
	}
	return uid, reply{}, true
}

func (e *event) visibleTo(uid string) bool {
	return e.OrganizerUnionID == uid || slices.Contains(e.AttendeeUnionIDs, uid)
}

// lookup finds the {eid} event in uid's calendar. It runs with s.mu held.
func (s *Server) lookup(r *http.Request, uid string) (*event, reply, bool) {
	e, found := s.events[r.PathValue("eid")]
	if !found || !e.visibleTo(uid) {
		return nil, apiErr(http.StatusNotFound, codeItemNotFound, "event not found"), false
	}
	if e.Status == StatusCancelled {
		return nil, apiErr(http.StatusNotFound, codeInstanceMissing, "event was deleted"), false
	}
	return e, reply{}, true
}

// touch records a change to e for syncToken deltas. It runs with s.mu held.
func (s *Server) touch(e *event) {
	s.seq++
	e.seq = s.seq
	e.Updated = s.now()
}

// insert stores a new event. It runs with s.mu held.
func (s *Server) insert(e *event) {
	e.ID = s.newID("event")
	e.Status = StatusConfirmed
	e.Created = s.now()
	s.events[e.ID] = e
	s.order = append(s.order, e.ID)
	s.touch(e)
}

// busyWith returns the live event other than except that holds room during [start, end).
// It runs with s.mu held.
func (s *Server) busyWith(room string, start, end time.Time, except string) *event {
	for _, id := range s.order {
		e := s.events[id]
		if id == except || e.Status == StatusCancelled || !slices.Contains(e.RoomIDs, room) {
			continue
		}
		if len(e.instances(start, end)) > 0 {
			return e
		}
	}
	return nil
}

// busyForAny returns the live event other than e that holds room during any occurrence
// of e. It runs with s.mu held.
func (s *Server) busyForAny(room string, e *event, start, end time.Time) *event {
	probe := *e
	probe.Start, probe.End = start, end
	for _, in := range probe.instances(time.Time{}, time.Time{}) {
		if other := s.busyWith(room, in.Start, in.End, e.ID); other != nil {
			return other
		}
	}
	return nil
}

func (s *Server) createEvent(r *http.Request, body []byte) reply {
	uid, rep, okUser := s.calendarUser(r)
	if !okUser {
		return rep
	}
	var req eventRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "body is not JSON: "+err.Error())
	}
	if req.Summary == nil || strings.TrimSpace(*req.Summary) == "" {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "summary is required")
	}
	if req.IsAllDay {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "all-day events are not supported by the fake")
	}
	start, tz, err := parseDateTime(req.Start)
	if err != nil {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "start: "+err.Error())
	}
	end, endTZ, err := parseDateTime(req.End)
	if err != nil {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "end: "+err.Error())
	}
	if endTZ != tz {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "end.timeZone must equal start.timeZone")
	}
	if !end.After(start) {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "end must be after start")
	}
	day := uid + "|" + s.now().In(shanghai()).Format(time.DateOnly)
	if s.creates[day] >= dailyCreates {
		return apiErr(http.StatusBadRequest, codeFlowLimit, "current user can not create events exceed 100 per day")
	}
	s.creates[day]++
	if req.Recurrence != nil {
		if err := req.Recurrence.check(); err != nil {
			return apiErr(http.StatusBadRequest, codeInvalidParam, err.Error())
		}
	}
	e := &event{Event: Event{OrganizerUnionID: uid, Summary: *req.Summary, Start: start, End: end, TimeZone: tz, Recurrence: req.Recurrence}}
	req.applyDetails(e, uid)
	s.insert(e)
	return ok(s.out(e, uid))
}

func (s *Server) getEvent(r *http.Request, _ []byte) reply {
	uid, rep, okUser := s.calendarUser(r)
	if !okUser {
		return rep
	}
	if master, at, isInstance := splitInstanceID(r.PathValue("eid")); isInstance {
		if e, found := s.events[master]; found && e.visibleTo(uid) && e.Status != StatusCancelled {
			for _, in := range e.instances(time.Time{}, time.Time{}) {
				if in.OriginStart.Equal(at) {
					return ok(s.instanceOut(in, uid))
				}
			}
		}
		return apiErr(http.StatusNotFound, codeInstanceMissing, "instance does not exist")
	}
	e, rep, found := s.lookup(r, uid)
	if !found {
		return rep
	}
	return ok(s.out(e, uid))
}

func (s *Server) patchEvent(r *http.Request, body []byte) reply {
	uid, rep, okUser := s.calendarUser(r)
	if !okUser {
		return rep
	}
	e, rep, found := s.lookup(r, uid)
	if !found {
		return rep
	}
	if e.OrganizerUnionID != uid {
		return apiErr(http.StatusBadRequest, codePermissionDeny, "only the organizer may modify the event")
	}
	var req eventRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "body is not JSON: "+err.Error())
	}
	if req.ID != e.ID {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "id is required and must match the path")
	}
	start, end, tz := e.Start, e.End, e.TimeZone
	var err error
	if req.Start != nil {
		if start, tz, err = parseDateTime(req.Start); err != nil {
			return apiErr(http.StatusBadRequest, codeInvalidParam, "start: "+err.Error())
		}
	}
	if req.End != nil {
		if end, _, err = parseDateTime(req.End); err != nil {
			return apiErr(http.StatusBadRequest, codeInvalidParam, "end: "+err.Error())
		}
	}
	if !end.After(start) {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "end must be after start")
	}
	if req.Recurrence != nil {
		if err := req.Recurrence.check(); err != nil {
			return apiErr(http.StatusBadRequest, codeInvalidParam, err.Error())
		}
		if e.Recurrence == nil {
			return apiErr(http.StatusBadRequest, codeInvalidParam, "a single event cannot be made recurring by the fake")
		}
	}
	probe := *e
	if req.Recurrence != nil {
		probe.Recurrence = req.Recurrence
	}
	for _, room := range e.RoomIDs {
		if s.busyForAny(room, &probe, start, end) != nil {
			return apiErr(http.StatusBadRequest, codeInvalidParam, "Meeting room invalid")
		}
	}
	e.Start, e.End, e.TimeZone = start, end, tz
	if req.Recurrence != nil {
		e.Recurrence = req.Recurrence
	}
	if req.Summary != nil {
		e.Summary = *req.Summary
	}
	req.applyDetails(e, uid)
	s.touch(e)
	return ok(s.out(e, uid))
}

func (s *Server) deleteEvent(r *http.Request, _ []byte) reply {
	uid, rep, okUser := s.calendarUser(r)
	if !okUser {
		return rep
	}
	if master, at, isInstance := splitInstanceID(r.PathValue("eid")); isInstance {
		return s.deleteInstance(uid, master, at)
	}
	e, found := s.events[r.PathValue("eid")]
	if !found || !e.visibleTo(uid) || e.Status == StatusCancelled {
		return apiErr(http.StatusNotFound, codeItemNotFound, "event not found")
	}
	if e.OrganizerUnionID == uid {
		e.Status = StatusCancelled
		s.pushRoomBooking(e, "bookCancel", "SUCCESS", e.RoomIDs)
	} else {
		// An attendee deleting only removes the event from their own calendar.
		e.AttendeeUnionIDs = slices.DeleteFunc(e.AttendeeUnionIDs, func(a string) bool { return a == uid })
	}
	s.touch(e)
	return reply{status: http.StatusOK}
}

type roomsRequest struct {
	Add []struct {
		RoomID string `json:"roomId"`
	} `json:"meetingRoomsToAdd"`
	Remove []struct {
		RoomID string `json:"roomId"`
	} `json:"meetingRoomsToRemove"`
}

func (s *Server) addRooms(r *http.Request, body []byte) reply {
	uid, rep, okUser := s.calendarUser(r)
	if !okUser {
		return rep
	}
	var req roomsRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "body is not JSON: "+err.Error())
	}
	e, found := s.events[r.PathValue("eid")]
	if !found || !e.visibleTo(uid) || e.Status == StatusCancelled {
		return apiErr(http.StatusNotFound, codeItemNotFound, "event not found")
	}
	if e.OrganizerUnionID != uid {
		return apiErr(http.StatusBadRequest, codePermissionDeny, "only the organizer may book rooms for the event")
	}
	if len(req.Add) == 0 {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "roomId must be provided.")
	}
	var add []string
	for _, a := range req.Add {
		if a.RoomID == "" {
			return apiErr(http.StatusBadRequest, codeInvalidParam, "roomId must be provided.")
		}
		if _, known := s.room(a.RoomID); !known {
			return apiErr(http.StatusBadRequest, codeInvalidParam, "roomId invalid")
		}
		if !slices.Contains(e.RoomIDs, a.RoomID) && !slices.Contains(add, a.RoomID) {
			add = append(add, a.RoomID)
		}
	}
	if len(e.RoomIDs)+len(add) > maxRoomsPerCall {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "attendees batch size too large. Maximum allowed:5")
	}
	for _, room := range add {
		if s.busyForAny(room, e, e.Start, e.End) != nil {
			return apiErr(http.StatusBadRequest, codeRoomBusy, "room busy")
		}
	}
	if len(add) > 0 {
		e.RoomIDs = append(e.RoomIDs, add...)
		s.touch(e)
		s.pushRoomBooking(e, "bookSuccess", "INIT", add)
	}
	return ok(map[string]bool{"result": true})
}

func (s *Server) removeRooms(r *http.Request, body []byte) reply {
	uid, rep, okUser := s.calendarUser(r)
	if !okUser {
		return rep
	}
	var req roomsRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "body is not JSON: "+err.Error())
	}
	if len(req.Remove) == 0 {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "Meeting rooms to remove must be provided.")
	}
	e, found := s.events[r.PathValue("eid")]
	if !found || !e.visibleTo(uid) || e.Status == StatusCancelled {
		return apiErr(http.StatusNotFound, codeItemNotFound, "event not found")
	}
	if e.OrganizerUnionID != uid {
		return apiErr(http.StatusBadRequest, codePermissionDeny, "only the organizer may release rooms of the event")
	}
	var removed []string
	for _, rm := range req.Remove {
		if slices.Contains(e.RoomIDs, rm.RoomID) {
			removed = append(removed, rm.RoomID)
		}
		e.RoomIDs = slices.DeleteFunc(e.RoomIDs, func(id string) bool { return id == rm.RoomID })
	}
	s.pushRoomBooking(e, "bookCancel", "SUCCESS", removed)
	if len(removed) > 0 {
		s.touch(e)
	}
	return ok(map[string]bool{"result": true})
}

type scheduleItem struct {
	Status    string `json:"status"`
	EventID   string `json:"eventId"`
	Organizer struct {
		ID string `json:"id"`
	} `json:"organizer"`
	Start dateTime `json:"start"`
	End   dateTime `json:"end"`
}

type scheduleInfo struct {
	RoomID        string         `json:"roomId"`
	Error         string         `json:"error,omitempty"`
	ScheduleItems []scheduleItem `json:"scheduleItems"`
}

func (s *Server) roomSchedules(r *http.Request, body []byte) reply {
	_, rep, okUser := s.calendarUser(r)
	if !okUser {
		return rep
	}
	var req struct {
		RoomIDs   []string `json:"roomIds"`
		StartTime string   `json:"startTime"`
		EndTime   string   `json:"endTime"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "body is not JSON: "+err.Error())
	}
	if len(req.RoomIDs) == 0 {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "query ids cannot be empty")
	}
	if len(req.RoomIDs) > maxRoomsPerCall {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "Cannot get schedule information for more than limit")
	}
	start, err1 := time.Parse(time.RFC3339, req.StartTime)
	end, err2 := time.Parse(time.RFC3339, req.EndTime)
	if err1 != nil || err2 != nil || !end.After(start) {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "startTime and endTime are required, ISO-8601, end after start")
	}
	if end.Sub(start) > maxScheduleSpan {
		return apiErr(http.StatusBadRequest, codeInvalidParam, "Cannot query schedule for more than 90 days")
	}
	out := struct {
		ScheduleInformation []scheduleInfo `json:"scheduleInformation"`
	}{}
	for _, room := range req.RoomIDs {
		info := scheduleInfo{RoomID: room, ScheduleItems: []scheduleItem{}}
		if rm, known := s.room(room); !known {
			info.Error = "roomId invalid"
			out.ScheduleInformation = append(out.ScheduleInformation, info)
			continue
		} else if rm.Private {
			info.Error = "无权限"
			out.ScheduleInformation = append(out.ScheduleInformation, info)
			continue
		}
		for _, id := range s.order {
			e := s.events[id]
			if e.Status == StatusCancelled || !slices.Contains(e.RoomIDs, room) {
				continue
			}
			// A recurring event is busy once per occurrence, under the occurrence's id.
			for _, in := range e.instances(start, end) {
				it := scheduleItem{Status: "BUSY", EventID: in.ID, Start: formatTime(in.Start, e.TimeZone), End: formatTime(in.End, e.TimeZone)}
				it.Organizer.ID = e.OrganizerUnionID
				info.ScheduleItems = append(info.ScheduleItems, it)
			}
		}
		out.ScheduleInformation = append(out.ScheduleInformation, info)
	}
	return ok(out)
}

// listCursor is the state carried by nextToken: where the next page starts and the change
// counter when the listing began (which becomes the syncToken).
type listCursor struct {
	offset int
	snap   int64
}

func encodeCursor(prefix string, a, b int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(prefix + ";" + strconv.FormatInt(a, 10) + ";" + strconv.FormatInt(b, 10)))
}

func decodeCursor(prefix, tok string) (int64, int64, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, 0, false
	}
	parts := bytes.Split(raw, []byte(";"))
	if len(parts) != 3 || string(parts[0]) != prefix {
		return 0, 0, false
	}
	a, err1 := strconv.ParseInt(string(parts[1]), 10, 64)
	b, err2 := strconv.ParseInt(string(parts[2]), 10, 64)
	return a, b, err1 == nil && err2 == nil
}

// syncToken is the syncToken for uid's calendar as of change counter seq, in the current
// token epoch (ExpireSyncTokens starts a new one). It runs with s.mu held.
func (s *Server) syncToken(uid string, seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("sync;" + uid + ";" + strconv.FormatInt(seq, 10) + ";" + strconv.FormatInt(s.syncEpoch, 10)))
}

// parseSyncToken returns the change counter a syncToken of uid's calendar stands for;
// valid is false for a token the fake never issued, expired for one issued before the
// last ExpireSyncTokens. It runs with s.mu held.
func (s *Server) parseSyncToken(uid, tok string) (seq int64, valid, expired bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false, false
	}
	parts := strings.Split(string(raw), ";")
	if len(parts) != 4 || parts[0] != "sync" || parts[1] != uid {
		return 0, false, false
	}
	seq, err1 := strconv.ParseInt(parts[2], 10, 64)
	epoch, err2 := strconv.ParseInt(parts[3], 10, 64)
	if err1 != nil || err2 != nil || seq > s.seq || epoch > s.syncEpoch {
		return 0, false, false
	}
	return seq, true, epoch < s.syncEpoch
}

// ExpireSyncTokens makes every syncToken issued so far expire: a listing with one is
// answered 400 invalidParameter "syncToken expired" (DingTalk documents no code for an
// expired token; a 4xx is what its suggested sync loop expects), and the caller must
// start over with a full listing.
func (s *Server) ExpireSyncTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncEpoch++
}

func (s *Server) listEvents(r *http.Request, _ []byte) reply {
	uid, rep, okUser := s.calendarUser(r)
	if !okUser {
		return rep
	}
	q := r.URL.Query()
	bad := func(msg string) reply { return apiErr(http.StatusBadRequest, codeInvalidParam, msg) }

	var timeMin, timeMax time.Time
	var err error
	if v := q.Get("timeMin"); v != "" {
		if timeMin, err = time.Parse(time.RFC3339, v); err != nil {
			return bad("timeMin is not ISO-8601")
		}
	}
	if v := q.Get("timeMax"); v != "" {
		if timeMax, err = time.Parse(time.RFC3339, v); err != nil {
			return bad("timeMax is not ISO-8601")
		}
	}
	if !timeMin.IsZero() && !timeMax.IsZero() && timeMax.Sub(timeMin) > maxListSpan {
		return bad("time range cannot exceed one year")
	}
	showDeleted := q.Get("showDeleted") == "true"
	maxResults := 100
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return bad("maxResults must be between 1 and 100")
		}
		maxResults = n
	}
	var since int64 = -1
	if v := q.Get("syncToken"); v != "" {
		seq, valid, expired := s.parseSyncToken(uid, v)
		switch {
		case !valid:
			return bad("syncToken invalid")
		case expired:
			return apiErr(http.StatusBadRequest, codeSyncTokenExpired, "syncToken expired")
		}
		since = seq
	}
	cur := listCursor{snap: s.seq}
	if v := q.Get("nextToken"); v != "" {
		off, snap, valid := decodeCursor("page", v)
		if !valid {
			return bad("nextToken invalid")
		}
		cur = listCursor{offset: int(off), snap: snap}
	}

	var match []*event
	for _, id := range s.order {
		e := s.events[id]
		switch {
		case !e.visibleTo(uid):
			continue
		case e.Status == StatusCancelled && !showDeleted:
			continue
		case since >= 0:
			if e.seq <= since {
				continue
			}
		case !timeMin.IsZero() && e.Start.Before(timeMin), !timeMax.IsZero() && !e.Start.Before(timeMax):
			continue
		}
		match = append(match, e)
	}
	if since >= 0 {
		slices.SortStableFunc(match, func(a, b *event) int { return int(a.seq - b.seq) })
	} else {
		slices.SortStableFunc(match, func(a, b *event) int { return a.Start.Compare(b.Start) })
	}

	out := struct {
		Events    []eventOut `json:"events"`
		NextToken string     `json:"nextToken,omitempty"`
		SyncToken string     `json:"syncToken,omitempty"`
	}{Events: []eventOut{}}
	if cur.offset > len(match) {
		cur.offset = len(match)
	}
	page := match[cur.offset:]
	if len(page) > maxResults {
		page = page[:maxResults]
		out.NextToken = encodeCursor("page", int64(cur.offset+maxResults), cur.snap)
	}
	for _, e := range page {
		out.Events = append(out.Events, s.out(e, uid))
	}
	if out.NextToken == "" && timeMax.IsZero() {
		out.SyncToken = s.syncToken(uid, cur.snap)
	}
	return ok(out)
}

// applyDetails copies the description, location and attendees a create or patch body
// sets onto e (attendees replace the old list; the organiser and repeats are dropped).
func (req eventRequest) applyDetails(e *event, organizer string) {
	if req.Description != nil {
		e.Description = *req.Description
	}
	if req.Location != nil {
		e.Location = req.Location.DisplayName
	}
	if req.Attendees != nil {
		e.AttendeeUnionIDs = nil
		for _, a := range req.Attendees {
			if a.ID != organizer && !slices.Contains(e.AttendeeUnionIDs, a.ID) {
				e.AttendeeUnionIDs = append(e.AttendeeUnionIDs, a.ID)
			}
		}
	}
}
