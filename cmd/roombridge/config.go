package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"roombridge/bridge"
	"roombridge/models"
	"roombridge/web"
)

// config is everything the environment (or flags) can set; see the README's table.
type config struct {
	Addr string
	DB   string
	// DBConns is how many connections a MySQL database gets from this process.
	DBConns int
	// FreshDemoDB: demo mode on the default database starts from an empty one, because
	// the in-process backends keep nothing across restarts.
	FreshDemoDB bool
	Demo        bool
	Zone        *time.Location
	Cutover     time.Time
	Freeze      time.Time
	CatalogPath string

	OAURL, OAUser, OAPassword string
	// OASyncLogin is the OA login the sync reads room occupancy as.
	OASyncLogin string

	DingTalkURL, DingTalkOAPIURL string
	DingTalkAppKey               string
	DingTalkAppSecret            string
	// DingTalkOperator is the catalog user whose DingTalk identity queries room schedules.
	DingTalkOperator string

	Auth           string
	AuthHeader     string
	TrustedProxies []netip.Prefix
	// SessionKeys sign session cookies (nil: the key kept in the database).
	SessionKeys [][]byte
	// DingTalkLoginURL, DingTalkCorpID and DingTalkJSAPIURL serve dingtalk sign-in.
	DingTalkLoginURL string
	DingTalkCorpID   string
	DingTalkJSAPIURL string
	Admins           map[string]bool
	BaseURL          string
	// BaseURLSet is false when ROOMBRIDGE_BASE_URL took its default.
	BaseURLSet bool

	// Sync knobs (issue: one feed of both systems).
	SyncBack, SyncAhead time.Duration
	DingTalkBudget      int
	DingTalkOverage     int
	// DingTalkCalendars are the catalog users whose calendars sync reads by changes (nil:
	// the operator's); DingTalkPlan plans those reads and the reconciliations (nil: every
	// pass reads all room schedules).
	DingTalkCalendars []string
	DingTalkPlan      *bridge.SyncPlan
	FeedShowTitles    bool
	// DingTalkStream listens for DingTalk's Stream-mode events (the app must be set to
	// Stream push in the developer console).
	DingTalkStream bool
	// Notify sends DingTalk work notifications of late booking outcomes (see bridge.NotifyConfig)
	// as app DingTalkAgentID.
	Notify          bool
	DingTalkAgentID int64
	// OutboxLease is how long a claimed outbox job is reserved for its worker; after it a
	// job whose process died runs again.
	OutboxLease time.Duration
	// OutboxRetryMax is the longest wait between retries of a backend write.
	OutboxRetryMax time.Duration
	// Instance names this replica in the outbox and sync leases.
	Instance string
	// SyncLease is how long a sync lease lasts without renewal.
	SyncLease time.Duration
	// BookingWindow is how far ahead the last occurrence of a recurring booking may start.
	BookingWindow time.Duration
}

// setting is one configuration variable: its environment name, default and help.
type setting struct {
	env, def, help string
}

var settings = []setting{
	{"ROOMBRIDGE_ADDR", ":8080", "listen address"},
	{"ROOMBRIDGE_DB", "sqlite:data/roombridge.db", "sqlite:PATH or mysql:USER:PASS@tcp(HOST:PORT)/DB?parseTime=true"},
	{"ROOMBRIDGE_DEMO", "", "1 runs in-process fakes of both backends (default when no backend is configured)"},
	{"ROOMBRIDGE_TIMEZONE", "Asia/Shanghai", "display and wire time zone"},
	{"ROOMBRIDGE_CUTOVER", "2023-04-17T00:00:00+08:00", "first instant owned by DingTalk (demo: today+7 days)"},
	{"ROOMBRIDGE_OA_FREEZE", "2023-04-16T23:00:00+08:00", "after this instant, no OA writes (demo: one hour before the cutover)"},
	{"ROOMBRIDGE_CATALOG", "", "YAML catalog of offices, rooms and users (default: built-in demo catalog)"},
	{"ROOMBRIDGE_OA_URL", "", "Seeyon base URL, e.g. https://oa.example.com"},
	{"ROOMBRIDGE_OA_REST_USER", "", "Seeyon REST account"},
	{"ROOMBRIDGE_OA_REST_PASSWORD", "", "Seeyon REST password"},
	{"ROOMBRIDGE_OA_SYNC_LOGIN", "", "OA login that sync reads room occupancy as (default: the first admin's oa_login)"},
	{"ROOMBRIDGE_DINGTALK_URL", "https://api.dingtalk.com", "DingTalk new-API base"},
	{"ROOMBRIDGE_DINGTALK_OAPI_URL", "https://oapi.dingtalk.com", "DingTalk old-API base (directory)"},
	{"ROOMBRIDGE_DINGTALK_APP_KEY", "", "DingTalk internal app key"},
	{"ROOMBRIDGE_DINGTALK_APP_SECRET", "", "DingTalk internal app secret"},
	{"ROOMBRIDGE_DINGTALK_OPERATOR", "", "catalog user id that room schedule queries run as (default: the first admin)"},
	{"ROOMBRIDGE_AUTH", "", "demo, header (trusted SSO proxy) or dingtalk (default demo in demo mode; required otherwise)"},
	{"ROOMBRIDGE_AUTH_HEADER", "X-Forwarded-User", "user id header in header mode"},
	{"ROOMBRIDGE_TRUSTED_PROXIES", "127.0.0.1/32,::1/128", "CIDRs whose requests may carry the auth header and X-Forwarded-For"},
	{"ROOMBRIDGE_DINGTALK_LOGIN_URL", "https://login.dingtalk.com", "where dingtalk auth sends the browser (/oauth2/auth)"},
	{"ROOMBRIDGE_DINGTALK_CORP_ID", "", "the organisation's corpId (dingxxxx), for sign-in inside the DingTalk app; required with dingtalk auth"},
	{"ROOMBRIDGE_DINGTALK_JSAPI_URL", "https://g.alicdn.com/dingding/dingtalk-jsapi/3.0.25/dingtalk.open.js", "DingTalk JSAPI script that pages load inside the DingTalk app"},
	{"ROOMBRIDGE_SESSION_KEY", "", "key(s) signing session cookies, comma-separated, first signs (default: generated once, kept in the database)"},
	{"ROOMBRIDGE_ADMINS", "", "comma-separated user ids with the admin role"},
	{"ROOMBRIDGE_BASE_URL", "http://localhost:8080", "public URL used in feed links"},
	{"ROOMBRIDGE_SYNC_BACK", "720h", "how far back sync reads (default 30 days)"},
	{"ROOMBRIDGE_SYNC_AHEAD", "4320h", "how far ahead sync reads (default 180 days)"},
	{"ROOMBRIDGE_DB_CONNS", "48", "MySQL connections this process keeps; every replica takes as many of the server's max_connections (151 by default)"},
	{"ROOMBRIDGE_DINGTALK_MONTHLY_BUDGET", "3000", "metered DingTalk calls sync may spend per month"},
	{"ROOMBRIDGE_DINGTALK_SYNC_OVERAGE", "1000", "metered DingTalk calls sync may spend past the budget to keep one pass a day (0: none)"},
	{"ROOMBRIDGE_DINGTALK_SYNC_CALENDARS", "", "comma-separated catalog user ids whose DingTalk calendars sync reads by changes (syncToken); default: the operator's"},
	{"ROOMBRIDGE_DINGTALK_FRESHNESS", "15m", "how often sync reads the followed calendars' changes with Stream off (0: no incremental reads, every pass reads all room schedules)"},
	{"ROOMBRIDGE_DINGTALK_STREAM_CHECK", "6h", "how often sync reads the followed calendars' changes with Stream on (events apply changes at once)"},
	{"ROOMBRIDGE_DINGTALK_RECONCILE", "0", "time between reconciliations of every room's schedule (0: sized to the budget, at most daily)"},
	{"ROOMBRIDGE_FEED_SHOW_TITLES", "0", "1 shows every title in room and office feeds; 0 shows only the subscriber's own"},
	{"ROOMBRIDGE_DINGTALK_STREAM", "", "1 applies DingTalk Stream-mode events at once (default: on in demo mode, off otherwise)"},
	{"ROOMBRIDGE_NOTIFY", "", "1 sends organizers a DingTalk work notification when a booking's outcome changes after the form stopped waiting (default: on in demo mode, off otherwise)"},
	{"ROOMBRIDGE_DINGTALK_AGENT_ID", "", "the DingTalk app's AgentId that work notifications are sent as; required when ROOMBRIDGE_NOTIFY is on outside demo mode"},
	{"ROOMBRIDGE_BOOKING_WINDOW", "4320h", "how far ahead the last occurrence of a recurring booking may start (default 180 days)"},
	{"ROOMBRIDGE_OUTBOX_LEASE", "15s", "how long a backend write stays reserved without its worker's heartbeat; another replica resumes a dead one's writes after it"},
	{"ROOMBRIDGE_OUTBOX_RETRY_MAX", "5m", "longest wait between retries of a backend write (they back off exponentially from 2s)"},
	{"ROOMBRIDGE_INSTANCE", "", "this replica's name in outbox and sync leases (default host/listen address); unique among running replicas, stable across restarts"},
	{"ROOMBRIDGE_SYNC_LEASE", "30s", "how long the sync leader's lease lasts without renewal; a dead leader is replaced within about this"},
}

// demoAgentID is the AgentId demo mode sends work notifications as (the fake accepts any).
const demoAgentID = 1

// flagName turns ROOMBRIDGE_OA_URL into oa-url.
func flagName(env string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "ROOMBRIDGE_")), "_", "-")
}

// configError names the variable at fault; it is the one line printed at start.
type configError struct {
	name string
	msg  string
}

func (e *configError) Error() string { return e.name + ": " + e.msg }

// loadConfig reads the environment, lets flags of the same name in kebab case (e.g.
// --oa-url or --roombridge-oa-url) override it, applies demo defaults and validates.
// It returns the remaining positional arguments.
func loadConfig(args []string, getenv func(string) string, now time.Time) (config, []string, error) {
	fs := flag.NewFlagSet("roombridge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	values := map[string]*string{}
	for _, s := range settings {
		v := new(string)
		values[s.env] = v
		fs.StringVar(v, flagName(s.env), "\x00", s.help)
		fs.StringVar(v, "roombridge-"+flagName(s.env), "\x00", s.help)
	}
	if err := fs.Parse(args); err != nil {
		return config{}, nil, &configError{"flags", err.Error()}
	}
	explicit := map[string]bool{}
	get := func(env string) string {
		if v := *values[env]; v != "\x00" {
			explicit[env] = true
			return v
		}
		if v := getenv(env); v != "" {
			explicit[env] = true
			return v
		}
		for _, s := range settings {
			if s.env == env {
				return s.def
			}
		}
		return ""
	}
	var c config
	var err error
	c.Addr = get("ROOMBRIDGE_ADDR")
	c.DB = get("ROOMBRIDGE_DB")
	if !strings.HasPrefix(c.DB, "sqlite:") && !strings.HasPrefix(c.DB, "mysql:") {
		return c, nil, &configError{"ROOMBRIDGE_DB", fmt.Sprintf("%q must start with sqlite: or mysql:", c.DB)}
	}
	zone := get("ROOMBRIDGE_TIMEZONE")
	if c.Zone, err = time.LoadLocation(zone); err != nil {
		return c, nil, &configError{"ROOMBRIDGE_TIMEZONE", fmt.Sprintf("unknown time zone %q", zone)}
	}
	c.OAURL = strings.TrimRight(get("ROOMBRIDGE_OA_URL"), "/")
	c.OAUser, c.OAPassword = get("ROOMBRIDGE_OA_REST_USER"), get("ROOMBRIDGE_OA_REST_PASSWORD")
	c.OASyncLogin = get("ROOMBRIDGE_OA_SYNC_LOGIN")
	c.DingTalkURL = strings.TrimRight(get("ROOMBRIDGE_DINGTALK_URL"), "/")
	c.DingTalkOAPIURL = strings.TrimRight(get("ROOMBRIDGE_DINGTALK_OAPI_URL"), "/")
	c.DingTalkAppKey, c.DingTalkAppSecret = get("ROOMBRIDGE_DINGTALK_APP_KEY"), get("ROOMBRIDGE_DINGTALK_APP_SECRET")
	c.DingTalkOperator = get("ROOMBRIDGE_DINGTALK_OPERATOR")
	for _, u := range []struct{ env, v string }{{"ROOMBRIDGE_OA_URL", c.OAURL}, {"ROOMBRIDGE_DINGTALK_URL", c.DingTalkURL}, {"ROOMBRIDGE_DINGTALK_OAPI_URL", c.DingTalkOAPIURL}} {
		if u.v == "" {
			continue
		}
		if p, err := url.Parse(u.v); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return c, nil, &configError{u.env, fmt.Sprintf("%q is not an http(s) URL", u.v)}
		}
	}
	switch d := get("ROOMBRIDGE_DEMO"); d {
	case "":
		c.Demo = c.OAURL == "" && c.DingTalkAppKey == ""
	case "1", "true", "yes":
		c.Demo = true
	case "0", "false", "no":
		c.Demo = false
	default:
		return c, nil, &configError{"ROOMBRIDGE_DEMO", fmt.Sprintf("%q is not 0 or 1", d)}
	}
	if !c.Demo {
		if c.OAURL != "" && (c.OAUser == "" || c.OAPassword == "") {
			return c, nil, &configError{"ROOMBRIDGE_OA_REST_USER", "ROOMBRIDGE_OA_URL is set, so the REST user and password are needed too"}
		}
		if c.DingTalkAppKey != "" && c.DingTalkAppSecret == "" {
			return c, nil, &configError{"ROOMBRIDGE_DINGTALK_APP_SECRET", "ROOMBRIDGE_DINGTALK_APP_KEY is set, so the app secret is needed too"}
		}
		if c.OAURL == "" && c.DingTalkAppKey == "" {
			return c, nil, &configError{"ROOMBRIDGE_DEMO", "demo mode is off but neither ROOMBRIDGE_OA_URL nor ROOMBRIDGE_DINGTALK_APP_KEY is set"}
		}
	}
	parseTime := func(env string) (time.Time, error) {
		v := get(env)
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return t, &configError{env, fmt.Sprintf("cannot read %q as an RFC 3339 time such as 2023-04-17T00:00:00+08:00", v)}
		}
		return t, nil
	}
	if c.Cutover, err = parseTime("ROOMBRIDGE_CUTOVER"); err != nil {
		return c, nil, err
	}
	if c.Freeze, err = parseTime("ROOMBRIDGE_OA_FREEZE"); err != nil {
		return c, nil, err
	}
	if c.Demo && !explicit["ROOMBRIDGE_CUTOVER"] {
		d := now.In(c.Zone).AddDate(0, 0, 7)
		c.Cutover = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, c.Zone)
		if !explicit["ROOMBRIDGE_OA_FREEZE"] {
			c.Freeze = c.Cutover.Add(-time.Hour)
		}
	}
	if c.Freeze.After(c.Cutover) {
		return c, nil, &configError{"ROOMBRIDGE_OA_FREEZE", fmt.Sprintf("%s is after the cutover %s", c.Freeze.Format(time.RFC3339), c.Cutover.Format(time.RFC3339))}
	}
	c.FreshDemoDB = c.Demo && !explicit["ROOMBRIDGE_DB"]
	c.CatalogPath = get("ROOMBRIDGE_CATALOG")
	c.Auth = get("ROOMBRIDGE_AUTH")
	switch c.Auth {
	case "":
		if !c.Demo {
			return c, nil, &configError{"ROOMBRIDGE_AUTH", "required outside demo mode: header (behind a trusted SSO proxy) or dingtalk"}
		}
		c.Auth = "demo"
	case "demo":
		if !c.Demo {
			return c, nil, &configError{"ROOMBRIDGE_AUTH", "demo sign-in lets anyone be anyone; it is refused outside demo mode (use header or dingtalk)"}
		}
	case "header", "dingtalk":
	default:
		return c, nil, &configError{"ROOMBRIDGE_AUTH", fmt.Sprintf("%q is not demo, header or dingtalk", c.Auth)}
	}
	proxies := get("ROOMBRIDGE_TRUSTED_PROXIES")
	if c.TrustedProxies, err = web.ParseTrustedProxies(proxies); err != nil {
		return c, nil, &configError{"ROOMBRIDGE_TRUSTED_PROXIES", fmt.Sprintf("%q is not a comma-separated list of CIDRs (or none): %v", proxies, err)}
	}
	if v := get("ROOMBRIDGE_SESSION_KEY"); v != "" {
		if c.SessionKeys, err = web.SessionKeys(v); err != nil {
			return c, nil, &configError{"ROOMBRIDGE_SESSION_KEY", err.Error()}
		}
	}
	c.DingTalkLoginURL = strings.TrimRight(get("ROOMBRIDGE_DINGTALK_LOGIN_URL"), "/")
	c.DingTalkCorpID = get("ROOMBRIDGE_DINGTALK_CORP_ID")
	c.DingTalkJSAPIURL = get("ROOMBRIDGE_DINGTALK_JSAPI_URL")
	for _, u := range []struct{ env, v string }{{"ROOMBRIDGE_DINGTALK_LOGIN_URL", c.DingTalkLoginURL}, {"ROOMBRIDGE_DINGTALK_JSAPI_URL", c.DingTalkJSAPIURL}} {
		if p, err := url.Parse(u.v); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return c, nil, &configError{u.env, fmt.Sprintf("%q is not an http(s) URL", u.v)}
		}
	}
	if c.Auth == "dingtalk" {
		if !c.Demo && c.DingTalkAppKey == "" {
			return c, nil, &configError{"ROOMBRIDGE_AUTH", "dingtalk sign-in needs the DingTalk app: set ROOMBRIDGE_DINGTALK_APP_KEY and ROOMBRIDGE_DINGTALK_APP_SECRET"}
		}
		if !c.Demo && c.DingTalkCorpID == "" {
			return c, nil, &configError{"ROOMBRIDGE_DINGTALK_CORP_ID", "required with ROOMBRIDGE_AUTH=dingtalk (the corpId, dingxxxx, from the DingTalk developer console)"}
		}
	}
	c.AuthHeader = get("ROOMBRIDGE_AUTH_HEADER")
	if c.AuthHeader == "" {
		return c, nil, &configError{"ROOMBRIDGE_AUTH_HEADER", "must not be empty"}
	}
	c.Admins = map[string]bool{}
	for _, a := range strings.Split(get("ROOMBRIDGE_ADMINS"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.Admins[a] = true
		}
	}
	if c.Demo && len(c.Admins) == 0 {
		c.Admins["admin"] = true
	}
	c.BaseURL = strings.TrimRight(get("ROOMBRIDGE_BASE_URL"), "/")
	c.BaseURLSet = explicit["ROOMBRIDGE_BASE_URL"]
	if p, err := url.Parse(c.BaseURL); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return c, nil, &configError{"ROOMBRIDGE_BASE_URL", fmt.Sprintf("%q is not an http(s) URL", c.BaseURL)}
	}
	for _, d := range []struct {
		env string
		dst *time.Duration
	}{{"ROOMBRIDGE_SYNC_BACK", &c.SyncBack}, {"ROOMBRIDGE_SYNC_AHEAD", &c.SyncAhead}, {"ROOMBRIDGE_BOOKING_WINDOW", &c.BookingWindow}} {
		v := get(d.env)
		if *d.dst, err = time.ParseDuration(v); err != nil || *d.dst < 0 {
			return c, nil, &configError{d.env, fmt.Sprintf("%q is not a duration such as 720h", v)}
		}
	}
	if n := get("ROOMBRIDGE_DB_CONNS"); !positive(n, &c.DBConns) {
		return c, nil, &configError{"ROOMBRIDGE_DB_CONNS", fmt.Sprintf("%q is not a positive number", n)}
	}
	b := get("ROOMBRIDGE_DINGTALK_MONTHLY_BUDGET")
	if _, err := fmt.Sscanf(b, "%d", &c.DingTalkBudget); err != nil || c.DingTalkBudget <= 0 {
		return c, nil, &configError{"ROOMBRIDGE_DINGTALK_MONTHLY_BUDGET", fmt.Sprintf("%q is not a positive number", b)}
	}
	o := get("ROOMBRIDGE_DINGTALK_SYNC_OVERAGE")
	if _, err := fmt.Sscanf(o, "%d", &c.DingTalkOverage); err != nil || c.DingTalkOverage < 0 {
		return c, nil, &configError{"ROOMBRIDGE_DINGTALK_SYNC_OVERAGE", fmt.Sprintf("%q is not a number of calls (0 or more)", o)}
	}
	if err := c.syncPlan(get); err != nil {
		return c, nil, err
	}
	c.FeedShowTitles = get("ROOMBRIDGE_FEED_SHOW_TITLES") == "1"
	switch v := get("ROOMBRIDGE_DINGTALK_STREAM"); v {
	case "":
		c.DingTalkStream = c.Demo
	case "1", "true", "yes":
		c.DingTalkStream = true
	case "0", "false", "no":
	default:
		return c, nil, &configError{"ROOMBRIDGE_DINGTALK_STREAM", fmt.Sprintf("%q is not 0 or 1", v)}
	}
	switch v := get("ROOMBRIDGE_NOTIFY"); v {
	case "":
		c.Notify = c.Demo
	case "1", "true", "yes":
		c.Notify = true
	case "0", "false", "no":
	default:
		return c, nil, &configError{"ROOMBRIDGE_NOTIFY", fmt.Sprintf("%q is not 0 or 1", v)}
	}
	if v := get("ROOMBRIDGE_DINGTALK_AGENT_ID"); v != "" {
		if c.DingTalkAgentID, err = strconv.ParseInt(v, 10, 64); err != nil || c.DingTalkAgentID <= 0 {
			return c, nil, &configError{"ROOMBRIDGE_DINGTALK_AGENT_ID", fmt.Sprintf("%q is not a positive number", v)}
		}
	} else if c.Demo {
		c.DingTalkAgentID = demoAgentID
	}
	if c.Notify && !c.Demo {
		if c.DingTalkAppKey == "" {
			return c, nil, &configError{"ROOMBRIDGE_NOTIFY", "notifications are sent through DingTalk: set ROOMBRIDGE_DINGTALK_APP_KEY and ROOMBRIDGE_DINGTALK_APP_SECRET"}
		}
		if c.DingTalkAgentID == 0 {
			return c, nil, &configError{"ROOMBRIDGE_DINGTALK_AGENT_ID", "ROOMBRIDGE_NOTIFY is on, so the app's AgentId is needed"}
		}
	}
	lease := get("ROOMBRIDGE_OUTBOX_LEASE")
	if c.OutboxLease, err = time.ParseDuration(lease); err != nil || c.OutboxLease < time.Second {
		return c, nil, &configError{"ROOMBRIDGE_OUTBOX_LEASE", fmt.Sprintf("%q is not a duration of at least 1s", lease)}
	}
	slease := get("ROOMBRIDGE_SYNC_LEASE")
	if c.SyncLease, err = time.ParseDuration(slease); err != nil || c.SyncLease < time.Second {
		return c, nil, &configError{"ROOMBRIDGE_SYNC_LEASE", fmt.Sprintf("%q is not a duration of at least 1s", slease)}
	}
	c.Instance = get("ROOMBRIDGE_INSTANCE")
	rmax := get("ROOMBRIDGE_OUTBOX_RETRY_MAX")
	if c.OutboxRetryMax, err = time.ParseDuration(rmax); err != nil || c.OutboxRetryMax < time.Second {
		return c, nil, &configError{"ROOMBRIDGE_OUTBOX_RETRY_MAX", fmt.Sprintf("%q is not a duration of at least 1s", rmax)}
	}
	return c, fs.Args(), nil
}

// catalog returns the configured catalog.
func (c config) catalog() (models.Catalog, error) {
	if c.CatalogPath == "" {
		return models.DemoCatalog(), nil
	}
	cat, err := models.LoadCatalog(c.CatalogPath)
	if err != nil {
		return cat, &configError{"ROOMBRIDGE_CATALOG", err.Error()}
	}
	return cat, nil
}

// routing returns the configured routing policy.
// access is the access policy with the configured admins.
func (c config) access() models.Access {
	ids := make([]string, 0, len(c.Admins))
	for id := range c.Admins {
		ids = append(ids, id)
	}
	return models.NewAccess(ids...)
}

func (c config) routing() models.Routing {
	return models.NewRouting(c.Zone, c.Cutover, c.Freeze)
}

// warnings are settings that start but should not stay so in production.
func (c config) warnings() []string {
	if c.Demo {
		return nil
	}
	var out []string
	if !c.BaseURLSet {
		out = append(out, fmt.Sprintf("ROOMBRIDGE_BASE_URL is not set: feed links point at %s and cookies are not marked Secure; set it to the public https URL", c.BaseURL))
	} else if !strings.HasPrefix(c.BaseURL, "https://") {
		out = append(out, "ROOMBRIDGE_BASE_URL is not https: session cookies are not marked Secure")
	}
	return out
}

// syncPlan reads the incremental DingTalk sync settings.
func (c *config) syncPlan(get func(string) string) error {
	for _, id := range strings.Split(get("ROOMBRIDGE_DINGTALK_SYNC_CALENDARS"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			c.DingTalkCalendars = append(c.DingTalkCalendars, id)
		}
	}
	var plan bridge.SyncPlan
	for _, d := range []struct {
		env string
		dst *time.Duration
	}{{"ROOMBRIDGE_DINGTALK_FRESHNESS", &plan.Freshness}, {"ROOMBRIDGE_DINGTALK_STREAM_CHECK", &plan.StreamCheck}, {"ROOMBRIDGE_DINGTALK_RECONCILE", &plan.Reconcile}} {
		v := get(d.env)
		var err error
		if *d.dst, err = time.ParseDuration(v); err != nil || *d.dst < 0 {
			return &configError{d.env, fmt.Sprintf("%q is not a duration such as 15m", v)}
		}
	}
	if plan.Freshness > 0 {
		c.DingTalkPlan = &plan
	}
	return nil
}

// positive parses v as a whole number above zero into n.
func positive(v string, n *int) bool {
	i, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || i <= 0 {
		return false
	}
	*n = i
	return true
}
