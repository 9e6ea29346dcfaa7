package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// production is the environment of a real deployment (the backends' URLs point nowhere:
// loadConfig does not call them).
func production(extra ...string) func(string) string {
	env := map[string]string{
		"ROOMBRIDGE_OA_URL": "https://oa.example.com", "ROOMBRIDGE_OA_REST_USER": "rest", "ROOMBRIDGE_OA_REST_PASSWORD": "pw",
		"ROOMBRIDGE_DINGTALK_APP_KEY": "key", "ROOMBRIDGE_DINGTALK_APP_SECRET": "secret",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return func(k string) string { return env[k] }
}

func TestAuthConfiguration(t *testing.T) {
	tests := []struct {
		name    string
		getenv  func(string) string
		wantErr string // the variable named, "" for none
		auth    string
	}{
		{"production without ROOMBRIDGE_AUTH", production(), "ROOMBRIDGE_AUTH", ""},
		{"production with demo auth", production("ROOMBRIDGE_AUTH", "demo"), "ROOMBRIDGE_AUTH", ""},
		{"production with header auth", production("ROOMBRIDGE_AUTH", "header"), "", "header"},
		{"dingtalk without a corpId", production("ROOMBRIDGE_AUTH", "dingtalk"), "ROOMBRIDGE_DINGTALK_CORP_ID", ""},
		{"dingtalk", production("ROOMBRIDGE_AUTH", "dingtalk", "ROOMBRIDGE_DINGTALK_CORP_ID", "dingcorp"), "", "dingtalk"},
		{"dingtalk without the app", func(k string) string {
			return map[string]string{"ROOMBRIDGE_OA_URL": "https://oa.example.com", "ROOMBRIDGE_OA_REST_USER": "u", "ROOMBRIDGE_OA_REST_PASSWORD": "p",
				"ROOMBRIDGE_AUTH": "dingtalk", "ROOMBRIDGE_DINGTALK_CORP_ID": "dingcorp"}[k]
		}, "ROOMBRIDGE_AUTH", ""},
		{"bad trusted proxies", production("ROOMBRIDGE_AUTH", "header", "ROOMBRIDGE_TRUSTED_PROXIES", "10.0.0.0/33"), "ROOMBRIDGE_TRUSTED_PROXIES", ""},
		{"short session key", production("ROOMBRIDGE_AUTH", "header", "ROOMBRIDGE_SESSION_KEY", "short"), "ROOMBRIDGE_SESSION_KEY", ""},
		{"demo mode defaults to demo auth", func(string) string { return "" }, "", "demo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if cfg, ok := loadConfigCase(t, tt.getenv, tt.wantErr); ok && cfg.Auth != tt.auth {
				t.Errorf("loadConfig().Auth = %q, want %q", cfg.Auth, tt.auth)
			}
		})
	}
}

func TestBaseURLWarning(t *testing.T) {
	cfg, _, err := loadConfig(nil, production("ROOMBRIDGE_AUTH", "header"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.warnings(); len(w) != 1 || !strings.Contains(w[0], "ROOMBRIDGE_BASE_URL") {
		t.Errorf("warnings() without a base URL = %q, want one naming ROOMBRIDGE_BASE_URL", w)
	}
	cfg, _, _ = loadConfig(nil, production("ROOMBRIDGE_AUTH", "header", "ROOMBRIDGE_BASE_URL", "https://rooms.example.com"), time.Now())
	if w := cfg.warnings(); len(w) != 0 {
		t.Errorf("warnings() with an https base URL = %q, want none", w)
	}
	demo, _, _ := loadConfig(nil, func(string) string { return "" }, time.Now())
	if w := demo.warnings(); len(w) != 0 {
		t.Errorf("warnings() in demo mode = %q, want none", w)
	}
}

func TestVerifyReportsSignIn(t *testing.T) {
	env := map[string]string{
		"ROOMBRIDGE_DB":              "sqlite:" + filepath.Join(t.TempDir(), "v.db"),
		"ROOMBRIDGE_AUTH":            "dingtalk",
		"ROOMBRIDGE_TRUSTED_PROXIES": "10.1.0.0/16",
		"ROOMBRIDGE_BASE_URL":        "https://rooms.example.com",
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"verify"}, func(k string) string { return env[k] }, &out, io.Discard); err != nil {
		t.Fatalf("verify = %v\n%s", err, out.String())
	}
	want := "ok   sign-in (auth dingtalk, trusted proxies 10.1.0.0/16, base URL https://rooms.example.com, https true)"
	if !strings.Contains(out.String(), want) {
		t.Errorf("verify output lacks %q:\n%s", want, out.String())
	}
}

// dingTalkInstance starts the demo with DingTalk sign-in against the in-process fake.
func dingTalkInstance(t *testing.T) *instance {
	return start(t, map[string]string{"ROOMBRIDGE_AUTH": "dingtalk"})
}

// jarClient keeps cookies and does not follow redirects, so each hop can be checked.
func jarClient(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func hop(t *testing.T, c *http.Client, method, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestDingTalkBrowserSignIn(t *testing.T) {
	in := dingTalkInstance(t)
	c := jarClient(t)
	resp, _ := hop(t, c, "GET", in.url+"/bookings", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fbookings" {
		t.Fatalf("GET /bookings anonymously = %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = hop(t, c, "GET", in.url+"/login?next=%2Fbookings", nil)
	auth, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(auth.String(), in.dtURL+"/oauth2/auth?") {
		t.Fatalf("GET /login = %d to %q, want a redirect to the DingTalk login page", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := auth.Query()
	if q.Get("redirect_uri") != "http://localhost:8080/auth/dingtalk/callback" || q.Get("response_type") != "code" || q.Get("client_id") != fakeAppKey ||
		q.Get("scope") != "openid" || q.Get("prompt") != "consent" || len(q.Get("state")) < 32 {
		t.Errorf("authorize URL = %s, want the DESIGN's parameters with a fresh state", auth)
	}
	// The login page of the fake sends the browser back with a code.
	form := url.Values{}
	for k, v := range q {
		form[k] = v
	}
	form.Set("userId", "lisi")
	resp, _ = hop(t, c, "POST", in.dtURL+"/oauth2/auth", form)
	back, _ := url.Parse(resp.Header.Get("Location"))
	code := back.Query().Get("authCode")
	callback := in.url + "/auth/dingtalk/callback?" + back.RawQuery // the base URL is localhost:8080; the test's server listens elsewhere

	t.Run("wrong state refused", func(t *testing.T) {
		other := jarClient(t)
		hop(t, other, "GET", in.url+"/login", nil) // its own state
		bad := url.Values{"authCode": {code}, "state": {"not-the-state"}}
		resp, body := hop(t, other, "GET", in.url+"/auth/dingtalk/callback?"+bad.Encode(), nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "钉钉登录") {
			t.Errorf("callback with a wrong state = %d, want 403 explaining the sign-in failed", resp.StatusCode)
		}
		resp, _ = hop(t, jarClient(t), "GET", callback, nil) // the right state, but not this browser's
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("callback from a browser that never started the sign-in = %d, want 403", resp.StatusCode)
		}
	})
	resp, _ = hop(t, c, "GET", callback, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/bookings" {
		t.Fatalf("callback = %d to %q, want 303 to /bookings", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := hop(t, c, "GET", in.url+"/bookings", nil); !strings.Contains(body, "<strong>李四</strong>") {
		t.Errorf("GET /bookings after the DingTalk sign-in does not show 李四")
	}
	t.Run("reused code refused", func(t *testing.T) {
		again := jarClient(t)
		resp, _ := hop(t, again, "GET", in.url+"/login", nil)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		replay := url.Values{"authCode": {code}, "state": {loc.Query().Get("state")}}
		resp, _ = hop(t, again, "GET", in.url+"/auth/dingtalk/callback?"+replay.Encode(), nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("callback with a used code = %d, want 403", resp.StatusCode)
		}
	})
	t.Run("sign-out", func(t *testing.T) {
		_, page := hop(t, c, "GET", in.url+"/bookings", nil)
		m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatal("page has no CSRF token")
		}
		resp, _ := hop(t, c, "POST", in.url+"/logout", url.Values{"_csrf": {m[1]}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST /logout = %d, want 303", resp.StatusCode)
		}
		if resp, _ := hop(t, c, "GET", in.url+"/bookings", nil); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("GET /bookings after sign-out = %d, want 303 to the login", resp.StatusCode)
		}
	})
}

func TestDingTalkInAppSignIn(t *testing.T) {
	in := dingTalkInstance(t)
	c := jarClient(t)
	req, _ := http.NewRequest("GET", in.url+"/login?next=%2Fsubscribe", nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Mobile Safari/537.36 AliApp(DingTalk/7.6.0) com.alibaba.android.rimet")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `data-corp-id="dingfakecorp"`) || !strings.Contains(string(page), in.dtURL+"/jsapi/dingtalk.open.js") {
		t.Fatalf("GET /login inside DingTalk = %d, want the in-app sign-in page with the corpId and the JSAPI:\n%s", resp.StatusCode, page)
	}
	csrf := regexp.MustCompile(`data-csrf="([^"]+)"`).FindStringSubmatch(string(page))[1]
	code := fakeCode(t, in, "wangwu")
	post := func(code string) (*http.Response, string) {
		return hop(t, c, "POST", in.url+"/auth/dingtalk/inapp", url.Values{"code": {code}, "next": {"/subscribe"}, "_csrf": {csrf}})
	}
	resp, body := post(code)
	var got struct {
		Next string `json:"next"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || got.Next != "/subscribe" {
		t.Fatalf("POST /auth/dingtalk/inapp = %d %s, want 200 {next: /subscribe}", resp.StatusCode, body)
	}
	if _, body := hop(t, c, "GET", in.url+"/subscribe", nil); !strings.Contains(body, "<strong>王五</strong>") {
		t.Errorf("GET /subscribe after the in-app sign-in does not show 王五")
	}
	if resp, _ := post(code); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /auth/dingtalk/inapp with a used code = %d, want 403", resp.StatusCode)
	}
	if resp, _ := post("made-up"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /auth/dingtalk/inapp with a made-up code = %d, want 403", resp.StatusCode)
	}
	// The identity header means nothing in dingtalk mode, even from the machine itself.
	if r := in.do("GET", in.url+"/api/v1/rooms", "admin", nil); r.code != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/rooms with only X-Forwarded-User in dingtalk mode = %d, want 401", r.code)
	}
}

// fakeCode asks the DingTalk fake for an in-app code, as its JSAPI would.
func fakeCode(t *testing.T, in *instance, user string) string {
	t.Helper()
	r := in.do("POST", in.dtURL+"/_fake/authcodes", "", strings.NewReader(`{"userId":"`+user+`","inApp":true}`))
	var got struct {
		Code string `json:"code"`
	}
	r.json(t, &got)
	if got.Code == "" {
		t.Fatalf("fake issued no code: %d %s", r.code, r.body)
	}
	return got.Code
}

// Replicas on one MySQL database sign sessions with the same generated key: a sign-in on
// one is valid on the other.
func TestReplicasShareTheSessionKey(t *testing.T) {
	db := emptyMySQL(t, "rbkey")
	if err := run(context.Background(), []string{"migrate"}, func(k string) string { return map[string]string{"ROOMBRIDGE_DB": db}[k] }, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	a := start(t, map[string]string{"ROOMBRIDGE_DB": db})
	b := start(t, map[string]string{"ROOMBRIDGE_DB": db})
	c := jarClient(t)
	_, page := hop(t, c, "GET", a.url+"/login", nil)
	m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("login page has no CSRF token")
	}
	resp, _ := hop(t, c, "POST", a.url+"/login", url.Values{"user": {"zhaoliu"}, "_csrf": {m[1]}})
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "rb_session" {
			session = ck
		}
	}
	if session == nil {
		t.Fatalf("POST /login = %d without a session cookie", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", b.url+"/bookings", nil)
	req.AddCookie(session)
	other, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(other.Body)
	other.Body.Close()
	if other.StatusCode != http.StatusOK || !strings.Contains(string(body), "<strong>赵六</strong>") {
		t.Errorf("GET /bookings on the second replica with the first's session = %d, want 200 as 赵六", other.StatusCode)
	}
}

func TestNotifyConfiguration(t *testing.T) {
	tests := []struct {
		name    string
		getenv  func(string) string
		wantErr string // the variable named, "" for none
		notify  bool
	}{
		{"production default: off", production("ROOMBRIDGE_AUTH", "header"), "", false},
		{"production on without an AgentId", production("ROOMBRIDGE_AUTH", "header", "ROOMBRIDGE_NOTIFY", "1"), "ROOMBRIDGE_DINGTALK_AGENT_ID", false},
		{"production on", production("ROOMBRIDGE_AUTH", "header", "ROOMBRIDGE_NOTIFY", "1", "ROOMBRIDGE_DINGTALK_AGENT_ID", "123"), "", true},
		{"bad AgentId", production("ROOMBRIDGE_AUTH", "header", "ROOMBRIDGE_DINGTALK_AGENT_ID", "x"), "ROOMBRIDGE_DINGTALK_AGENT_ID", false},
		{"bad switch", production("ROOMBRIDGE_AUTH", "header", "ROOMBRIDGE_NOTIFY", "maybe"), "ROOMBRIDGE_NOTIFY", false},
		{"demo default: on", func(string) string { return "" }, "", true},
		{"demo off", func(k string) string { return map[string]string{"ROOMBRIDGE_NOTIFY": "0"}[k] }, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if cfg, ok := loadConfigCase(t, tt.getenv, tt.wantErr); ok && cfg.Notify != tt.notify {
				t.Errorf("loadConfig().Notify = %v, want %v", cfg.Notify, tt.notify)
			}
		})
	}
}

// loadConfigCase loads the configuration getenv gives. With wantErr it checks that the
// error names that setting; otherwise it checks there is none. ok says whether the
// configuration loaded and is worth checking further.
func loadConfigCase(t *testing.T, getenv func(string) string, wantErr string) (cfg config, ok bool) {
	t.Helper()
	cfg, _, err := loadConfig(nil, getenv, time.Now())
	switch {
	case wantErr != "":
		if err == nil || !strings.HasPrefix(err.Error(), wantErr+":") {
			t.Errorf("loadConfig() = %v, want an error naming %s", err, wantErr)
		}
		return cfg, false
	case err != nil:
		t.Errorf("loadConfig() = %v, want nil", err)
		return cfg, false
	}
	return cfg, true
}
