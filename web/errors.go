package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

// errMalformed is the kind of a request the server could not read at all (bad JSON, an
// unparseable time): 400, unlike ErrInvalid (422), which is readable input breaking a rule.
var errMalformed = errors.New("malformed request")

// badRequest returns an errMalformed user error about field, code "bad_request"; detail
// picks its text, "err.bad_request.<detail>", which args fill in.
func badRequest(field, detail string, args ...string) *models.Error {
	return models.E(errMalformed, "bad_request", field, append(args, argDetail, detail)...)
}

// statusTable is the one table from error kinds to HTTP status, with the code used when
// the error carries no user error of its own. The first kind that matches wins.
var statusTable = []struct {
	kind   error
	status int
	code   string
}{
	{errMalformed, http.StatusBadRequest, "bad_request"},
	{models.ErrInvalid, http.StatusUnprocessableEntity, "invalid"},
	{models.ErrUnauthorized, http.StatusUnauthorized, "unauthorized"},
	{models.ErrForbidden, http.StatusForbidden, "forbidden"},
	{models.ErrNotFound, http.StatusNotFound, "not_found"},
	{models.ErrConflict, http.StatusConflict, "conflict"},
	{models.ErrFrozen, http.StatusConflict, "frozen"},
	{models.ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
	{errLimited, http.StatusTooManyRequests, "too_many_requests"},
}

// classify returns the status and default code for err: from statusTable, else from an
// echo.HTTPError raised by the router or a middleware, else 500.
func classify(err error) (int, string) {
	for _, k := range statusTable {
		if errors.Is(err, k.kind) {
			return k.status, k.code
		}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusBadRequest:
			return he.Code, "bad_request"
		case http.StatusUnauthorized:
			return he.Code, "unauthorized"
		case http.StatusForbidden:
			return he.Code, "forbidden"
		case http.StatusNotFound:
			return he.Code, "not_found"
		case http.StatusMethodNotAllowed:
			return he.Code, "method_not_allowed"
		case http.StatusRequestEntityTooLarge:
			return he.Code, "too_large"
		case http.StatusServiceUnavailable:
			return he.Code, "unavailable"
		}
		if he.Code >= 400 && he.Code < 500 {
			return he.Code, "bad_request"
		}
	}
	return http.StatusInternalServerError, "internal"
}

// tooLarge tells whether err comes from a body over the limit (BodyLimit's 413).
func tooLarge(err error) bool {
	var he *echo.HTTPError
	return errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge
}

// problem is an error as a person or an API client sees it.
type problem struct {
	Status  int
	Code    string
	Field   string
	Message string
	// Specific is set when Message is about this request (from a user error), rather
	// than the generic text for the status.
	Specific bool
}

// explain turns err into what may be shown, in language l. Internal errors get a
// generic message only; their chain goes to the log.
func (s *server) explain(err error, l lang) problem {
	status, code := classify(err)
	p := problem{Status: status, Code: code, Message: l.T("err." + code)}
	if status >= 500 && status != http.StatusServiceUnavailable {
		return p
	}
	ue := models.UserError(err)
	var ce *models.ConflictError
	if ue == nil && errors.As(err, &ce) {
		ue = models.RoomTaken(ce.With)
	}
	if ue == nil {
		return p
	}
	if ue.Code != "" {
		p.Code = ue.Code
	}
	p.Field = ue.Field
	if text, ok := s.say(l, ue.Code, ue.Args); ok {
		p.Message, p.Specific = text, true
	}
	return p
}

// apiError is the JSON body of every API error.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// errorPage is the view model of error.html.
type errorPage struct {
	page
	Status  int
	Heading string
	Message string
}

// handleError is echo's HTTPErrorHandler: every error a handler or middleware returns
// ends here and becomes a translated page, or JSON under /api/.
func (s *server) handleError(err error, c echo.Context) {
	r := c.Request()
	path := logPath(r)
	if c.Response().Committed {
		s.log.Error("request failed after the response started", "method", r.Method, "path", path, "err", err)
		return
	}
	l := langOf(c)
	p := s.explain(err, l)
	if p.Status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", path, "status", p.Status, "err", err)
	} else {
		s.log.Debug("request refused", "method", r.Method, "path", path, "status", p.Status, "code", p.Code, "err", err)
	}
	var werr error
	switch {
	case r.Method == http.MethodHead:
		werr = c.NoContent(p.Status)
	case isFeed(r.URL.Path):
		// Calendar clients get plain text, the same for every failure of a status, so
		// nothing tells an unknown token from a revoked one or from a mistyped path.
		werr = c.String(p.Status, feedErrorText(l, p.Status))
	case wantsJSON(r):
		werr = c.JSON(p.Status, apiError{apiErrorBody{Code: p.Code, Message: p.Message, Field: p.Field}})
	default:
		pg := errorPage{page: s.page(c, "errpage.title"), Status: p.Status, Message: p.Message}
		pg.Heading = l.T(fmt.Sprintf("errpage.h%d", p.Status))
		if !hasMessage(fmt.Sprintf("errpage.h%d", p.Status)) {
			pg.Heading = l.T("errpage.title")
		}
		pg.Title = pg.Heading
		werr = s.render(c, p.Status, "error.html", pg)
	}
	if werr != nil {
		s.log.Error("write error response", "path", path, "err", werr)
	}
}

// feedErrorText is the whole body of a failed feed request: generic for its status.
func feedErrorText(l lang, status int) string {
	switch {
	case status == http.StatusNotFound:
		return l.T("feed.not_found") + "\n"
	case status == http.StatusMethodNotAllowed:
		return l.T("err.method_not_allowed") + "\n"
	case status == http.StatusServiceUnavailable:
		return l.T("err.unavailable") + "\n"
	case status == http.StatusForbidden:
		return l.T("err.forbidden") + "\n"
	case status == http.StatusTooManyRequests:
		return l.T("err.too_many_requests") + "\n"
	case status >= 500:
		return l.T("err.internal") + "\n"
	}
	return l.T("err.bad_request") + "\n"
}

// wantsJSON tells whether an error should be answered in JSON: API paths, and callers
// that ask for JSON but not HTML.
func wantsJSON(r *http.Request) bool {
	if isAPI(r) {
		return true
	}
	accept := r.Header.Get(echo.HeaderAccept)
	return strings.Contains(accept, echo.MIMEApplicationJSON) && !strings.Contains(accept, echo.MIMETextHTML)
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }
