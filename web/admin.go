package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

// Admin is the operator side of the engine (wired in cmd).
type Admin interface {
	// Sync runs one pass of both backends; force lets a pass cancel what a backend that
	// suddenly returns nothing no longer lists. It returns the summaries of the passes
	// that ran, with an error (ErrUnavailable, for instance) when one failed: both can
	// come back together.
	Sync(ctx context.Context, force bool) ([]models.SyncSummary, error)
	// Status reports the latest passes, quotas, outbox and migration dates. Errors:
	// ErrUnavailable.
	Status(ctx context.Context) (models.AdminStatus, error)
}

// adminPage is the view model of admin.html.
type adminPage struct {
	page
	Cutover, Freeze string
	Zone            string
	DemoMode        bool
	Backends        []backendRuns
	Quotas          []quotaView
	Outbox          []outboxView
	Unmapped        int
	// Just holds the passes of the sync just run from this page (Forced tells how) and
	// SyncError what went wrong in it.
	Just      []runView
	Ran       bool
	Forced    bool
	SyncError string
	// Console: the conflict pages and the rest of the admin console are on.
	Console bool
	// Stream is DingTalk's Stream connection and events (nil: Stream mode is off).
	Stream *streamView
}

// streamView is DingTalk's Stream connection and the events seen, as the admin page
// shows them; the times are "" when nothing happened since the start.
type streamView struct {
	Connected             bool
	Since, Room, Calendar string
	Trusted               bool
}

// runsTable is what the "runs" template of admin.html shows.
type runsTable struct {
	P           page
	Runs        []runView
	ShowBackend bool
}

// Table is the table of runs of one backend.
func (p adminPage) Table(runs []runView) runsTable { return runsTable{P: p.page, Runs: runs} }

// JustTable is the table of the passes just run, of both backends.
func (p adminPage) JustTable() runsTable {
	return runsTable{P: p.page, Runs: p.Just, ShowBackend: true}
}

// backendRuns is the latest passes of one backend.
type backendRuns struct {
	Name string
	Runs []runView
}

// runView is one sync pass as the admin page shows it.
type runView struct {
	Backend                                            string
	When, Duration                                     string
	Seen, Created, Updated, Cancelled, Errors, Guarded int
	Metered                                            int
	Skipped                                            bool
	Note                                               string
	// Bad marks a pass with errors or refused cancellations.
	Bad bool
}

// quotaView is one metered backend's monthly budget.
type quotaView struct {
	Backend, Month                           string
	Budget, Used, PerPass, Projected, Steady string
	Interval                                 string
	// Over: the month's projection passes the budget. NoBudget: nothing to compare with.
	Over, NoBudget bool
	// Paused and Throttled say the budget stops or slows sync until Until.
	Paused, Throttled bool
	Until, Overage    string
}

// outboxView is the count of outbox jobs in one state.
type outboxView struct {
	State string
	Label string
	N     int
	Alert bool
}

// maxRunsShown is how many passes per backend the admin page lists.
const maxRunsShown = 10

// adminPage handles GET /admin.
func (s *server) adminPage(c echo.Context) error {
	return s.renderAdmin(c, http.StatusOK, adminPage{})
}

// adminSyncForm handles POST /admin/sync (force=1 allows mass cancellation): it runs
// one pass of both backends and shows what they did above the status.
func (s *server) adminSyncForm(c echo.Context) error {
	force := formBool(c.FormValue("force"))
	l := langOf(c)
	passes, err := s.runSync(c, force)
	pg := adminPage{Ran: true, Forced: force, Just: s.runViews(l, passes)}
	status := http.StatusOK
	if err != nil {
		p := s.explain(err, l)
		pg.SyncError = p.Message
		if len(passes) == 0 {
			status = p.Status
		}
	}
	return s.renderAdmin(c, status, pg)
}

// runSync runs Admin.Sync for the signed-in admin and logs it.
func (s *server) runSync(c echo.Context, force bool) ([]models.SyncSummary, error) {
	u := user(c)
	s.log.Info("sync requested", "user", u.ID, "force", force)
	passes, err := s.admin.Sync(c.Request().Context(), force)
	if err != nil {
		s.log.Warn("sync requested by an admin failed", "user", u.ID, "force", force, "passes", len(passes), "err", err)
	}
	return passes, err
}

// renderAdmin completes pg with the engine's status and renders it.
func (s *server) renderAdmin(c echo.Context, status int, pg adminPage) error {
	l := langOf(c)
	st, err := s.admin.Status(c.Request().Context())
	if err != nil {
		return err
	}
	pg.page = s.page(c, "admin.title")
	pg.Console = s.conflicts != nil
	pg.Cutover, pg.Freeze, pg.Zone, pg.DemoMode = s.instant(st.Cutover), s.instant(st.Freeze), s.zone.String(), st.Demo
	for _, r := range s.runViews(l, st.Runs) {
		i := slices.IndexFunc(pg.Backends, func(b backendRuns) bool { return b.Name == r.Backend })
		if i < 0 {
			pg.Backends = append(pg.Backends, backendRuns{Name: r.Backend})
			i = len(pg.Backends) - 1
		}
		if len(pg.Backends[i].Runs) < maxRunsShown {
			pg.Backends[i].Runs = append(pg.Backends[i].Runs, r)
		}
	}
	for _, u := range st.Usage {
		q := quotaView{
			Backend: backendName(l, u.Backend), Month: u.Month, Budget: grouped(u.Budget), Used: grouped(u.Used),
			PerPass: grouped(u.PerPass), Projected: grouped(u.Projected), Steady: grouped(u.SteadyMonth),
			Interval: humanDuration(l, u.Interval), NoBudget: u.Budget <= 0,
		}
		q.Over = !q.NoBudget && u.Projected > u.Budget
		q.Paused, q.Throttled, q.Overage = u.State == models.SyncPaused, u.State == models.SyncThrottled, grouped(u.Overage)
		if !u.Until.IsZero() {
			q.Until = s.instant(u.Until)
		}
		pg.Quotas = append(pg.Quotas, q)
	}
	if st.Stream != nil {
		when := func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return s.instant(t)
		}
		pg.Stream = &streamView{Connected: st.Stream.Connected, Since: when(st.Stream.Since),
			Room: when(st.Stream.RoomEventsAt), Calendar: when(st.Stream.CalendarEventsAt), Trusted: st.Stream.RoomEventsTrusted}
	}
	pg.Outbox = outboxViews(l, st.Outbox)
	pg.Unmapped = st.UnmappedOrganizers
	return s.render(c, status, "admin.html", pg)
}

func (s *server) runViews(l lang, passes []models.SyncSummary) []runView {
	var out []runView
	for _, p := range passes {
		out = append(out, runView{
			Backend: backendName(l, p.Backend), When: s.instant(p.StartedAt), Duration: millis(l, p.DurationMS),
			Seen: p.Seen, Created: p.Created, Updated: p.Updated, Cancelled: p.Cancelled, Errors: p.Errors,
			Guarded: p.Guarded, Metered: p.MeteredCalls, Skipped: p.Skipped, Note: p.Note,
			Bad: p.Errors > 0 || p.Guarded > 0,
		})
	}
	return out
}

// outboxStates are the job states the admin page always lists, in this order; others
// follow by name.
var outboxStates = []string{string(models.JobPending), string(models.JobDone), string(models.JobFailed)}

func outboxViews(l lang, counts map[string]int) []outboxView {
	states := slices.Clone(outboxStates)
	var others []string
	for st := range counts {
		if !slices.Contains(states, st) {
			others = append(others, st)
		}
	}
	slices.Sort(others)
	var out []outboxView
	for _, st := range append(states, others...) {
		v := outboxView{State: st, Label: st, N: counts[st]}
		if key := "outbox." + st; hasMessage(key) {
			v.Label = l.T(key)
		}
		v.Alert = v.N > 0 && (st == string(models.JobPending) || st == string(models.JobFailed))
		out = append(out, v)
	}
	return out
}

// instant formats t in the zone to the second; a zero time is a dash.
func (s *server) instant(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(s.zone).Format("2006-01-02 15:04:05")
}

// millis formats a pass duration: "350 ms", "2.4 s".
func millis(l lang, ms int64) string {
	if ms < 1000 {
		return l.Tf("dur.ms", ms)
	}
	return l.Tf("dur.s", float64(ms)/1000)
}

// humanDuration formats an interval for people: "45 秒", "12 分钟", "2 小时 30 分钟".
func humanDuration(l lang, d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Minute:
		return l.Tf("dur.seconds", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		return l.Tf("dur.minutes", int(d.Round(time.Minute)/time.Minute))
	}
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	if m == 0 {
		return l.Tf("dur.hours", h)
	}
	return l.Tf("dur.hours_minutes", h, m)
}

// grouped writes n with thousands separators: 12,345.
func grouped(n int) string {
	s := strconv.Itoa(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

// formBool reads a checkbox or a hidden flag: 1, true, on, yes.
func formBool(v string) bool {
	switch v {
	case "1", "true", "on", "yes":
		return true
	}
	return false
}
