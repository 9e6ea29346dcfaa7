package web

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

// outboxPage is the view model of outbox.html: the jobs that gave up.
type outboxPage struct {
	page
	Jobs []jobView
}

type jobView struct {
	ID, ReservationID, Kind, Backend, Error, Updated string
	Attempts                                         int
}

// outboxFailed handles GET /admin/outbox.
func (s *server) outboxFailed(c echo.Context) error {
	l := langOf(c)
	jobs, err := s.store.FailedJobs(c.Request().Context(), 200)
	if err != nil {
		return err
	}
	pg := outboxPage{page: s.page(c, "outboxp.title")}
	for _, j := range jobs {
		pg.Jobs = append(pg.Jobs, jobView{ID: j.ID, ReservationID: j.ReservationID, Kind: l.T("jobkind." + string(j.Kind)),
			Backend: backendName(l, j.Backend), Error: j.LastError, Updated: s.instant(j.UpdatedAt), Attempts: j.Attempts})
	}
	return s.render(c, http.StatusOK, "outbox.html", pg)
}

// retryJobForm handles POST /admin/outbox/{id}/retry.
func (s *server) retryJobForm(c echo.Context) error {
	if _, err := s.store.RetryJob(c.Request().Context(), c.Param("id"), user(c).ID); err != nil {
		return err
	}
	return redirect(c, "/admin/outbox")
}

// auditPage is the view model of audit.html.
type auditPage struct {
	page
	Actor, Action, Reservation string
	Entries                    []auditView
}

type auditView struct {
	At, Actor, Action, ReservationID, Detail string
}

// auditLog handles GET /admin/audit?actor=&action=&reservation=.
func (s *server) auditLog(c echo.Context) error {
	f := models.AuditFilter{Actor: strings.TrimSpace(c.QueryParam("actor")), Action: strings.TrimSpace(c.QueryParam("action")),
		Reservation: strings.TrimSpace(c.QueryParam("reservation")), Limit: 300}
	es, err := s.store.AuditLog(c.Request().Context(), f)
	if err != nil {
		return err
	}
	pg := auditPage{page: s.page(c, "audit.title"), Actor: f.Actor, Action: f.Action, Reservation: f.Reservation}
	for _, e := range es {
		pg.Entries = append(pg.Entries, auditView{At: s.instant(e.At), Actor: e.Actor, Action: e.Action, ReservationID: e.ReservationID, Detail: e.Detail})
	}
	return s.render(c, http.StatusOK, "audit.html", pg)
}

// roomsPage is the view model of rooms.html: how each catalog room maps to the OA and
// DingTalk, with name-based suggestions for a room missing in one system.
type roomsPage struct {
	page
	Rooms []roomMapView
}

type roomMapView struct {
	Office, ID, Name, Floor string
	Capacity                int
	OA, DingTalk            string
	Unmapped                bool
	// Similar are catalog rooms mapped in the missing system whose names look alike
	// (the usual cause: one room catalogued twice under two spellings).
	Similar []string
}

// roomMapping handles GET /admin/rooms.
func (s *server) roomMapping(c echo.Context) error {
	offices, err := s.store.Offices(c.Request().Context())
	if err != nil {
		return err
	}
	var all []models.Room
	for _, o := range offices {
		all = append(all, o.Rooms...)
	}
	pg := roomsPage{page: s.page(c, "roomsp.title")}
	for _, o := range offices {
		for _, r := range o.Rooms {
			v := roomMapView{Office: o.Name, ID: r.ID, Name: r.Name, Floor: r.Floor, Capacity: r.Capacity, OA: r.OARoomID, DingTalk: r.DingTalkRoomID}
			v.Unmapped = r.OARoomID == "" || r.DingTalkRoomID == ""
			if v.Unmapped {
				v.Similar = similarRooms(r, all)
			}
			pg.Rooms = append(pg.Rooms, v)
		}
	}
	return s.render(c, http.StatusOK, "rooms.html", pg)
}

// similarRooms suggests, for a room missing in one system, other rooms of the same
// office that are mapped there and share most of the name's letters.
func similarRooms(r models.Room, all []models.Room) []string {
	type cand struct {
		label string
		score float64
	}
	var cs []cand
	for _, o := range all {
		if o.ID == r.ID || o.OfficeID != r.OfficeID {
			continue
		}
		fills := (r.OARoomID == "" && o.OARoomID != "") || (r.DingTalkRoomID == "" && o.DingTalkRoomID != "")
		if !fills {
			continue
		}
		if sc := nameSimilarity(r.Name, o.Name); sc >= 0.5 {
			cs = append(cs, cand{o.Name + " (" + o.ID + ")", sc})
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].score > cs[j].score })
	var out []string
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].label)
	}
	return out
}

// nameSimilarity is the Dice coefficient of the two names' letters (spaces, punctuation
// and the word 会议室 ignored), 0..1.
func nameSimilarity(a, b string) float64 {
	norm := func(s string) []rune {
		s = strings.ReplaceAll(strings.ToLower(s), "会议室", "")
		var out []rune
		for _, r := range s {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				out = append(out, r)
			}
		}
		return out
	}
	x, y := norm(a), norm(b)
	if len(x) == 0 || len(y) == 0 {
		return 0
	}
	count := map[rune]int{}
	for _, r := range x {
		count[r]++
	}
	common := 0
	for _, r := range y {
		if count[r] > 0 {
			count[r]--
			common++
		}
	}
	return 2 * float64(common) / float64(len(x)+len(y))
}

// adminLinks is the admin console's navigation, on every admin page.
func adminLinks(p page) []navLink {
	here, _, _ := strings.Cut(p.Here, "?")
	var out []navLink
	for _, l := range []struct{ href, key string }{
		{"/admin", "admin.nav_status"}, {"/admin/conflicts", "admin.nav_conflicts"}, {"/admin/cutover", "admin.nav_cutover"},
		{"/admin/outbox", "admin.nav_outbox"}, {"/admin/audit", "admin.nav_audit"}, {"/admin/rooms", "admin.nav_rooms"},
	} {
		out = append(out, navLink{Href: l.href, Label: p.T(l.key), Current: here == l.href || (l.href != "/admin" && strings.HasPrefix(here, l.href+"/"))})
	}
	return out
}

type navLink struct {
	Href, Label string
	Current     bool
}

// AdminNav is the admin console's navigation for templates.
func (p page) AdminNav() []navLink { return adminLinks(p) }

// Query builds a query string for filter links.
func (p page) Query(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	return v.Encode()
}
