// Package dingtalkfake is an in-memory stand-in for the DingTalk open platform: one
// http.Handler that answers the new API (api.dingtalk.com: access token, calendar events,
// meeting rooms, sign-in) and the old API (oapi.dingtalk.com: /gettoken, /topapi/v2/user/get,
// /topapi/v2/user/getuserinfo) in their documented wire format, the browser login page
// (login.dingtalk.com/oauth2/auth), a stand-in for the in-app JSAPI, plus admin JSON
// under /_fake/.
//
// Tests, the demo mode and the standalone `fake-dingtalk` command use it. It keeps DingTalk's
// behaviour that matters to the bridge: tokens that expire, x-client-token idempotency,
// room conflicts, syncToken deltas and their expiry (ExpireSyncTokens), the 90-day limit
// of the room schedule query, metered calls, and injectable faults (throttling, 5xx, hangs, lost answers, exhausted quota, a
// missing permission, meetingRoomNotAvailable on the schedule query). The old API wraps
// token, permission and throttling errors in errcode 88 with the real code in sub_code;
// rooms outside the app's scope (Room.Private) get the per-room schedule error "无权限";
// WithDuplicateTokenConflicts answers a repeated x-client-token with 409
// invalidRequest.duplicateClientToken instead of the first answer.
// Native bookings (AddNative and friends) stand for people using DingTalk directly.
//
// API names used by Calls, SetFault and the OnCall hook of package dingtalk are the SDK's
// action names, listed as the API* constants.
//
// dingtalkfake imports no roombridge package except models.
package dingtalkfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/gorilla/websocket"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// API names, as the DingTalk SDK calls them.
const (
	APIGetAccessToken          = "GetAccessToken"
	APIGetToken                = "gettoken" // old API
	APIGetUser                 = "topapi/v2/user/get"
	APICreateEvent             = "CreateEvent"
	APIGetEvent                = "GetEvent"
	APIPatchEvent              = "PatchEvent"
	APIDeleteEvent             = "DeleteEvent"
	APIListEvents              = "ListEvents"
	APIListInstances           = "ListInstances"
	APIAddMeetingRooms         = "AddMeetingRooms"
	APIRemoveMeetingRooms      = "RemoveMeetingRooms"
	APIGetMeetingRoomsSchedule = "GetMeetingRoomsSchedule"
	APIQueryMeetingRoomList    = "QueryMeetingRoomList"
)

// Event statuses as DingTalk reports them.
const (
	StatusConfirmed = "confirmed"
	StatusCancelled = "cancelled"
)

// Room is a meeting room in the fake's directory.
type Room struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Capacity int    `json:"capacity"`
	// Private rooms are outside the app's visible scope: the schedule query reports
	// the per-room error "无权限" for them.
	Private bool `json:"private,omitempty"`
}

// User is an employee the fake knows: the org userId, the unionId the calendar API uses,
// and a display name.
type User struct {
	UserID  string `json:"userId"`
	UnionID string `json:"unionId"`
	Name    string `json:"name"`
}

// Event is a snapshot of one calendar event held by the fake.
type Event struct {
	ID               string    `json:"id"`
	OrganizerUnionID string    `json:"organizerUnionId"`
	Summary          string    `json:"summary"`
	Description      string    `json:"description,omitempty"`
	Location         string    `json:"location,omitempty"`
	Start            time.Time `json:"start"`
	End              time.Time `json:"end"`
	TimeZone         string    `json:"timeZone"`
	RoomIDs          []string  `json:"roomIds"`
	AttendeeUnionIDs []string  `json:"attendeeUnionIds,omitempty"`
	Status           string    `json:"status"`
	Native           bool      `json:"native"`
	// Recurrence makes the event a recurring series; ExDates are the original starts of
	// its deleted occurrences.
	Recurrence *Recurrence `json:"recurrence,omitempty"`
	ExDates    []time.Time `json:"exDates,omitempty"`
	Created    time.Time   `json:"createTime"`
	Updated    time.Time   `json:"updateTime"`
}

// event is the stored form of an Event; seq is the change counter value of its last change,
// which syncToken deltas compare against.
type event struct {
	Event
	seq int64
}

// Option configures a Server.
type Option func(*Server)

// WithNow sets the clock the fake uses for token expiry, idempotency keys and timestamps.
func WithNow(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithDuplicateTokenConflicts makes a repeated x-client-token get 409
// invalidRequest.duplicateClientToken instead of the first answer, which DingTalk's
// error table allows for a repeated create.
func WithDuplicateTokenConflicts() Option { return func(s *Server) { s.dupConflicts = true } }

// WithTokenTTL sets the lifetime of issued access tokens (default 7200 s).
func WithTokenTTL(d time.Duration) Option { return func(s *Server) { s.tokenTTL = d } }

// Server is the fake DingTalk. It is an http.Handler and safe for concurrent use; all state
// lives behind one mutex.
type Server struct {
	appKey, appSecret string
	now               func() time.Time
	tokenTTL          time.Duration
	mux               *http.ServeMux

	mu           sync.Mutex
	rooms        []Room
	users        []User
	tokens       map[string]time.Time // token → expiry
	current      string               // the token handed out while it is valid
	events       map[string]*event
	order        []string // event ids in creation order
	seq          int64    // change counter for syncTokens
	syncEpoch    int64    // syncTokens of earlier epochs have expired
	ids          int64    // id counter
	clientTokens map[string]idempotent
	dupConflicts bool
	creates      map[string]int // organiser + day → events created, for flowLimit
	faults       []*Fault
	release      chan struct{} // closed by ClearFaults to free hung requests
	calls        map[string]int
	apis         map[string]bool // the API names the fake serves (for fault injection)
	messages     []Message       // work notifications, in the order they came
	metered      int
	stream       stream
	codes        map[string]authCode  // sign-in codes, browser and in-app
	userTokens   map[string]userToken // personal tokens from userAccessToken
	inAppUser    string               // who holds the phone for the JSAPI stand-in
}

// New returns a fake that accepts the given app credentials and knows the given rooms and
// users.
func New(appKey, appSecret string, rooms []Room, users []User, opts ...Option) *Server {
	s := &Server{
		appKey:       appKey,
		appSecret:    appSecret,
		now:          time.Now,
		tokenTTL:     7200 * time.Second,
		rooms:        slices.Clone(rooms),
		users:        slices.Clone(users),
		tokens:       make(map[string]time.Time),
		events:       make(map[string]*event),
		clientTokens: make(map[string]idempotent),
		creates:      make(map[string]int),
		release:      make(chan struct{}),
		calls:        make(map[string]int),
		apis:         make(map[string]bool),
		codes:        make(map[string]authCode),
		userTokens:   make(map[string]userToken),
		stream:       stream{tickets: map[string]bool{}, conns: map[*websocket.Conn]chan []byte{}},
	}
	for _, o := range opts {
		o(s)
	}
	s.routes()
	return s
}

func (s *Server) routes() {
	m := http.NewServeMux()
	const cal = "/v1.0/calendar/users/{uid}/calendars/{cal}/events"
	m.HandleFunc("POST /v1.0/oauth2/accessToken", s.api(apiSpec{name: APIGetAccessToken}, s.getAccessToken))
	m.HandleFunc("GET /gettoken", s.api(apiSpec{name: APIGetToken, old: true}, s.getTokenOld))
	m.HandleFunc("POST /topapi/v2/user/get", s.api(apiSpec{name: APIGetUser, old: true, auth: true}, s.getUser))
	m.HandleFunc("POST /"+APISendMessage, s.api(apiSpec{name: APISendMessage, old: true, auth: true}, s.sendMessage))
	m.HandleFunc("POST "+cal, s.api(apiSpec{name: APICreateEvent, auth: true, metered: true, write: true}, s.createEvent))
	m.HandleFunc("GET "+cal, s.api(apiSpec{name: APIListEvents, auth: true, metered: true}, s.listEvents))
	m.HandleFunc("GET "+cal+"/{eid}", s.api(apiSpec{name: APIGetEvent, auth: true, metered: true}, s.getEvent))
	m.HandleFunc("PUT "+cal+"/{eid}", s.api(apiSpec{name: APIPatchEvent, auth: true, metered: true, write: true}, s.patchEvent))
	m.HandleFunc("DELETE "+cal+"/{eid}", s.api(apiSpec{name: APIDeleteEvent, auth: true, metered: true, write: true}, s.deleteEvent))
	m.HandleFunc("GET "+cal+"/{eid}/instances", s.api(apiSpec{name: APIListInstances, auth: true, metered: true}, s.listInstances))
	m.HandleFunc("POST "+cal+"/{eid}/meetingRooms", s.api(apiSpec{name: APIAddMeetingRooms, auth: true, metered: true, write: true}, s.addRooms))
	m.HandleFunc("POST "+cal+"/{eid}/meetingRooms/batchRemove", s.api(apiSpec{name: APIRemoveMeetingRooms, auth: true, metered: true, write: true}, s.removeRooms))
	m.HandleFunc("POST /v1.0/calendar/users/{uid}/meetingRooms/schedules/query", s.api(apiSpec{name: APIGetMeetingRoomsSchedule, auth: true, metered: true}, s.roomSchedules))
	m.HandleFunc("POST /v1.0/gateway/connections/open", s.openStream)
	m.HandleFunc("GET /_stream/connect", s.serveStream)
	m.HandleFunc("GET /v1.0/rooms/meetingRoomLists", s.api(apiSpec{name: APIQueryMeetingRoomList, auth: true, metered: true}, s.roomList))
	s.loginRoutes(m)
	s.adminRoutes(m)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody{Code: "notFound", Message: "no such API: " + r.Method + " " + r.URL.Path})
	})
	s.mux = m
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// apiSpec describes how one endpoint is authenticated, metered and made idempotent.
type apiSpec struct {
	name    string
	old     bool // old API: errors as HTTP 200 {"errcode","errmsg"}, token in ?access_token=
	auth    bool // needs an access token
	metered bool // counts toward the monthly quota
	write   bool // honours x-client-token
}

// reply is what a handler answers: a status and a JSON body (nil for an empty body).
type reply struct {
	status int
	body   any
}

// errorBody is the new API's error format.
type errorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"requestid"`
}

// oldBody is the old API's answer envelope.
type oldBody struct {
	ErrCode   int    `json:"errcode"`
	ErrMsg    string `json:"errmsg"`
	SubCode   string `json:"sub_code,omitempty"`
	SubMsg    string `json:"sub_msg,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	Result    any    `json:"result,omitempty"`
	TaskID    int64  `json:"task_id,omitempty"`
}

func apiErr(status int, code, msg string) reply {
	return reply{status: status, body: errorBody{Code: code, Message: msg}}
}

func oldErr(code int, msg string) reply {
	return reply{status: http.StatusOK, body: oldBody{ErrCode: code, ErrMsg: msg}}
}

// oldWrapped is the old API's errcode 88: the real cause is in sub_code and sub_msg.
func oldWrapped(subCode int, subMsg string) reply {
	return reply{status: http.StatusOK, body: oldBody{ErrCode: 88,
		ErrMsg:  fmt.Sprintf("ding talk error[subcode=%d,submsg=%s]", subCode, subMsg),
		SubCode: strconv.Itoa(subCode), SubMsg: subMsg}}
}

func ok(body any) reply { return reply{status: http.StatusOK, body: body} }

// countsTowardQuota reports whether DingTalk would meter an answered call: throttled,
// unauthenticated and over-quota calls are not counted.
func countsTowardQuota(r reply) bool {
	if r.status == http.StatusUnauthorized || r.status == http.StatusTooManyRequests {
		return false
	}
	if b, isErr := r.body.(errorBody); isErr {
		switch b.Code {
		case codeInvalidAuth, codeQPS, codeQPSAPI, codeQPM, codeQuota, codeBusy:
			return false
		}
	}
	return true
}

// api wraps a handler with what every DingTalk endpoint does: count the call, authenticate,
// apply injected faults, honour x-client-token, meter, and write JSON.
func (s *Server) api(spec apiSpec, h func(r *http.Request, body []byte) reply) http.HandlerFunc {
	s.apis[spec.name] = true
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.calls[spec.name]++
		if rep, authed := s.authenticate(spec, r); !authed {
			s.mu.Unlock()
			s.write(w, rep)
			return
		}
		f := s.takeFault(spec.name)
		release := s.release
		s.mu.Unlock()

		lost := false
		if f != nil {
			switch f.Kind {
			case FaultLatency:
				t := time.NewTimer(f.Delay)
				select {
				case <-t.C:
				case <-r.Context().Done():
					t.Stop()
					return
				case <-release:
					t.Stop()
				}
			case FaultHang:
				select {
				case <-r.Context().Done():
					return
				case <-release:
					s.write(w, apiErr(http.StatusServiceUnavailable, "systemError", "hang released"))
					return
				}
			case FaultLostAnswer:
				lost = true
			default:
				s.mu.Lock()
				rep := s.faultReply(spec, f)
				if spec.metered && countsTowardQuota(rep) {
					s.metered++
				}
				s.mu.Unlock()
				s.write(w, rep)
				return
			}
		}

		s.mu.Lock()
		rep := s.idempotently(spec, r, body, h)
		if spec.metered && countsTowardQuota(rep) {
			s.metered++
		}
		s.mu.Unlock()
		if lost {
			rep = apiErr(http.StatusInternalServerError, "systemError", "connection reset after processing")
		}
		s.write(w, rep)
	}
}

// authenticate checks the access token of spec's endpoint. It runs with s.mu held.
func (s *Server) authenticate(spec apiSpec, r *http.Request) (reply, bool) {
	if !spec.auth {
		return reply{}, true
	}
	if spec.old {
		exp, known := s.tokens[r.URL.Query().Get("access_token")]
		switch {
		case !known:
			return oldWrapped(40014, "不合法的access_token"), false
		case !s.now().Before(exp):
			return oldErr(42001, "access_token超时"), false
		}
		return reply{}, true
	}
	tok := r.Header.Get("x-acs-dingtalk-access-token")
	if tok == "" {
		return apiErr(http.StatusUnauthorized, "unauthorized.client", "x-acs-dingtalk-access-token is missing"), false
	}
	if exp, known := s.tokens[tok]; !known || !s.now().Before(exp) {
		return apiErr(http.StatusBadRequest, codeInvalidAuth, "不合法的access_token (access_token is illegal or expired)"), false
	}
	return reply{}, true
}

// write sends rep, stamping a fresh request id on error bodies.
func (s *Server) write(w http.ResponseWriter, rep reply) {
	s.mu.Lock()
	s.ids++
	rid := fmt.Sprintf("fake-req-%d", s.ids)
	s.mu.Unlock()
	w.Header().Set("x-acs-request-id", rid)
	switch b := rep.body.(type) {
	case errorBody:
		b.RequestID = rid
		rep.body = b
	case oldBody:
		b.RequestID = rid
		rep.body = b
	}
	writeJSON(w, rep.status, rep.body)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	if body == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// newID returns an opaque, URL-safe id. It runs with s.mu held.
func (s *Server) newID(prefix string) string {
	s.ids++
	return base64.RawURLEncoding.EncodeToString([]byte(prefix + "-" + strconv.FormatInt(s.ids, 10)))
}

func (s *Server) userByUnion(unionID string) (User, bool) {
	for _, u := range s.users {
		if u.UnionID == unionID {
			return u, true
		}
	}
	return User{}, false
}

func (s *Server) room(id string) (Room, bool) {
	for _, r := range s.rooms {
		if r.ID == id {
			return r, true
		}
	}
	return Room{}, false
}

// Events returns a snapshot of every event, cancelled ones included, in creation order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Event, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.events[id].snapshot())
	}
	return out
}

func (e *event) snapshot() Event {
	c := e.Event
	c.RoomIDs = slices.Clone(e.RoomIDs)
	c.AttendeeUnionIDs = slices.Clone(e.AttendeeUnionIDs)
	return c
}

// MeteredCalls returns how many calls so far count toward DingTalk's monthly quota: calendar
// and rooms calls that were answered and not throttled, rejected for authentication or
// refused for an exhausted quota.
func (s *Server) MeteredCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.metered
}

// Calls returns how many requests the API with the given name (an API* constant) received,
// whatever their outcome.
func (s *Server) Calls(api string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[api]
}

// ExpireTokens makes every access token issued so far invalid.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireTokens()
}

func (s *Server) expireTokens() {
	clear(s.tokens)
	s.current = ""
}
