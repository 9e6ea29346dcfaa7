package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// axeScript returns axe-core's axe.min.js (ROOMBRIDGE_AXE, or tools/axe as
// scripts/ensure-axe.sh installs it), or skips (fails under ROOMBRIDGE_BROWSER_REQUIRED=1).
func axeScript(t *testing.T) string {
	t.Helper()
	axe := axeIfInstalled(t)
	if axe == "" {
		t.Skip("no axe-core; run scripts/ensure-axe.sh or make test")
	}
	return axe
}

// axeIfInstalled is axeScript returning "" instead of skipping, for a test that checks
// more than accessibility.
func axeIfInstalled(t *testing.T) string {
	t.Helper()
	path := os.Getenv("ROOMBRIDGE_AXE")
	if path == "" {
		path = filepath.Join("..", "..", "tools", "axe", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil && os.Getenv("ROOMBRIDGE_BROWSER_REQUIRED") == "1" {
		t.Fatalf("axe-core is required: %v; run scripts/ensure-axe.sh", err)
	}
	return string(b)
}

// axeViolation is the part of an axe-core result the test reports.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// TestBrowserAccessibility runs axe-core in Chromium on every page, in Chinese and in
// English (at phone width, where the most is folded and wrapped), and fails on any serious
// or critical violation.
func TestBrowserAccessibility(t *testing.T) {
	axe := axeScript(t)
	in := start(t, nil)
	day := in.day(1, 0, 0).Format("2006-01-02")
	// A booking of zhangsan's (for its page, edit and cancel) and one that was refused.
	r := in.do("POST", in.url+"/api/v1/bookings", "zhangsan", strings.NewReader(bookingBody("sk-xiaoyao", "无障碍检查", in.day(1, 9, 0), time.Hour)))
	var b booking
	r.json(t, &b)
	in.settle("zhangsan", b.ID)
	pages := []struct{ user, path, wait string }{
		{"", "/login", "main"},
		{"zhangsan", "/", "#booking-form"},
		{"zhangsan", "/?room=duowei&date=" + day + "&start=11:00&end=12:00", "#timeline .track"},
		{"zhangsan", "/find", "#find-form"},
		{"zhangsan", "/find?date=" + day + "&start=14:00&duration=60&capacity=8", ".results"},
		{"zhangsan", "/find?date=x&start=y&capacity=z", "#find-form"},
		{"zhangsan", "/grid?office=bj-shoukai&date=" + day, ".grid"},
		{"zhangsan", "/bookings", "main"},
		{"zhangsan", "/bookings/" + b.ID, ".outcome"},
		{"zhangsan", "/bookings/" + b.ID + "/edit", "#booking-form"},
		{"zhangsan", "/bookings/" + b.ID + "/cancel", "main"},
		{"zhangsan", "/subscribe", "main"},
		{"zhangsan", "/bookings/nope", "main"}, // the error page
		{"admin", "/admin", "main"},
		{"admin", "/admin/conflicts", "main"},
		{"admin", "/admin/cutover", "main"},
		{"admin", "/admin/outbox", "main"},
		{"admin", "/admin/audit", "main"},
		{"admin", "/admin/rooms", "main"},
	}
	for _, lang := range []string{"zh", "en"} {
		for _, size := range []struct {
			name          string
			width, height int
		}{{"phone", 412, 915}} {
			t.Run(lang+"/"+size.name, func(t *testing.T) {
				ctx := browser(t, size.width, size.height, map[string]string{"zh": "zh-CN", "en": "en-US"}[lang])
				signedIn := ""
				for _, p := range pages {
					if p.user != "" && p.user != signedIn {
						if err := chromedp.Do(ctx,
							chromedp.Navigate(in.url+"/login"),
							chromedp.Click(chromedp.CSS(`button[name="user"][value="`+p.user+`"]`)),
							chromedp.WaitVisible(chromedp.CSS(`#booking-form`)),
							chromedp.Navigate(in.url+"/lang?to="+lang+"&next=/"),
						); err != nil {
							t.Fatalf("sign in as %s: %v", p.user, err)
						}
						signedIn = p.user
					}
					if p.path == "/login" {
						if err := chromedp.Do(ctx, chromedp.Navigate(in.url+"/lang?to="+lang+"&next=/login")); err != nil {
							t.Fatal(err)
						}
					}
					if err := chromedp.Do(ctx, chromedp.Navigate(in.url+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait))); err != nil {
						t.Fatalf("open %s: %v", p.path, err)
					}
					htmlLang, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
					if !strings.HasPrefix(htmlLang, lang) {
						t.Errorf("%s: <html lang=%q>, want %s", p.path, htmlLang, lang)
					}
					// Tap targets: at least 44 px tall (links inside running text aside).
					small, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(
						'header a, .button, button, select, input:not([type=checkbox]):not([type=hidden]), summary, a.block.free, .row-actions a, .suggest a, .check')]
						.filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 43.5)
						.map(e => e.outerHTML.slice(0, 120) + ' ' + Math.round(e.getBoundingClientRect().height) + 'px')`))
					if err != nil || len(small) > 0 {
						t.Errorf("%s: tap targets under 44 px (%v):\n  %s", p.path, err, strings.Join(small, "\n  "))
					}
					if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axe+";true")); err != nil {
						t.Fatalf("load axe-core into %s: %v", p.path, err)
					}
					out, err := chromedp.Run(ctx, chromedp.Evaluate[string](
						`axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
					if err != nil {
						t.Fatalf("axe.run on %s: %v", p.path, err)
					}
					var vs []axeViolation
					if err := json.Unmarshal([]byte(out), &vs); err != nil {
						t.Fatalf("axe result for %s: %v", p.path, err)
					}
					for _, v := range vs {
						if v.Impact != "serious" && v.Impact != "critical" {
							continue
						}
						var where []string
						for i, n := range v.Nodes {
							if i == 3 {
								where = append(where, fmt.Sprintf("… %d more", len(v.Nodes)-3))
								break
							}
							where = append(where, fmt.Sprint(n.Target)+" "+n.HTML)
						}
						t.Errorf("%s (%s): %s %s: %s\n  %s", p.path, p.user, v.Impact, v.ID, v.Help, strings.Join(where, "\n  "))
					}
				}
			})
		}
	}
}
