package web

import (
	"context"
	"errors"
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

// RoomLists reads the room lists the backends hold, for the room-mapping page.
// Implementations keep them for a while (reading DingTalk's is metered) and never fail:
// a backend that cannot be read comes back with RoomList.Err set.
type RoomLists interface {
	RoomLists(ctx context.Context, refresh bool) []models.RoomList
}

// roomsPage is the view model of rooms.html: how each catalog room maps to the OA and
// DingTalk rooms the backends list, the backend rooms no catalog room maps to, and
// catalog rooms whose id a backend does not know.
type roomsPage struct {
	page
	Rooms []roomMapView
	// Lists say, per backend, when its list was read and why it could not be.
	Lists []roomListView
	// Orphans are backend rooms no catalog room maps to: bookings in them are not
	// synced, so no conflict about them can be found.
	Orphans []orphanRoomView
	// Stale counts the catalog rooms whose id a backend does not list.
	Stale int
}

type roomListView struct {
	System, Read, Error string
}

type roomMapView struct {
	Office, ID, Name, Floor string
	Capacity                int
	// Sides are the room's counterparts in the OA and in DingTalk.
	Sides    []remoteRoomView
	Unmapped bool
	// Similar are catalog rooms mapped in the missing system whose names look alike
	// (the usual cause: one room catalogued twice under two spellings).
	Similar []string
}

// remoteRoomView is a catalog room's counterpart in one backend.
type remoteRoomView struct {
	System   string
	ID, Name string
	// Stale: the catalog maps the room to an id the backend does not list.
	Stale bool
	// Suggest are backend rooms no catalog room maps to whose names look alike, for a
	// room without a valid id there.
	Suggest []string
}

type orphanRoomView struct {
	System, ID, Name string
	Capacity         int
	// Suggest are catalog rooms without a valid id in that system whose names look alike.
	Suggest []string
}

// roomMapping handles GET /admin/rooms.
func (s *server) roomMapping(c echo.Context) error {
	l := langOf(c)
	offices, err := s.store.Offices(c.Request().Context())
	if err != nil {
		return err
	}
	var all []models.Room
	for _, o := range offices {
		all = append(all, o.Rooms...)
	}
	var lists []models.RoomList
	if s.roomLists != nil {
		lists = s.roomLists.RoomLists(c.Request().Context(), false)
	}
	pg := roomsPage{page: s.page(c, "roomsp.title")}
	m := mapRooms(all, lists)
	for _, rl := range lists {
		v := roomListView{System: backendName(l, rl.Backend)}
		if rl.Listed() {
			v.Read = s.instant(rl.Read)
		}
		if rl.Err != nil {
			s.log.Warn("read backend room list", "backend", rl.Backend, "err", rl.Err)
			v.Error = l.Tf(roomListError(rl.Err, rl.Listed()), v.System)
		}
		pg.Lists = append(pg.Lists, v)
	}
	for _, o := range offices {
		for _, r := range o.Rooms {
			v := roomMapView{Office: o.Name, ID: r.ID, Name: r.Name, Floor: r.Floor, Capacity: r.Capacity}
			stale := false
			for _, b := range []models.Backend{models.BackendOA, models.BackendDingTalk} {
				side := m.counterpart(r, b)
				side.System = backendName(l, b)
				stale = stale || side.Stale
				v.Sides = append(v.Sides, side)
			}
			v.Unmapped = r.OARoomID == "" || r.DingTalkRoomID == ""
			if v.Unmapped {
				v.Similar = similarRooms(r, all)
			}
			if stale {
				pg.Stale++
			}
			pg.Rooms = append(pg.Rooms, v)
		}
	}
	for _, rl := range lists {
		for _, br := range m.orphans[rl.Backend] {
			pg.Orphans = append(pg.Orphans, orphanRoomView{System: backendName(l, rl.Backend), ID: br.ID, Name: br.Name, Capacity: br.Capacity,
				Suggest: m.suggestCatalog(rl.Backend, br)})
		}
	}
	return s.render(c, http.StatusOK, "rooms.html", pg)
}

// refreshRoomsForm handles POST /admin/rooms/refresh: the backends' lists are read again
// (as often as RoomLists allows).
func (s *server) refreshRoomsForm(c echo.Context) error {
	if s.roomLists != nil {
		s.roomLists.RoomLists(c.Request().Context(), true)
	}
	return redirect(c, "/admin/rooms")
}

// roomListError is the message key for a backend whose room list could not be read
// (or was not read: its monthly call budget is spent), by whether a list read earlier
// is shown instead.
func roomListError(err error, listed bool) string {
	if ue := models.UserError(err); ue != nil && ue.Code == models.CodeBudgetSpent {
		if listed {
			return "roomsp.list_budget"
		}
		return "roomsp.list_budget_none"
	}
	if errors.Is(err, models.ErrForbidden) || errors.Is(err, models.ErrNotFound) {
		return "roomsp.list_forbidden"
	}
	return "roomsp.list_down"
}

// roomMatch relates catalog rooms to the rooms the backends list.
type roomMatch struct {
	catalog []models.Room
	// listed are the rooms of each backend whose list was read, by id.
	listed map[models.Backend]map[string]models.BackendRoom
	// orphans are each backend's rooms no catalog room maps to, in the backend's order.
	orphans map[models.Backend][]models.BackendRoom
}

func mapRooms(catalog []models.Room, lists []models.RoomList) roomMatch {
	m := roomMatch{catalog: catalog, listed: map[models.Backend]map[string]models.BackendRoom{}, orphans: map[models.Backend][]models.BackendRoom{}}
	for _, rl := range lists {
		if !rl.Listed() {
			continue
		}
		byID := make(map[string]models.BackendRoom, len(rl.Rooms))
		for _, br := range rl.Rooms {
			byID[br.ID] = br
		}
		m.listed[rl.Backend] = byID
		mapped := map[string]bool{}
		for _, r := range catalog {
			mapped[r.RemoteID(rl.Backend)] = true
		}
		for _, br := range rl.Rooms {
			if !mapped[br.ID] {
				m.orphans[rl.Backend] = append(m.orphans[rl.Backend], br)
			}
		}
	}
	return m
}

// free reports whether catalog room r has no valid id in b: none, or one b does not list.
func (m roomMatch) free(r models.Room, b models.Backend) bool {
	id := r.RemoteID(b)
	if id == "" {
		return true
	}
	byID, read := m.listed[b]
	_, ok := byID[id]
	return read && !ok
}

func (m roomMatch) counterpart(r models.Room, b models.Backend) remoteRoomView {
	v := remoteRoomView{ID: r.RemoteID(b)}
	byID, read := m.listed[b]
	if !read {
		return v
	}
	if br, ok := byID[v.ID]; ok {
		v.Name = br.Name
		return v
	}
	v.Stale = v.ID != ""
	var names []string
	for _, br := range m.orphans[b] {
		names = append(names, br.Name)
	}
	for _, i := range alike(r.Name, names) {
		v.Suggest = append(v.Suggest, m.orphans[b][i].Name+" ("+m.orphans[b][i].ID+")")
	}
	return v
}

// suggestCatalog lists catalog rooms without a valid id in b whose names look like br's.
func (m roomMatch) suggestCatalog(b models.Backend, br models.BackendRoom) []string {
	var cands []models.Room
	var names []string
	for _, r := range m.catalog {
		if m.free(r, b) {
			cands, names = append(cands, r), append(names, r.Name)
		}
	}
	var out []string
	for _, i := range alike(br.Name, names) {
		out = append(out, cands[i].Name+" ("+cands[i].ID+")")
	}
	return out
}

// alike returns the indexes of the (at most three) names most like name, best first,
// among those at least half alike.
func alike(name string, names []string) []int {
	type cand struct {
		i     int
		score float64
	}
	var cs []cand
	for i, n := range names {
		if sc := nameSimilarity(name, n); sc >= 0.5 {
			cs = append(cs, cand{i, sc})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].score > cs[j].score })
	var out []int
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].i)
	}
	return out
}

// similarRooms suggests, for a room missing in one system, other rooms of the same
// office that are mapped there and share most of the name's letters.
func similarRooms(r models.Room, all []models.Room) []string {
	var cands []models.Room
	var names []string
	for _, o := range all {
		if o.ID == r.ID || o.OfficeID != r.OfficeID {
			continue
		}
		if (r.OARoomID == "" && o.OARoomID != "") || (r.DingTalkRoomID == "" && o.DingTalkRoomID != "") {
			cands, names = append(cands, o), append(names, o.Name)
		}
	}
	var out []string
	for _, i := range alike(r.Name, names) {
		out = append(out, cands[i].Name+" ("+cands[i].ID+")")
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
