package dingtalk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/models"
)

func TestUnionIDByAuthCode(t *testing.T) {
	e := newEnv(t, testRooms(1))
	ctx := context.Background()
	code, err := e.fake.AuthCode("u-bob", false)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.client.UnionIDByAuthCode(ctx, code); got != "union-bob" || err != nil {
		t.Fatalf("UnionIDByAuthCode(fresh code) = %q, %v; want union-bob", got, err)
	}
	if got, err := e.client.UnionIDByAuthCode(ctx, code); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("UnionIDByAuthCode(used code) = %q, %v; want ErrInvalid", got, err)
	}
	stale, _ := e.fake.AuthCode("u-bob", false)
	e.advance(dingtalkfake.AuthCodeTTL)
	if got, err := e.client.UnionIDByAuthCode(ctx, stale); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("UnionIDByAuthCode(expired code) = %q, %v; want ErrInvalid", got, err)
	}
	inApp, _ := e.fake.AuthCode("u-bob", true)
	if got, err := e.client.UnionIDByAuthCode(ctx, inApp); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("UnionIDByAuthCode(in-app code) = %q, %v; want ErrInvalid", got, err)
	}
	if got, err := e.client.UnionIDByAuthCode(ctx, ""); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("UnionIDByAuthCode(\"\") = %q, %v; want ErrInvalid", got, err)
	}
}

func TestUserIDByInAppCode(t *testing.T) {
	e := newEnv(t, testRooms(1))
	ctx := context.Background()
	code, _ := e.fake.AuthCode("u-alice", true)
	if got, err := e.client.UserIDByInAppCode(ctx, code); got != "u-alice" || err != nil {
		t.Fatalf("UserIDByInAppCode(fresh code) = %q, %v; want u-alice", got, err)
	}
	if got, err := e.client.UserIDByInAppCode(ctx, code); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("UserIDByInAppCode(used code) = %q, %v; want ErrInvalid", got, err)
	}
	browser, _ := e.fake.AuthCode("u-alice", false)
	if got, err := e.client.UserIDByInAppCode(ctx, browser); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("UserIDByInAppCode(browser code) = %q, %v; want ErrInvalid", got, err)
	}
	stale, _ := e.fake.AuthCode("u-alice", true)
	e.advance(dingtalkfake.AuthCodeTTL)
	if got, err := e.client.UserIDByInAppCode(ctx, stale); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("UserIDByInAppCode(expired code) = %q, %v; want ErrInvalid", got, err)
	}
}

// TestFakeLoginWire drives the fake's sign-in endpoints as a browser and a server would:
// the authorize page redirects back with a code and the state, the personal token opens
// contact/users/me but not the app's endpoints.
func TestFakeLoginWire(t *testing.T) {
	fake := dingtalkfake.New("app-key", "app-secret", nil, testUsers())
	srv := httptest.NewServer(fake)
	defer srv.Close()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"redirect_uri": {"http://app.example/auth/dingtalk/callback"}, "response_type": {"code"}, "client_id": {"app-key"},
		"scope": {"openid"}, "state": {"s-123"}, "prompt": {"consent"}}
	resp, err := http.Get(srv.URL + "/oauth2/auth?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /oauth2/auth = %d, want 200", resp.StatusCode)
	}
	bad := url.Values{}
	for k, v := range q {
		bad[k] = v
	}
	bad.Set("client_id", "someone-else")
	if resp, _ := http.Get(srv.URL + "/oauth2/auth?" + bad.Encode()); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /oauth2/auth with an unknown client_id = %d, want 400", resp.StatusCode)
	}
	form := url.Values{}
	for k, v := range q {
		form[k] = v
	}
	form.Set("userId", "u-alice")
	resp, err = noFollow.PostForm(srv.URL+"/oauth2/auth", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc == nil || loc.Host != "app.example" || loc.Query().Get("state") != "s-123" || loc.Query().Get("authCode") == "" {
		t.Fatalf("POST /oauth2/auth = %d to %q, want 302 back to the app with authCode and state s-123", resp.StatusCode, resp.Header.Get("Location"))
	}
	body, _ := json.Marshal(map[string]string{"clientId": "app-key", "clientSecret": "app-secret", "code": loc.Query().Get("authCode"), "grantType": "authorization_code"})
	resp, err = http.Post(srv.URL+"/v1.0/oauth2/userAccessToken", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"accessToken"`
		CorpID      string `json:"corpId"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || tok.AccessToken == "" || tok.CorpID != dingtalkfake.CorpID {
		t.Fatalf("userAccessToken = %d %+v, want a token", resp.StatusCode, tok)
	}
	get := func(path string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("x-acs-dingtalk-access-token", tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	me := get("/v1.0/contact/users/me")
	var who struct {
		UnionID string `json:"unionId"`
	}
	json.NewDecoder(me.Body).Decode(&who)
	me.Body.Close()
	if me.StatusCode != http.StatusOK || who.UnionID != "union-alice" {
		t.Errorf("contact/users/me = %d %+v, want union-alice", me.StatusCode, who)
	}
	events := get("/v1.0/calendar/users/union-alice/calendars/primary/events")
	raw, _ := io.ReadAll(events.Body)
	events.Body.Close()
	if events.StatusCode == http.StatusOK || !strings.Contains(string(raw), "InvalidAuthentication") {
		t.Errorf("ListEvents with a personal token = %d %s, want InvalidAuthentication", events.StatusCode, raw)
	}
}
