package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var feedToken = regexp.MustCompile(`/ical/([a-z2-7]{32})/all\.ics`)

// tokenIn returns the feed token a page shows, or "".
func tokenIn(body string) string {
	m := feedToken.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// withBaseURL sets the public URL feed links start with.
func withBaseURL(u string) func(*Config) {
	return func(c *Config) { c.BaseURL = u }
}

func TestSubscribePage(t *testing.T) {
	var f *feeds
	e := newEnv(t, withFeeds(&f), withBaseURL("https://rooms.example.com"))
	b := e.browser().login("zhangsan")

	w := b.get("/subscribe")
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, "还没有订阅链接") || !strings.Contains(body, `<a href="/subscribe">日历订阅</a>`) {
		t.Fatalf("GET /subscribe = %d, want the empty list and the nav link:\n%s", w.Code, body)
	}

	w = b.post("/subscribe", url.Values{"label": {"手机"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/subscribe#new-links" {
		t.Fatalf("POST /subscribe = %d to %q, want 303 to /subscribe#new-links", w.Code, w.Header().Get("Location"))
	}
	w = b.get("/subscribe")
	body = w.Body.String()
	token := tokenIn(body)
	if w.Code != http.StatusOK || token == "" {
		t.Fatalf("GET /subscribe after creating = %d, want 200 and the new links:\n%s", w.Code, body)
	}
	// Reloading shows no links again and makes no second token.
	if again := b.get("/subscribe").Body.String(); tokenIn(again) != "" {
		t.Errorf("reloading /subscribe shows the links again")
	}
	if ts, _ := f.Tokens(context.Background(), "zhangsan"); len(ts) != 1 {
		t.Errorf("tokens after create and two loads = %d, want 1", len(ts))
	}
	t.Run("links shown once", func(t *testing.T) {
		base := "https://rooms.example.com/ical/" + token
		for _, feed := range []string{"/all.ics", "/me.ics", "/offices/bj-shoukai.ics", "/rooms/duowei.ics", "/rooms/sz-shenzhenwan.ics"} {
			https := base + feed
			for _, want := range []string{
				`href="webcal://rooms.example.com/ical/` + token + feed + `"`,
				`value="` + https + `"`,
				`data-copy="` + https + `"`,
				`href="https://calendar.google.com/calendar/render?cid=` + url.QueryEscape(https) + `"`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("POST /subscribe page lacks %s", want)
				}
			}
		}
		for _, want := range []string{
			"只显示这一次", "全部会议室", "我的预订", `<details class="office-feeds"><summary><h3><span class="office-name">北京首开</span> <span class="count">4</span></h3></summary>`, "北京首开 · 全部会议室", "多维缩放会议室 · 1F",
			"Google 日历：由 Google 的服务器每隔几小时到一天拉取一次", "大约每 3 小时", "从每 5 分钟到每周一次", "默认每 30 分钟",
			`<script src="/static/subscribe.js?v=test" defer></script>`, `<span class="title">手机</span>`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("POST /subscribe page lacks %q", want)
			}
		}
		if got := strings.Count(body, token); got < 4*15 {
			t.Errorf("POST /subscribe page shows the token %d times, want 4 forms of 15 feeds", got)
		}
	})

	rows, _ := f.Tokens(context.Background(), "zhangsan")
	if len(rows) != 1 {
		t.Fatalf("tokens after create = %d, want 1", len(rows))
	}
	id := rows[0].ID
	t.Run("reload no longer shows the token", func(t *testing.T) {
		body := b.get("/subscribe").Body.String()
		if strings.Contains(body, token) || strings.Contains(body, "只显示这一次") {
			t.Errorf("GET /subscribe after create still shows the token")
		}
		for _, want := range []string{`<span class="title">手机</span>`, "创建于 2023-04-10 10:00", "尚未被日历使用", `action="/subscribe/` + id + `/rotate"`, `action="/subscribe/` + id + `/revoke"`, "确定撤销吗"} {
			if !strings.Contains(body, want) {
				t.Errorf("GET /subscribe lacks %q", want)
			}
		}
		if w := get(e, http.MethodGet, "/ical/"+token+"/all.ics"); w.Code != http.StatusOK {
			t.Fatalf("GET the new feed = %d, want 200", w.Code)
		}
		if body := b.get("/subscribe").Body.String(); !strings.Contains(body, "最近使用 2023-04-10 10:00") {
			t.Errorf("GET /subscribe after the feed was read does not show its last use")
		}
	})

	t.Run("CSRF required", func(t *testing.T) {
		for _, path := range []string{"/subscribe", "/subscribe/" + id + "/rotate", "/subscribe/" + id + "/revoke"} {
			w := b.post(path, url.Values{csrfField: {""}, "label": {"forged"}})
			if w.Code != http.StatusForbidden {
				t.Errorf("POST %s without the CSRF token = %d, want 403", path, w.Code)
			}
		}
		if rows, _ := f.Tokens(context.Background(), "zhangsan"); len(rows) != 1 || rows[0].ID != id {
			t.Errorf("tokens after forged posts = %+v, want the one token unchanged", rows)
		}
	})

	t.Run("someone else's token", func(t *testing.T) {
		lisi := e.browser().login("lisi")
		lisi.get("/subscribe")
		for _, action := range []string{"rotate", "revoke"} {
			if w := lisi.post("/subscribe/"+id+"/"+action, url.Values{}); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "找不到这个订阅链接") {
				t.Errorf("POST /subscribe/%s/%s as lisi = %d, want 404", id, action, w.Code)
			}
		}
		if w := get(e, http.MethodGet, "/ical/"+token+"/all.ics"); w.Code != http.StatusOK {
			t.Errorf("zhangsan's feed after lisi's attempts = %d, want 200", w.Code)
		}
	})

	var rotated string
	t.Run("rotate gives a new token", func(t *testing.T) {
		if w := b.post("/subscribe/"+id+"/rotate", url.Values{}); w.Code != http.StatusSeeOther {
			t.Fatalf("POST /subscribe/%s/rotate = %d, want 303", id, w.Code)
		}
		w := b.get("/subscribe")
		body := w.Body.String()
		rotated = tokenIn(body)
		if w.Code != http.StatusOK || rotated == "" || rotated == token || !strings.Contains(body, "已更换") {
			t.Fatalf("POST /subscribe/%s/rotate = %d, token %q; want 200, a new token, the replaced note", id, w.Code, rotated)
		}
		if w := get(e, http.MethodGet, "/ical/"+token+"/all.ics"); w.Code != http.StatusNotFound {
			t.Errorf("old feed after rotation = %d, want 404", w.Code)
		}
		if w := get(e, http.MethodGet, "/ical/"+rotated+"/all.ics"); w.Code != http.StatusOK {
			t.Errorf("new feed after rotation = %d, want 200", w.Code)
		}
		if body := b.get("/subscribe").Body.String(); !strings.Contains(body, `<span class="title">手机</span>`) || strings.Contains(body, id) {
			t.Errorf("GET /subscribe after rotation: want the label kept under a new id")
		}
	})

	t.Run("revoke removes it", func(t *testing.T) {
		rows, _ := f.Tokens(context.Background(), "zhangsan")
		if len(rows) != 1 {
			t.Fatalf("tokens before revoke = %d, want 1", len(rows))
		}
		w := b.post("/subscribe/"+rows[0].ID+"/revoke", url.Values{})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/subscribe?done=revoked" {
			t.Fatalf("POST revoke = %d to %q, want 303 to /subscribe?done=revoked", w.Code, w.Header().Get("Location"))
		}
		body := b.get("/subscribe?done=revoked").Body.String()
		if !strings.Contains(body, "订阅链接已撤销") || !strings.Contains(body, "还没有订阅链接") || strings.Contains(body, rows[0].ID) {
			t.Errorf("GET /subscribe after revoke still lists the token or lacks the notice")
		}
		if w := get(e, http.MethodGet, "/ical/"+rotated+"/all.ics"); w.Code != http.StatusNotFound {
			t.Errorf("feed after revoke = %d, want 404", w.Code)
		}
	})

	t.Run("label too long", func(t *testing.T) {
		long := strings.Repeat("长", 101)
		w := b.post("/subscribe", url.Values{"label": {long}})
		body := w.Body.String()
		if w.Code != http.StatusUnprocessableEntity || !strings.Contains(body, `<small class="field-error" id="label-error">名称不能超过 100 个字。</small>`) || !strings.Contains(body, `value="`+long+`"`) {
			t.Errorf("POST /subscribe with a 101-rune label = %d, want 422 with the message at the field and the label kept", w.Code)
		}
		if tokenIn(body) != "" {
			t.Errorf("POST /subscribe with a bad label shows links")
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		if w := e.browser().get("/subscribe"); w.Code != http.StatusSeeOther {
			t.Errorf("GET /subscribe anonymously = %d, want 303 to the login", w.Code)
		}
	})
}

func TestSubscribePageEnglishAndHTTP(t *testing.T) {
	var f *feeds
	e := newEnv(t, withFeeds(&f)) // BaseURL http://localhost:8080
	b := e.browser().login("zhangsan")
	b.get("/lang?to=en&next=/")
	b.post("/subscribe", url.Values{})
	body := b.get("/subscribe").Body.String()
	token := tokenIn(body)
	if token == "" {
		t.Fatalf("POST /subscribe (en) shows no links:\n%s", body)
	}
	for _, want := range []string{
		`<html lang="en">`, "Calendar feeds", "These links are shown only this once", "All rooms in Shenzhen", "<span class=\"office-name\">Shenzhen</span>", "Lianhuashan Room · 20F", "Add to Google Calendar",
		"Subscribe (Apple / Outlook)", "(no label)", "every few hours to once a day", "about every 3 hours", "from every 5 minutes to weekly", "every 30 minutes by default",
		`href="webcal://localhost:8080/ical/` + token + `/all.ics"`, `value="http://localhost:8080/ical/` + token + `/me.ics"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("POST /subscribe (en) lacks %q", want)
		}
	}
	if strings.Contains(body, "只显示这一次") {
		t.Errorf("POST /subscribe (en) shows Chinese text")
	}
}
