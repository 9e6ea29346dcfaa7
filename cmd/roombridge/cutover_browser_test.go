package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestBrowserCutoverResplit: on a 412 px phone, an admin (signed in by the SSO proxy's
// header) opens /admin/cutover with a series split at another cutover, sees its
// occurrence in the wrong system without scrolling sideways and without serious
// accessibility violations (when axe-core is installed), taps "migrate all" and reads
// what the re-split did to the series.
func TestBrowserCutoverResplit(t *testing.T) {
	ctx := browser(t, 412, 915, "en")
	in, _, s := splitAtAnotherCutover(t, "sqlite")
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"X-Forwarded-User": "admin"}}); err != nil {
		t.Fatal(err)
	}
	fail := func(step string, err error) {
		t.Helper()
		page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		t.Fatalf("%s: %v\npage: %s\nserver log:\n%s", step, err, page, in.stderr)
	}
	series := `li[data-resplit="` + s.SeriesID + `"]`
	if err := chromedp.Do(ctx, chromedp.Navigate(in.url+"/admin/cutover"), chromedp.WaitVisible(chromedp.CSS(series))); err != nil {
		fail("open /admin/cutover", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(series)))
	if err != nil || !strings.Contains(text, in.day(8, 18, 0).Format("2006-01-02")) || !strings.Contains(text, "DingTalk → OA (Seeyon)") {
		t.Errorf("series on /admin/cutover = %q, %v; want the day 8 occurrence DingTalk → OA", text, err)
	}
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth + 1`)); err != nil || !ok {
		t.Errorf("/admin/cutover scrolls sideways at 412 px (%v)", err)
	}
	if axe := axeIfInstalled(t); axe != "" {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axe+";true")); err != nil {
			t.Fatalf("load axe-core: %v", err)
		}
		out, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
		var vs []axeViolation
		if err == nil {
			err = json.Unmarshal([]byte(out), &vs)
		}
		if err != nil {
			t.Fatalf("axe.run: %v", err)
		}
		for _, v := range vs {
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Errorf("/admin/cutover: %s %s: %s %+v", v.Impact, v.ID, v.Help, v.Nodes)
			}
		}
	}
	done := `li[data-resplit-done="` + s.SeriesID + `"]`
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#migrate-all`)), chromedp.WaitVisible(chromedp.CSS(done))); err != nil {
		fail("migrate all", err)
	}
	if text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(done))); err != nil || !strings.Contains(text, "周例会") || !strings.Contains(text, "moved 1 meetings") {
		t.Errorf("outcome on /admin/cutover = %q, %v; want 周例会 moved, one meeting", text, err)
	}
}
