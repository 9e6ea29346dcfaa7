// Package seeyonfake is an in-memory Seeyon A8 OA for tests, the demo mode and the
// standalone fake-oa command. Server is an http.Handler that speaks the wire
// format of the meeting-room REST API under /seeyon/rest/ (tokens bound to a
// loginName, rooms, bookings, per-day occupancy), with business errors inside
// HTTP 200, bare true/false answers and signed 64-bit ids sent as JSON numbers.
//
// It follows A8 V7.1SP1's source where that is known: errorMsg texts are the zh_CN
// resources, getApplyMeemtingRooms' time condition filters on when a booking was applied
// for (the legacy build ignores it), getOrderDate stops counting after about 300
// booking-days, approval status 2 is rejected (Reject), and boolean getters serialise
// without their "is" prefix (cancelMRApp).
//
// Bookings made "in the OA directly" are added with AddNative and friends. Faults
// the real OA shows (HTTP 500, empty bodies, errorMsg answers, latency, hangs,
// dead tokens, a dropped connection, and a write whose answer is lost) are set
// with SetFault. A JSON admin surface under /_fake/ exposes the same controls over
// HTTP.
//
// seeyonfake imports roombridge/models (for the error kinds) and the standard
// library only; it must not import any other roombridge package.
package seeyonfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Wire texts and layouts.
const (
	layoutSecond = "2006-01-02 15:04:05"
	layoutMinute = "2006-01-02 15:04"
	layoutDay    = "2006-01-02"

	msgInvalidToken = "Invalid token,please authenticate again"
	// The zh_CN texts of meeting.error.errorParams, mr.alert.cannotapp,
	// meeting.rest.canNotApply and meeting.rest.hasNoCanApply.
	msgParams        = "传入参数错误"
	msgTaken         = "会议室在您申请的时间范围内有预定了"
	msgCanNotApply   = "不能申请这个会议室"
	msgHasNoCanApply = "没有可以申请的会议室"
	msgBadRange      = "结束时间必须晚于开始时间"
	msgNoApp         = "该会议室申请不存在或已撤销"

	defaultTokenTTL = 15 * time.Minute
)

// Room is a meeting room of the fake OA.
type Room struct {
	ID    string
	Name  string
	Seats int
	// Applicants are the login names that may book the room through execApp;
	// empty means everyone.
	Applicants []string
}

// User is an OA member a token can be bound to.
type User struct {
	LoginName string
	// MemberID is the member's Seeyon id; empty means a random one.
	MemberID string
	Name     string
}

// Booking is one room booking held by the fake.
type Booking struct {
	AppID         string    `json:"appId"`
	RoomID        string    `json:"roomId"`
	LoginName     string    `json:"loginName"`
	ApplicantName string    `json:"applicantName"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	Description   string    `json:"description"`
	// Status is the approval state: 0 waiting, 1 approved, 2 rejected
	// (审核未通过). The fake approves at once (1); Reject sets 2.
	Status int `json:"status"`
	// AppliedAt is when the application was made (appDatetime), which is what
	// getApplyMeemtingRooms' condition "time" filters on.
	AppliedAt time.Time `json:"appliedAt"`
	// Native is true for bookings made with AddNative ("in the OA directly").
	Native bool `json:"native"`
	// Cancelled bookings vanish from every Seeyon answer, as in the real OA.
	Cancelled    bool   `json:"cancelled"`
	CancelReason string `json:"cancelReason,omitempty"`
}

// Option configures a Server.
type Option func(*Server)

// WithZone sets the OA's local zone (default Asia/Shanghai).
func WithZone(zone *time.Location) Option { return func(s *Server) { s.zone = zone } }

// WithNow sets the clock used for token expiry and "already over" flags.
func WithNow(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithTokenTTL sets how long a token may sit idle before it dies (default 15 min).
func WithTokenTTL(d time.Duration) Option { return func(s *Server) { s.ttl = d } }

// WithIDs sets the generator of new booking ids (default: random negative int64).
// Ids already in use are skipped.
func WithIDs(next func() int64) Option { return func(s *Server) { s.nextID = next } }

// WithLegacyOccupancy makes the fake behave like OA versions before V7.1, where
// getMeetingUserInfo does not exist (HTTP 404) and only getMeetingRoomApps does.
func WithLegacyOccupancy() Option { return func(s *Server) { s.legacy = true } }

// Server is the fake OA. It is safe for concurrent use.
type Server struct {
	restUser string
	password string
	zone     *time.Location
	now      func() time.Time
	ttl      time.Duration
	nextID   func() int64
	legacy   bool
	admin    *http.ServeMux

	quit      chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	rooms    []Room
	users    []User
	sessions map[string]session // by token
	bookings map[string]*Booking
	// byRoom lists each room's bookings (cancelled ones included), so that a room's
	// occupancy is read without walking every booking, as the OA's own index would.
	byRoom map[string][]*Booking
	faults []Fault
	calls  map[string]int
	// meeting holds the endpoints under /seeyon/rest/meeting/ (see meetingEndpoints).
	meeting map[string]func(User, params) reply
}

type session struct {
	login string
	used  time.Time
}

// New returns a fake OA with one REST account (restUser, password), the given
// rooms and users, and no bookings.
func New(restUser, password string, rooms []Room, users []User, opts ...Option) *Server {
	s := &Server{
		restUser: restUser,
		password: password,
		now:      time.Now,
		ttl:      defaultTokenTTL,
		nextID:   func() int64 { return -mrand.Int64N(math.MaxInt64) - 1 },
		quit:     make(chan struct{}),
		sessions: make(map[string]session),
		bookings: make(map[string]*Booking),
		byRoom:   make(map[string][]*Booking),
		calls:    make(map[string]int),
	}
	for _, o := range opts {
		o(s)
	}
	if s.zone == nil {
		s.zone = shanghai()
	}
	for _, r := range rooms {
		r.Applicants = append([]string(nil), r.Applicants...)
		s.rooms = append(s.rooms, r)
	}
	for _, u := range users {
		if u.MemberID == "" {
			u.MemberID = strconv.FormatInt(-mrand.Int64N(math.MaxInt64)-1, 10)
		}
		s.users = append(s.users, u)
	}
	s.meeting = s.meetingEndpoints()
	s.admin = s.adminRoutes()
	return s
}

// Endpoints lists, sorted, the endpoint names the fake serves ("token" and those under
// /seeyon/rest/meeting/): the names a Fault may give.
func (s *Server) Endpoints() []string {
	out := []string{"token"}
	for name := range s.meeting {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func shanghai() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

// Close ends every request that is hanging on a fault. It does not stop the
// server from answering further requests.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.quit) })
}

// ExpireTokens invalidates every token issued so far.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
}

// Calls returns how many requests reached endpoint ("token", "execApp", ... or
// "meeting/execApp"), faulted ones included.
func (s *Server) Calls(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[endpointName(endpoint)]
}

// ServeHTTP answers the Seeyon REST API under /seeyon/rest/ and the admin
// surface under /_fake/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/_fake/"):
		s.admin.ServeHTTP(w, r)
	case p == "/seeyon/rest/token" && r.Method == http.MethodPost:
		s.serve(w, r, "token", s.tokenPost)
	case strings.HasPrefix(p, "/seeyon/rest/token/") && r.Method == http.MethodGet:
		s.serve(w, r, "token", s.tokenGet)
	case strings.HasPrefix(p, "/seeyon/rest/meeting/"):
		name := strings.TrimPrefix(p, "/seeyon/rest/meeting/")
		h, ok := s.meeting[name]
		switch {
		case !ok:
			s.serve(w, r, name, func(*http.Request) reply { return reply{status: http.StatusNotFound, text: "Not Found"} })
		case r.Method != http.MethodPost:
			s.serve(w, r, name, func(*http.Request) reply {
				return reply{status: http.StatusMethodNotAllowed, text: "Method Not Allowed"}
			})
		default:
			s.serve(w, r, name, s.authed(h))
		}
	default:
		http.NotFound(w, r)
	}
}

// reply is a Seeyon answer before it is written.
type reply struct {
	status int
	body   any    // JSON-encoded unless text is set
	text   string // written verbatim
	raw    bool   // write text even if empty (an empty 200 body)
}

func jsonReply(body any) reply { return reply{status: http.StatusOK, body: body} }

func errorMsg(msg string) reply { return jsonReply(map[string]any{"errorMsg": msg}) }

func (rep reply) write(w http.ResponseWriter) {
	if rep.status == 0 {
		rep.status = http.StatusOK
	}
	if rep.raw || rep.text != "" || rep.body == nil {
		if rep.text != "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		w.WriteHeader(rep.status)
		_, _ = w.Write([]byte(rep.text))
		return
	}
	b, err := json.Marshal(rep.body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(rep.status)
	_, _ = w.Write(b)
}

// authed wraps a meeting handler with the token check.
func (s *Server) authed(h func(User, params) reply) func(*http.Request) reply {
	return func(r *http.Request) reply {
		tok := r.Header.Get("token")
		if tok == "" {
			tok = r.URL.Query().Get("token")
		}
		p, err := readParams(r)
		if err != nil {
			return reply{status: http.StatusBadRequest, text: "malformed JSON body"}
		}
		u, ok := s.session(tok)
		if !ok {
			return reply{status: http.StatusUnauthorized, text: msgInvalidToken}
		}
		return h(u, p)
	}
}

// session returns the user tok is bound to and marks the token used.
func (s *Server) session(tok string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[tok]
	now := s.now()
	if !ok || now.Sub(sess.used) >= s.ttl {
		delete(s.sessions, tok)
		return User{}, false
	}
	sess.used = now
	s.sessions[tok] = sess
	u, ok := s.userLocked(sess.login, "")
	return u, ok
}

func (s *Server) userLocked(login, memberID string) (User, bool) {
	for _, u := range s.users {
		if (login != "" && u.LoginName == login) || (memberID != "" && u.MemberID == memberID) {
			return u, true
		}
	}
	return User{}, false
}

func (s *Server) roomLocked(id string) (Room, bool) {
	for _, r := range s.rooms {
		if r.ID == id {
			return r, true
		}
	}
	return Room{}, false
}

func (s *Server) tokenPost(r *http.Request) reply {
	p, err := readParams(r)
	if err != nil {
		return reply{status: http.StatusBadRequest, text: "malformed JSON body"}
	}
	return s.issue(p.str("userName"), p.str("password"), p.str("loginName"), p.str("memberId"), true)
}

func (s *Server) tokenGet(r *http.Request) reply {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/seeyon/rest/token/"), "/")
	if len(parts) != 2 {
		return reply{status: http.StatusNotFound, raw: true}
	}
	q := r.URL.Query()
	asJSON := strings.Contains(r.Header.Get("Accept"), "json")
	return s.issue(parts[0], parts[1], q.Get("loginName"), q.Get("memberId"), asJSON)
}

// issue answers a token request.
func (s *Server) issue(restUser, password, login, memberID string, asJSON bool) reply {
	if restUser != s.restUser || password != s.password {
		return reply{status: http.StatusNotFound, raw: true}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.userLocked(login, memberID)
	if !ok {
		if !asJSON {
			return reply{status: http.StatusOK, text: "-1"}
		}
		return jsonReply(map[string]any{"id": "-1", "bindingUser": nil})
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	tok := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	s.sessions[tok] = session{login: u.LoginName, used: s.now()}
	if !asJSON {
		return reply{status: http.StatusOK, text: tok}
	}
	return jsonReply(map[string]any{
		"id": tok,
		"bindingUser": map[string]any{
			"id":        idValue(u.MemberID),
			"loginName": u.LoginName,
			"name":      u.Name,
		},
	})
}

// params is a decoded JSON request body.
type params map[string]any

func readParams(r *http.Request) (params, error) {
	p := params{}
	if r.Body == nil {
		return p, nil
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return p, nil
}

// str returns the parameter as text (strings, numbers and booleans alike).
func (p params) str(k string) string {
	switch v := p[k].(type) {
	case string:
		return strings.TrimSpace(v)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	default:
		return ""
	}
}

func (p params) has(k string) bool {
	v, ok := p[k]
	return ok && v != nil
}

func (p params) int(k string, def int) int {
	n, err := strconv.Atoi(p.str(k))
	if err != nil {
		return def
	}
	return n
}

// idValue renders an id the way Seeyon does: a JSON number (a Java long). Ids
// that are not numbers stay strings.
func idValue(id string) any {
	if _, err := strconv.ParseInt(id, 10, 64); err == nil {
		return json.Number(id)
	}
	return id
}

// endpointName reduces "meeting/execApp" or "/seeyon/rest/meeting/execApp" to
// "execApp".
func endpointName(endpoint string) string {
	endpoint = strings.Trim(endpoint, "/")
	if i := strings.LastIndex(endpoint, "/"); i >= 0 {
		endpoint = endpoint[i+1:]
	}
	return endpoint
}

// parseLocal parses a Seeyon request time in zone.
func parseLocal(s string, zone *time.Location) (time.Time, bool) {
	for _, layout := range []string{layoutSecond, layoutMinute, layoutDay} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(s), zone); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
