package dingtalk

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	calendar "github.com/alibabacloud-go/dingtalk/calendar_1_0"
	oauth2 "github.com/alibabacloud-go/dingtalk/oauth2_1_0"
	rooms "github.com/alibabacloud-go/dingtalk/rooms_1_0"
	util "github.com/alibabacloud-go/tea-utils/v2/service"
	"github.com/alibabacloud-go/tea/tea"

	"roombridge/models"
)

// API names reported through Config.OnCall: the SDK's action names, and the path for the
// old-API user lookup. dingtalkfake uses the same names.
const (
	apiGetAccessToken          = "GetAccessToken"
	apiGetUser                 = "topapi/v2/user/get"
	apiCreateEvent             = "CreateEvent"
	apiGetEvent                = "GetEvent"
	apiDeleteEvent             = "DeleteEvent"
	apiListEvents              = "ListEvents"
	apiListInstances           = "ListInstances"
	apiPatchEvent              = "PatchEvent"
	apiAddMeetingRooms         = "AddMeetingRooms"
	apiRemoveMeetingRooms      = "RemoveMeetingRooms"
	apiGetMeetingRoomsSchedule = "GetMeetingRoomsSchedule"
	apiQueryMeetingRoomList    = "QueryMeetingRoomList"
)

const (
	primary        = "primary" // the only calendar id the bridge uses
	firstBackoff   = time.Second
	maxBackoff     = 30 * time.Second
	tokenMargin    = 5 * time.Minute
	clientTokenTTL = 24 * time.Hour // how long DingTalk honours an x-client-token
)

// Config is what a Client needs. Zero fields take the defaults given in their comments.
type Config struct {
	BaseURL   string // new API, scheme://host[:port]; default https://api.dingtalk.com
	OAPIURL   string // old API, used for directory lookups; default https://oapi.dingtalk.com
	AppKey    string // required
	AppSecret string // required

	HTTPClient  *http.Client                                     // for the old API; default: one with CallTimeout
	Now         func() time.Time                                 // default time.Now
	Sleep       func(ctx context.Context, d time.Duration) error // backoff waits; default waits for d or ctx
	MaxAttempts int                                              // attempts per call, token refresh not counted; default 5
	CallTimeout time.Duration                                    // limit of one HTTP attempt; default 30 s

	// OnCall, if set, is told about every HTTP attempt: the API name (the SDK action name,
	// or "topapi/v2/user/get"), whether it counts toward the monthly quota, and its error.
	// An attempt is metered when it is a calendar or rooms call that reached DingTalk and
	// was not throttled, refused for authentication or refused for an exhausted quota.
	OnCall func(api string, metered bool, err error)
	// OnStreamDrop, if set, is told why a Stream-mode connection ended before Listen
	// reconnects; OnStreamConnect, each time a connection is up.
	OnStreamDrop    func(err error)
	OnStreamConnect func()
}

// Client talks to DingTalk for one app. It is safe for concurrent use.
type Client struct {
	cfg       Config
	oapi      string
	http      *http.Client
	sdkConfig func() *openapi.Config
	runtime   *util.RuntimeOptions

	tokenMu     sync.Mutex
	token       string
	tokenExpiry time.Time

	mu       sync.Mutex
	unionIDs map[string]string    // userId → unionId
	keys     map[string]time.Time // booking keys whose event this Client created, for retries
}

// New returns a Client for cfg. It returns an error wrapping models.ErrInvalid if the app
// credentials are missing or a URL is malformed.
func New(cfg Config) (*Client, error) {
	if cfg.AppKey == "" || cfg.AppSecret == "" {
		return nil, fmt.Errorf("dingtalk config: app key and secret are required: %w", models.ErrInvalid)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://api.dingtalk.com"
	}
	if cfg.OAPIURL == "" {
		cfg.OAPIURL = "https://oapi.dingtalk.com"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: cfg.CallTimeout}
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || strings.Trim(base.Path, "/") != "" {
		return nil, fmt.Errorf("dingtalk config: base URL %q is not scheme://host[:port]: %w", cfg.BaseURL, models.ErrInvalid)
	}
	oapi, err := url.Parse(cfg.OAPIURL)
	if err != nil || (oapi.Scheme != "http" && oapi.Scheme != "https") || oapi.Host == "" {
		return nil, fmt.Errorf("dingtalk config: old API URL %q is not an http(s) URL: %w", cfg.OAPIURL, models.ErrInvalid)
	}

	sdkConfig := func() *openapi.Config {
		oc := &openapi.Config{
			Protocol:    tea.String(base.Scheme),
			Endpoint:    tea.String(base.Host),
			ReadTimeout: tea.Int(int(cfg.CallTimeout / time.Millisecond)),
		}
		// The SDK reads HTTP_PROXY itself and ignores NO_PROXY entries other than an exact
		// host:port, so a loopback endpoint (the fake) would otherwise go through a proxy.
		if ip := net.ParseIP(base.Hostname()); base.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()) {
			oc.NoProxy = tea.String(base.Host)
		}
		return oc
	}
	c := &Client{
		cfg:       cfg,
		sdkConfig: sdkConfig,
		oapi:      strings.TrimRight(cfg.OAPIURL, "/"),
		http:      hc,
		runtime:   &util.RuntimeOptions{Autoretry: tea.Bool(false)},
		unionIDs:  make(map[string]string),
		keys:      make(map[string]time.Time),
	}
	if _, err = calendar.NewClient(sdkConfig()); err != nil {
		return nil, fmt.Errorf("dingtalk calendar client: %w", err)
	}
	return c, nil
}

// The SDK's clients keep per-request state in their own fields (Execute writes and
// clears client.Headers), so they are not safe for concurrent use: each call gets its
// own. Making one only copies the configuration; connections are pooled by the SDK's
// shared transport.

func (c *Client) calendarSDK() *calendar.Client {
	cl, _ := calendar.NewClient(c.sdkConfig()) // the configuration was checked by New
	return cl
}

func (c *Client) roomsSDK() *rooms.Client {
	cl, _ := rooms.NewClient(c.sdkConfig())
	return cl
}

func (c *Client) oauthSDK() *oauth2.Client {
	cl, _ := oauth2.NewClient(c.sdkConfig())
	return cl
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff is the wait before attempt n+1: 1 s doubling per attempt, plus up to half again
// of jitter, capped.
func backoff(n int) time.Duration {
	d := firstBackoff << (n - 1)
	if d <= 0 || d > maxBackoff {
		d = maxBackoff
	}
	return d + rand.N(d/2)
}

// within runs f and returns its result, or ctx's error as soon as ctx ends. The SDK takes
// no context, so an abandoned call runs on in the background until CallTimeout stops it.
func within[T any](ctx context.Context, f func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// call is one logical DingTalk call, which run may send several times.
type call struct {
	op      string // what is being done, for error text
	api     string
	metered bool
	noToken bool // the token request itself
	send    func(ctx context.Context, token string) error
	// beforeRetry, if set, runs before every attempt after the first; if it reports done,
	// the call counts as succeeded without being sent again.
	beforeRetry func(ctx context.Context) (done bool)
}

// run sends k with the app token, refreshing a rejected token once and retrying transient
// failures with backoff.
func (c *Client) run(ctx context.Context, k call) error {
	refreshed := false
	for attempt := 1; ; attempt++ {
		if attempt > 1 && k.beforeRetry != nil && k.beforeRetry(ctx) {
			return nil
		}
		var token string
		if !k.noToken {
			t, err := c.accessToken(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", k.op, err)
			}
			token = t
		}
		ae := classify(k.send(ctx, token))
		c.report(k.api, k.metered, ae)
		switch {
		case ae == nil:
			return nil
		case ae.auth && !refreshed && !k.noToken:
			refreshed = true
			c.dropToken(token)
			attempt-- // a refreshed token does not use up an attempt
			continue
		case !ae.retry:
			return fmt.Errorf("%s: %w", k.op, ae)
		case attempt >= c.cfg.MaxAttempts:
			return fmt.Errorf("%s: gave up after %d attempts: %w", k.op, attempt, ae)
		}
		if err := c.cfg.Sleep(ctx, backoff(attempt)); err != nil {
			return fmt.Errorf("%s: %w (stopped waiting to retry: %w)", k.op, ae, err)
		}
	}
}

func (c *Client) report(api string, metered bool, ae *apiError) {
	if c.cfg.OnCall == nil {
		return
	}
	if ae == nil {
		c.cfg.OnCall(api, metered, nil)
		return
	}
	c.cfg.OnCall(api, metered && !ae.unmetered, ae)
}

// accessToken returns the cached app token, fetching a new one when it is about to expire.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	if c.token != "" && c.cfg.Now().Before(c.tokenExpiry) {
		return c.token, nil
	}
	var body *oauth2.GetAccessTokenResponseBody
	err := c.run(ctx, call{
		op:      "dingtalk access token",
		api:     apiGetAccessToken,
		noToken: true,
		send: func(ctx context.Context, _ string) error {
			req := &oauth2.GetAccessTokenRequest{AppKey: tea.String(c.cfg.AppKey), AppSecret: tea.String(c.cfg.AppSecret)}
			resp, err := within(ctx, func() (*oauth2.GetAccessTokenResponse, error) {
				return c.oauthSDK().GetAccessTokenWithOptions(req, map[string]*string{}, c.runtime)
			})
			if err != nil {
				return err
			}
			if resp.Body == nil || tea.StringValue(resp.Body.AccessToken) == "" {
				return fmt.Errorf("%w: no accessToken", errBadAnswer)
			}
			body = resp.Body
			return nil
		},
	})
	if err != nil {
		return "", err
	}
	ttl := time.Duration(tea.Int64Value(body.ExpireIn)) * time.Second
	c.token = tea.StringValue(body.AccessToken)
	c.tokenExpiry = c.cfg.Now().Add(ttl - min(tokenMargin, ttl/4))
	return c.token, nil
}

// dropToken forgets token after DingTalk rejected it, unless it was replaced meanwhile.
func (c *Client) dropToken(token string) {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	if c.token == token {
		c.token = ""
	}
}

// clientToken returns the x-client-token for one step of a keyed operation, or nil if the
// caller gave no key.
func clientToken(key, step string) *string {
	if key == "" {
		return nil
	}
	return tea.String(key + ":" + step)
}

// probeToken is a token DingTalk never issued, sent by CheckTokenRejection.
const probeToken = "roombridge-probe-invalid-token"

// RefreshToken drops the cached app token and fetches a new one: it proves the app key and
// secret, and that the client can renew its token. Errors wrap models.ErrForbidden for
// rejected credentials and models.ErrUnavailable when DingTalk cannot be reached.
func (c *Client) RefreshToken(ctx context.Context) error {
	c.tokenMu.Lock()
	c.token = ""
	c.tokenMu.Unlock()
	_, err := c.accessToken(ctx)
	return err
}

// CheckTokenRejection sends one request to each API with a token DingTalk never issued and
// reports an error unless both answers are ones the client refreshes its token on (new
// API 400 InvalidAuthentication or 401; old API 40001/40014/42001, also inside errcode
// 88). operatorUnionID is the user the new-API request names.
func (c *Client) CheckTokenRejection(ctx context.Context, operatorUnionID string) error {
	var user struct{}
	oldErr := classify(c.postOld(ctx, "/topapi/v2/user/get", probeToken, map[string]string{"userid": "roombridge-probe"}, &user))
	req := &rooms.QueryMeetingRoomListRequest{UnionId: tea.String(operatorUnionID), MaxResults: tea.Int32(1)}
	h := &rooms.QueryMeetingRoomListHeaders{XAcsDingtalkAccessToken: tea.String(probeToken)}
	_, err := within(ctx, func() (*rooms.QueryMeetingRoomListResponse, error) {
		return c.roomsSDK().QueryMeetingRoomListWithOptions(req, h, c.runtime)
	})
	newErr := classify(err)
	var problems []string
	for _, x := range []struct {
		api string
		ae  *apiError
	}{{"old API /topapi/v2/user/get", oldErr}, {"new API QueryMeetingRoomList", newErr}} {
		switch {
		case x.ae == nil:
			problems = append(problems, x.api+" accepted an invalid token")
		case !x.ae.auth:
			problems = append(problems, fmt.Sprintf("%s answered an invalid token with %v, not an authentication error", x.api, x.ae))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("dingtalk token rejection: %s: %w", strings.Join(problems, "; "), models.ErrInvalid)
	}
	return nil
}
