package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"roombridge/models"
)

func TestMyBookingsSections(t *testing.T) {
	e := newEnv(t)
	set := func(id string, apply func(r *models.Reservation)) {
		t.Helper()
		if _, err := e.store.Update(context.Background(), id, models.Change{Apply: func(r *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
			apply(r)
			return nil, nil, nil
		}}); err != nil {
			t.Fatal(err)
		}
	}
	remote := "dt-evt-7"
	up := e.book("duowei", "zhangsan", at(14, 9, 0), at(14, 10, 0), models.BackendDingTalk, models.OriginBridge, "下周的会")
	set(up.ID, func(r *models.Reservation) { r.RemoteID = &remote })
	e.book("duowei", "zhangsan", at(7, 9, 0), at(7, 10, 0), models.BackendOA, models.OriginBridge, "上周的会")
	gone := e.book("sk-tianyuan", "zhangsan", at(14, 11, 0), at(14, 12, 0), models.BackendOA, models.OriginBridge, "取消的会")
	set(gone.ID, func(r *models.Reservation) { r.Status = models.StatusCancelled })
	refused := e.book("sk-xiaoyao", "zhangsan", at(14, 13, 0), at(14, 14, 0), models.BackendOA, models.OriginBridge, "被拒的会")
	set(refused.ID, func(r *models.Reservation) {
		r.Status, r.Description, r.Attendees = models.StatusRejected, "带电脑", models.StringList{"lisi"}
		r.SetReason(models.Reason{Code: "oa_rejected"})
	})

	section := func(body, id string) string {
		m := regexp.MustCompile(`(?s)<details class="section" id="` + id + `"[^>]*>(.*?)</details>`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("GET /bookings has no section %s", id)
		}
		return m[1]
	}
	body := e.browser().login("zhangsan").get("/bookings").Body.String()
	for id, want := range map[string][]string{"upcoming": {"下周的会"}, "past": {"上周的会"}, "cancelled": {"取消的会", "被拒的会"}} {
		sec := section(body, id)
		for _, title := range []string{"下周的会", "上周的会", "取消的会", "被拒的会"} {
			in := false
			for _, w := range want {
				in = in || w == title
			}
			if strings.Contains(sec, title) != in {
				t.Errorf("section %s has %s: %v, want %v", id, title, !in, in)
			}
		}
	}
	if strings.Contains(body, remote) {
		t.Error("GET /bookings shows a backend id to staff")
	}
	rebook := `href="/?attendees=lisi&amp;date=2023-04-14&amp;description=%E5%B8%A6%E7%94%B5%E8%84%91&amp;end=14%3A00&amp;room=sk-xiaoyao&amp;start=13%3A00&amp;title=%E8%A2%AB%E6%8B%92%E7%9A%84%E4%BC%9A"`
	if !strings.Contains(section(body, "cancelled"), rebook) {
		t.Errorf("the rejected booking has no 重新预订 link %s", rebook)
	}
	admin := e.browser().login("admin")
	set(up.ID, func(r *models.Reservation) { r.Attendees = models.StringList{"admin"} })
	if body := admin.get("/bookings").Body.String(); !strings.Contains(body, `<code class="remote-id">dt-evt-7</code>`) {
		t.Error("GET /bookings does not show the backend id to an admin")
	}

	// 重新预订 opens the form with everything filled in.
	b := e.browser().login("zhangsan")
	page := b.get("/bookings/" + refused.ID).Body.String()
	if !strings.Contains(page, `class="button primary rebook" `+rebook) {
		t.Fatalf("the outcome page of a rejected booking has no pre-filled 重新预订")
	}
	form := b.get(strings.ReplaceAll(rebook[len(`href="`):len(rebook)-1], "&amp;", "&")).Body.String()
	for _, want := range []string{`<option value="sk-xiaoyao" selected>`, `name="start" id="start" value="13:00"`, `name="end" id="end" value="14:00"`, `value="被拒的会"`, `>带电脑</textarea>`, `value="lisi" checked`} {
		if !strings.Contains(form, want) {
			t.Errorf("the form opened by 重新预订 lacks %s", want)
		}
	}
}

func TestRescheduleAcrossSystemsSaysSo(t *testing.T) {
	e := newEnv(t)
	r := e.book("duowei", "zhangsan", at(14, 9, 0), at(14, 10, 0), models.BackendOA, models.OriginBridge, "周会")
	b := e.browser().login("zhangsan")
	b.get("/bookings/" + r.ID + "/edit")
	w := b.post("/bookings/"+r.ID+"/edit", form("date", "2023-04-18", "title", "周会"))
	loc := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther || loc != "/bookings/"+r.ID+"?moved_from=oa" {
		t.Fatalf("POST edit to a DingTalk day = %d to %q, want 303 to the booking with moved_from=oa", w.Code, loc)
	}
	if body := b.get(loc).Body.String(); !strings.Contains(body, `<p class="moved"><strong>已从OA（致远）移到钉钉。</strong></p>`) {
		t.Errorf("the outcome of a move to DingTalk does not say so")
	}
	// Within one system nothing is said.
	b.get("/bookings/" + r.ID + "/edit")
	w = b.post("/bookings/"+r.ID+"/edit", form("date", "2023-04-19", "title", "周会", "idempotency_key", "k2"))
	if loc := w.Header().Get("Location"); loc != "/bookings/"+r.ID {
		t.Errorf("a reschedule within DingTalk went to %q, want the plain booking page", loc)
	}
}

// TestEditSeriesScopeForm: the edit form of an occurrence of a series offers this, this
// and following, and the whole series; a wider scope goes to EditSeries with the skip
// choice, and a taken date comes back next to the times.
func TestEditSeriesScopeForm(t *testing.T) {
	var bk *booker
	e := newEnv(t, func(c *Config) { bk = c.Booker.(*booker) })
	r := e.book("duowei", "zhangsan", at(14, 9, 0), at(14, 10, 0), models.BackendOA, models.OriginBridge, "周会")
	single := e.book("duowei", "zhangsan", at(14, 11, 0), at(14, 12, 0), models.BackendOA, models.OriginBridge, "单次")
	if _, err := e.store.Update(context.Background(), r.ID, models.Change{Apply: func(x *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
		sid, rec := "series1", x.Start
		x.SeriesID, x.RecurrenceID = &sid, &rec
		return nil, nil, nil
	}}); err != nil {
		t.Fatal(err)
	}
	b := e.browser().login("zhangsan")
	for _, tt := range []struct {
		id, lang string
		want     []string
		offered  bool
	}{
		{r.ID, "zh-CN", []string{"修改哪些？", "这一次及以后", "整个重复预订", `name="scope" value="this" checked`}, true},
		{r.ID, "en", []string{"Change which?", "This and following", "The whole series"}, true},
		{single.ID, "zh-CN", nil, false},
	} {
		req := httptest.NewRequest(http.MethodGet, "/bookings/"+tt.id+"/edit", nil)
		req.Header.Set("Accept-Language", tt.lang)
		body := b.do(req).Body.String()
		if got := strings.Contains(body, `name="scope"`); got != tt.offered {
			t.Errorf("edit form of %s (%s) offers a scope = %v, want %v", tt.id, tt.lang, got, tt.offered)
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("edit form of the occurrence (%s) lacks %s", tt.lang, w)
			}
		}
	}

	b.get("/bookings/" + r.ID + "/edit")
	w := b.post("/bookings/"+r.ID+"/edit", form("date", "2023-04-14", "start", "10:00", "end", "11:00", "title", "周会", "scope", "following", "on_conflict", "skip"))
	if loc := w.Header().Get("Location"); w.Code != http.StatusSeeOther || loc != "/bookings" {
		t.Errorf("POST edit with scope following = %d to %q, want 303 to /bookings", w.Code, loc)
	}
	if want := r.ID + " following skip 2023-04-14T02:00:00Z"; len(bk.edits) != 1 || bk.edits[0] != want {
		t.Errorf("EditSeries calls = %q, want [%q]", bk.edits, want)
	}
	b.get("/bookings/" + r.ID + "/edit")
	w = b.post("/bookings/"+r.ID+"/edit", form("date", "2023-04-14", "start", "10:00", "end", "11:00", "title", "占用", "scope", "all", "idempotency_key", "k2"))
	if body := w.Body.String(); w.Code != http.StatusConflict || !strings.Contains(body, `value="all" checked`) || !strings.Contains(body, "2023-04-14 10:00") {
		t.Errorf("POST edit onto a taken slot = %d (edits %q), want 409 with the form, scope all kept and the date named:\n%s", w.Code, bk.edits, body)
	}
}
