package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"roombridge/models"
)

func roomIDs(rooms []roomJSON) []string {
	out := []string{}
	for _, r := range rooms {
		out = append(out, r.ID)
	}
	return out
}

func TestRoomFinderAPI(t *testing.T) {
	e := newEnv(t)
	// 2023-04-14 14:00–15:00: gugong held in the OA, sh-lujiazui in DingTalk (both
	// native), changcheng by a cancelled booking (which holds nothing), sh-waitan until
	// 14:00 only (touching is free).
	e.book("lxx-gugong", "lisi", at(14, 13, 30), at(14, 14, 30), models.BackendOA, models.OriginNative, "")
	e.book("sh-lujiazui", "lisi", at(14, 14, 45), at(14, 16, 0), models.BackendDingTalk, models.OriginNative, "")
	gone := e.book("lxx-changcheng", "lisi", at(14, 14, 0), at(14, 15, 0), models.BackendOA, models.OriginBridge, "")
	if _, err := e.store.Update(t.Context(), gone.ID, models.Change{Apply: func(r *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
		r.Status = models.StatusCancelled
		return nil, nil, nil
	}}); err != nil {
		t.Fatal(err)
	}
	e.book("sh-waitan", "lisi", at(14, 13, 0), at(14, 14, 0), models.BackendOA, models.OriginNative, "")

	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"no question: every room in catalog order", "", []string{"duowei", "sk-tianyuan", "sk-xiaoyao", "lxx-changcheng", "lxx-gugong", "sh-waitan", "sh-lujiazui", "sz-shenzhenwan", "sz-lianhuashan"}},
		{"8 people, best fit first, busy rooms of both systems left out", "free_from=2023-04-14T14:00:00%2B08:00&free_to=2023-04-14T15:00:00%2B08:00&capacity=8", []string{"sk-tianyuan", "sz-shenzhenwan", "lxx-changcheng", "sh-waitan", "duowei"}},
		{"one office", "free_from=2023-04-14T14:00:00%2B08:00&free_to=2023-04-14T15:00:00%2B08:00&office=bj-lixingxing", []string{"lxx-changcheng"}},
		{"a time without a zone is read in the configured zone", "free_from=2023-04-14T14:00&free_to=2023-04-14T15:00&office=shanghai", []string{"sh-waitan"}},
		{"earlier that day both are free", "free_from=2023-04-14T11:00&free_to=2023-04-14T12:00&office=shanghai", []string{"sh-lujiazui", "sh-waitan"}},
		{"capacity only: every big enough room", "capacity=20", []string{"sh-waitan", "duowei"}},
		{"nothing fits", "free_from=2023-04-14T14:00&free_to=2023-04-14T15:00&capacity=31", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.api("GET", "/api/v1/rooms?"+tt.query, "zhangsan", "")
			if w.Code != http.StatusOK {
				t.Fatalf("GET /api/v1/rooms?%s = %d %s", tt.query, w.Code, w.Body)
			}
			if diff := cmp.Diff(tt.want, roomIDs(decode[[]roomJSON](t, w))); diff != "" {
				t.Errorf("GET /api/v1/rooms?%s (-want +got):\n%s", tt.query, diff)
			}
		})
	}

	bad := []struct {
		name, query string
		status      int
		code        string
	}{
		{"from without to", "free_from=2023-04-14T14:00", 400, "bad_request"},
		{"to before from", "free_from=2023-04-14T15:00&free_to=2023-04-14T14:00", 422, "free_to_before_free_from"},
		{"bad time", "free_from=tomorrow&free_to=2023-04-14T14:00", 400, "bad_request"},
		{"bad capacity", "capacity=eight", 422, "bad_capacity"},
		{"unknown office", "office=mars", 404, "unknown_office"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			w := e.api("GET", "/api/v1/rooms?"+tt.query, "zhangsan", "")
			got := decode[struct {
				Error struct{ Code string } `json:"error"`
			}](t, w)
			if w.Code != tt.status || got.Error.Code != tt.code {
				t.Errorf("GET /api/v1/rooms?%s = %d %q, want %d %q", tt.query, w.Code, got.Error.Code, tt.status, tt.code)
			}
		})
	}
}

func TestFinderPage(t *testing.T) {
	e := newEnv(t)
	e.book("lxx-gugong", "lisi", at(14, 14, 0), at(14, 15, 0), models.BackendOA, models.OriginNative, "")
	b := e.browser().login("zhangsan")

	w := b.get("/find")
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), `class="results"`) {
		t.Fatalf("GET /find = %d, want 200 and the empty question", w.Code)
	}
	w = b.get("/find?" + url.Values{"date": {"2023-04-14"}, "start": {"14:00"}, "duration": {"90"}, "capacity": {"8"}, "office": {""}}.Encode())
	body := w.Body.String()
	hits := regexp.MustCompile(`data-room="([^"]+)"`).FindAllStringSubmatch(body, -1)
	var got []string
	for _, h := range hits {
		got = append(got, h[1])
	}
	if diff := cmp.Diff([]string{"sh-lujiazui", "sk-tianyuan", "sz-shenzhenwan", "lxx-changcheng", "sh-waitan", "duowei"}, got); diff != "" {
		t.Errorf("GET /find for 8 at 14:00 for 90 min: rooms (-want +got):\n%s", diff)
	}
	for _, want := range []string{
		`href="/?date=2023-04-14&amp;end=15%3A30&amp;room=sh-lujiazui&amp;start=14%3A00"`, // book it, pre-filled
		`href="/grid?date=2023-04-14&amp;office=shanghai#room-sh-lujiazui"`,               // see the day
		`2023-04-14 周五 14:00–15:30 空闲的会议室`,
		`<option value="90" selected>1 小时 30 分钟</option>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /find lacks %q", want)
		}
	}

	// Every mistake at once, each at its field.
	w = b.get("/find?date=2023-4-14&start=2pm&capacity=0&office=mars&duration=1")
	body = w.Body.String()
	for field, msg := range map[string]string{"date": "日期格式应为", "start": "时间格式应为 09:30", "capacity": "人数应为", "office": "没有这个职场", "duration": "时长应为"} {
		if !regexp.MustCompile(`id="` + field + `-error">[^<]*` + msg).MatchString(body) {
			t.Errorf("GET /find with bad input: no %q at %s", msg, field)
		}
	}
}

func TestDayGrid(t *testing.T) {
	e := newEnv(t, withNow(at(14, 10, 5)))
	e.book("duowei", "lisi", at(14, 10, 0), at(14, 12, 0), models.BackendOA, models.OriginNative, "OA 培训")
	// The same room booked directly in DingTalk too, as sync finds it.
	if _, err := e.store.ApplyRemote(t.Context(), models.BackendDingTalk, models.Remote{
		RemoteID: "dt-1", RoomID: "duowei", Start: at(14, 11, 0), End: at(14, 12, 30), Title: "钉钉评审", OrganizerID: "wangwu", Status: models.StatusConfirmed,
	}, at(14, 10, 0)); err != nil {
		t.Fatal(err)
	}
	e.book("sk-tianyuan", "zhangsan", at(14, 6, 0), at(14, 7, 0), models.BackendOA, models.OriginBridge, "早会")
	b := e.browser().login("zhangsan")
	w := b.get("/grid?office=bj-shoukai&date=2023-04-14")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /grid = %d", w.Code)
	}
	body := w.Body.String()
	for _, want := range []string{
		`style="--hours:16"`, // 06–22: widened to the 06:00 meeting
		`<div class="grid-row" id="room-duowei" data-room="duowei">`,
		`<strong>多维缩放会议室</strong><span class="muted">1F · 30 人</span>`,
		// both systems, coloured by system, the double booking in two lanes
		`class="block oa native clash lane0" style="left:25%;width:12.5%" title="10:00–12:00 OA（致远） · 直接在原系统预订"`,
		`class="block dingtalk native clash lane1" style="left:31.25%;width:9.38%"`,
		`title="06:00–07:00 OA（致远） · 通过本系统预订 · 早会"`, // my own title, shown
		`<span class="now" style="left:25.52%"`,     // 10:05
		// free from the next quarter hour, an hour at most, into the form
		`href="/?date=2023-04-14&amp;end=11%3A00&amp;room=sk-tianyuan&amp;start=10%3A15" data-start="10:15" data-end="11:00"`,
		`href="/?date=2023-04-14&amp;end=14%3A00&amp;room=duowei&amp;start=13%3A00" data-start="13:00"`,
		`href="/?date=2023-04-14&amp;end=13%3A00&amp;room=duowei&amp;start=12%3A30" data-start="12:30"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /grid lacks %q", want)
		}
	}
	if strings.Contains(body, "钉钉评审") || strings.Contains(body, "OA 培训") {
		t.Error("GET /grid shows the titles of other people's meetings")
	}
	if strings.Contains(body, `room=duowei&amp;start=11`) || strings.Contains(body, `start=09%3A00`) {
		t.Error("GET /grid offers a busy or past stretch")
	}
	for _, q := range []string{"office=mars", "date=14.4.2023"} {
		if w := b.get("/grid?" + q); w.Code == http.StatusOK || w.Code >= 500 {
			t.Errorf("GET /grid?%s = %d, want a 4xx", q, w.Code)
		}
	}
}

func TestFormSuggestsWhenTaken(t *testing.T) {
	e := newEnv(t)
	e.book("duowei", "lisi", at(14, 9, 0), at(14, 10, 0), models.BackendOA, models.OriginNative, "")
	e.book("duowei", "lisi", at(14, 10, 30), at(14, 12, 0), models.BackendDingTalk, models.OriginNative, "")
	e.book("sk-tianyuan", "lisi", at(14, 9, 30), at(14, 10, 0), models.BackendOA, models.OriginNative, "")
	b := e.browser().login("zhangsan")
	b.get("/")
	w := b.post("/bookings", form("date", "2023-04-14", "start", "09:30", "end", "10:30"))
	if w.Code != http.StatusConflict {
		t.Fatalf("POST /bookings over a booking = %d, want 409", w.Code)
	}
	body := w.Body.String()
	times := regexp.MustCompile(`<li><a href="[^"]*" data-start="([^"]+)">`).FindAllStringSubmatch(body, -1)
	var got []string
	for _, m := range times {
		got = append(got, m[1])
	}
	// The nearest hours that are free (10:00–11:00 is not: 10:30 is booked).
	if diff := cmp.Diff([]string{"07:30–08:30", "08:00–09:00", "12:00–13:00"}, got); diff != "" {
		t.Errorf("suggested times (-want +got):\n%s", diff)
	}
	rooms := regexp.MustCompile(`data-room="([^"]+)">`).FindAllStringSubmatch(body, -1)
	got = nil
	for _, m := range rooms {
		got = append(got, m[1])
	}
	if diff := cmp.Diff([]string{"sk-xiaoyao"}, got); diff != "" {
		t.Errorf("suggested rooms (-want +got):\n%s", diff)
	}
	if !strings.Contains(body, `<p class="taken">该会议室此时段已被OA（致远）中的预订占用`) {
		t.Error("the form does not say the room is taken")
	}
}

func TestFormShowsEveryError(t *testing.T) {
	e := newEnv(t)
	b := e.browser().login("zhangsan")
	b.get("/")
	w := b.post("/bookings", form("room_id", "", "title", "", "start", "9点", "end", "08:00"))
	if w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("POST /bookings with four mistakes = %d, want 422", w.Code)
	}
	body := w.Body.String()
	for field, msg := range map[string]string{"room_id": "请选择会议室。", "title": "请填写会议主题。", "start": "时间格式应为 09:30。"} {
		if !strings.Contains(body, `id="`+field+`-error">`+msg+`</small>`) {
			t.Errorf("POST /bookings: no %q at %s", msg, field)
		}
	}
	if strings.Contains(body, `id="end-error"`) {
		t.Error("POST /bookings judged the end against a start it could not read")
	}
	if n := e.count(); n != 0 {
		t.Errorf("reservations = %d, want 0", n)
	}
	// 24-hour times whatever the browser's locale: a text field, not <input type=time>.
	if strings.Contains(body, `type="time"`) || !strings.Contains(body, `pattern="([01][0-9]|2[0-3]):[0-5][0-9]"`) {
		t.Error("the form's times are not 24-hour text fields")
	}
}

func TestFaviconAndEnglishTexts(t *testing.T) {
	e := newEnv(t)
	if w := e.api("GET", "/favicon.ico", "", ""); w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "/static/favicon.svg" {
		t.Errorf("GET /favicon.ico = %d to %q, want 301 to the SVG", w.Code, w.Header().Get("Location"))
	}
	if w := e.api("GET", "/static/favicon.svg", "", ""); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "<svg") {
		t.Errorf("GET /static/favicon.svg = %d", w.Code)
	}
	if body := e.browser().login("zhangsan").get("/").Body.String(); !strings.Contains(body, `<link rel="icon" href="/static/favicon.svg?v=test" type="image/svg+xml">`) {
		t.Error("pages do not name the favicon")
	}
	// English texts: no "just run", one spelling of organizer.
	for key, m := range messages {
		if strings.Contains(m.EN, "just run") || strings.Contains(m.EN, "organiser") {
			t.Errorf("%s in English = %q", key, m.EN)
		}
	}
}
