package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium returns Debian's chromium, or skips (fails when ROOMBRIDGE_BROWSER_REQUIRED=1,
// as make test sets it).
func chromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv("ROOMBRIDGE_CHROMIUM")
	if path == "" {
		path, _ = exec.LookPath("chromium")
	}
	if path == "" {
		if os.Getenv("ROOMBRIDGE_BROWSER_REQUIRED") == "1" {
			t.Fatal("chromium is required (ROOMBRIDGE_BROWSER_REQUIRED=1) but not found; run scripts/ensure-chromium.sh")
		}
		t.Skip("no chromium; run scripts/ensure-chromium.sh or make test")
	}
	return path
}

// TestBrowserBooksThroughTheForm signs in, books tomorrow's slot through the real form
// in headless Chromium, and sees the confirmed outcome and the booking in "my bookings".
func TestBrowserBooksThroughTheForm(t *testing.T) {
	in := start(t, nil)
	ctx := browserContext(t, "")

	day := in.day(1, 0, 0).Format("2006-01-02")
	err := chromedp.Do(ctx,
		chromedp.Navigate(in.url+"/login"),
		chromedp.Click(chromedp.CSS(`button[name="user"][value="zhangsan"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#booking-form`)),
		fillSlot("bj-shoukai", "sk-xiaoyao", day, "13:00", "14:00"),
		chromedp.SendKeys(chromedp.CSS(`#title`), "浏览器里的周会"),
	)
	if err != nil {
		t.Fatalf("fill in the form: %v\nserver log:\n%s", err, in.stderr)
	}
	// The script reacts to input events; SetValue sets values without them.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`['office','room_id','date','start','end'].every(id => document.getElementById(id).dispatchEvent(new Event('change', {bubbles: true})))`)); err != nil {
		t.Fatalf("notify the form: %v", err)
	}
	// Before submitting, the live line says where the booking goes.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById('route').innerText.includes('OA')`, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		route, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#route`)))
		t.Fatalf("route line never named the OA: %v (%q)", err, route)
	}
	route, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#route`)))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#booking-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`section.outcome.confirmed`)),
	); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		t.Fatalf("submit: %v\npage: %s\nserver log:\n%s", err, page, in.stderr)
	}
	outcome, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`section.outcome`)))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(in.url+"/bookings")); err != nil {
		t.Fatal(err)
	}
	mine, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(route, "OA") {
		t.Errorf("route line = %q, want it to name the OA", route)
	}
	if !strings.Contains(outcome, "预订成功") {
		t.Errorf("outcome = %q, want 预订成功", outcome)
	}
	if !strings.Contains(mine, "浏览器里的周会") {
		t.Errorf("my bookings page lacks the new booking: %q", mine)
	}
}

// TestBrowserBooksASeries fills in a weekly series in the form across the demo cutover:
// before submitting, the form lists each occurrence with the system it goes to and marks
// the two the demo's own bookings hold (one in each system); booked with "skip", my
// bookings show the series once.
func TestBrowserBooksASeries(t *testing.T) {
	in := start(t, nil)
	in.sync(t) // the demo's native bookings are in the table
	ctx := browserContext(t, "")

	// Tomorrow 10:00 the OA holds 钉钉培训; a week later (the day after the cutover)
	// DingTalk holds 新系统周会; the third week is free.
	day := in.day(1, 0, 0).Format("2006-01-02")
	err := chromedp.Do(ctx,
		chromedp.Navigate(in.url+"/login"),
		chromedp.Click(chromedp.CSS(`button[name="user"][value="zhangsan"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#booking-form`)),
		fillSlot("bj-shoukai", "duowei", day, "10:00", "11:00"),
		chromedp.SetValue(chromedp.CSS(`#repeat`), "weekly"),
		chromedp.SetValue(chromedp.CSS(`#count`), "3"),
		chromedp.SendKeys(chromedp.CSS(`#title`), "浏览器里的周例会"),
	)
	if err != nil {
		t.Fatalf("fill in the form: %v\nserver log:\n%s", err, in.stderr)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`['office','room_id','date','start','end','repeat','count'].every(id => document.getElementById(id).dispatchEvent(new Event('change', {bubbles: true})))`)); err != nil {
		t.Fatalf("notify the form: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll('#plan li').length === 3`, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		plan, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#repeat-box`)))
		t.Fatalf("the form never listed 3 occurrences: %v (%q)", err, plan)
	}
	items, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#plan li')).map(li => li.className + '|' + li.querySelector('.sys').textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"taken|OA（致远）", "taken|钉钉", "free|钉钉"}
	if strings.Join(items, " ") != strings.Join(want, " ") {
		t.Errorf("planned occurrences = %v, want %v", items, want)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#on_conflict`)),
		chromedp.Click(chromedp.CSS(`#booking-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`details.series`)),
	); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		t.Fatalf("submit: %v\npage: %s\nserver log:\n%s", err, page, in.stderr)
	}
	mine, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(mine, "浏览器里的周例会") || !strings.Contains(mine, "重复预订，共 1 次") {
		t.Errorf("my bookings = %q, want the series once with its one free occurrence", mine)
	}
}

// fillSlot fills in the booking form's office, room, date and times.
func fillSlot(office, room, day, start, end string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.SetValue(chromedp.CSS(`#office`), office),
		chromedp.SetValue(chromedp.CSS(`#room_id`), room),
		chromedp.SetValue(chromedp.CSS(`#date`), day),
		chromedp.SetValue(chromedp.CSS(`#start`), start),
		chromedp.SetValue(chromedp.CSS(`#end`), end),
	)
}
