package web

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"roombridge/models"
)

// errLimited is the kind of a request refused because its client sent too many: 429,
// with Retry-After.
var errLimited = errors.New("too many requests")

// Rate is a token bucket: up to Burst requests at once, refilled at Burst per Per.
type Rate struct {
	Burst int
	Per   time.Duration
}

// Limits are the per-client-address limits (behind a trusted proxy, the forwarded
// address). A zero Rate takes its default.
type Limits struct {
	// FeedMisses limits feed requests with a token that opens nothing (token guessing).
	// Once used up, every feed request from that address waits.
	FeedMisses Rate
	// Writes limits POST, PUT, PATCH and DELETE requests other than sign-in.
	Writes Rate
	// SignIns limits sign-in attempts (demo login, DingTalk callback and in-app code).
	SignIns Rate
}

// DefaultLimits leave ordinary use far below them: a person makes a few writes a
// minute, and a calendar app polls known tokens (which never count) every few minutes.
// They are per address, so an office behind one NAT address shares them; they are set
// for that.
var DefaultLimits = Limits{
	FeedMisses: Rate{Burst: 30, Per: 10 * time.Minute},
	Writes:     Rate{Burst: 120, Per: time.Minute},
	SignIns:    Rate{Burst: 30, Per: time.Minute},
}

// maxBuckets bounds the memory one limiter may use; past it, buckets that have refilled
// are forgotten.
const maxBuckets = 50_000

// limiter is a set of token buckets keyed by client address. It is not echo's
// RateLimiter because the feed limit counts only failed lookups (known tokens are free),
// which a middleware that counts every request cannot express, and because it reads the
// server's clock, which tests move.
type limiter struct {
	rate    Rate
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(r, def Rate, now func() time.Time) *limiter {
	if r.Burst <= 0 || r.Per <= 0 {
		r = def
	}
	return &limiter{rate: r, now: now, buckets: map[string]*bucket{}}
}

// refill brings b up to now. It runs with l.mu held.
func (l *limiter) refill(b *bucket, now time.Time) {
	perToken := l.rate.Per.Seconds() / float64(l.rate.Burst)
	b.tokens = math.Min(float64(l.rate.Burst), b.tokens+now.Sub(b.at).Seconds()/perToken)
	b.at = now
}

func (l *limiter) get(key string, now time.Time) *bucket {
	b, found := l.buckets[key]
	if !found {
		if len(l.buckets) >= maxBuckets {
			for k, old := range l.buckets {
				if l.refill(old, now); old.tokens >= float64(l.rate.Burst) {
					delete(l.buckets, k)
				}
			}
			if len(l.buckets) >= maxBuckets {
				clear(l.buckets)
			}
		}
		b = &bucket{tokens: float64(l.rate.Burst), at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	return b
}

// wait returns how long key must wait for one token (0: one is there).
func (l *limiter) wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key, l.now())
	if b.tokens >= 1 {
		return 0
	}
	perToken := l.rate.Per.Seconds() / float64(l.rate.Burst)
	return time.Duration((1 - b.tokens) * perToken * float64(time.Second))
}

// take uses one token of key and returns 0, or how long to wait when there is none.
func (l *limiter) take(key string) time.Duration {
	if d := l.wait(key); d > 0 {
		return d
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buckets[key].tokens--
	return 0
}

// limiters are the server's limiters.
type limiters struct {
	feedMisses, writes, signIns *limiter
}

func newLimiters(l Limits, now func() time.Time) *limiters {
	return &limiters{
		feedMisses: newLimiter(l.FeedMisses, DefaultLimits.FeedMisses, now),
		writes:     newLimiter(l.Writes, DefaultLimits.Writes, now),
		signIns:    newLimiter(l.SignIns, DefaultLimits.SignIns, now),
	}
}

// limited answers 429 with Retry-After in whole seconds.
func limited(c echo.Context, wait time.Duration, what string) error {
	c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	return models.E(errLimited, "too_many_requests", "").Wrap(errors.New(what))
}

// isSignIn tells the requests that are sign-in attempts.
func isSignIn(r *http.Request) bool {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/login",
		r.URL.Path == "/auth/dingtalk/callback",
		r.URL.Path == "/auth/dingtalk/inapp":
		return true
	}
	return false
}

// limit applies the write and sign-in limits per client address.
func (s *server) limit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		var l *limiter
		what := ""
		switch {
		case isInfra(r.URL.Path) || isFeed(r.URL.Path):
		case isSignIn(r):
			l, what = s.limits.signIns, "sign-in attempts"
		case !safeMethod(r.Method):
			l, what = s.limits.writes, "writes"
		}
		if l != nil {
			if wait := l.take(c.RealIP()); wait > 0 {
				s.log.Warn("rate limited", "limit", what, "client", c.RealIP(), "method", r.Method, "path", logPath(r))
				return limited(c, wait, what)
			}
		}
		return next(c)
	}
}

// feedLimit guards the feed routes: an address that sent too many tokens that open
// nothing waits, for every feed, until its limit refills. Known tokens never count.
func (s *server) feedLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		client := c.RealIP()
		if wait := s.limits.feedMisses.wait(client); wait > 0 {
			return limited(c, wait, "unknown feed tokens")
		}
		err := next(c)
		if errors.Is(err, models.ErrNotFound) && s.limits.feedMisses.take(client) > 0 {
			s.log.Warn("rate limited", "limit", "unknown feed tokens", "client", client)
		}
		return err
	}
}
