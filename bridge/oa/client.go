// Package oa is the client for the legacy Seeyon A8 OA ("致远") meeting-room REST
// API under /seeyon/rest/: book, cancel and list room bookings, read a room's
// occupancy and list rooms.
//
// Seeyon's room endpoints act as the user a token is bound to, so every
// organiser-bound call takes that user's Seeyon loginName and the client keeps one
// token per loginName, refreshing it once when Seeyon rejects it. Seeyon has no
// idempotency key: Book writes a marker into the booking's description and looks
// for it before and after writing, so a retried Book never books twice. Apart from
// the one token refresh the client never retries; callers retry on
// models.ErrUnavailable.
//
// Every error wraps one of the models error kinds (and an *Error with Seeyon's own
// text). Ids are Seeyon's signed 64-bit ids as decimal strings. Wire times are
// local to Config.Zone.
//
// oa imports roombridge/models and the standard library only; it must not import
// any other roombridge package.
package oa

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"roombridge/models"
)

const (
	// defaultTimeout bounds one HTTP exchange when Config.HTTPClient is nil.
	defaultTimeout = 10 * time.Second
	// tokenIdle is how long a cached token may sit unused before it is replaced
	// without asking. Seeyon drops tokens after 15 minutes idle (longer on newer
	// versions), so this avoids a needless 401 round trip.
	tokenIdle = 14 * time.Minute
	// maxAnswer bounds how much of an answer is read.
	maxAnswer = 16 << 20
	// codeInvalidToken is the body code some Seeyon versions send for a dead token.
	codeInvalidToken = "1010"
)

// Config configures a Client.
type Config struct {
	// BaseURL is the OA's root, e.g. http://127.0.0.1:9001; paths are /seeyon/rest/...
	BaseURL string
	// RestUser and RestPassword are the Seeyon REST account.
	RestUser, RestPassword string
	// HTTPClient sends the requests; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// Zone is the OA's local zone (Asia/Shanghai); all wire times are local to it.
	// Nil means Asia/Shanghai.
	Zone *time.Location
	// Now reads the clock; nil means time.Now.
	Now func() time.Time
	// OnCall, if set, is called after every HTTP exchange with the endpoint (the
	// path below /seeyon/rest/, e.g. "meeting/execApp" or "token") and its error.
	OnCall func(endpoint string, err error)
}

// Client talks to one Seeyon OA. It is safe for concurrent use.
type Client struct {
	base     string
	user     string
	password string
	http     *http.Client
	zone     *time.Location
	now      func() time.Time
	onCall   func(string, error)

	mu        sync.Mutex
	tokens    map[string]token  // by loginName
	members   map[string]string // loginName -> member id, from the token's bindingUser
	occupancy string            // the occupancy endpoint known to work; "" until one has answered
}

type token struct {
	id   string
	used time.Time
}

// New returns a Client for cfg. It returns an error wrapping models.ErrInvalid if
// the base URL is not an absolute http(s) URL or the REST account is missing.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("seeyon config: base URL %q is not an absolute http(s) URL: %w", cfg.BaseURL, models.ErrInvalid)
	}
	if cfg.RestUser == "" || cfg.RestPassword == "" {
		return nil, fmt.Errorf("seeyon config: REST user and password are required: %w", models.ErrInvalid)
	}
	c := &Client{
		base:     strings.TrimRight(u.String(), "/") + "/seeyon/rest/",
		user:     cfg.RestUser,
		password: cfg.RestPassword,
		http:     cfg.HTTPClient,
		zone:     cfg.Zone,
		now:      cfg.Now,
		onCall:   cfg.OnCall,
		tokens:   make(map[string]token),
		members:  make(map[string]string),
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: defaultTimeout}
	}
	if c.zone == nil {
		c.zone = shanghai()
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// shanghai returns Asia/Shanghai, or its fixed offset when the zone database is
// missing (the zone has had no daylight saving since 1991).
func shanghai() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

// call posts body to endpoint with loginName's token and decodes the answer into
// out (which may be nil). If Seeyon rejects the token, it fetches a new one and
// tries once more.
func (c *Client) call(ctx context.Context, loginName, endpoint string, body, out any) error {
	if loginName == "" {
		return fmt.Errorf("seeyon %s: empty loginName: %w", endpoint, models.ErrInvalid)
	}
	tok, err := c.token(ctx, loginName)
	if err != nil {
		return err
	}
	raw, err := c.exchange(ctx, endpoint, tok, body)
	if errors.Is(err, errTokenRejected) {
		c.dropToken(loginName, tok)
		if tok, err = c.token(ctx, loginName); err != nil {
			return err
		}
		raw, err = c.exchange(ctx, endpoint, tok, body)
	}
	if errors.Is(err, errTokenRejected) {
		c.dropToken(loginName, tok)
		// A token Seeyon has just issued is rejected: a server-side hiccup (a
		// cluster node that has not seen the token yet), worth retrying later.
		return unavailable(endpoint, "a fresh token was rejected", nil)
	}
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return userError(&Error{Endpoint: endpoint, Status: http.StatusOK, Kind: models.ErrUnavailable, detail: "malformed answer", Err: err})
	}
	return nil
}

// exchange does one POST and sorts out the answer. It returns the raw body of a
// good answer, errTokenRejected (wrapped) for a dead token, or a classified error.
func (c *Client) exchange(ctx context.Context, endpoint, tok string, body any) (raw []byte, err error) {
	defer func() { c.observe(endpoint, err) }()
	status, raw, err := c.post(ctx, endpoint, tok, body)
	if err != nil {
		return nil, err
	}
	e := &Error{Endpoint: endpoint, Status: status}
	switch {
	case status == http.StatusUnauthorized:
		e.Kind, e.detail = models.ErrUnavailable, "token rejected"
		return nil, errors.Join(errTokenRejected, e)
	case status == http.StatusTooManyRequests || status >= 500:
		e.Kind = models.ErrUnavailable
		return nil, userError(e)
	case status == http.StatusNotFound:
		// A missing endpoint is a version or URL mismatch, not a missing booking.
		e.Kind, e.detail = models.ErrUnavailable, "no such endpoint"
		return nil, userError(e)
	case status < 200 || status > 299:
		e.Kind = models.ErrInvalid
		return nil, userError(e)
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		// Seeyon's per-user lock answers a concurrent write with no body at all.
		e.Kind, e.detail = models.ErrUnavailable, "empty answer (the OA is busy)"
		return nil, userError(e)
	}
	if trimmed[0] == '{' {
		var probe struct {
			ErrorMsg json.RawMessage `json:"errorMsg"`
			Code     json.RawMessage `json:"code"`
		}
		if err := json.Unmarshal(trimmed, &probe); err != nil {
			e.Kind, e.detail, e.Err = models.ErrUnavailable, "malformed answer", err
			return nil, userError(e)
		}
		if code, _ := scalarText(probe.Code); code == codeInvalidToken {
			e.Kind, e.detail = models.ErrUnavailable, "token rejected (code 1010)"
			return nil, errors.Join(errTokenRejected, e)
		}
		if msg, _ := scalarText(probe.ErrorMsg); msg != "" {
			e.Msg, e.Kind = msg, kindOfMsg(msg)
			return nil, userError(e)
		}
	}
	return trimmed, nil
}

// post sends one request and reads the whole answer. Network trouble, timeouts and
// cancellation come back as ErrUnavailable.
func (c *Client) post(ctx context.Context, endpoint, tok string, body any) (int, []byte, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return 0, nil, fmt.Errorf("seeyon %s: encode request: %w", endpoint, models.ErrInvalid)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+endpoint, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, fmt.Errorf("seeyon %s: build request: %w", endpoint, models.ErrInvalid)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if tok != "" {
		req.Header.Set("token", tok)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, unavailable(endpoint, "no answer", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return resp.StatusCode, nil, unavailable(endpoint, "answer cut short", err)
	}
	if len(raw) > maxAnswer {
		return resp.StatusCode, nil, unavailable(endpoint, "answer too large", nil)
	}
	return resp.StatusCode, raw, nil
}

func (c *Client) observe(endpoint string, err error) {
	if c.onCall != nil {
		c.onCall(endpoint, err)
	}
}

// token returns a token bound to loginName, from the cache or from Seeyon.
func (c *Client) token(ctx context.Context, loginName string) (string, error) {
	now := c.now()
	c.mu.Lock()
	t, ok := c.tokens[loginName]
	if ok && now.Sub(t.used) < tokenIdle {
		t.used = now
		c.tokens[loginName] = t
		c.mu.Unlock()
		return t.id, nil
	}
	c.mu.Unlock()

	id, err := c.fetchToken(ctx, loginName)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.tokens[loginName] = token{id: id, used: c.now()}
	c.mu.Unlock()
	return id, nil
}

// MemberID returns the Seeyon member id of loginName, as the bindingUser of its token
// names it (fetching a token if none has been yet). It returns "" without an error when
// the OA's token answer carries no bindingUser id. Errors are those of the token call:
// models.ErrForbidden for a login the OA does not know, ErrUnavailable otherwise.
func (c *Client) MemberID(ctx context.Context, loginName string) (string, error) {
	c.mu.Lock()
	m, ok := c.members[loginName]
	c.mu.Unlock()
	if ok {
		return m, nil
	}
	if loginName == "" {
		return "", fmt.Errorf("seeyon member id: empty loginName: %w", models.ErrInvalid)
	}
	if _, err := c.token(ctx, loginName); err != nil {
		return "", err
	}
	c.mu.Lock()
	m = c.members[loginName]
	c.mu.Unlock()
	return m, nil
}

// dropToken forgets loginName's token if it is still tok.
func (c *Client) dropToken(loginName, tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tokens[loginName].id == tok {
		delete(c.tokens, loginName)
	}
}

// fetchToken asks Seeyon for a token bound to loginName.
func (c *Client) fetchToken(ctx context.Context, loginName string) (tok string, err error) {
	const endpoint = "token"
	defer func() { c.observe(endpoint, err) }()
	body := map[string]string{"userName": c.user, "password": c.password, "loginName": loginName}
	status, raw, err := c.post(ctx, endpoint, "", body)
	if err != nil {
		return "", fmt.Errorf("seeyon token for %s: %w", loginName, err)
	}
	e := &Error{Endpoint: endpoint, Status: status}
	switch {
	case status == http.StatusNotFound || status == http.StatusUnauthorized:
		e.Kind, e.detail = models.ErrForbidden, "REST account rejected"
		return "", fmt.Errorf("seeyon token for %s: %w", loginName, userError(e))
	case status < 200 || status > 299:
		e.Kind = models.ErrUnavailable
		return "", fmt.Errorf("seeyon token for %s: %w", loginName, userError(e))
	}
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		e.Kind, e.detail = models.ErrUnavailable, "empty answer"
		return "", fmt.Errorf("seeyon token for %s: %w", loginName, userError(e))
	case raw[0] == '{':
		var answer struct {
			ID          json.RawMessage `json:"id"`
			ErrorMsg    string          `json:"errorMsg"`
			BindingUser *struct {
				ID id `json:"id"`
			} `json:"bindingUser"`
		}
		if err := json.Unmarshal(raw, &answer); err != nil {
			e.Kind, e.detail, e.Err = models.ErrUnavailable, "malformed answer", err
			return "", fmt.Errorf("seeyon token for %s: %w", loginName, userError(e))
		}
		tok, _ = scalarText(answer.ID)
		e.Msg = answer.ErrorMsg
		if answer.BindingUser != nil && answer.BindingUser.ID != "" && tok != "" && tok != "-1" {
			c.mu.Lock()
			c.members[loginName] = string(answer.BindingUser.ID)
			c.mu.Unlock()
		}
	default:
		// Without a JSON Accept header some versions answer with the bare token.
		tok = string(raw)
	}
	if tok == "" || tok == "-1" {
		e.Kind, e.detail = models.ErrForbidden, "no token for this login"
		return "", fmt.Errorf("seeyon token for %s: %w", loginName, userError(e))
	}
	return tok, nil
}

// probeToken is a token Seeyon never issued, sent by CheckTokenRejection.
const probeToken = "roombridge-probe-invalid-token"

// CheckTokenRejection sends one request with a token Seeyon never issued and returns nil
// when the answer is one the client refreshes its token on (HTTP 401 or body code 1010).
// Otherwise the error describes what came back: an OA that answers a dead token some
// other way would make every call fail after 15 idle minutes.
func (c *Client) CheckTokenRejection(ctx context.Context) error {
	const endpoint = "meeting/getMeetingRooms"
	_, err := c.exchange(ctx, endpoint, probeToken, map[string]any{"pageNo": 1, "pageSize": 1})
	switch {
	case errors.Is(err, errTokenRejected):
		return nil
	case err == nil:
		return fmt.Errorf("seeyon %s accepted an invalid token: %w", endpoint, models.ErrInvalid)
	}
	return fmt.Errorf("seeyon %s answered an invalid token with neither HTTP 401 nor code 1010: %w", endpoint, err)
}

// OccupancyEndpoint names the per-day occupancy endpoint that last answered
// (getMeetingRoomApps or getMeetingUserInfo), "" before any has.
func (c *Client) OccupancyEndpoint() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.occupancy
}
