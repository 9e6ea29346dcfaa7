package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

// syncBody is the optional body of POST /api/v1/sync.
type syncBody struct {
	Force bool `json:"force"`
}

// syncJSON answers POST /api/v1/sync. Error, when set, says what failed in a sync that
// still ran some passes: a backend being down is information, not a server error.
type syncJSON struct {
	Passes []models.SyncSummary `json:"passes"`
	Error  string               `json:"error,omitempty"`
}

// syncAPI handles POST /api/v1/sync (admin), body {"force":true} optional: one pass of
// both backends, answered 200 with their summaries. Only a sync that ran no pass at all
// answers with its error's status.
func (s *server) syncAPI(c echo.Context) error {
	var body syncBody
	if err := decodeOptionalJSON(c.Request().Body, &body); err != nil {
		return err
	}
	passes, err := s.runSync(c, body.Force)
	if err != nil && len(passes) == 0 {
		return err
	}
	out := syncJSON{Passes: s.summariesInZone(passes)}
	if err != nil {
		out.Error = s.explain(err, langOf(c)).Message
	}
	return c.JSON(http.StatusOK, out)
}

// adminStatusAPI handles GET /api/v1/admin/status (admin): the AdminStatus, times in
// the zone.
func (s *server) adminStatusAPI(c echo.Context) error {
	st, err := s.admin.Status(c.Request().Context())
	if err != nil {
		return err
	}
	st.Runs = s.summariesInZone(st.Runs)
	if st.Usage == nil {
		st.Usage = []models.UsageStatus{}
	}
	if st.Outbox == nil {
		st.Outbox = map[string]int{}
	}
	st.Cutover, st.Freeze = s.inZone(st.Cutover), s.inZone(st.Freeze)
	return c.JSON(http.StatusOK, st)
}

// summariesInZone copies passes with their times in the zone (never nil).
func (s *server) summariesInZone(passes []models.SyncSummary) []models.SyncSummary {
	out := make([]models.SyncSummary, 0, len(passes))
	for _, p := range passes {
		p.StartedAt = s.inZone(p.StartedAt)
		out = append(out, p)
	}
	return out
}

func (s *server) inZone(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(s.zone)
}
