package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
)

// badCase is one malformed request a user or a buggy client could send.
type badCase struct {
	name   string
	method string
	path   string
	user   string // "" anonymous
	body   string
	ctype  string
	header []string
	// form posts a browser form: Sec-Fetch-Site same-origin, as a browser sends it, so
	// the CSRF check passes and the handler sees the input.
	form bool
	// want is the exact status expected; 0 is any 4xx.
	want int
	// code is the error code the API must answer ("" any).
	code string
	// tolerated: the route ignores or accepts the input (an unknown parameter, a prefill
	// of the form); any status below 500 will do, but still nothing may change.
	tolerated bool
	// absent are texts of the request the answer must not show.
	absent []string
}

var (
	stackRe  = regexp.MustCompile(`goroutine \d+|\.go:\d+|panic:|runtime\.`)
	scriptIn = `<script>alert(1)</script>`
	hrefRe   = regexp.MustCompile(`href="[^"]*"`)
)

// TestBadInputEverywhere sends, on every route the server registers, input a user or a
// buggy client could send by mistake, as the right kind of user: each is refused with a
// 4xx (never a 5xx), an API error envelope with a code and a message in the caller's
// language (Chinese by default, English with Accept-Language: en), a page in the right
// language with the message (the error page or the form again), plain text for feeds;
// no stack trace, no unescaped markup; and nothing changes (reservations, outbox jobs,
// audit entries, conflicts, feed tokens).
func TestBadInputEverywhere(t *testing.T) {
	for _, db := range []string{"sqlite", "mysql"} {
		t.Run(db, func(t *testing.T) { testBadInput(t, db) })
	}
}

func testBadInput(t *testing.T, db string) {
	env := map[string]string{"ROOMBRIDGE_DB": "sqlite:" + filepath.Join(t.TempDir(), "roombridge.db")}
	if db == "mysql" {
		env["ROOMBRIDGE_DB"] = emptyMySQL(t, "rbbadinput")
		if err := run(context.Background(), []string{"migrate"}, func(k string) string { return env[k] }, io.Discard, io.Discard); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	in := start(t, env)
	in.sync(t)

	// A booking of zhangsan's, settled; the conflict the demo seeds; a feed token.
	r := in.do("POST", in.url+"/api/v1/bookings", "zhangsan", strings.NewReader(bookingBody("duowei", "坏输入测试", in.day(2, 19, 0), time.Hour)))
	var b booking
	r.json(t, &b)
	if r.code != http.StatusCreated {
		t.Fatalf("POST booking = %d %s", r.code, r.body)
	}
	in.settle("zhangsan", b.ID)
	var conflicts []conflictReply
	in.do("GET", in.url+"/api/v1/conflicts?status=open", "admin", nil).json(t, &conflicts)
	if len(conflicts) == 0 {
		t.Fatalf("the demo has no open conflict")
	}
	conflict := conflicts[0].ID
	var tok struct {
		ID   string `json:"id"`
		URLs struct {
			All string `json:"all"`
		} `json:"urls"`
	}
	r = in.do("POST", in.url+"/api/v1/feed-tokens", "zhangsan", strings.NewReader(`{"label":"坏输入"}`))
	r.json(t, &tok)
	if r.code != http.StatusCreated || tok.URLs.All == "" {
		t.Fatalf("POST feed token = %d %s", r.code, r.body)
	}
	u, _ := url.Parse(tok.URLs.All)
	feedBase := strings.TrimSuffix(u.Path, "/all.ics") // /ical/{token}

	before := snapshot(t, in, b.ID, conflict)
	cases := badCases(in, b.ID, conflict, tok.ID, feedBase)
	// Retrying a job that has not given up (the booking's, done).
	job := queryString(t, in, "SELECT id FROM outbox_jobs WHERE reservation_id = ?", b.ID)
	cases = append(cases, badCase{name: "retry a job that did not fail", method: "POST", path: "/admin/outbox/" + job + "/retry", user: "admin",
		ctype: "application/x-www-form-urlencoded", form: true, want: 409})
	rows := counts(t, in)
	for i, tc := range cases {
		for j, lang := range []string{"", "en"} {
			if lang != "" && slices.Contains(tc.header, "Accept-Language") {
				continue // the case sets the language itself
			}
			// Each request from its own address, as from many clients: the per-address
			// limits stay out of the way.
			checkBadCase(t, in, tc, lang, fmt.Sprintf("10.1.%d.%d", (2*i+j)/250, (2*i+j)%250+1))
			if now := counts(t, in); now != rows {
				t.Errorf("%s [%s] changed the rows: %s → %s", tc.name, lang, rows, now)
				rows = now
			}
		}
	}
	if after := snapshot(t, in, b.ID, conflict); after != before {
		t.Errorf("bad input changed the state:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshot is what bad input must leave alone: row counts, and the booking, conflict and
// feed tokens as their owners see them.
func snapshot(t *testing.T, in *instance, bookingID, conflictID string) string {
	t.Helper()
	out := counts(t, in)
	var bk map[string]any
	in.do("GET", in.url+"/api/v1/bookings/"+bookingID, "zhangsan", nil).json(t, &bk)
	var cf map[string]any
	in.do("GET", in.url+"/api/v1/conflicts/"+conflictID, "admin", nil).json(t, &cf)
	delete(cf, "rule_text")
	var toks []struct{ ID, Label string }
	in.do("GET", in.url+"/api/v1/feed-tokens", "zhangsan", nil).json(t, &toks)
	j, _ := json.Marshal([]any{bk, cf, toks})
	return out + string(j)
}

// openDB opens the instance's database beside the server.
func openDB(t *testing.T, in *instance) *sql.DB {
	t.Helper()
	kind, dsn, _ := strings.Cut(in.db, ":")
	sqlDB, err := sql.Open(kind, dsn)
	if err != nil {
		t.Fatal(err)
	}
	return sqlDB
}

// queryString answers a query of one string on the instance's database.
func queryString(t *testing.T, in *instance, q string, args ...any) string {
	t.Helper()
	sqlDB := openDB(t, in)
	defer sqlDB.Close()
	var v string
	if err := sqlDB.QueryRow(q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

// counts counts the rows bad input must not add or change.
func counts(t *testing.T, in *instance) string {
	t.Helper()
	sqlDB := openDB(t, in)
	defer sqlDB.Close()
	out := ""
	for _, q := range []string{
		"SELECT COUNT(*) FROM reservations",
		"SELECT COUNT(*) FROM reservations WHERE status = 'cancelled'",
		"SELECT COUNT(*) FROM outbox_jobs",
		"SELECT COUNT(*) FROM audit_log",
		"SELECT COUNT(*) FROM conflicts WHERE status = 'open'",
		"SELECT COUNT(*) FROM feed_tokens",
		"SELECT COUNT(*) FROM feed_tokens WHERE revoked_at IS NOT NULL",
	} {
		var n int
		if err := sqlDB.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out += fmt.Sprintf("%s=%d ", q[len("SELECT COUNT(*) FROM "):], n)
	}
	return out
}

func badCases(in *instance, bookingID, conflictID, tokenID, feedBase string) []badCase {
	long := strings.Repeat("x", 3000)
	odd := []string{"nope", "..%2F..%2Fetc%2Fpasswd", "%00", long, "%E4%BC%9A%E8%AE%AE", "%FF%FE", "%3Cscript%3E", "a%0Ab"}
	day := in.day(3, 0, 0).Format(time.DateOnly)
	at := func(days, h, m int) string { return in.day(days, h, m).Format(time.RFC3339) }
	q := url.QueryEscape
	body := func(fields ...string) string {
		m := map[string]any{"room_id": "duowei", "title": "会", "start": at(3, 9, 0), "end": at(3, 10, 0)}
		for i := 0; i+1 < len(fields); i += 2 {
			var v any
			if err := json.Unmarshal([]byte(fields[i+1]), &v); err != nil {
				v = fields[i+1]
			}
			m[fields[i]] = v
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	huge := `{"title":"` + strings.Repeat("长", 2<<20/3) + `"}`
	var cs []badCase
	api := func(method, path, user, body string, want int, code string) {
		cs = append(cs, badCase{name: method + " " + path + " " + body, method: method, path: path, user: user, body: body, ctype: "application/json", want: want, code: code})
	}
	get := func(path, user string, want int, code string) {
		cs = append(cs, badCase{name: "GET " + path, method: "GET", path: path, user: user, want: want, code: code})
	}
	tolerate := func(method, path, user string) {
		cs = append(cs, badCase{name: method + " " + path, method: method, path: path, user: user, tolerated: true})
	}
	form := func(path, user string, values url.Values, want int) {
		cs = append(cs, badCase{name: "POST " + path + " " + values.Encode(), method: "POST", path: path, user: user, body: values.Encode(),
			ctype: "application/x-www-form-urlencoded", form: true, want: want})
	}
	csrf := func(path, user string) {
		// No token, and a wrong token with its cookie: a forged or expired form.
		cs = append(cs, badCase{name: "POST " + path + " without CSRF", method: "POST", path: path, user: user, body: "x=1",
			ctype: "application/x-www-form-urlencoded", want: 403})
		cs = append(cs, badCase{name: "POST " + path + " wrong CSRF", method: "POST", path: path, user: user, body: "_csrf=forged",
			ctype: "application/x-www-form-urlencoded", header: []string{"Cookie", "rb_csrf=other"}, want: 403})
	}

	// JSON bodies every write route must refuse.
	malformed := []struct{ body string }{{`{"room_id":`}, {`[]`}, {`"text"`}, {`42`}, {`null x`}, {`{} {}`}, {`{"nope":1}`}, {"\xff\xfe"}}

	// GET /api/v1/rooms and the room finder.
	get("/api/v1/rooms?office=%00", "zhangsan", 404, "unknown_office")
	get("/api/v1/rooms?office="+q(scriptIn), "zhangsan", 404, "unknown_office")
	get("/api/v1/rooms?free_from=abc&free_to=abc", "zhangsan", 400, "")
	get("/api/v1/rooms?free_from="+q(at(3, 10, 0))+"&free_to="+q(at(3, 9, 0)), "zhangsan", 0, "")
	get("/api/v1/rooms?free_from="+q(at(3, 9, 0))+"&free_to="+q(at(3, 9, 0)), "zhangsan", 0, "")
	get("/api/v1/rooms?free_from="+q(at(3, 9, 0))+"&free_to="+q(at(3+800, 9, 0)), "zhangsan", 0, "")
	get("/api/v1/rooms?free_from="+q(at(3, 9, 0))+"&free_to="+q(at(3, 10, 0))+"&capacity=-1", "zhangsan", 0, "")
	get("/api/v1/rooms?free_from="+q(at(3, 9, 0))+"&free_to="+q(at(3, 10, 0))+"&capacity=abc", "zhangsan", 0, "")
	get("/api/v1/rooms?free_from="+q(at(3, 9, 0))+"&free_to="+q(at(3, 10, 0))+"&capacity=99999999999999999999", "zhangsan", 0, "")
	get("/api/v1/rooms?free_from=2026-02-30T09:00:00%2B08:00&free_to=2026-02-30T10:00:00%2B08:00", "zhangsan", 400, "")
	get("/api/v1/rooms?free_from=0000-01-01T09:00:00Z&free_to=0000-01-01T10:00:00Z", "zhangsan", 0, "")
	get("/api/v1/rooms?free_from=9999-12-31T09:00:00Z&free_to=9999-12-31T10:00:00Z", "zhangsan", 0, "")
	// The finder offers rooms to book: yesterday is refused as a booking would be.
	get("/api/v1/rooms?free_from="+q(at(-1, 9, 0))+"&free_to="+q(at(-1, 10, 0)), "zhangsan", 422, "start_in_past")
	tolerate("GET", "/api/v1/rooms?limit=-1&page=-3&lang=xx", "zhangsan")

	// GET /api/v1/availability.
	get("/api/v1/availability", "zhangsan", 400, "")
	for _, id := range odd {
		get("/api/v1/availability?room="+id, "zhangsan", 404, "")
	}
	get("/api/v1/availability?room=duowei&from=abc", "zhangsan", 400, "")
	get("/api/v1/availability?room=duowei&from=2026-02-30T00:00:00Z", "zhangsan", 400, "")
	get("/api/v1/availability?room=duowei&from="+q(at(3, 10, 0))+"&to="+q(at(3, 9, 0)), "zhangsan", 0, "")
	get("/api/v1/availability?room=duowei&from=0001-01-01T00:00:00Z&to=9999-12-31T00:00:00Z", "zhangsan", 0, "")
	get("/api/v1/availability?room=duowei&from=9999-12-31T00:00:00Z", "zhangsan", 400, "bad_request")
	tolerate("GET", "/api/v1/availability?room=duowei&from=9998-12-31T00:00:00Z", "zhangsan")

	// GET /api/v1/route and /api/v1/series/plan.
	get("/api/v1/route", "zhangsan", 400, "")
	get("/api/v1/route?start=abc", "zhangsan", 400, "")
	get("/api/v1/route?start=2026-02-30T09:00:00Z", "zhangsan", 400, "")
	get("/api/v1/route?start=0000-01-01T00:00:00Z", "zhangsan", 0, "")
	plan := "/api/v1/series/plan?room=duowei&start=" + q(at(3, 9, 0)) + "&end=" + q(at(3, 10, 0))
	get("/api/v1/series/plan", "zhangsan", 0, "")
	get(plan, "zhangsan", 0, "")
	get(plan+"&rrule=bogus", "zhangsan", 422, "")
	get(plan+"&rrule=%00", "zhangsan", 422, "")
	get(plan+"&rrule="+q("FREQ=DAILY;COUNT=100000"), "zhangsan", 422, "")
	get(plan+"&rrule="+q("FREQ=DAILY;INTERVAL=-3"), "zhangsan", 422, "")
	get(plan+"&rrule="+q("FREQ=DAILY;UNTIL=00000101T000000Z"), "zhangsan", 422, "")
	get(plan+"&rrule="+q("FREQ=DAILY;UNTIL=20200101"), "zhangsan", 422, "rrule_ends_before_start")
	get("/api/v1/series/plan?room=nope&start="+q(at(3, 9, 0))+"&end="+q(at(3, 10, 0))+"&rrule=FREQ%3DDAILY%3BCOUNT%3D3", "zhangsan", 404, "")
	get("/api/v1/series/plan?room=duowei&start="+q(at(3, 10, 0))+"&end="+q(at(3, 9, 0))+"&rrule=FREQ%3DDAILY%3BCOUNT%3D3", "zhangsan", 422, "")
	get("/api/v1/series/plan?room=duowei&start=abc&end=abc&rrule=FREQ%3DDAILY%3BCOUNT%3D3", "zhangsan", 400, "")

	// GET /api/v1/bookings.
	get("/api/v1/bookings?from=abc", "zhangsan", 400, "")
	get("/api/v1/bookings?from="+q(at(10, 0, 0))+"&to="+q(at(1, 0, 0)), "zhangsan", 422, "to_before_from")
	get("/api/v1/bookings?to=2026-02-30T00:00:00Z", "zhangsan", 400, "")
	tolerate("GET", "/api/v1/bookings?mine=bogus&limit=-1&page=-3", "zhangsan")

	// POST /api/v1/bookings.
	for _, m := range malformed {
		api("POST", "/api/v1/bookings", "zhangsan", m.body, 400, "bad_request")
	}
	api("POST", "/api/v1/bookings", "zhangsan", ``, 400, "bad_request")
	api("POST", "/api/v1/bookings", "zhangsan", `{}`, 422, "")
	api("POST", "/api/v1/bookings", "zhangsan", body("title", "42"), 400, "bad_request")
	api("POST", "/api/v1/bookings", "zhangsan", body("attendees", `"lisi"`), 400, "bad_request")
	api("POST", "/api/v1/bookings", "zhangsan", body("attendees", `{"a":1}`), 400, "bad_request")
	api("POST", "/api/v1/bookings", "zhangsan", body("room_id", `["duowei"]`), 400, "bad_request")
	api("POST", "/api/v1/bookings", "zhangsan", body("start", "9"), 400, "bad_request")
	api("POST", "/api/v1/bookings", "zhangsan", body("title", ""), 422, "title_required")
	api("POST", "/api/v1/bookings", "zhangsan", body("room_id", ""), 0, "")
	for _, id := range []string{"nope", "../../etc/passwd", "\x00", long, "会议", scriptIn} {
		api("POST", "/api/v1/bookings", "zhangsan", body("room_id", id), 0, "")
	}
	for _, v := range []string{"明天", "2026-02-30T09:00:00+08:00", "0000-01-01T09:00:00Z", "17/04/2023 09:00", "2023-04-17T25:00:00Z", long} {
		api("POST", "/api/v1/bookings", "zhangsan", body("start", v), 0, "")
	}
	api("POST", "/api/v1/bookings", "zhangsan", body("start", "9998-12-31T09:00:00Z", "end", "9998-12-31T10:00:00Z"), 422, "too_far_ahead")
	api("POST", "/api/v1/bookings", "zhangsan", body("start", "9999-12-31T09:00:00Z", "end", "9999-12-31T10:00:00Z"), 400, "bad_request")
	api("POST", "/api/v1/bookings", "zhangsan", body("start", "2020-01-01T09:00:00Z", "end", "2020-01-01T10:00:00Z"), 422, "start_in_past")
	api("POST", "/api/v1/bookings", "zhangsan", body("end", at(3, 8, 0)), 422, "end_before_start")
	api("POST", "/api/v1/bookings", "zhangsan", body("end", at(3, 9, 0)), 422, "end_before_start")
	api("POST", "/api/v1/bookings", "zhangsan", body("end", at(3+700, 9, 0)), 422, "")
	api("POST", "/api/v1/bookings", "zhangsan", body("title", "a\x00b"), 422, "")
	api("POST", "/api/v1/bookings", "zhangsan", body("title", "a\x1b[31mb"), 422, "")
	api("POST", "/api/v1/bookings", "zhangsan", body("title", scriptIn, "end", at(3, 8, 0)), 422, "")
	api("POST", "/api/v1/bookings", "zhangsan", body("title", strings.Repeat("长", 1000)), 422, "")
	api("POST", "/api/v1/bookings", "zhangsan", body("description", strings.Repeat("长", 100000)), 0, "")
	api("POST", "/api/v1/bookings", "zhangsan", body("attendees", `["nobody-here"]`), 0, "")
	api("POST", "/api/v1/bookings", "zhangsan", body("attendees", `["`+scriptIn+`"]`), 0, "")
	api("POST", "/api/v1/bookings", "zhangsan", body("attendees", `["li\u0000si"]`), 0, "")
	people := make([]string, 5000)
	for i := range people {
		people[i] = fmt.Sprintf("user%d", i)
	}
	peopleJSON, _ := json.Marshal(people)
	api("POST", "/api/v1/bookings", "zhangsan", body("attendees", string(peopleJSON)), 422, "")
	api("POST", "/api/v1/bookings", "zhangsan", `{"title":`+strings.Repeat("[", 20000)+`}`, 400, "bad_request")
	api("POST", "/api/v1/bookings", "zhangsan", "\ufeff"+body(), 400, "bad_request")
	api("POST", "/api/v1/bookings", "zhangsan", body("rrule", "bogus"), 422, "")
	api("POST", "/api/v1/bookings", "zhangsan", body("rrule", "FREQ=DAILY;UNTIL=00000101T000000Z"), 422, "")
	api("POST", "/api/v1/bookings", "zhangsan", body("rrule", "FREQ=DAILY;UNTIL=20200101"), 422, "rrule_ends_before_start")
	api("POST", "/api/v1/bookings", "zhangsan", body("rrule", "FREQ=DAILY;COUNT=3", "on_conflict", "bogus"), 0, "")
	api("POST", "/api/v1/bookings", "zhangsan", body("on_conflict", "skip"), 400, "")
	api("POST", "/api/v1/bookings", "zhangsan", huge, 413, "too_large")
	cs = append(cs,
		badCase{name: "POST booking as text/plain", method: "POST", path: "/api/v1/bookings", user: "zhangsan", body: body(), ctype: "text/plain", want: 403, code: "csrf"},
		badCase{name: "POST booking as a form", method: "POST", path: "/api/v1/bookings", user: "zhangsan", body: "room_id=duowei", ctype: "application/x-www-form-urlencoded", want: 403, code: "csrf"},
		badCase{name: "POST booking without a content type", method: "POST", path: "/api/v1/bookings", user: "zhangsan", body: body(), want: 403, code: "csrf"},
		badCase{name: "POST booking with a bad Idempotency-Key", method: "POST", path: "/api/v1/bookings", user: "zhangsan", body: body("end", at(3, 8, 0)), ctype: "application/json",
			header: []string{"Idempotency-Key", long}, want: 0},
		badCase{name: "POST booking with a key too long", method: "POST", path: "/api/v1/bookings", user: "zhangsan", body: body("start", at(4, 9, 0), "end", at(4, 10, 0)), ctype: "application/json",
			header: []string{"Idempotency-Key", long}, want: 422, code: "bad_idempotency_key"},
		badCase{name: "POST booking with a key not in UTF-8", method: "POST", path: "/api/v1/bookings", user: "zhangsan", body: body("start", at(4, 9, 0), "end", at(4, 10, 0)), ctype: "application/json",
			header: []string{"Idempotency-Key", "k\xff\xfe"}, want: 422, code: "bad_idempotency_key"},
		badCase{name: "series with a key not in UTF-8", method: "POST", path: "/api/v1/bookings", user: "zhangsan", body: body("start", at(4, 9, 0), "end", at(4, 10, 0), "rrule", "FREQ=DAILY;COUNT=2"), ctype: "application/json",
			header: []string{"Idempotency-Key", "k\xff\xfe"}, want: 422, code: "bad_idempotency_key"},
		badCase{name: "POST booking as a user not in UTF-8", method: "POST", path: "/api/v1/bookings", user: "li\xffsi", body: body(), ctype: "application/json", want: 0},
		badCase{name: "GET booking as a user not in UTF-8", method: "GET", path: "/api/v1/bookings", user: "li\xffsi", want: 0},
		badCase{name: "POST booking anonymous", method: "POST", path: "/api/v1/bookings", body: body(), ctype: "application/json", want: 401},
		badCase{name: "POST booking as an unknown user", method: "POST", path: "/api/v1/bookings", user: "nobody-here", body: body(), ctype: "application/json", want: 0},
		badCase{name: "POST booking as a user with markup", method: "POST", path: "/api/v1/bookings", user: scriptIn, body: body(), ctype: "application/json", want: 0},
	)

	// GET, PATCH, DELETE /api/v1/bookings/{id}.
	for _, id := range odd {
		get("/api/v1/bookings/"+id, "zhangsan", 404, "")
		api("PATCH", "/api/v1/bookings/"+id, "zhangsan", `{"title":"x"}`, 404, "")
		api("DELETE", "/api/v1/bookings/"+id, "zhangsan", ``, 404, "")
	}
	bk := "/api/v1/bookings/" + bookingID
	get(bk, "lisi", 404, "")
	api("PATCH", bk, "lisi", `{"title":"x"}`, 404, "")
	api("DELETE", bk, "lisi", ``, 404, "")
	get(bk+"?wait=abc", "zhangsan", 400, "bad_request")
	get(bk+"?wait=-3s", "zhangsan", 400, "bad_request")
	tolerate("GET", bk+"?wait=99999h", "zhangsan")
	for _, m := range malformed {
		api("PATCH", bk, "zhangsan", m.body, 400, "bad_request")
	}
	api("PATCH", bk, "zhangsan", ``, 400, "bad_request")
	api("PATCH", bk, "zhangsan", `{"title":42}`, 400, "bad_request")
	api("PATCH", bk, "zhangsan", `{"attendees":"lisi"}`, 400, "bad_request")
	api("PATCH", bk, "zhangsan", `{"title":""}`, 422, "title_required")
	api("PATCH", bk, "zhangsan", `{"title":"a\u0000b"}`, 422, "")
	api("PATCH", bk, "zhangsan", `{"start":"abc"}`, 400, "bad_request")
	api("PATCH", bk, "zhangsan", `{"start":"2026-02-30T09:00:00+08:00"}`, 400, "bad_request")
	api("PATCH", bk, "zhangsan", `{"end":"`+at(2, 18, 0)+`"}`, 422, "end_before_start")
	api("PATCH", bk, "zhangsan", `{"end":"`+at(2+700, 18, 0)+`"}`, 422, "")
	api("PATCH", bk, "zhangsan", `{"start":"9998-12-31T09:00:00Z","end":"9998-12-31T10:00:00Z"}`, 422, "too_far_ahead")
	api("PATCH", bk, "zhangsan", `{"start":"9999-12-31T09:00:00Z","end":"9999-12-31T10:00:00Z"}`, 400, "bad_request")
	api("PATCH", bk, "zhangsan", `{"room_id":"nope"}`, 404, "")
	api("PATCH", bk, "zhangsan", `{"room_id":"`+scriptIn+`"}`, 404, "")
	api("PATCH", bk, "zhangsan", `{"on_conflict":"bogus"}`, 422, "")
	api("PATCH", bk+"?scope=bogus", "zhangsan", `{"title":"x"}`, 0, "")
	api("PATCH", bk+"?scope=all", "zhangsan", `{"title":"x"}`, 0, "")
	api("PATCH", bk, "zhangsan", huge, 413, "too_large")
	cs = append(cs, badCase{name: "PATCH booking as text/plain", method: "PATCH", path: bk, user: "zhangsan", body: `{"title":"x"}`, ctype: "text/plain", want: 400, code: "bad_request"})
	api("DELETE", bk+"?scope=bogus", "zhangsan", ``, 0, "")
	api("DELETE", bk+"?scope=all", "zhangsan", ``, 0, "")
	api("DELETE", bk+"?scope=following", "zhangsan", ``, 0, "")
	api("DELETE", bk+"?scope=this", "lisi", ``, 404, "")

	// Feed tokens.
	for _, m := range malformed {
		api("POST", "/api/v1/feed-tokens", "zhangsan", m.body, 400, "bad_request")
	}
	api("POST", "/api/v1/feed-tokens", "zhangsan", `{"label":42}`, 400, "bad_request")
	api("POST", "/api/v1/feed-tokens", "zhangsan", `{"label":["a"]}`, 400, "bad_request")
	api("POST", "/api/v1/feed-tokens", "zhangsan", `{"label":"a\u0000b"}`, 0, "")
	api("POST", "/api/v1/feed-tokens", "zhangsan", `{"label":"`+strings.Repeat("长", 1000)+`"}`, 0, "")
	api("POST", "/api/v1/feed-tokens", "zhangsan", huge, 413, "too_large")
	cs = append(cs, badCase{name: "POST feed token as text/plain", method: "POST", path: "/api/v1/feed-tokens", user: "zhangsan", body: `{}`, ctype: "text/plain", want: 403})
	for _, id := range odd {
		api("POST", "/api/v1/feed-tokens/"+id+"/rotate", "zhangsan", `{}`, 404, "")
		api("DELETE", "/api/v1/feed-tokens/"+id, "zhangsan", ``, 404, "")
	}
	api("POST", "/api/v1/feed-tokens/"+tokenID+"/rotate", "lisi", `{}`, 404, "")
	api("DELETE", "/api/v1/feed-tokens/"+tokenID, "lisi", ``, 404, "")
	tolerate("GET", "/api/v1/feed-tokens?limit=-1", "zhangsan")

	// Admin API.
	for _, m := range malformed {
		api("POST", "/api/v1/sync", "admin", m.body, 400, "bad_request")
	}
	api("POST", "/api/v1/sync", "admin", `{"force":"yes"}`, 400, "bad_request")
	api("POST", "/api/v1/sync", "zhangsan", `{}`, 403, "")
	tolerate("GET", "/api/v1/admin/status?x=%00", "admin")
	get("/api/v1/admin/status", "zhangsan", 403, "")
	get("/api/v1/conflicts?status=bogus", "admin", 400, "")
	get("/api/v1/conflicts?kind=%00", "admin", 400, "")
	tolerate("GET", "/api/v1/conflicts?office=%00&reservation="+long+"&limit=-1&page=-3", "admin")
	get("/api/v1/conflicts", "zhangsan", 403, "")
	for _, id := range odd {
		get("/api/v1/conflicts/"+id, "admin", 404, "")
		api("POST", "/api/v1/conflicts/"+id+"/resolve", "admin", `{"action":"dismiss","note":"x"}`, 404, "")
	}
	res := "/api/v1/conflicts/" + conflictID + "/resolve"
	for _, m := range malformed {
		api("POST", res, "admin", m.body, 400, "bad_request")
	}
	api("POST", res, "admin", `{}`, 0, "")
	api("POST", res, "admin", `{"action":42}`, 400, "bad_request")
	api("POST", res, "admin", `{"action":"bogus"}`, 0, "")
	api("POST", res, "admin", `{"action":"keep","keep":"bogus"}`, 0, "")
	api("POST", res, "admin", `{"action":"keep","keep":"oa","reservation":"nope"}`, 0, "")
	api("POST", res, "admin", `{"action":"move","reservation":"nope","room_id":"nope"}`, 0, "")
	api("POST", res, "admin", `{"action":"move","room_id":"`+scriptIn+`"}`, 0, "")
	api("POST", res, "admin", `{"action":"dismiss","note":"a\u0000b"}`, 0, "")
	api("POST", res, "admin", `{"action":"dismiss","note":"`+strings.Repeat("长", 5000)+`"}`, 0, "")
	api("POST", res, "admin", `{"action":"dismiss"}`, 0, "")
	api("POST", res, "zhangsan", `{"action":"dismiss","note":"x"}`, 403, "")

	// Pages.
	tolerate("GET", "/?room=nope&date=2026-02-30&start=99:99&end=abc&title="+q(scriptIn), "zhangsan")
	tolerate("GET", "/?date=0000-00-00&attendees="+q(scriptIn), "zhangsan")
	tolerate("GET", "/bookings?from=abc&page=-3", "zhangsan")
	for _, id := range odd {
		get("/bookings/"+id, "zhangsan", 404, "")
		get("/bookings/"+id+"/edit", "zhangsan", 404, "")
		get("/bookings/"+id+"/cancel", "zhangsan", 404, "")
		form("/bookings/"+id+"/edit", "zhangsan", url.Values{"title": {"x"}}, 404)
		form("/bookings/"+id+"/cancel", "zhangsan", url.Values{}, 404)
	}
	get("/bookings/"+bookingID, "lisi", 404, "")
	tolerate("GET", "/bookings/"+bookingID+"?moved_from="+q(scriptIn), "zhangsan")
	get("/grid?date=2026-02-30", "zhangsan", 0, "")
	get("/grid?date=abc", "zhangsan", 0, "")
	get("/grid?date=0000-01-01", "zhangsan", 0, "")
	get("/grid?date=9999-12-31", "zhangsan", 0, "")
	tolerate("GET", "/grid?date=9998-12-31", "zhangsan")
	get("/grid?office=%00", "zhangsan", 404, "")
	get("/grid?office="+q(scriptIn), "zhangsan", 404, "")
	get("/find?date="+day+"&start=09:00&duration=60&capacity=-1", "zhangsan", 0, "")
	get("/find?date="+day+"&start=09:00&duration=0", "zhangsan", 0, "")
	get("/find?date="+day+"&start=09:00&duration=5256000", "zhangsan", 0, "")
	get("/find?date="+day+"&start=25:00&duration=60", "zhangsan", 0, "")
	get("/find?date=2026-02-30&start=09:00&duration=60", "zhangsan", 0, "")
	get("/find?date=0000-01-01&start=09:00&duration=60", "zhangsan", 0, "")
	get("/find?date=9999-12-31&start=09:00&duration=60", "zhangsan", 0, "")
	get("/find?date="+in.day(-1, 0, 0).Format(time.DateOnly)+"&start=09:00&duration=60", "zhangsan", 422, "")
	get("/find?date="+day+"&start=09:00&duration=60&office="+q(scriptIn), "zhangsan", 0, "")
	get("/lang?to=xx", "zhangsan", 400, "")
	tolerate("GET", "/lang?to=en&next=//evil.example", "")
	tolerate("GET", "/login?next=javascript:alert(1)", "")

	// A language nobody speaks, or garbage, is Chinese.
	for _, al := range []string{"xx", "*", ";;;,,,", "fr;q=2, zz", strings.Repeat("x-", 2000)} {
		cs = append(cs, badCase{name: "GET unknown booking, Accept-Language " + al[:min(len(al), 20)], method: "GET", path: "/api/v1/bookings/nope",
			user: "zhangsan", header: []string{"Accept-Language", al}, want: 404, code: "booking_not_found"})
	}

	// The booking form.
	csrf("/bookings", "zhangsan")
	good := func(changes ...string) url.Values {
		v := url.Values{"room_id": {"duowei"}, "date": {day}, "start": {"09:00"}, "end": {"10:00"}, "title": {"会"}}
		for i := 0; i+1 < len(changes); i += 2 {
			v.Set(changes[i], changes[i+1])
		}
		return v
	}
	form("/bookings", "zhangsan", url.Values{}, 422)
	many := good()
	many["attendees"] = people
	form("/bookings", "zhangsan", many, 422)
	for _, c := range [][]string{
		{"date", "2026-02-30"}, {"date", "0000-01-01"}, {"date", "9999-12-31"}, {"date", "17/04/2023"}, {"date", "2020-01-01"},
		{"start", "25:00"}, {"start", "9点"}, {"end", "08:00"}, {"end", "09:00"}, {"end", "23:59:60"},
		{"title", ""}, {"title", "a\x00b"}, {"title", "a\x1bb"}, {"title", strings.Repeat("长", 1000)},
		{"room_id", "nope"}, {"room_id", scriptIn}, {"room_id", long}, {"room_id", "\xff"},
		{"repeat", "bogus"}, {"repeat", "weekly", "weekdays", "XX"}, {"repeat", "daily", "count", "-3"}, {"repeat", "daily", "count", "100000"},
		{"repeat", "daily", "until", "0000-01-01"}, {"repeat", "daily", "until", "9999-12-31"}, {"repeat", "daily", "until", "abc"},
		{"attendees", "nobody-here"}, {"attendees", scriptIn},
		{"title", scriptIn, "date", "2026-02-30"},
	} {
		form("/bookings", "zhangsan", good(c...), 0)
	}
	cs = append(cs, badCase{name: "POST /bookings huge form", method: "POST", path: "/bookings", user: "zhangsan", body: "title=" + strings.Repeat("x", 2<<20),
		ctype: "application/x-www-form-urlencoded", form: true, want: 413})
	cs = append(cs, badCase{name: "POST /bookings as JSON", method: "POST", path: "/bookings", user: "zhangsan", body: `{"room_id":"duowei"}`,
		ctype: "application/json", form: true, want: 0})
	cs = append(cs, badCase{name: "POST /bookings bad form encoding", method: "POST", path: "/bookings", user: "zhangsan", body: "title=%zz&date=%",
		ctype: "application/x-www-form-urlencoded", form: true, want: 400})

	// Reschedule and cancel of zhangsan's booking.
	edit := "/bookings/" + bookingID + "/edit"
	csrf(edit, "zhangsan")
	csrf("/bookings/"+bookingID+"/cancel", "zhangsan")
	form(edit, "zhangsan", url.Values{}, 0)
	form(edit, "lisi", good(), 404)
	form("/bookings/"+bookingID+"/cancel", "lisi", url.Values{}, 404)
	form("/bookings/"+bookingID+"/cancel", "zhangsan", url.Values{"scope": {"bogus"}}, 0)
	for _, c := range [][]string{{"date", "2026-02-30"}, {"start", "25:00"}, {"end", "08:00"}, {"title", ""}, {"title", "a\x00b"}, {"room_id", "nope"}, {"scope", "bogus"}, {"date", "9999-12-31"}} {
		form(edit, "zhangsan", good(c...), 0)
	}

	// Subscribe page and forms.
	tolerate("GET", "/subscribe?done="+q(scriptIn), "zhangsan")
	csrf("/subscribe", "zhangsan")
	form("/subscribe", "zhangsan", url.Values{"label": {"a\x00b"}}, 0)
	form("/subscribe", "zhangsan", url.Values{"label": {strings.Repeat("长", 1000)}}, 0)
	for _, id := range odd {
		form("/subscribe/"+id+"/rotate", "zhangsan", url.Values{}, 404)
		form("/subscribe/"+id+"/revoke", "zhangsan", url.Values{}, 404)
	}
	form("/subscribe/"+tokenID+"/rotate", "lisi", url.Values{}, 404)
	form("/subscribe/"+tokenID+"/revoke", "lisi", url.Values{}, 404)
	csrf("/subscribe/"+tokenID+"/revoke", "zhangsan")

	// Sign-in.
	csrf("/login", "")
	form("/login", "", url.Values{"user": {"nobody-here"}}, 0)
	form("/login", "", url.Values{"user": {scriptIn}}, 0)
	form("/login", "", url.Values{"user": {""}}, 0)
	form("/login", "", url.Values{"user": {"a\x00b"}}, 0)
	form("/login", "", url.Values{"user": {long}}, 0)
	csrf("/logout", "zhangsan")

	// Admin pages and actions.
	get("/admin", "zhangsan", 403, "")
	tolerate("GET", "/admin?page=-3", "admin")
	csrf("/admin/sync", "admin")
	form("/admin/sync", "zhangsan", url.Values{}, 403)
	get("/admin/conflicts?status=bogus", "admin", 400, "")
	get("/admin/conflicts?kind=bogus", "admin", 400, "")
	tolerate("GET", "/admin/conflicts?office=%00&reservation="+long, "admin")
	get("/admin/conflicts", "zhangsan", 403, "")
	for _, id := range odd {
		get("/admin/conflicts/"+id, "admin", 404, "")
		form("/admin/conflicts/"+id+"/resolve", "admin", url.Values{"action": {"dismiss"}, "note": {"x"}}, 404)
		form("/admin/outbox/"+id+"/retry", "admin", url.Values{}, 404)
	}
	cr := "/admin/conflicts/" + conflictID + "/resolve"
	csrf(cr, "admin")
	form(cr, "zhangsan", url.Values{"action": {"dismiss"}, "note": {"x"}}, 403)
	for _, v := range []url.Values{
		{}, {"action": {"bogus"}}, {"action": {"keep"}, "keep": {"bogus"}}, {"action": {"keep"}, "keep": {"oa"}, "reservation": {"nope"}},
		{"action": {"move"}, "room_id": {"nope"}}, {"action": {"move"}, "room_id": {scriptIn}}, {"action": {"dismiss"}},
		{"action": {"dismiss"}, "note": {"a\x00b"}}, {"action": {"dismiss"}, "note": {strings.Repeat("长", 5000)}},
	} {
		form(cr, "admin", v, 0)
	}
	get("/admin/cutover", "zhangsan", 403, "")
	cs = append(cs, badCase{name: "GET /admin/cutover with made-up counts", method: "GET", path: "/admin/cutover?started=-31337&failed=xyzzy&series=nope&series=%00",
		user: "admin", tolerated: true, absent: []string{"-31337", "xyzzy"}})
	tolerate("GET", "/admin/cutover?started="+q(scriptIn), "admin")
	csrf("/admin/cutover/migrate", "admin")
	form("/admin/cutover/migrate", "zhangsan", url.Values{}, 403)
	get("/admin/outbox", "zhangsan", 403, "")
	tolerate("GET", "/admin/outbox?page=-3&limit=-1", "admin")
	csrf("/admin/outbox/nope/retry", "admin")
	form("/admin/outbox/nope/retry", "zhangsan", url.Values{}, 403)
	get("/admin/audit", "zhangsan", 403, "")
	tolerate("GET", "/admin/audit?actor=%00&action="+q(scriptIn)+"&reservation="+long+"&limit=-1", "admin")
	get("/admin/rooms", "zhangsan", 403, "")
	csrf("/admin/rooms/refresh", "admin")
	form("/admin/rooms/refresh", "zhangsan", url.Values{}, 403)

	// Bytes that are not UTF-8, in queries and forms (MariaDB refuses to store them).
	for _, path := range []string{"/api/v1/rooms?office=%FF", "/grid?office=%FF", "/api/v1/availability?room=%FF"} {
		get(path, "zhangsan", 404, "")
	}
	tolerate("GET", "/api/v1/conflicts?office=%FF&reservation=%FF", "admin")
	tolerate("GET", "/admin/conflicts?office=%FF&reservation=%FF", "admin")
	tolerate("GET", "/admin/audit?actor=%FF&action=%FF&reservation=%FF", "admin")
	tolerate("GET", "/?room=%FF&office=%FF&title=%FF", "zhangsan")
	get("/find?date="+day+"&start=09:00&duration=60&office=%FF", "zhangsan", 0, "")
	for _, c := range [][]string{{"title", "a\xffb"}, {"description", "a\xffb"}, {"attendees", "li\xffsi"}, {"attendees", "\xff"}} {
		form("/bookings", "zhangsan", good(c...), 0)
		form(edit, "zhangsan", good(c...), 0)
	}
	form("/subscribe", "zhangsan", url.Values{"label": {"a\xffb"}}, 0)
	form(cr, "admin", url.Values{"action": {"dismiss"}, "note": {"a\xffb"}}, 0)
	form(cr, "admin", url.Values{"action": {"move"}, "room_id": {"\xff"}}, 0)
	form("/login", "", url.Values{"user": {"li\xffsi"}}, 0)

	// Feeds, anonymous.
	for _, id := range odd {
		get("/ical/"+id+"/all.ics", "", 404, "")
		get("/ical/"+id+"/me.ics", "", 404, "")
		get(feedBase+"/rooms/"+id+".ics", "", 404, "")
		get(feedBase+"/offices/"+id+".ics", "", 404, "")
	}
	get(feedBase+"/rooms/duowei", "", 404, "")
	get(feedBase+"/bogus.ics", "", 404, "")
	get("/ical/", "", 404, "")
	tolerate("GET", feedBase+"/all.ics?limit=-1&lang=xx", "")
	cs = append(cs, badCase{name: "POST feed", method: "POST", path: feedBase + "/all.ics", body: "x", ctype: "text/plain", want: 0})

	// Infrastructure and static files.
	for _, p := range []string{"/static/..%2F..%2Fgo.mod", "/static/%00", "/static/nope.css", "/static/" + long} {
		get(p, "", 404, "")
	}
	for _, p := range []string{"/healthz?x=%00", "/readyz?verbose=-1", "/metrics?name[]=%FF", "/favicon.ico?x=1"} {
		tolerate("GET", p, "")
	}
	cs = append(cs, badCase{name: "HEAD unknown booking", method: "HEAD", path: "/api/v1/bookings/nope", user: "zhangsan", want: 0})

	// Wrong methods and unknown paths.
	cs = append(cs,
		badCase{name: "PUT booking", method: "PUT", path: bk, user: "zhangsan", body: `{}`, ctype: "application/json", want: 405, code: "method_not_allowed"},
		badCase{name: "DELETE rooms", method: "DELETE", path: "/api/v1/rooms", user: "zhangsan", want: 405, code: "method_not_allowed"},
		badCase{name: "PUT admin conflicts", method: "PUT", path: "/admin/conflicts", user: "admin", want: 405},
		badCase{name: "DELETE a booking page", method: "DELETE", path: "/bookings/" + bookingID, user: "zhangsan", want: 405},
		badCase{name: "unknown admin page", method: "GET", path: "/admin/nope", user: "admin", want: 404},
		badCase{name: "unknown API path", method: "GET", path: "/api/v1/" + odd[1], user: "zhangsan", want: 404},
		badCase{name: "unknown page", method: "GET", path: "/nope/%00", user: "zhangsan", want: 404},
	)
	return cs
}

var hanRe = regexp.MustCompile(`\p{Han}`)

// checkBadCase sends tc in lang ("" for the default) and checks the answer.
func checkBadCase(t *testing.T, in *instance, tc badCase, lang, client string) {
	t.Helper()
	name := tc.name
	if len(name) > 160 {
		name = name[:160] + "…"
	}
	name = strings.ToValidUTF8(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, name), "?")
	if lang != "" {
		name += " [" + lang + "]"
	}
	req, err := http.NewRequest(tc.method, in.url+tc.path, strings.NewReader(tc.body))
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	if tc.user != "" {
		req.Header.Set("X-Forwarded-User", tc.user)
	}
	if tc.ctype != "" {
		req.Header.Set("Content-Type", tc.ctype)
	}
	if tc.form {
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	req.Header.Set("X-Forwarded-For", client)
	for i := 0; i+1 < len(tc.header); i += 2 {
		req.Header.Set(tc.header[i], tc.header[i+1])
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	got := string(raw)
	short := got
	if len(short) > 600 {
		short = short[:600] + "…"
	}
	switch {
	case resp.StatusCode >= 500:
		t.Errorf("%s = %d, want a 4xx\n%s", name, resp.StatusCode, short)
		return
	case tc.tolerated:
	case tc.want != 0 && resp.StatusCode != tc.want:
		t.Errorf("%s = %d, want %d\n%s", name, resp.StatusCode, tc.want, short)
	case resp.StatusCode < 400:
		t.Errorf("%s = %d, want a 4xx\n%s", name, resp.StatusCode, short)
	}
	if stackRe.MatchString(got) {
		t.Errorf("%s: the answer shows a stack trace or source location\n%s", name, short)
	}
	if strings.Contains(got, scriptIn) {
		t.Errorf("%s: the answer repeats markup unescaped\n%s", name, short)
	}
	// Links may carry the request back (the language switch returns to it); the text may not.
	text := hrefRe.ReplaceAllString(got, "")
	for _, a := range tc.absent {
		if strings.Contains(text, a) {
			t.Errorf("%s: the answer shows %q from the request", name, a)
		}
	}
	if resp.StatusCode < 400 || tc.method == "HEAD" {
		return
	}
	ct := resp.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(tc.path, "/ical/"):
		if !strings.HasPrefix(ct, "text/plain") || strings.TrimSpace(got) == "" {
			t.Errorf("%s: feed error = %q %q, want plain text", name, ct, short)
		}
	case strings.HasPrefix(tc.path, "/api/"):
		var e struct {
			Error *struct{ Code, Message string } `json:"error"`
		}
		if !strings.HasPrefix(ct, "application/json") || json.Unmarshal(raw, &e) != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Errorf("%s: API error = %q %s, want the error envelope with a code and a message", name, ct, short)
			return
		}
		if tc.code != "" && e.Error.Code != tc.code {
			t.Errorf("%s: code %q, want %q (%s)", name, e.Error.Code, tc.code, e.Error.Message)
		}
		checkLanguage(t, name, lang, e.Error.Message)
	default:
		if !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: page error = %q %s, want HTML", name, ct, short)
			return
		}
		wantTag := `<html lang="zh-CN"`
		if lang == "en" {
			wantTag = `<html lang="en"`
		}
		if !strings.Contains(got, wantTag) {
			t.Errorf("%s: page is not in %q", name, wantTag)
		}
		if !strings.Contains(got, `class="outcome error"`) && !strings.Contains(got, `role="alert"`) && !strings.Contains(got, `class="field-error"`) {
			t.Errorf("%s = %d: the page shows no error message\n%s", name, resp.StatusCode, short)
		}
	}
}

// checkLanguage: a Chinese message has Chinese in it, an English one none (except what
// it quotes from the request).
func checkLanguage(t *testing.T, name, lang, msg string) {
	t.Helper()
	if lang == "en" {
		if hanRe.MatchString(msg) && !strings.Contains(msg, "会议") && !strings.Contains(msg, "长") {
			t.Errorf("%s: message %q is not in English", name, msg)
		}
		return
	}
	if !hanRe.MatchString(msg) {
		t.Errorf("%s: message %q is not in Chinese", name, msg)
	}
}

// TestBadSignInDingTalk: the DingTalk sign-in routes refuse made-up, odd and missing codes
// and states with a 4xx page in the caller's language, never a 5xx (the code goes to the
// DingTalk fake, which refuses it as DingTalk would).
func TestBadSignInDingTalk(t *testing.T) {
	in := dingTalkInstance(t)
	long := strings.Repeat("c", 3000)
	var cs []badCase
	for _, q := range []string{"", "?authCode=x", "?state=x", "?authCode=x&state=x", "?authCode=%00&state=%FF", "?authCode=" + long + "&state=" + long} {
		cs = append(cs, badCase{name: "GET /auth/dingtalk/callback" + q, method: "GET", path: "/auth/dingtalk/callback" + q, want: 403})
	}
	cs = append(cs, badCase{name: "callback with a made-up state cookie", method: "GET", path: "/auth/dingtalk/callback?authCode=x&state=y",
		header: []string{"Cookie", "rb_login_state=z|/"}, want: 403})
	for _, code := range []string{"", "made-up", "../../x", "a\x00b", "\xff\xfe", long, scriptIn} {
		cs = append(cs, badCase{name: "POST /auth/dingtalk/inapp code=" + code, method: "POST", path: "/auth/dingtalk/inapp",
			body: url.Values{"code": {code}, "next": {"//evil.example"}}.Encode(), ctype: "application/x-www-form-urlencoded", form: true, want: 0})
	}
	cs = append(cs, badCase{name: "POST /auth/dingtalk/inapp without CSRF", method: "POST", path: "/auth/dingtalk/inapp",
		body: "code=x", ctype: "application/x-www-form-urlencoded", want: 403})
	cs = append(cs, badCase{name: "GET /login?next=javascript:", method: "GET", path: "/login?next=javascript:alert(1)&browser=%00", tolerated: true})
	for i, tc := range cs {
		for j, lang := range []string{"", "en"} {
			checkBadCase(t, in, tc, lang, fmt.Sprintf("10.2.%d.%d", (2*i+j)/250, (2*i+j)%250+1))
		}
	}
}
