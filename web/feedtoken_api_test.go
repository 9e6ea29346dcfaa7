package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// wantURLs lists every feed of token under base over the demo catalog.
func wantURLs(base, token string) feedURLs {
	b := base + "/ical/" + token
	u := feedURLs{All: b + "/all.ics", Me: b + "/me.ics", Rooms: map[string]string{}, Offices: map[string]string{}}
	for _, o := range []string{"bj-shoukai", "bj-lixingxing", "shanghai", "shenzhen"} {
		u.Offices[o] = b + "/offices/" + o + ".ics"
	}
	for _, r := range []string{"duowei", "sk-tianyuan", "sk-xiaoyao", "lxx-changcheng", "lxx-gugong", "sh-waitan", "sh-lujiazui", "sz-shenzhenwan", "sz-lianhuashan"} {
		u.Rooms[r] = b + "/rooms/" + r + ".ics"
	}
	return u
}

// feedPath is the path of an absolute feed URL.
func feedPath(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatalf("parse %s: %v", u, err)
	}
	return p.Path
}

func TestFeedTokenAPI(t *testing.T) {
	var f *feeds
	e := newEnv(t, withFeeds(&f), withBaseURL("https://rooms.example.com/"))

	w := e.api(http.MethodPost, "/api/v1/feed-tokens", "zhangsan", `{"label":"Outlook"}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("POST /api/v1/feed-tokens = %d %s, want 201", w.Code, w.Body)
	}
	created := decode[newFeedTokenJSON](t, w)
	if len(created.Token) != 32 || created.ID == "" || created.Label != "Outlook" {
		t.Fatalf("POST /api/v1/feed-tokens = %+v, want an id, the 32-character token and the label", created)
	}
	if diff := cmp.Diff(wantURLs("https://rooms.example.com", created.Token), created.URLs); diff != "" {
		t.Errorf("POST /api/v1/feed-tokens urls mismatch (-want +got):\n%s", diff)
	}
	for _, u := range []string{created.URLs.All, created.URLs.Me, created.URLs.Rooms["duowei"], created.URLs.Offices["shanghai"]} {
		if w := e.serve(httptest.NewRequest(http.MethodGet, feedPath(t, u), nil)); w.Code != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", u, w.Code)
		}
	}

	w = e.api(http.MethodPost, "/api/v1/feed-tokens", "zhangsan", "", "Content-Type", "application/json")
	plain := decode[newFeedTokenJSON](t, w)
	if w.Code != http.StatusCreated || plain.Label != "" || plain.Token == created.Token {
		t.Errorf("POST /api/v1/feed-tokens with no body = %d %+v, want 201 with a second, unlabelled token", w.Code, plain)
	}

	t.Run("list", func(t *testing.T) {
		w := e.api(http.MethodGet, "/api/v1/feed-tokens", "zhangsan", "")
		used := "2023-04-10T10:00:00+08:00"
		want := []feedTokenJSON{
			{ID: created.ID, Label: "Outlook", CreatedAt: "2023-04-10T10:00:00+08:00", LastUsedAt: &used},
			{ID: plain.ID, Label: "", CreatedAt: "2023-04-10T10:00:00+08:00"},
		}
		if diff := cmp.Diff(want, decode[[]feedTokenJSON](t, w)); w.Code != http.StatusOK || diff != "" {
			t.Errorf("GET /api/v1/feed-tokens = %d, mismatch (-want +got):\n%s", w.Code, diff)
		}
		if strings.Contains(w.Body.String(), created.Token) || strings.Contains(w.Body.String(), "hash") {
			t.Errorf("GET /api/v1/feed-tokens shows a token or its hash: %s", w.Body)
		}
		if got := decode[[]feedTokenJSON](t, e.api(http.MethodGet, "/api/v1/feed-tokens", "lisi", "")); len(got) != 0 {
			t.Errorf("GET /api/v1/feed-tokens as lisi = %+v, want none", got)
		}
	})

	t.Run("someone else's token", func(t *testing.T) {
		tests := []struct{ method, path, body string }{
			{http.MethodPost, "/api/v1/feed-tokens/" + created.ID + "/rotate", "{}"},
			{http.MethodDelete, "/api/v1/feed-tokens/" + created.ID, ""},
			{http.MethodDelete, "/api/v1/feed-tokens/nosuchid", ""},
		}
		for _, tt := range tests {
			w := e.api(tt.method, tt.path, "lisi", tt.body)
			if got := decode[apiError](t, w); w.Code != http.StatusNotFound || got.Error.Code != "feed_token_not_found" {
				t.Errorf("%s %s as lisi = %d %+v, want 404 feed_token_not_found", tt.method, tt.path, w.Code, got)
			}
		}
	})

	var rotated newFeedTokenJSON
	t.Run("rotate", func(t *testing.T) {
		w := e.api(http.MethodPost, "/api/v1/feed-tokens/"+created.ID+"/rotate", "zhangsan", "", "Content-Type", "application/json")
		rotated = decode[newFeedTokenJSON](t, w)
		if w.Code != http.StatusCreated || rotated.ID == created.ID || rotated.Token == created.Token || rotated.Label != "Outlook" {
			t.Fatalf("POST rotate = %d %+v, want 201, a new id and token, the label kept", w.Code, rotated)
		}
		if diff := cmp.Diff(wantURLs("https://rooms.example.com", rotated.Token), rotated.URLs); diff != "" {
			t.Errorf("POST rotate urls mismatch (-want +got):\n%s", diff)
		}
		if w := e.serve(httptest.NewRequest(http.MethodGet, feedPath(t, created.URLs.All), nil)); w.Code != http.StatusNotFound {
			t.Errorf("old feed after rotation = %d, want 404", w.Code)
		}
		if w := e.serve(httptest.NewRequest(http.MethodGet, feedPath(t, rotated.URLs.All), nil)); w.Code != http.StatusOK {
			t.Errorf("new feed after rotation = %d, want 200", w.Code)
		}
	})

	t.Run("delete", func(t *testing.T) {
		w := e.api(http.MethodDelete, "/api/v1/feed-tokens/"+rotated.ID, "zhangsan", "")
		if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
			t.Fatalf("DELETE /api/v1/feed-tokens/%s = %d %q, want 204", rotated.ID, w.Code, w.Body)
		}
		if got := decode[[]feedTokenJSON](t, e.api(http.MethodGet, "/api/v1/feed-tokens", "zhangsan", "")); len(got) != 1 || got[0].ID != plain.ID {
			t.Errorf("GET /api/v1/feed-tokens after delete = %+v, want only %s", got, plain.ID)
		}
		if w := e.api(http.MethodDelete, "/api/v1/feed-tokens/"+rotated.ID, "zhangsan", ""); w.Code != http.StatusNotFound {
			t.Errorf("DELETE again = %d, want 404", w.Code)
		}
		if w := e.serve(httptest.NewRequest(http.MethodGet, feedPath(t, rotated.URLs.Me), nil)); w.Code != http.StatusNotFound {
			t.Errorf("feed after delete = %d, want 404", w.Code)
		}
	})

	t.Run("refused", func(t *testing.T) {
		tests := []struct {
			name, method, path, user, body string
			header                         []string
			status                         int
			code                           string
		}{
			{"anonymous list", http.MethodGet, "/api/v1/feed-tokens", "", "", nil, 401, "unauthorized"},
			{"anonymous create", http.MethodPost, "/api/v1/feed-tokens", "", "{}", nil, 401, "unauthorized"},
			{"anonymous delete", http.MethodDelete, "/api/v1/feed-tokens/" + plain.ID, "", "", nil, 401, "unauthorized"},
			{"not JSON", http.MethodPost, "/api/v1/feed-tokens", "zhangsan", "", nil, 403, "csrf"},
			{"malformed JSON", http.MethodPost, "/api/v1/feed-tokens", "zhangsan", `{"label":`, nil, 400, "bad_request"},
			{"unknown field", http.MethodPost, "/api/v1/feed-tokens", "zhangsan", `{"name":"x"}`, nil, 400, "bad_request"},
			{"label too long", http.MethodPost, "/api/v1/feed-tokens", "zhangsan", `{"label":"` + strings.Repeat("x", 101) + `"}`, nil, 422, "label_too_long"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w := e.api(tt.method, tt.path, tt.user, tt.body, tt.header...)
				if got := decode[apiError](t, w); w.Code != tt.status || got.Error.Code != tt.code {
					t.Errorf("%s %s = %d %+v, want %d %s", tt.method, tt.path, w.Code, got, tt.status, tt.code)
				}
			})
		}
	})
}

func TestFeedURLsWithoutBaseURL(t *testing.T) {
	var f *feeds
	e := newEnv(t, withFeeds(&f), withBaseURL(""))
	w := e.api(http.MethodPost, "/api/v1/feed-tokens", "zhangsan", "{}")
	got := decode[newFeedTokenJSON](t, w)
	if diff := cmp.Diff(wantURLs("http://example.com", got.Token), got.URLs); w.Code != http.StatusCreated || diff != "" {
		t.Errorf("POST /api/v1/feed-tokens without a BaseURL = %d, urls mismatch (-want +got):\n%s", w.Code, diff)
	}
}

func TestWebcalAndGoogleURL(t *testing.T) {
	tests := []struct{ in, webcal, google string }{
		{"https://rooms.example.com/ical/t/all.ics", "webcal://rooms.example.com/ical/t/all.ics", "https://calendar.google.com/calendar/render?cid=https%3A%2F%2Frooms.example.com%2Fical%2Ft%2Fall.ics"},
		{"http://localhost:8080/ical/t/me.ics", "webcal://localhost:8080/ical/t/me.ics", "https://calendar.google.com/calendar/render?cid=http%3A%2F%2Flocalhost%3A8080%2Fical%2Ft%2Fme.ics"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := webcalURL(tt.in); got != tt.webcal {
				t.Errorf("webcalURL(%s) = %s, want %s", tt.in, got, tt.webcal)
			}
			if got := googleURL(tt.in); got != tt.google {
				t.Errorf("googleURL(%s) = %s, want %s", tt.in, got, tt.google)
			}
		})
	}
}
