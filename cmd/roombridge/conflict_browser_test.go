package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserResolvesConflict: on a 412 px phone, an admin opens the conflicts queue,
// the conflict of two native bookings of one room, keeps the suggested side and sees
// the conflict resolved; the pages never scroll sideways and /admin keeps the cutover
// dates on one line.
func TestBrowserResolvesConflict(t *testing.T) {
	in := start(t, nil)
	oaID, dtID := in.nativePair(t, in.day(2, 8, 0), "手机上处理")
	in.sync(t)
	cs := in.conflictsWith(t, oaID)
	if len(cs) != 1 {
		t.Fatalf("conflicts = %+v, want one", cs)
	}
	c := cs[0]

	ctx := browserContext(t, "")

	noSideways := func(page string) {
		t.Helper()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth + 1`))
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Errorf("%s scrolls sideways at 412 px", page)
		}
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(in.url+"/login"),
		chromedp.Click(chromedp.CSS(`button[name="user"][value="admin"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#booking-form`)),
		chromedp.Navigate(in.url+"/admin"),
		chromedp.WaitVisible(chromedp.CSS(`.details .nowrap`)),
	); err != nil {
		t.Fatalf("open /admin: %v\n%s", err, in.stderr)
	}
	dateHeight, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector('.details .nowrap').getBoundingClientRect().height`))
	if err != nil {
		t.Fatal(err)
	}
	if dateHeight > 30 {
		t.Errorf("the cutover date on /admin is %.0f px tall at 412 px, want one line", dateHeight)
	}
	noSideways("/admin")

	if err := chromedp.Do(ctx,
		chromedp.Navigate(in.url+"/admin/conflicts"),
		chromedp.Click(chromedp.CSS(`a[href="/admin/conflicts/`+c.ID+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button.keep[data-keep="`+c.Suggestion.Keep+`"]`)),
	); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		t.Fatalf("open the conflict: %v\npage: %s", err, page)
	}
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, "重复预订") || !strings.Contains(page, "建议保留") {
		t.Errorf("conflict page lacks the kind or the suggestion:\n%s", page)
	}
	noSideways("the conflict page")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button.keep[data-keep="`+c.Suggestion.Keep+`"]`)),
		// The page the form lands on offers no resolution while one runs or once closed.
		chromedp.WaitNotPresent(chromedp.CSS(`button.keep`)),
		chromedp.WaitVisible(chromedp.CSS(`#conflict-status`)),
	); err != nil {
		t.Fatalf("keep: %v\n%s", err, in.stderr)
	}
	status := ""
	for i := 0; i < 100 && !strings.Contains(status, "已解决"); i++ {
		if err := chromedp.Do(ctx, chromedp.Navigate(in.url+"/admin/conflicts/"+c.ID)); err != nil {
			continue // a load cut short by the previous one; try again (bounded)
		}
		if status, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#conflict-status`))); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(status, "已解决") {
		t.Fatalf("conflict status = %q, want 已解决\n%s", status, in.stderr)
	}
	var events []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	in.do("GET", in.dtURL+"/_fake/events", "", nil).json(t, &events)
	for _, e := range events {
		if e.ID == dtID && e.Status != "cancelled" {
			t.Errorf("the DingTalk side = %+v after keeping the OA side, want cancelled", e)
		}
	}
	for _, p := range []string{"/admin/conflicts?status=resolved", "/admin/cutover", "/admin/outbox", "/admin/audit", "/admin/rooms"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(in.url+p), chromedp.WaitVisible(chromedp.CSS(`main h1`))); err != nil {
			t.Fatalf("open %s: %v", p, err)
		}
		noSideways(p)
	}
}
