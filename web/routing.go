package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

// routeInfo says which system a booking goes to and why: the answer of GET
// /api/v1/route, and the line under the booking form.
type routeInfo struct {
	Backend models.Backend `json:"backend"`
	// Label is the system's name in the caller's language.
	Label  string `json:"label"`
	Reason string `json:"reason"`
	Frozen bool   `json:"frozen"`
	// Note explains a frozen route (empty otherwise).
	Note string `json:"note,omitempty"`
}

func (s *server) routeInfo(l lang, start time.Time) routeInfo {
	d := s.booker.Route(start)
	ri := routeInfo{Backend: d.Backend, Label: backendName(l, d.Backend), Reason: l.Tf("route."+string(d.Backend), d.Cutover.In(s.zone).Format("2006-01-02 15:04")), Frozen: d.Frozen}
	if d.Frozen {
		ri.Note = l.Tf("route.frozen", ri.Label)
	}
	return ri
}

// route handles GET /api/v1/route?start=T: the system a booking starting at T goes to.
func (s *server) route(c echo.Context) error {
	v := c.QueryParam("start")
	if v == "" {
		return badRequest("start", "param", models.ArgName, "start")
	}
	start, err := s.parseQueryTime("start", v)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.routeInfo(langOf(c), start))
}
