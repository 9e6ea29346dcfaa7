package web

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"

	"roombridge/models"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// form is a filled-in booking form for 2023-04-17 (a DingTalk day) in duowei.
func form(changes ...string) url.Values {
	v := url.Values{
		"office": {"bj-shoukai"}, "room_id": {"duowei"}, "date": {"2023-04-17"}, "start": {"09:00"}, "end": {"10:00"},
		"title": {"季度复盘"}, "attendees": {"lisi", "wangwu"}, "description": {"带电脑"}, "idempotency_key": {"form-key-1"},
	}
	for i := 0; i+1 < len(changes); i += 2 {
		v.Set(changes[i], changes[i+1])
	}
	return v
}

func TestBookingFormPage(t *testing.T) {
	e := newEnv(t)
	e.book("duowei", "lisi", at(17, 14, 0), at(17, 15, 0), models.BackendDingTalk, models.OriginNative, "面试")
	b := e.browser().login("zhangsan")
	w := b.get("/?room=duowei&date=2023-04-17&start=09:00&end=10:00")
	if w.Code != http.StatusOK {
		t.Fatalf("GET / = %d, want 200", w.Code)
	}
	body := w.Body.String()
	for _, want := range []string{
		`<html lang="zh-CN">`,
		`<meta name="viewport"`,
		`演示模式`,                // demo banner
		`<strong>张三</strong>`, // who is signed in
		`<optgroup label="北京首开" data-office="bj-shoukai">`, // rooms without JS
		`<option value="duowei" selected>多维缩放会议室 · 1F · 30 人</option>`,
		`name="idempotency_key" value="`,
		`将提交到：</span><strong class="sys dingtalk">钉钉</strong> — 会议开始于 2023-04-17 00:00 或之后`,
		`<span class="bar dingtalk native" style="left:46.67%;width:6.67%" title="14:00–15:00 钉钉 · 直接在原系统预订"></span>`, // lisi's, title hidden
		`14:00–15:00 钉钉 · 直接在原系统预订</li>`,
		`class="bar mine"`,
		`<script src="/static/form.js?v=test" defer></script>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET / lacks %q", want)
		}
	}
	if strings.Contains(body, "面试") {
		t.Errorf("GET / shows the title of lisi's meeting to zhangsan")
	}
	if strings.Contains(body, `value="zhangsan"`) {
		t.Errorf("GET / offers the organizer as an attendee")
	}
}

func TestBookingFormSubmit(t *testing.T) {
	e := newEnv(t)
	e.book("duowei", "lisi", at(14, 9, 0), at(14, 10, 0), models.BackendOA, models.OriginNative, "OA 里的会")
	b := e.browser().login("zhangsan")
	b.get("/")

	t.Run("re-rendered with the input and the message at the field", func(t *testing.T) {
		tests := []struct {
			name   string
			form   url.Values
			status int
			field  string
			msg    string
		}{
			{"empty title", form("title", ""), 422, "title", "请填写会议主题。"},
			{"end before start", form("end", "08:00"), 422, "end", "结束时间必须晚于开始时间。"},
			{"no date", form("date", ""), 422, "date", "请选择日期。"},
			{"bad time", form("start", "9点"), 422, "start", "时间格式应为 09:30。"},
			{"unknown room", form("room_id", "nope"), 404, "room_id", "没有这个会议室。"},
			{"taken in the OA", form("date", "2023-04-14", "start", "09:30", "end", "10:30"), 409, "taken", "已被OA（致远）中的预订占用"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w := b.post("/bookings", tt.form)
				body := w.Body.String()
				if w.Code != tt.status {
					t.Fatalf("POST /bookings (%s) = %d, want %d", tt.name, w.Code, tt.status)
				}
				errorAt := regexp.MustCompile(`<small class="field-error" id="` + tt.field + `-error">([^<]*)</small>`)
				if tt.field == "taken" { // under the times, with suggestions, not squeezed under one field
					errorAt = regexp.MustCompile(`<p class="taken">([^<]*)</p>`)
				}
				if m := errorAt.FindStringSubmatch(body); m == nil || !strings.Contains(m[1], tt.msg) {
					t.Errorf("POST /bookings (%s): message at %s = %v, want %q", tt.name, tt.field, m, tt.msg)
				}
				for _, typed := range []string{`value="` + tt.form.Get("title") + `"`, `>带电脑</textarea>`, `value="lisi" checked`, `value="form-key-1"`} {
					if !strings.Contains(body, typed) {
						t.Errorf("POST /bookings (%s) re-rendered without the typed %s", tt.name, typed)
					}
				}
			})
		}
		if n := e.count(); n != 1 {
			t.Errorf("reservations after refused forms = %d, want 1", n)
		}
	})

	t.Run("booked, then the outcome page", func(t *testing.T) {
		w := b.post("/bookings", form())
		loc := w.Header().Get("Location")
		if w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/bookings/") {
			t.Fatalf("POST /bookings = %d to %q, want 303 to /bookings/{id}", w.Code, loc)
		}
		again := b.post("/bookings", form())
		if got := again.Header().Get("Location"); got != loc {
			t.Errorf("POST /bookings twice with one idempotency key went to %q then %q, want the same booking", loc, got)
		}
		w = b.get(loc)
		body := w.Body.String()
		for _, want := range []string{"正在提交到钉钉", `data-poll="/api/v1/` + loc[1:] + `"`, `<noscript><meta http-equiv="refresh" content="5"></noscript>`, "季度复盘", "李四、王五"} {
			if !strings.Contains(body, want) {
				t.Errorf("GET %s lacks %q", loc, want)
			}
		}
		id := strings.TrimPrefix(loc, "/bookings/")
		confirm(t, e, id, "dt-evt-42")
		body = b.get(loc).Body.String()
		if !strings.Contains(body, "预订成功") {
			t.Errorf("GET %s after confirmation lacks 预订成功", loc)
		}
		// Backend ids are for admins.
		if strings.Contains(body, "dt-evt-42") {
			t.Errorf("GET %s shows the DingTalk id to staff", loc)
		}
		if admin := e.browser().login("admin").get(loc).Body.String(); !strings.Contains(admin, "钉钉中的编号：dt-evt-42") {
			t.Errorf("GET %s as admin lacks the DingTalk id", loc)
		}
		if strings.Contains(body, "data-poll") || strings.Contains(body, "refresh") {
			t.Errorf("GET %s after confirmation still polls", loc)
		}
	})
}

func TestOutcomeWaitsForFastBackend(t *testing.T) {
	var e *env
	var bk *booker
	e = newEnv(t, func(c *Config) {
		bk = c.Booker.(*booker)
		bk.onWait = func(id string) { confirm(t, e, id, "-2295828016161864200") }
	})
	b := e.browser().login("zhangsan")
	b.get("/")
	loc := b.post("/bookings", form("date", "2023-04-14")).Header().Get("Location")
	body := b.get(loc).Body.String()
	if bk.waited != 1 || !strings.Contains(body, "预订成功") || strings.Contains(body, "-2295828016161864200") || strings.Contains(body, "data-poll") {
		t.Errorf("GET %s with a fast backend: Wait called %d times; want 1 and the confirmed page (without the OA id, which is for admins), not the pending one", loc, bk.waited)
	}
	b.get(loc)
	if bk.waited != 1 {
		t.Errorf("GET %s of a confirmed booking called Wait again (%d calls), want no wait", loc, bk.waited)
	}
}

// confirm marks a reservation confirmed by its backend, as the dispatcher would.
func confirm(t *testing.T, e *env, id, remote string) {
	t.Helper()
	_, err := e.store.Update(context.Background(), id, models.Change{Apply: func(r *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
		r.Status, r.RemoteID = models.StatusConfirmed, &remote
		return nil, nil, nil
	}})
	if err != nil {
		t.Fatalf("confirm %s: %v", id, err)
	}
}

func TestFormCSRF(t *testing.T) {
	e := newEnv(t)
	b := e.browser().login("zhangsan")
	b.get("/")
	tests := []struct {
		name   string
		token  string
		header []string
	}{
		{"no token", "", nil},
		{"wrong token", "Zm9yZ2VkLXRva2VuLWZvcmdlZC10b2tlbi1mb3JnZWQtdG8", nil},
		{"cross-site with the token", "", []string{"Sec-Fetch-Site", "cross-site"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := form()
			f.Set(csrfField, tt.token)
			if tt.header != nil {
				f.Set(csrfField, b.csrf())
				b.header.Set(tt.header[0], tt.header[1])
				defer b.header.Del(tt.header[0])
			}
			w := b.post("/bookings", f)
			if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "页面已过期") {
				t.Errorf("POST /bookings (%s) = %d, want 403 with a page saying it expired", tt.name, w.Code)
			}
		})
	}
	if n := e.count(); n != 0 {
		t.Errorf("reservations after forged posts = %d, want 0", n)
	}
	t.Run("same-origin browser without the token", func(t *testing.T) {
		b.header.Set("Sec-Fetch-Site", "same-origin")
		defer b.header.Del("Sec-Fetch-Site")
		f := form()
		f.Set(csrfField, "")
		if w := b.post("/bookings", f); w.Code != http.StatusSeeOther {
			t.Errorf("POST /bookings with Sec-Fetch-Site: same-origin = %d, want 303", w.Code)
		}
	})
	t.Run("token in the page is the session's", func(t *testing.T) {
		if got := formToken(t, b.get("/").Body.String()); got != b.csrf() {
			t.Errorf("form token = %q, want the session's %q", got, b.csrf())
		}
	})
	t.Run("token of another session refused", func(t *testing.T) {
		other := e.browser().login("zhangsan")
		f := form()
		f.Set(csrfField, other.csrf())
		if w := b.post("/bookings", f); w.Code != http.StatusForbidden {
			t.Errorf("POST /bookings with another session's token = %d, want 403", w.Code)
		}
		anon := e.browser()
		anon.get("/login")
		f.Set(csrfField, anon.cookies[csrfCookie])
		b.cookies[csrfCookie] = anon.cookies[csrfCookie] // a planted double-submit pair
		if w := b.post("/bookings", f); w.Code != http.StatusForbidden {
			t.Errorf("POST /bookings with a planted cookie token = %d, want 403", w.Code)
		}
	})
	t.Run("a new sign-in changes the token", func(t *testing.T) {
		before := b.csrf()
		b.login("zhangsan")
		if b.csrf() == before {
			t.Errorf("CSRF token after signing in again = the old one, want a new one")
		}
	})
}

func TestLanguage(t *testing.T) {
	e := newEnv(t)
	b := e.browser().login("zhangsan")
	if body := b.get("/").Body.String(); !strings.Contains(body, "提交预订") || !strings.Contains(body, `href="/lang?next=%2F&amp;to=en"`) {
		t.Fatalf("GET / before switching is not Chinese with a link to English")
	}
	w := b.get("/lang?to=en&next=%2Fbookings")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/bookings" || b.cookies[langCookie] != "en" {
		t.Fatalf("GET /lang?to=en = %d to %q (cookie %q), want 303 to /bookings with lang=en", w.Code, w.Header().Get("Location"), b.cookies[langCookie])
	}
	body := b.get("/").Body.String()
	for _, want := range []string{`<html lang="en">`, "Book a room", "Demo mode", "Signed in as", ">中文</a>"} {
		if !strings.Contains(body, want) {
			t.Errorf("GET / in English lacks %q", want)
		}
	}
	if strings.Contains(body, "提交预订") {
		t.Errorf("GET / in English still says 提交预订")
	}
	w = b.post("/bookings", form("title", ""))
	if !strings.Contains(w.Body.String(), "Enter a title.") {
		t.Errorf("POST /bookings in English: the title error is not in English")
	}
	if w := b.get("/lang?to=en&next=https://evil.example/"); w.Header().Get("Location") != "/" {
		t.Errorf("GET /lang with an outside next = %q, want /", w.Header().Get("Location"))
	}

	tests := []struct{ accept, want string }{
		{"", "请先登录"},
		{"en", "Please sign in first"},
		{"en-GB,en;q=0.8", "Please sign in first"},
		{"zh-CN,zh;q=0.9,en;q=0.8", "请先登录"},
		{"fr, en;q=0.5", "Please sign in first"},
		{"de", "请先登录"},
	}
	for _, tt := range tests {
		t.Run("Accept-Language "+tt.accept, func(t *testing.T) {
			w := e.api(http.MethodGet, "/api/v1/rooms", "", "", "Accept-Language", tt.accept)
			if got := decode[apiError](t, w); !strings.Contains(got.Error.Message, tt.want) {
				t.Errorf("GET /api/v1/rooms anonymously, Accept-Language %q = %q, want %q", tt.accept, got.Error.Message, tt.want)
			}
		})
	}
}

func TestMyBookingsAndCancel(t *testing.T) {
	e := newEnv(t)
	mine := e.book("duowei", "zhangsan", at(14, 9, 0), at(14, 10, 0), models.BackendOA, models.OriginBridge, "周会")
	e.book("sk-tianyuan", "lisi", at(14, 9, 0), at(14, 10, 0), models.BackendOA, models.OriginBridge, "李四的会")
	b := e.browser().login("zhangsan")

	body := b.get("/bookings").Body.String()
	for _, want := range []string{"周会", `2023-04-14 周五 09:00–10:00 · 多维缩放会议室 · <span class="office-name">北京首开</span>`, `<span class="badge confirmed">已确认</span>`, "/bookings/" + mine.ID + "/cancel", "/bookings/" + mine.ID + "/edit"} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /bookings lacks %q", want)
		}
	}
	if strings.Contains(body, "李四的会") {
		t.Errorf("GET /bookings as zhangsan lists lisi's booking")
	}

	w := b.get("/bookings/" + mine.ID + "/cancel")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "确认取消") {
		t.Fatalf("GET /bookings/%s/cancel = %d, want the confirm step", mine.ID, w.Code)
	}
	w = b.post("/bookings/"+mine.ID+"/cancel", url.Values{csrfField: {formToken(t, w.Body.String())}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/bookings/"+mine.ID {
		t.Fatalf("POST /bookings/%s/cancel = %d to %q, want 303 to the booking", mine.ID, w.Code, w.Header().Get("Location"))
	}
	if r, _ := e.store.Reservation(context.Background(), mine.ID); r.Status != models.StatusCancelled {
		t.Errorf("after cancel the status is %s, want cancelled", r.Status)
	}
	if body := b.get("/bookings/" + mine.ID).Body.String(); !strings.Contains(body, "预订已取消") || strings.Contains(body, "/cancel\"") {
		t.Errorf("GET /bookings/%s after cancel does not say it is cancelled, or still offers cancel", mine.ID)
	}

	other := e.book("duowei", "lisi", at(14, 11, 0), at(14, 12, 0), models.BackendOA, models.OriginBridge, "李四")
	for _, path := range []string{"/bookings/" + other.ID, "/bookings/" + other.ID + "/cancel", "/bookings/" + other.ID + "/edit"} {
		if w := b.get(path); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "找不到这个预订") {
			t.Errorf("GET %s (lisi's) as zhangsan = %d, want the 404 page", path, w.Code)
		}
	}
}

func TestReschedulePage(t *testing.T) {
	e := newEnv(t)
	mine := e.book("duowei", "zhangsan", at(17, 9, 0), at(17, 10, 0), models.BackendDingTalk, models.OriginBridge, "周会", "lisi")
	b := e.browser().login("zhangsan")
	w := b.get("/bookings/" + mine.ID + "/edit")
	body := w.Body.String()
	for _, want := range []string{`action="/bookings/` + mine.ID + `/edit"`, `value="2023-04-17"`, `value="09:00"`, `value="周会"`, `value="lisi" checked`, `data-except-start="2023-04-17T09:00:00&#43;08:00"`} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /bookings/%s/edit lacks %q", mine.ID, want)
		}
	}
	if strings.Contains(body, "bar mine clash") || !strings.Contains(body, `class="bar mine"`) {
		t.Errorf("GET /bookings/%s/edit shows the booking clashing with itself", mine.ID)
	}
	w = b.post("/bookings/"+mine.ID+"/edit", form("date", "2023-04-14", "title", "周会（提前）", csrfField, formToken(t, body)))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("POST /bookings/%s/edit = %d, want 303", mine.ID, w.Code)
	}
	r, _ := e.store.Reservation(context.Background(), mine.ID)
	if !r.Start.Equal(at(14, 9, 0)) || r.Title != "周会（提前）" || r.Backend != models.BackendOA {
		t.Errorf("after reschedule the booking is %v %q %s, want 04-14 09:00, the new title, oa", r.Start, r.Title, r.Backend)
	}
	w = b.post("/bookings/"+mine.ID+"/edit", form("title", ""))
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), `id="title-error"`) || !strings.Contains(w.Body.String(), `action="/bookings/`+mine.ID+`/edit"`) {
		t.Errorf("POST /bookings/%s/edit with no title = %d, want the edit form again with the error", mine.ID, w.Code)
	}
	if w := e.browser().login("lisi").get("/bookings/" + mine.ID + "/edit"); w.Code != http.StatusForbidden {
		t.Errorf("GET /bookings/%s/edit as an attendee = %d, want 403", mine.ID, w.Code)
	}
}

func TestSignIn(t *testing.T) {
	t.Run("demo", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser()
		w := b.get("/bookings")
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?next=%2Fbookings" {
			t.Fatalf("GET /bookings anonymously = %d to %q, want 303 to the login", w.Code, w.Header().Get("Location"))
		}
		body := b.get("/login?next=%2Fbookings").Body.String()
		if !strings.Contains(body, "张三") || !strings.Contains(body, `value="/bookings"`) {
			t.Errorf("GET /login lacks the users or the way back")
		}
		w = b.post("/login", url.Values{"user": {"lisi"}, "next": {"/bookings"}})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/bookings" {
			t.Errorf("POST /login = %d to %q, want 303 back to /bookings", w.Code, w.Header().Get("Location"))
		}
		if body := b.get("/bookings").Body.String(); !strings.Contains(body, "<strong>李四</strong>") {
			t.Errorf("GET /bookings after sign-in does not show 李四")
		}
		if w := b.post("/login", url.Values{"user": {"mallory"}}); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "mallory") {
			t.Errorf("POST /login user=mallory = %d, want 403 naming the account", w.Code)
		}
		b.cookies[sessionCookie] = "forged." + b.cookies[sessionCookie]
		if w := b.get("/"); w.Code != http.StatusSeeOther {
			t.Errorf("GET / with a tampered session cookie = %d, want 303 to the login", w.Code)
		}
	})
	t.Run("header", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.Auth, c.AuthHeader, c.Demo = AuthHeader, "X-Remote-User", false })
		tests := []struct {
			name, user string
			status     int
			contains   string
		}{
			{"no header", "", 401, "统一登录"},
			{"not in the catalog", "mallory", 403, "mallory"},
			{"known", "wangwu", 200, "<strong>王五</strong>"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				if tt.user != "" {
					r.Header.Set("X-Remote-User", tt.user)
				}
				w := e.serve(r)
				if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.contains) {
					t.Errorf("GET / with X-Remote-User %q = %d, want %d containing %q", tt.user, w.Code, tt.status, tt.contains)
				}
				if strings.Contains(w.Body.String(), "演示模式") {
					t.Errorf("GET / outside demo mode shows the demo banner")
				}
			})
		}
		if w := e.serve(httptest.NewRequest(http.MethodGet, "/login", nil)); w.Code != http.StatusNotFound {
			t.Errorf("GET /login in header mode = %d, want 404", w.Code)
		}
	})
}

func TestErrorPages(t *testing.T) {
	e := newEnv(t)
	// Routes added to the router get the same middleware and error handling.
	router := e.h.(*echo.Echo)
	router.GET("/boom", func(echo.Context) error { panic("kaboom") })
	router.GET("/broken", func(echo.Context) error { return errors.New("database exploded at 0xdeadbeef") })
	b := e.browser().login("zhangsan")
	tests := []struct {
		name, path string
		status     int
		contains   string
	}{
		{"unknown path", "/no/such/page", 404, "页面不存在"},
		{"panic", "/boom", 500, "系统出了点问题"},
		{"internal error", "/broken", 500, "已经记录下来"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := b.get(tt.path)
			body := w.Body.String()
			if w.Code != tt.status || !strings.Contains(body, tt.contains) || !strings.Contains(body, "<strong>张三</strong>") {
				t.Errorf("GET %s = %d, want %d, a page containing %q that shows who is signed in", tt.path, w.Code, tt.status, tt.contains)
			}
			for _, leak := range []string{"kaboom", "0xdeadbeef", "goroutine", ".go:"} {
				if strings.Contains(body, leak) {
					t.Errorf("GET %s leaks %q to the page", tt.path, leak)
				}
			}
		})
	}
	t.Run("API", func(t *testing.T) {
		w := e.api(http.MethodGet, "/api/v1/nope", "zhangsan", "")
		if got := decode[apiError](t, w); w.Code != http.StatusNotFound || got.Error.Code != "not_found" {
			t.Errorf("GET /api/v1/nope = %d %+v, want 404 not_found JSON", w.Code, got)
		}
	})
}

func TestHealthAndMetrics(t *testing.T) {
	notReady := errors.New("migrations pending")
	e := newEnv(t, func(c *Config) { c.Ready = func(context.Context) error { return notReady } })
	tests := []struct {
		path     string
		status   int
		contains string
	}{
		{"/healthz", 200, "ok"},
		{"/readyz", 503, "not ready"},
		{"/static/openapi.yaml", 200, "/availability:"},
		{"/static/form.js", 200, "/api/v1/availability"},
		{"/metrics", 200, `roombridge_http_requests_total{code="503",method="GET",route="/readyz"} 1`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w := e.serve(httptest.NewRequest(http.MethodGet, tt.path, nil))
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.contains) {
				t.Errorf("GET %s = %d, want %d containing %q; got:\n%.2000s", tt.path, w.Code, tt.status, tt.contains, w.Body)
			}
			if len(w.Result().Cookies()) != 0 {
				t.Errorf("GET %s sets cookies %v, want none", tt.path, w.Result().Cookies())
			}
		})
	}
	e.serve(httptest.NewRequest(http.MethodGet, "/no/such/thing", nil))
	e.serve(httptest.NewRequest(http.MethodGet, "/another/missing/path", nil))
	body := e.serve(httptest.NewRequest(http.MethodGet, "/metrics", nil)).Body.String()
	if strings.Contains(body, "/no/such/thing") {
		t.Errorf("/metrics labels unmatched paths by their path:\n%s", body)
	}
}

// The my-bookings page in English, compared with testdata/bookings.golden (regenerate
// with go test ./web -update). Random ids and tokens are replaced first.
func TestBookingsGolden(t *testing.T) {
	e := newEnv(t)
	e.book("duowei", "zhangsan", at(14, 9, 0), at(14, 10, 0), models.BackendOA, models.OriginBridge, "周会", "lisi")
	e.book("sh-waitan", "zhangsan", at(3, 14, 0), at(3, 15, 30), models.BackendOA, models.OriginBridge, "<script>alert(1)</script>")
	b := e.browser().login("zhangsan")
	b.get("/lang?to=en&next=/")
	w := b.get("/bookings")
	got := w.Body.String()
	for _, secret := range []string{b.csrf()} {
		got = strings.ReplaceAll(got, secret, "CSRF")
	}
	got = regexp.MustCompile(`/bookings/[a-z2-7]{20}`).ReplaceAllString(got, "/bookings/ID")
	golden := filepath.Join("testdata", "bookings.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read %s (run with -update to create it): %v", golden, err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("GET /bookings (en) mismatch (-want +got):\n%s", diff)
	}
}
