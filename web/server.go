package web

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"roombridge/models"
)

// Booker is the booking engine (implemented by bridge.Service).
type Booker interface {
	// Book validates, routes by start date, checks both systems' reservations and enqueues the backend write.
	// Returns the new reservation (status pending/confirmed/rejected) or: models.ErrInvalid user errors (with Field),
	// *models.ConflictError (ErrConflict; .With.Backend names the system holding the slot), ErrFrozen user error code "oa_frozen",
	// ErrNotFound (unknown room), ErrForbidden user error "unknown_user" for an organizer the catalog no longer has
	// (web may take the caller from the catalog as the process keeps it, see bookingChecksUser). Same idempotency key
	// from the same user returns the first reservation.
	Book(ctx context.Context, by models.User, req models.BookingRequest, idempotencyKey string) (models.Reservation, error)
	// Reschedule replaces room/title/times/description/attendees of reservation id (organizer or admin only: ErrForbidden).
	Reschedule(ctx context.Context, by models.User, id string, req models.BookingRequest) (models.Reservation, error)
	// Cancel cancels reservation id (organizer or admin only).
	Cancel(ctx context.Context, by models.User, id string) (models.Reservation, error)
	// Route tells which backend a booking starting at start goes to, and why.
	Route(start time.Time) models.Decision
	// Wait returns the reservation once it is no longer pending, or after max, whichever is first.
	Wait(ctx context.Context, id string, max time.Duration) (models.Reservation, error)
	// BookSeries books req as the first occurrence of a series repeating by rrule (RFC 5545); onConflict "refuse"
	// books nothing when an occurrence is taken (ErrConflict code "series_taken", args: the dates), "skip" leaves
	// the taken ones out (SeriesResult.Skipped). Invalid rules are ErrInvalid user errors on field "rrule".
	BookSeries(ctx context.Context, by models.User, req models.BookingRequest, rrule string, onConflict models.OnConflict, idempotencyKey string) (models.SeriesResult, error)
	// EditSeries changes occurrence id of a series and every later one (scope following) or the whole series
	// (all) to req's title, description, attendees and times (the other occurrences follow the shift of date and
	// the times of day); onConflict "refuse" changes nothing when a new slot is taken (ErrConflict "series_taken"),
	// "skip" cancels those occurrences (SeriesResult.Skipped). Scope this is Reschedule.
	EditSeries(ctx context.Context, by models.User, id string, scope models.Scope, req models.BookingRequest, onConflict models.OnConflict) (models.SeriesResult, error)
	// CancelSeries cancels the occurrence id of a series, it and the later ones, or the whole series (scope).
	CancelSeries(ctx context.Context, by models.User, id string, scope models.Scope) (models.Series, error)
	// PlanSeries lists the occurrences a series would have, the system each goes to and what holds its slot.
	PlanSeries(ctx context.Context, req models.BookingRequest, rrule string) ([]models.OccurrencePlan, error)
}

// Authentication modes for Config.Auth.
const (
	// AuthDemo lets a visitor pick any catalog user on /login (a signed session cookie
	// remembers the choice). The AuthHeader header from a trusted proxy is accepted too,
	// so curl on the same machine works. It always shows the demo banner.
	AuthDemo = "demo"
	// AuthHeader trusts the user id in Config.AuthHeader, set by an SSO proxy in front,
	// from Config.TrustedProxies only.
	AuthHeader = "header"
	// AuthDingTalk signs in with DingTalk: its login page in a browser, the JSAPI inside
	// the DingTalk app; a signed session cookie remembers the user.
	AuthDingTalk = "dingtalk"
)

// DingTalkLogin is what AuthDingTalk needs besides Config.SignIn.
type DingTalkLogin struct {
	// LoginURL is where browsers sign in (https://login.dingtalk.com; /oauth2/auth is added).
	LoginURL string
	// AppKey is the app's client_id.
	AppKey string
	// CorpID is the organisation the in-app JSAPI asks a code for.
	CorpID string
	// JSAPIURL is the DingTalk JSAPI script (dingtalk.open.js) pages load inside the app.
	JSAPIURL string
}

// DefaultAuthHeader is the header read when Config.AuthHeader is empty.
const DefaultAuthHeader = "X-Forwarded-User"

// Config is everything the web layer needs, passed explicitly by cmd.
type Config struct {
	Store  *models.Store
	Booker Booker
	// Zone is the zone times are shown and read in (form dates, RFC 3339 answers).
	Zone *time.Location
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
	// Auth is AuthDemo (the default), AuthHeader or AuthDingTalk.
	Auth string
	// AuthHeader names the header carrying the user id (DefaultAuthHeader when empty).
	AuthHeader string
	// TrustedProxies are the peers whose auth header and X-Forwarded-For are believed
	// (DefaultTrustedProxies when nil; an empty list trusts no one).
	TrustedProxies []netip.Prefix
	// SessionKeys sign session cookies: the first signs, all verify (at least 32 bytes
	// each). Required in demo and dingtalk mode.
	SessionKeys [][]byte
	// SignIn and DingTalk are required with AuthDingTalk.
	SignIn   SignIn
	DingTalk DingTalkLogin
	// Limits are the per-client rate limits (DefaultLimits when zero).
	Limits Limits
	// Access is the access policy: who sees a booking's details, who may change or
	// cancel it, who is an admin. Every page, API route and feed asks it.
	Access models.Access
	// Demo shows the demo banner on every page.
	Demo bool
	// BaseURL is the public URL: feed links start with it, and cookies are marked Secure
	// when it is https. Empty: feed links use the scheme and host of the request.
	BaseURL string
	// Metrics is served at /metrics (404 when nil).
	Metrics http.Handler
	// Registerer receives the HTTP request metrics (nil: not registered).
	Registerer prometheus.Registerer
	// Ready answers /readyz (always ready when nil).
	Ready func(context.Context) error
	// Version is shown in the page footer and busts static asset caches.
	Version string
	// WaitMax is how long the outcome page waits for a pending booking before showing
	// it as pending (3 s when zero).
	WaitMax time.Duration
	// Feeds, when set, turns on the iCalendar feeds under /ical/, the subscribe page
	// (/subscribe) and the feed-token API (/api/v1/feed-tokens). Nil: none of these routes.
	Feeds Feeds
	// Admin, when set, turns on the admin page (/admin), POST /api/v1/sync and GET
	// /api/v1/admin/status. Nil: none of these routes.
	Admin Admin
	// Conflicts, with Admin, turns on the conflicts API and the admin console's
	// conflict, cutover, outbox, audit and room pages. Nil: none of these routes.
	Conflicts Conflicts
	// RoomLists, with Conflicts, shows on /admin/rooms the rooms each backend lists.
	// Nil: the page shows the catalog side only.
	RoomLists RoomLists
}

// server holds the web layer's dependencies; its methods are the handlers.
type server struct {
	store      *models.Store
	booker     Booker
	feeds      Feeds
	admin      Admin
	conflicts  Conflicts
	roomLists  RoomLists
	zone       *time.Location
	now        func() time.Time
	log        *slog.Logger
	auth       string
	authHeader string
	proxies    []netip.Prefix
	sessions   sessionCodec
	signin     SignIn
	dingtalk   DingTalkLogin
	limits     *limiters
	csp        string
	access     models.Access
	demo       bool
	secure     bool
	baseURL    string
	metrics    http.Handler
	ready      func(context.Context) error
	version    string
	waitMax    time.Duration

	pages   *pages
	static  fs.FS
	httpMet *httpMetrics
	e       *echo.Echo
}

// New builds the HTTP handler: it checks cfg, parses every template and registers all
// routes (those of Feeds and Admin when they are set). It fails on a bad Config
// (ErrInvalid) and on a template that does not parse.
func New(cfg Config) (http.Handler, error) {
	var err error
	if cfg.Store == nil || cfg.Booker == nil {
		return nil, fmt.Errorf("%w: web needs a Store and a Booker", models.ErrInvalid)
	}
	s := &server{
		store: cfg.Store, booker: cfg.Booker, feeds: cfg.Feeds, admin: cfg.Admin, conflicts: cfg.Conflicts, roomLists: cfg.RoomLists, zone: cfg.Zone, now: cfg.Now, log: cfg.Logger,
		auth: cfg.Auth, authHeader: cfg.AuthHeader, access: cfg.Access, demo: cfg.Demo,
		proxies: cfg.TrustedProxies, sessions: sessionCodec{keys: cfg.SessionKeys}, signin: cfg.SignIn, dingtalk: cfg.DingTalk,
		secure: strings.HasPrefix(cfg.BaseURL, "https://"), baseURL: strings.TrimRight(cfg.BaseURL, "/"), metrics: cfg.Metrics,
		ready: cfg.Ready, version: cfg.Version, waitMax: cfg.WaitMax,
	}
	if cfg.BaseURL != "" {
		if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: web base URL %q is not an http(s) URL", models.ErrInvalid, cfg.BaseURL)
		}
	}
	if s.zone == nil {
		s.zone = time.Local
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	switch s.auth {
	case "":
		s.auth = AuthDemo
	case AuthDemo, AuthHeader:
	case AuthDingTalk:
		d := &s.dingtalk
		d.LoginURL = strings.TrimRight(d.LoginURL, "/")
		if s.signin == nil || d.LoginURL == "" || d.AppKey == "" || d.CorpID == "" || d.JSAPIURL == "" {
			return nil, fmt.Errorf("%w: web dingtalk auth needs SignIn, a login URL, the app key, the corpId and the JSAPI URL", models.ErrInvalid)
		}
	default:
		return nil, fmt.Errorf("%w: web auth mode %q (want %q, %q or %q)", models.ErrInvalid, s.auth, AuthDemo, AuthHeader, AuthDingTalk)
	}
	if s.auth == AuthDemo {
		s.demo = true // demo sign-in is never shown without the banner
	}
	if s.auth != AuthHeader {
		if len(s.sessions.keys) == 0 {
			return nil, fmt.Errorf("%w: web %s auth needs a session key", models.ErrInvalid, s.auth)
		}
		for _, k := range s.sessions.keys {
			if len(k) < minSessionKey {
				return nil, fmt.Errorf("%w: a session key has %d bytes, want at least %d", models.ErrInvalid, len(k), minSessionKey)
			}
		}
	}
	if s.proxies == nil {
		s.proxies = DefaultTrustedProxies
	}
	s.csp = contentSecurityPolicy(s.auth, s.dingtalk.JSAPIURL)
	s.limits = newLimiters(cfg.Limits, s.now)
	if s.authHeader == "" {
		s.authHeader = DefaultAuthHeader
	}
	if s.version == "" {
		s.version = "dev"
	}
	if s.waitMax <= 0 {
		s.waitMax = 3 * time.Second
	}
	if s.pages, err = parsePages(templateFS); err != nil {
		return nil, err
	}
	if s.static, err = fs.Sub(staticFS, "static"); err != nil {
		return nil, fmt.Errorf("static files: %w", err)
	}
	if s.httpMet, err = newHTTPMetrics(cfg.Registerer); err != nil {
		return nil, err
	}
	s.e = echo.New()
	s.e.HideBanner, s.e.HidePort = true, true
	s.e.HTTPErrorHandler = s.handleError
	s.e.IPExtractor = s.clientIP
	s.routes()
	return s.e, nil
}
