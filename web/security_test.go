package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"roombridge/models"
	"roombridge/models/modelstest"
)

// request builds a request from peer (an IP) with header pairs.
func request(method, path, peer string, body string, header ...string) *http.Request {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = peerPort(peer)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	return r
}

func peerPort(ip string) string { return netip.AddrPortFrom(netip.MustParseAddr(ip), 40000).String() }

const (
	proxyIP    = "192.0.2.1"    // in the test env's trusted proxies
	outsiderIP = "203.0.113.66" // anyone else
)

// Demo sign-in is only ever seen with the banner that says so.
func TestDemoAuthShowsBanner(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Demo = false })
	if body := e.serve(request("GET", "/login", proxyIP, "")).Body.String(); !strings.Contains(body, "demo-banner") {
		t.Errorf("GET /login with demo auth and Demo=false has no demo banner")
	}
}

// An unsigned rb_user cookie or a bare identity header from an untrusted peer must not
// open /admin, in any mode.
func TestForgedIdentityDoesNotOpenAdmin(t *testing.T) {
	for _, mode := range []string{AuthDemo, AuthHeader} {
		t.Run(mode, func(t *testing.T) {
			var a *admin
			e := newEnv(t, withAdmin(&a), func(c *Config) { c.Auth = mode })
			tests := []struct {
				name string
				r    *http.Request
			}{
				{"unsigned user cookie", func() *http.Request {
					r := request("GET", "/admin", outsiderIP, "")
					r.AddCookie(&http.Cookie{Name: "rb_user", Value: "admin"})
					return r
				}()},
				{"header from an untrusted peer", request("GET", "/admin", outsiderIP, "", DefaultAuthHeader, "admin")},
				{"session cookie signed with another key", func() *http.Request {
					r := request("GET", "/admin", outsiderIP, "")
					other := sessionCodec{keys: [][]byte{[]byte("another-key-another-key-another-key!")}}
					r.AddCookie(&http.Cookie{Name: sessionCookie, Value: other.encode(session{UserID: "admin", ID: "x", IssuedAt: testNow.Unix()})})
					return r
				}()},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					w := e.serve(tt.r)
					if w.Code == http.StatusOK || strings.Contains(w.Body.String(), "立即同步") {
						t.Errorf("GET /admin with %s = %d, want it refused", tt.name, w.Code)
					}
				})
			}
			if w := e.serve(request("GET", "/admin", proxyIP, "", DefaultAuthHeader, "admin")); w.Code != http.StatusOK {
				t.Errorf("GET /admin as admin through the trusted proxy = %d, want 200", w.Code)
			}
		})
	}
}

func TestHeaderModeTrustsOnlyProxies(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Auth, c.AuthHeader, c.Demo = AuthHeader, "X-Remote-User", false })
	tests := []struct {
		name   string
		r      *http.Request
		status int
	}{
		{"trusted proxy", request("GET", "/api/v1/rooms", proxyIP, "", "X-Remote-User", "lisi"), 200},
		{"untrusted peer", request("GET", "/api/v1/rooms", outsiderIP, "", "X-Remote-User", "lisi"), 401},
		{"header twice", request("GET", "/api/v1/rooms", proxyIP, "", "X-Remote-User", "lisi", "X-Remote-User", "admin"), 400},
		{"two ids in one header", request("GET", "/api/v1/rooms", proxyIP, "", "X-Remote-User", "lisi, admin"), 400},
		{"no header", request("GET", "/api/v1/rooms", proxyIP, ""), 401},
		{"page from an untrusted peer", request("GET", "/", outsiderIP, "", "X-Remote-User", "lisi"), 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.serve(tt.r)
			if w.Code != tt.status {
				t.Fatalf("%s %s = %d %s, want %d", tt.r.Method, tt.r.URL, w.Code, w.Body, tt.status)
			}
			if body := strings.ToLower(w.Body.String()); strings.Contains(body, "x-remote-user") || strings.Contains(body, "请求头") {
				t.Errorf("answer names the identity header: %s", w.Body)
			}
		})
	}
	if w := e.serve(request("GET", "/login", proxyIP, "")); w.Code != http.StatusNotFound {
		t.Errorf("GET /login in header mode = %d, want 404", w.Code)
	}
}

func TestClientIP(t *testing.T) {
	s := &server{proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	tests := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"direct", "198.51.100.7", nil, "198.51.100.7"},
		{"direct with a forged header", "198.51.100.7", []string{"1.2.3.4"}, "198.51.100.7"},
		{"proxy overwrote", "10.0.0.1", []string{"198.51.100.8"}, "198.51.100.8"},
		{"proxy appended to a forged value", "10.0.0.1", []string{"1.2.3.4, 198.51.100.8"}, "198.51.100.8"},
		{"two proxies", "10.0.0.1", []string{"198.51.100.8, 10.0.0.2"}, "198.51.100.8"},
		{"headers repeated", "10.0.0.1", []string{"1.2.3.4", "198.51.100.9"}, "198.51.100.9"},
		{"garbage", "10.0.0.1", []string{"not-an-ip"}, "10.0.0.1"},
		{"proxy without the header", "10.0.0.1", nil, "10.0.0.1"},
		{"IPv6 peer", "2001:db8::1", nil, "2001:db8::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = peerPort(tt.peer)
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := s.clientIP(r); got != tt.want {
				t.Errorf("clientIP(peer %s, XFF %q) = %s, want %s", tt.peer, tt.xff, got, tt.want)
			}
		})
	}
}

// removeUser takes id out of the catalog, as a new catalog file at the next start would.
func removeUser(t *testing.T, store *models.Store, id string) {
	t.Helper()
	cat := models.DemoCatalog()
	cat.Users = slices.DeleteFunc(cat.Users, func(u models.User) bool { return u.ID == id })
	if err := store.SyncCatalog(context.Background(), cat); err != nil {
		t.Fatal(err)
	}
}

func TestRemovedUserRefusedEverywhere(t *testing.T) {
	e := newEnv(t)
	b := e.browser().login("lisi")
	if w := b.get("/bookings"); w.Code != http.StatusOK {
		t.Fatalf("GET /bookings as lisi = %d, want 200", w.Code)
	}
	removeUser(t, e.store, "lisi")
	if w := b.get("/bookings"); w.Code != http.StatusForbidden {
		t.Errorf("GET /bookings with the session of a removed user = %d, want 403", w.Code)
	}
	if b.cookies[sessionCookie] != "" {
		t.Errorf("the removed user's session cookie was not cleared")
	}
	if w := e.serve(request("GET", "/api/v1/rooms", proxyIP, "", DefaultAuthHeader, "lisi")); w.Code != http.StatusForbidden {
		t.Errorf("GET /api/v1/rooms as removed lisi = %d, want 403", w.Code)
	}
	if w := e.browser().post("/login", url.Values{"user": {"lisi"}}); w.Code != http.StatusForbidden {
		t.Errorf("POST /login as removed lisi = %d, want 403", w.Code)
	}
}

func TestMetricsLabelsBounded(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 300; i++ {
		r := request(fmt.Sprintf("M%dETHOD", i), fmt.Sprintf("/made/up/%d", i), outsiderIP, "")
		e.serve(r)
	}
	e.serve(request("GET", "/nope/1", outsiderIP, ""))
	e.serve(request("GET", "/nope/2", outsiderIP, ""))
	families, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := 0
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "roombridge_http_") {
			continue
		}
		for _, m := range f.GetMetric() {
			series++
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "ETHOD") || strings.Contains(l.GetValue(), "made") || strings.Contains(l.GetValue(), "nope") {
					t.Errorf("metric %s has the client's label %s=%q", f.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
	if series > 10 {
		t.Errorf("302 requests with made-up methods and paths made %d HTTP series, want a handful", series)
	}
}

// withClock gives the server and the booker a clock the test moves.
func withClock(c *modelstest.Clock) func(*Config) {
	return func(cfg *Config) {
		cfg.Now = c.Now
		cfg.Booker.(*booker).now = c.Now
	}
}

func TestRateLimits(t *testing.T) {
	clock := modelstest.NewClock(testNow)
	var f *feeds
	e := newEnv(t, withClock(clock), withFeeds(&f), func(c *Config) {
		c.Limits = Limits{
			FeedMisses: Rate{Burst: 2, Per: 10 * time.Minute},
			Writes:     Rate{Burst: 3, Per: time.Minute},
			SignIns:    Rate{Burst: 2, Per: time.Minute},
		}
	})
	refused := func(t *testing.T, w *httptest.ResponseRecorder, wantAfter string) {
		t.Helper()
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != wantAfter {
			t.Fatalf("answer = %d Retry-After %q, want 429 Retry-After %s", w.Code, w.Header().Get("Retry-After"), wantAfter)
		}
	}
	t.Run("writes", func(t *testing.T) {
		write := func(from string, xff ...string) *httptest.ResponseRecorder {
			h := []string{DefaultAuthHeader, "zhangsan"}
			for _, x := range xff {
				h = append(h, "X-Forwarded-For", x)
			}
			return e.serve(request("DELETE", "/api/v1/bookings/nope", from, "", h...))
		}
		for i := 0; i < 3; i++ {
			if w := write(proxyIP, "198.51.100.1"); w.Code != http.StatusNotFound {
				t.Fatalf("write %d = %d, want 404 (not limited yet)", i+1, w.Code)
			}
		}
		refused(t, write(proxyIP, "198.51.100.1"), "20")
		if w := write(proxyIP, "198.51.100.2"); w.Code != http.StatusNotFound {
			t.Errorf("write from another client behind the proxy = %d, want 404", w.Code)
		}
		if w := e.serve(request("GET", "/api/v1/rooms", proxyIP, "", DefaultAuthHeader, "zhangsan", "X-Forwarded-For", "198.51.100.1")); w.Code != http.StatusOK {
			t.Errorf("read from the limited client = %d, want 200 (reads are not limited)", w.Code)
		}
		clock.Add(20 * time.Second)
		if w := write(proxyIP, "198.51.100.1"); w.Code != http.StatusNotFound {
			t.Errorf("write after Retry-After = %d, want 404", w.Code)
		}
	})
	t.Run("unknown feed tokens", func(t *testing.T) {
		token, _ := f.token(t, "zhangsan")
		bogus := strings.Repeat("a", len(token))
		for i := 0; i < 2; i++ {
			if w := e.serve(request("GET", "/ical/"+bogus+"/all.ics", outsiderIP, "")); w.Code != http.StatusNotFound {
				t.Fatalf("unknown token %d = %d, want 404", i+1, w.Code)
			}
		}
		refused(t, e.serve(request("GET", "/ical/"+bogus+"/all.ics", outsiderIP, "")), "300")
		refused(t, e.serve(request("GET", "/ical/"+token+"/all.ics", outsiderIP, "")), "300")
		if w := e.serve(request("GET", "/ical/"+token+"/all.ics", "198.51.100.20", "")); w.Code != http.StatusOK {
			t.Errorf("known token from another address = %d, want 200", w.Code)
		}
		// A forged X-Forwarded-For from an untrusted peer does not make a new client.
		refused(t, e.serve(request("GET", "/ical/"+bogus+"/all.ics", outsiderIP, "", "X-Forwarded-For", "198.51.100.99")), "300")
	})
	t.Run("sign-in attempts", func(t *testing.T) {
		b := e.browser()
		b.get("/login")
		for i := 0; i < 2; i++ {
			if w := b.post("/login", url.Values{"user": {"mallory"}}); w.Code != http.StatusForbidden {
				t.Fatalf("sign-in %d = %d, want 403", i+1, w.Code)
			}
		}
		refused(t, b.post("/login", url.Values{"user": {"zhangsan"}}), "30")
	})
}

// Ordinary use never meets a limit: a calendar app polling every five minutes for a week
// (and an old revoked link polled as often), and a person making thirty changes in a row.
func TestDefaultLimitsLeaveNormalUseAlone(t *testing.T) {
	clock := modelstest.NewClock(testNow)
	var f *feeds
	e := newEnv(t, withClock(clock), withFeeds(&f))
	token, _ := f.token(t, "zhangsan")
	revoked, row := f.token(t, "zhangsan")
	if err := f.Revoke(context.Background(), "zhangsan", row.ID); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 7*24*12; i++ {
		if w := e.serve(request("GET", "/ical/"+token+"/all.ics", "198.51.100.5", "")); w.Code != http.StatusOK {
			t.Fatalf("poll %d of a known token = %d, want 200", i, w.Code)
		}
		if w := e.serve(request("GET", "/ical/"+revoked+"/all.ics", "198.51.100.5", "")); w.Code != http.StatusNotFound {
			t.Fatalf("poll %d of a revoked token = %d, want 404", i, w.Code)
		}
		clock.Add(5 * time.Minute)
	}
	for i := 0; i < 30; i++ {
		if w := e.serve(request("DELETE", "/api/v1/bookings/nope", proxyIP, "", DefaultAuthHeader, "zhangsan")); w.Code != http.StatusNotFound {
			t.Fatalf("write %d = %d, want 404", i, w.Code)
		}
	}
}

func TestControlCharactersRefused(t *testing.T) {
	e := newEnv(t)
	body := func(title, desc string) string {
		b, _ := json.Marshal(map[string]string{"room_id": "duowei", "title": title, "description": desc,
			"start": "2023-04-14T09:00:00+08:00", "end": "2023-04-14T10:00:00+08:00"})
		return string(b)
	}
	tests := []struct {
		name, title, desc string
		status            int
		field             string
	}{
		{"NUL in the title", "周会\u0000", "", 422, "title"},
		{"ESC in the title", "\u001b[2J周会", "", 422, "title"},
		{"VT in the description", "周会", "a\u000bb", 422, "description"},
		{"tab and newline in the description", "周会", "议程：\n\t1. 回顾", 201, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.count()
			w := e.serve(request("POST", "/api/v1/bookings", proxyIP, body(tt.title, tt.desc), DefaultAuthHeader, "zhangsan"))
			if w.Code != tt.status {
				t.Fatalf("POST = %d %s, want %d", w.Code, w.Body, tt.status)
			}
			if tt.field == "" {
				return
			}
			got := decode[apiError](t, w)
			if got.Error.Field != tt.field || got.Error.Code != "control_characters" {
				t.Errorf("error = %+v, want control_characters on %s", got.Error, tt.field)
			}
			if e.count() != before {
				t.Errorf("a refused booking was stored")
			}
		})
	}
}

func TestNonexistentLocalTimeRefused(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata for Europe/Berlin")
	}
	e := newEnv(t, func(c *Config) { c.Zone = berlin })
	b := e.browser().login("zhangsan")
	b.get("/")
	// 2024-03-31: Berlin's clocks go from 02:00 straight to 03:00.
	w := b.post("/bookings", form("date", "2024-03-31", "start", "02:30", "end", "03:30"))
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), `id="start-error"`) {
		t.Fatalf("POST 02:30 on the spring-forward day = %d, want 422 at the start field", w.Code)
	}
	if n := e.count(); n != 0 {
		t.Errorf("reservations after a nonexistent time = %d, want 0", n)
	}
	w = b.post("/bookings", form("date", "2024-03-31", "start", "01:00", "end", "02:15"))
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), `id="end-error"`) {
		t.Errorf("POST ending 02:15 on the spring-forward day = %d, want 422 at the end field", w.Code)
	}
	w = b.post("/bookings", form("date", "2024-03-31", "start", "03:00", "end", "04:00", "idempotency_key", "dst-ok"))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("POST 03:00 on the spring-forward day = %d %s, want 303", w.Code, w.Body)
	}
	rs, _ := e.store.Reservations(context.Background(), models.Filter{})
	if len(rs) != 1 || !rs[0].Start.Equal(time.Date(2024, 3, 31, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("stored %+v, want one booking at 01:00 UTC (03:00 CEST)", rs)
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	for _, tt := range []struct {
		base   string
		secure bool
	}{{"https://rooms.example.com", true}, {"http://localhost:8080", false}} {
		t.Run(tt.base, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.BaseURL = tt.base })
			b := e.browser()
			b.get("/login")
			w := b.post("/login", url.Values{"user": {"zhangsan"}})
			var ck *http.Cookie
			for _, c := range w.Result().Cookies() {
				if c.Name == sessionCookie {
					ck = c
				}
			}
			if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != tt.secure {
				t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Lax, Secure=%v", ck, tt.secure)
			}
		})
	}
}

func TestSignOut(t *testing.T) {
	e := newEnv(t)
	b := e.browser().login("zhangsan")
	w := b.post("/logout", url.Values{})
	if w.Code != http.StatusSeeOther || b.cookies[sessionCookie] != "" {
		t.Fatalf("POST /logout = %d (session %q), want 303 and the session gone", w.Code, b.cookies[sessionCookie])
	}
	if w := b.get("/bookings"); w.Code != http.StatusSeeOther {
		t.Errorf("GET /bookings after sign-out = %d, want 303 to the login", w.Code)
	}
}
