package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

// Conflicts is the conflict and cutover side of the engine (implemented by
// bridge.Service).
type Conflicts interface {
	// Resolve carries out an admin's resolution of a conflict through the outbox.
	// Errors: ErrForbidden, ErrNotFound, ErrInvalid, ErrConflict, ErrFrozen (user errors
	// with codes).
	Resolve(ctx context.Context, by models.User, id string, act models.Resolution) (models.Conflict, error)
	// MoveOptions lists rooms of the same office, with enough seats, free in both systems
	// for the reservation's time.
	MoveOptions(ctx context.Context, reservationID string) ([]models.Room, error)
	// Cutover reports what still sits in the wrong system.
	Cutover(ctx context.Context) (models.CutoverReport, error)
	// Migrate queues the move of one OA reservation into DingTalk.
	Migrate(ctx context.Context, by models.User, reservationID string) (models.Reservation, error)
	// PlanResplit lists the series split at another cutover than the configured one and
	// what a re-split would do to each (a dry run).
	PlanResplit(ctx context.Context) ([]models.SeriesResplit, error)
	// Resplit moves the occurrences of every series split at another cutover into the
	// system the configured cutover gives them, and says what it did to each series.
	// Errors: ErrForbidden.
	Resplit(ctx context.Context, by models.User) ([]models.SeriesResplit, error)
}

// conflictJSON is a conflict in the JSON API (DESIGN §4.4, extended).
type conflictJSON struct {
	ID         string            `json:"id"`
	Kind       string            `json:"kind"`
	Status     string            `json:"status"`
	Rule       string            `json:"rule"`
	RuleArgs   map[string]string `json:"rule_args"`
	RuleText   string            `json:"rule_text"`
	OfficeID   string            `json:"office_id"`
	RoomID     string            `json:"room_id"`
	Start      time.Time         `json:"start"`
	End        time.Time         `json:"end"`
	Sides      []sideJSON        `json:"sides"`
	Suggestion suggestionJSON    `json:"suggestion"`
	Resolution *resolutionJSON   `json:"resolution,omitempty"`
	DetectedAt time.Time         `json:"detected_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
	ClosedAt   *time.Time        `json:"closed_at,omitempty"`
}

type sideJSON struct {
	ReservationID string    `json:"reservation_id"`
	Backend       string    `json:"backend"`
	RemoteID      string    `json:"remote_id"`
	Origin        string    `json:"origin"`
	Status        string    `json:"status"`
	RoomID        string    `json:"room_id"`
	Organizer     string    `json:"organizer"`
	OrganizerID   string    `json:"organizer_id,omitempty"`
	Title         string    `json:"title"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	CreatedAt     time.Time `json:"created_at"`
}

type suggestionJSON struct {
	Action string `json:"action"`
	Keep   string `json:"keep,omitempty"`
}

type resolutionJSON struct {
	Action    string `json:"action"`
	Target    string `json:"target,omitempty"`
	Outcome   string `json:"outcome"`
	By        string `json:"by"`
	Note      string `json:"note,omitempty"`
	ErrorCode string `json:"error_code,omitempty"`
	Error     string `json:"error,omitempty"`
}

func (s *server) conflictJSON(l lang, c models.Conflict) conflictJSON {
	out := conflictJSON{ID: c.ID, Kind: string(c.Kind), Status: string(c.Status), Rule: c.Rule, RuleArgs: c.RuleArgs,
		RuleText: s.ruleText(l, c), OfficeID: c.OfficeID, RoomID: c.RoomID, Start: s.inZone(c.Start), End: s.inZone(c.End),
		Sides: []sideJSON{}, Suggestion: suggestionJSON{Action: c.SuggestAction, Keep: c.SuggestKeep},
		DetectedAt: s.inZone(c.DetectedAt), UpdatedAt: s.inZone(c.UpdatedAt)}
	if out.RuleArgs == nil {
		out.RuleArgs = map[string]string{}
	}
	for _, sd := range c.Sides {
		out.Sides = append(out.Sides, sideJSON{ReservationID: sd.ReservationID, Backend: string(sd.Backend), RemoteID: sd.RemoteID,
			Origin: string(sd.Origin), Status: string(sd.Status), RoomID: sd.RoomID, Organizer: sd.Organizer, OrganizerID: sd.OrganizerID,
			Title: sd.Title, Start: s.inZone(sd.Start), End: s.inZone(sd.End), CreatedAt: s.inZone(sd.CreatedAt)})
	}
	if c.Resolution != "" {
		out.Resolution = &resolutionJSON{Action: c.Resolution, Target: c.ResolutionArg, Outcome: c.Outcome, By: c.ResolvedBy,
			Note: c.Note, ErrorCode: c.ErrorCode, Error: c.ErrorDetail}
	}
	if c.ClosedAt != nil {
		t := s.inZone(*c.ClosedAt)
		out.ClosedAt = &t
	}
	return out
}

// ruleText renders a conflict's rule code with its arguments in l.
func (s *server) ruleText(l lang, c models.Conflict) string {
	key := "rule." + c.Rule
	if !hasMessage(key) {
		return c.Rule
	}
	switch c.Rule {
	case models.RuleOwnerWins:
		return l.Tf(key, backendName(l, models.Backend(c.RuleArgs["owner"])), s.argTime(c.RuleArgs["cutover"]))
	case models.RuleOwnerIsDingTalk:
		return l.Tf(key, s.argTime(c.RuleArgs["cutover"]))
	case models.RuleUnmappedOrganizer:
		name := c.RuleArgs["name"]
		if name == "" {
			name = c.RuleArgs["ref"]
		}
		return l.Tf(key, backendName(l, models.Backend(c.RuleArgs["backend"])), name)
	}
	return l.T(key)
}

func (s *server) argTime(v string) string {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return v
	}
	return s.clock(t)
}

// conflictFilter reads ?status=&kind=&office= (an unknown value is a 400).
func conflictFilter(c echo.Context) (models.ConflictFilter, error) {
	f := models.ConflictFilter{Status: models.ConflictStatus(c.QueryParam("status")), Kind: models.ConflictKind(c.QueryParam("kind")),
		OfficeID: c.QueryParam("office"), Reservation: c.QueryParam("reservation")}
	if f.Status != "" && !f.Status.Valid() {
		return f, badRequest("status", "filter", models.ArgName, "status", "allowed", "open, resolved, dismissed")
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return f, badRequest("kind", "filter", models.ArgName, "kind", "allowed", "overlap, wrong_system, unmapped")
	}
	return f, nil
}

// listConflictsAPI handles GET /api/v1/conflicts (admin).
func (s *server) listConflictsAPI(c echo.Context) error {
	f, err := conflictFilter(c)
	if err != nil {
		return err
	}
	cs, err := s.store.Conflicts(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]conflictJSON, 0, len(cs))
	for _, x := range cs {
		out = append(out, s.conflictJSON(langOf(c), x))
	}
	return c.JSON(http.StatusOK, out)
}

// getConflictAPI handles GET /api/v1/conflicts/{id} (admin).
func (s *server) getConflictAPI(c echo.Context) error {
	x, err := s.store.Conflict(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.conflictJSON(langOf(c), x))
}

// resolveConflictAPI handles POST /api/v1/conflicts/{id}/resolve (admin): 202 with the
// conflict, whose resolution.outcome says how carrying it out goes.
func (s *server) resolveConflictAPI(c echo.Context) error {
	var body models.Resolution
	if err := decodeJSON(c.Request().Body, &body); err != nil {
		return err
	}
	x, err := s.conflicts.Resolve(c.Request().Context(), user(c), c.Param("id"), body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, s.conflictJSON(langOf(c), x))
}

// Pages ----------------------------------------------------------------------------

// conflictsPage is the view model of conflicts.html: the queue with its filters.
type conflictsPage struct {
	page
	Status, Kind, Office string
	Offices              []option
	Statuses, Kinds      []option
	Counts               []countView
	Items                []conflictRow
}

type option struct {
	Value, Label string
	N            int
	Selected     bool
}

type countView struct {
	Label string
	N     int
	URL   string
	Alert bool
}

type conflictRow struct {
	ID, Kind, KindLabel, Status, StatusLabel string
	Room, Office, When                       string
	Sides                                    []string
	Suggestion                               string
	Outcome, OutcomeLabel                    string
}

// conflictsQueue handles GET /admin/conflicts.
func (s *server) conflictsQueue(c echo.Context) error {
	ctx, l := c.Request().Context(), langOf(c)
	f, err := conflictFilter(c)
	if err != nil {
		return err
	}
	if c.QueryParam("status") == "" && !c.QueryParams().Has("status") {
		f.Status = models.ConflictOpen
	}
	cs, err := s.store.Conflicts(ctx, f)
	if err != nil {
		return err
	}
	counts, err := s.store.ConflictCounts(ctx)
	if err != nil {
		return err
	}
	rooms, offices, err := s.catalogNames(ctx)
	if err != nil {
		return err
	}
	pg := conflictsPage{page: s.page(c, "conflicts.title"), Status: string(f.Status), Kind: string(f.Kind), Office: f.OfficeID}
	byStatus, byKind, byOffice := map[string]int{}, map[string]int{}, map[string]int{}
	for _, n := range counts {
		byStatus[string(n.Status)] += n.N
		if n.Status == models.ConflictOpen {
			byKind[string(n.Kind)] += n.N
			byOffice[n.OfficeID] += n.N
		}
	}
	pg.Statuses = append(pg.Statuses, option{Value: "", Label: l.T("conflicts.all")})
	for _, st := range []models.ConflictStatus{models.ConflictOpen, models.ConflictResolved, models.ConflictDismissed} {
		pg.Statuses = append(pg.Statuses, option{Value: string(st), Label: l.T("cstatus." + string(st)), N: byStatus[string(st)], Selected: f.Status == st})
	}
	pg.Kinds = append(pg.Kinds, option{Value: "", Label: l.T("conflicts.all")})
	for _, k := range models.ConflictKinds {
		pg.Kinds = append(pg.Kinds, option{Value: string(k), Label: l.T("ckind." + string(k)), N: byKind[string(k)], Selected: f.Kind == k})
		q := url.Values{"status": {"open"}, "kind": {string(k)}}
		pg.Counts = append(pg.Counts, countView{Label: l.T("ckind." + string(k)), N: byKind[string(k)], URL: "/admin/conflicts?" + q.Encode(), Alert: byKind[string(k)] > 0})
	}
	pg.Offices = append(pg.Offices, option{Value: "", Label: l.T("form.all_offices")})
	for _, o := range offices {
		pg.Offices = append(pg.Offices, option{Value: o.ID, Label: o.Name, N: byOffice[o.ID], Selected: f.OfficeID == o.ID})
	}
	for _, x := range cs {
		row := conflictRow{ID: x.ID, Kind: string(x.Kind), KindLabel: l.T("ckind." + string(x.Kind)), Status: string(x.Status),
			StatusLabel: l.T("cstatus." + string(x.Status)), Room: rooms[x.RoomID], Office: officeName(offices, x.OfficeID),
			When: s.span(l, x.Start, x.End), Suggestion: s.suggestionText(l, x), Outcome: x.Outcome}
		if x.Outcome != "" {
			row.OutcomeLabel = l.T("outcome_c." + x.Outcome)
		}
		for _, sd := range x.Sides {
			row.Sides = append(row.Sides, fmt.Sprintf("%s · %s · %s", backendName(l, sd.Backend), sd.Title, orDash(sd.Organizer)))
		}
		pg.Items = append(pg.Items, row)
	}
	return s.render(c, http.StatusOK, "conflicts.html", pg)
}

func orDash(v string) string {
	if v == "" {
		return "—"
	}
	return v
}

func officeName(offices []models.Office, id string) string {
	for _, o := range offices {
		if o.ID == id {
			return o.Name
		}
	}
	return id
}

// catalogNames returns room labels by id and the offices.
func (s *server) catalogNames(ctx context.Context) (map[string]string, []models.Office, error) {
	offices, err := s.store.Offices(ctx)
	if err != nil {
		return nil, nil, err
	}
	rooms := map[string]string{}
	for _, o := range offices {
		for _, r := range o.Rooms {
			rooms[r.ID] = o.Name + " " + r.Floor + " " + r.Name
		}
	}
	return rooms, offices, nil
}

func (s *server) suggestionText(l lang, c models.Conflict) string {
	switch c.SuggestAction {
	case models.ActionKeep:
		if sd, ok := c.Side(c.SuggestKeep); ok {
			return l.Tf("suggest.keep", backendName(l, sd.Backend), sd.Title)
		}
	case models.ActionMigrate:
		return l.T("suggest.migrate")
	case models.ActionDismiss:
		return l.T("suggest.dismiss")
	}
	return ""
}

// conflictPage is the view model of conflict.html.
type conflictPage struct {
	page
	C          models.Conflict
	Kind       string
	Status     string
	Room       string
	When       string
	Rule       string
	Suggestion string
	Open       bool
	Running    bool
	Sides      []sideView
	Timeline   timelineView
	Outcome    string
	Error      string
	ErrorCode  string
	// Retry repeats the last resolution after a failure.
	Retry     *models.Resolution
	FormError string
	Note      string
}

type sideView struct {
	models.ConflictSide
	BackendLabel, OriginLabel, StatusLabel string
	When, Created                          string
	Room                                   string
	Suggested                              bool
	Migratable                             bool
	MoveTo                                 []models.Room
}

type timelineView struct {
	Ticks []ctick
	Bars  []cbar
}

type ctick struct {
	Left  string
	Label string
}

type cbar struct {
	Left, Width, Top string
	Class            string
	Label            string
}

// conflictDetail handles GET /admin/conflicts/{id}.
func (s *server) conflictDetail(c echo.Context) error {
	return s.renderConflict(c, http.StatusOK, c.Param("id"), "", "")
}

func (s *server) renderConflict(c echo.Context, status int, id, formError, note string) error {
	ctx, l := c.Request().Context(), langOf(c)
	x, err := s.store.Conflict(ctx, id)
	if err != nil {
		return err
	}
	rooms, _, err := s.catalogNames(ctx)
	if err != nil {
		return err
	}
	pg := conflictPage{page: s.page(c, "conflict.title"), C: x, Kind: l.T("ckind." + string(x.Kind)), Status: l.T("cstatus." + string(x.Status)),
		Room: rooms[x.RoomID], When: s.span(l, x.Start, x.End), Rule: s.ruleText(l, x), Suggestion: s.suggestionText(l, x),
		Open: x.Status == models.ConflictOpen, Running: x.Outcome == models.OutcomeRunning, ErrorCode: x.ErrorCode, FormError: formError, Note: note}
	if x.Outcome != "" {
		pg.Outcome = l.T("outcome_c." + x.Outcome)
	}
	if x.ErrorCode != "" {
		pg.Error = l.T("cerr." + x.ErrorCode)
		if !hasMessage("cerr." + x.ErrorCode) {
			pg.Error = x.ErrorCode
		}
	}
	if x.Outcome == models.OutcomeFailed && x.Resolution != "" && x.Resolution != models.ActionDismiss {
		r := models.Resolution{Action: x.Resolution}
		switch x.Resolution {
		case models.ActionKeep:
			r.Keep = x.ResolutionArg
		default:
			r.Reservation = x.ResolutionArg
		}
		pg.Retry = &r
	}
	for _, sd := range x.Sides {
		v := sideView{ConflictSide: sd, BackendLabel: backendName(l, sd.Backend), OriginLabel: l.T("origin." + string(sd.Origin)),
			StatusLabel: l.T("status." + string(sd.Status)), When: s.span(l, sd.Start, sd.End), Created: s.instant(sd.CreatedAt),
			Room: rooms[sd.RoomID], Suggested: sd.ReservationID == x.SuggestKeep}
		v.Migratable = sd.Backend == models.BackendOA && x.Kind == models.KindWrongSystem
		if pg.Open && x.Kind == models.KindOverlap {
			if v.MoveTo, err = s.conflicts.MoveOptions(ctx, sd.ReservationID); err != nil {
				return err
			}
		}
		pg.Sides = append(pg.Sides, v)
	}
	pg.Timeline = s.conflictTimeline(l, x)
	return s.render(c, status, "conflict.html", pg)
}

// conflictTimeline lays the sides out as bars on one track, one row each, over the
// conflict's time with some margin.
func (s *server) conflictTimeline(l lang, x models.Conflict) timelineView {
	var tv timelineView
	if len(x.Sides) == 0 {
		return tv
	}
	from, to := x.Start.Add(-30*time.Minute).Truncate(30*time.Minute), x.End.Add(30*time.Minute)
	span := to.Sub(from)
	if span <= 0 {
		return tv
	}
	pct := func(t time.Time) float64 { return float64(t.Sub(from)) / float64(span) * 100 }
	step := time.Hour
	if span > 8*time.Hour {
		step = 3 * time.Hour
	}
	for t := from.Truncate(step); !t.After(to); t = t.Add(step) {
		if t.Before(from) {
			continue
		}
		tv.Ticks = append(tv.Ticks, ctick{Left: fmt.Sprintf("%.2f%%", pct(t)), Label: t.In(s.zone).Format("15:04")})
	}
	for i, sd := range x.Sides {
		cls := "bar " + string(sd.Backend)
		if sd.Origin == models.OriginNative {
			cls += " native"
		}
		if sd.ReservationID == x.SuggestKeep {
			cls += " keep"
		}
		tv.Bars = append(tv.Bars, cbar{Left: fmt.Sprintf("%.2f%%", pct(sd.Start)), Width: fmt.Sprintf("%.2f%%", pct(sd.End)-pct(sd.Start)),
			Top: fmt.Sprintf("%.2frem", 0.3+float64(i)*1.6), Class: cls,
			Label: backendName(l, sd.Backend) + " · " + sd.Start.In(s.zone).Format("15:04") + "–" + sd.End.In(s.zone).Format("15:04")})
	}
	return tv
}

// resolveConflictForm handles POST /admin/conflicts/{id}/resolve: the buttons of the
// conflict page. Success goes back to the page, which shows the outcome; a refusal
// re-renders it with the message.
func (s *server) resolveConflictForm(c echo.Context) error {
	act := models.Resolution{Action: c.FormValue("action"), Keep: c.FormValue("keep"), Reservation: c.FormValue("reservation"),
		RoomID: c.FormValue("room_id"), Note: c.FormValue("note")}
	id := c.Param("id")
	if _, err := s.conflicts.Resolve(c.Request().Context(), user(c), id, act); err != nil {
		p := s.explain(err, langOf(c))
		if p.Status >= 500 || p.Status == http.StatusNotFound || p.Status == http.StatusForbidden {
			return err
		}
		return s.renderConflict(c, p.Status, id, p.Message, act.Note)
	}
	return redirect(c, "/admin/conflicts/"+url.PathEscape(id))
}

// warnings returns, for each reservation id, the open conflicts it is part of, as the
// staff pages show them: the kind only (the other side may be someone else's booking).
func (s *server) warnings(ctx context.Context, ids []string) map[string][]string {
	out := map[string][]string{}
	if len(ids) == 0 {
		return out
	}
	by, err := s.store.OpenConflictsOf(ctx, ids)
	if err != nil {
		s.log.Warn("look up conflicts of bookings", "err", err)
		return out
	}
	for id, cs := range by {
		for _, x := range cs {
			if !slices.Contains(out[id], string(x.Kind)) {
				out[id] = append(out[id], string(x.Kind))
			}
		}
	}
	return out
}

// cutoverPage is the view model of cutover.html.
type cutoverPage struct {
	page
	Cutover, Freeze string
	Frozen          bool
	Items           []cutoverRow
	// Series are the bridge series crossing the cutover, each once.
	Series []cutoverSeriesRow
	// Resplit are the series split at another cutover, with their occurrences in the
	// wrong system; CanResplit: some of them can move ("migrate all" re-splits them).
	Resplit    []resplitRow
	CanResplit bool
	// Resplitted is what the last "migrate all" did to each series it re-split.
	Resplitted []resplitDoneRow
	InFlight   int
	Started    string
	Failed     string
	Refresh    bool
}

type cutoverSeriesRow struct {
	ID, Title, Organizer, Room, First, Counts string
}

type cutoverRow struct {
	ID, Title, Organizer, Room, When, RemoteID string
}

// resplitRow is one series split at another cutover.
type resplitRow struct {
	ID, Title, Organizer, Room, Summary string
	// Snapshot: the OA is frozen; occurrences leaving it are made from the stored rows.
	Snapshot    bool
	Occurrences []resplitOccurrence
}

// resplitOccurrence is one occurrence in the wrong system: from → to, and why it does
// not get there (Code "oa_frozen" or "slot_taken", Note the text).
type resplitOccurrence struct {
	When, From, To, Code, Note string
}

// resplitDoneRow is the outcome of "migrate all" for one series.
type resplitDoneRow struct {
	ID, Title, Outcome, Text string
}

// cutoverReport handles GET /admin/cutover: what still sits in the wrong system (OA
// bookings after the cutover, series crossing it, series split at another cutover), the
// outcome of the last "migrate all", and the progress of a migration under way (the page
// refreshes itself while it runs).
func (s *server) cutoverReport(c echo.Context) error {
	ctx, l := c.Request().Context(), langOf(c)
	rep, err := s.conflicts.Cutover(ctx)
	if err != nil {
		return err
	}
	plan, err := s.conflicts.PlanResplit(ctx)
	if err != nil {
		return err
	}
	rooms, _, err := s.catalogNames(ctx)
	if err != nil {
		return err
	}
	pg := cutoverPage{page: s.page(c, "cutover.title"), Cutover: s.instant(rep.Cutover), Freeze: s.instant(rep.Freeze), Frozen: rep.Frozen,
		InFlight: rep.InFlight, Started: countParam(c.QueryParam("started")), Failed: countParam(c.QueryParam("failed")), Refresh: rep.InFlight > 0}
	for _, it := range rep.Items {
		pg.Items = append(pg.Items, cutoverRow{ID: it.ID, Title: it.Title, Organizer: orDash(it.Organizer), Room: rooms[it.RoomID],
			When: s.span(l, it.Start, it.End), RemoteID: it.RemoteID})
	}
	for _, x := range rep.Series {
		pg.Series = append(pg.Series, cutoverSeriesRow{ID: x.ID, Title: x.Title, Organizer: orDash(x.Organizer), Room: rooms[x.RoomID],
			First: s.instant(x.Start), Counts: l.Tf("cutover.series_counts", x.OABefore, x.DingTalkAfter, x.OAAfter)})
	}
	for _, sp := range plan {
		row := resplitRow{ID: sp.Series.ID, Title: sp.Series.Title, Organizer: orDash(sp.Series.OrganizerName), Room: rooms[sp.Series.RoomID],
			Snapshot: sp.FromSnapshot}
		if sp.Outcome() == models.ResplitKept {
			row.Summary = l.Tf("cutover.resplit_kept", len(sp.Moves))
		} else {
			pg.CanResplit = true
			row.Summary = l.Tf("cutover.resplit_to_move", len(sp.Moves)-len(sp.Frozen)-len(sp.Skipped), len(sp.Moves))
		}
		for _, r := range sp.Moves {
			to := models.BackendDingTalk
			if r.Backend == models.BackendDingTalk {
				to = models.BackendOA
			}
			o := resplitOccurrence{When: s.span(l, r.Start, r.End), From: backendName(l, r.Backend), To: backendName(l, to)}
			if t, taken := sp.SkippedAt(r.Start); sp.IsFrozen(r.ID) {
				o.Code, o.Note = "oa_frozen", l.Tf("cutover.resplit_frozen", backendName(l, r.Backend))
			} else if taken {
				o.Code, o.Note = "slot_taken", l.Tf("cutover.resplit_taken", backendName(l, to), t.With.Title, s.span(l, t.With.Start, t.With.End))
			} else if sp.FromSnapshot && r.Backend == models.BackendOA {
				o.Note = l.T("cutover.resplit_snapshot")
			}
			row.Occurrences = append(row.Occurrences, o)
		}
		pg.Resplit = append(pg.Resplit, row)
	}
	if pg.Resplitted, err = s.resplitDone(ctx, l, c.QueryParams()["series"]); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "cutover.html", pg)
}

// countParam is a count carried in a redirect's query, as the page may show it: "" unless
// it is a whole number (a hand-edited link shows nothing rather than what it says).
func countParam(v string) string {
	if n, err := strconv.Atoi(v); err != nil || n < 0 {
		return ""
	}
	return v
}

// resplitOutcome is what "migrate all" did to one series, carried to the report page in
// its query: id.outcome.moved.skipped.kept.snapshot(0/1).code.
func resplitOutcome(sp models.SeriesResplit, code string) string {
	moved := len(sp.Moves) - len(sp.Frozen) - len(sp.Skipped)
	snapshot := 0
	if sp.FromSnapshot {
		snapshot = 1
	}
	return fmt.Sprintf("%s.%s.%d.%d.%d.%d.%s", sp.Series.ID, sp.Outcome(), moved, len(sp.Skipped), len(sp.Frozen), snapshot, code)
}

// resplitDone renders the outcomes of the last "migrate all" (see resplitOutcome).
func (s *server) resplitDone(ctx context.Context, l lang, list []string) ([]resplitDoneRow, error) {
	if len(list) == 0 {
		return nil, nil
	}
	type done struct {
		id, outcome, code              string
		moved, skipped, kept, snapshot int
	}
	var parsed []done
	var ids []string
	for _, v := range list {
		f := strings.Split(v, ".")
		if len(f) != 7 {
			continue
		}
		d := done{id: f[0], outcome: f[1], code: f[6]}
		d.moved, _ = strconv.Atoi(f[2])
		d.skipped, _ = strconv.Atoi(f[3])
		d.kept, _ = strconv.Atoi(f[4])
		d.snapshot, _ = strconv.Atoi(f[5])
		parsed = append(parsed, d)
		ids = append(ids, d.id)
	}
	series, err := s.store.SeriesByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []resplitDoneRow
	for _, d := range parsed {
		ser, ok := series[d.id]
		if !ok {
			continue
		}
		var text string
		switch d.outcome {
		case models.ResplitMoved:
			text = l.Tf("cutover.resplit_moved", d.moved, d.skipped)
			if d.snapshot == 1 {
				text += " " + l.T("cutover.resplit_moved_snapshot")
			}
			if d.kept > 0 {
				text += " " + l.Tf("cutover.resplit_moved_kept", d.kept)
			}
		case models.ResplitKept:
			text = l.Tf("cutover.resplit_kept", d.kept)
		default:
			msg, ok := s.say(l, d.code, nil)
			if !ok || strings.Contains(msg, "{") {
				msg = d.code
			}
			text = l.Tf("cutover.resplit_failed", msg)
		}
		out = append(out, resplitDoneRow{ID: d.id, Title: ser.Title, Outcome: d.outcome, Text: text})
	}
	return out, nil
}

// migrateAllForm handles POST /admin/cutover/migrate: every listed reservation is queued
// for migration and every series split at another cutover is re-split; the report page
// then shows the progress and what happened to each series.
func (s *server) migrateAllForm(c echo.Context) error {
	ctx, l := c.Request().Context(), langOf(c)
	rep, err := s.conflicts.Cutover(ctx)
	if err != nil {
		return err
	}
	started, failed := 0, 0
	for _, it := range rep.Items {
		if _, err := s.conflicts.Migrate(ctx, user(c), it.ID); err != nil {
			s.log.Warn("migrate booking", "reservation", it.ID, "err", err)
			failed++
			continue
		}
		started++
	}
	// Series move as a whole (one recurring event in DingTalk), not occurrence by occurrence.
	done, err := s.conflicts.Resplit(ctx, user(c))
	if err != nil {
		return err
	}
	q := url.Values{}
	for _, sp := range done {
		code := ""
		switch sp.Outcome() {
		case models.ResplitMoved:
			started++
		case models.ResplitFailed:
			failed++
			code = s.explain(sp.Err, l).Code
		}
		q.Add("series", resplitOutcome(sp, code))
	}
	q.Set("started", strconv.Itoa(started))
	q.Set("failed", strconv.Itoa(failed))
	return redirect(c, "/admin/cutover?"+q.Encode())
}
