package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts headless Chromium at width×height speaking language ("zh-CN" or "en"),
// with extra options after the usual ones.
func browser(t *testing.T, width, height int, language string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	exe := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.Flag("lang", language),
		chromedp.Flag("accept-lang", language),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.WindowSize(width, height),
	)
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	// A window is at least 500 px wide; the viewport is what a phone has.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// TestBrowserFindsAndBooksFromTheGrid is a member of staff on a phone (412 px): the
// finder offers a room for 8 people at 14:00 tomorrow, the day grid books it with one tap
// on the free stretch, and the booking is in "我的预订".
func TestBrowserFindsAndBooksFromTheGrid(t *testing.T) {
	ctx := browser(t, 412, 915, "zh-CN")
	in := start(t, nil)
	day := in.day(1, 0, 0).Format("2006-01-02")
	fail := func(step string, err error) {
		t.Helper()
		page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		t.Fatalf("%s: %v\npage: %s\nserver log:\n%s", step, err, page, in.stderr)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(in.url+"/login"),
		chromedp.Click(chromedp.CSS(`button[name="user"][value="zhangsan"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#booking-form`)),
		chromedp.Navigate(in.url+"/find"),
		chromedp.SetValue(chromedp.CSS(`#find-date`), day),
		chromedp.SetValue(chromedp.CSS(`#find-start`), "14:00"),
		chromedp.SetValue(chromedp.CSS(`#find-duration`), "60"),
		chromedp.SendKeys(chromedp.CSS(`#find-capacity`), "8"),
		chromedp.Click(chromedp.CSS(`#find-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.results`)),
	); err != nil {
		fail("ask the finder", err)
	}
	hits, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('.hits .hit')].map(e => e.dataset.room)`))
	if err != nil || len(hits) == 0 {
		fail("read the finder's answer", fmt.Errorf("rooms %v, %v", hits, err))
	}
	room := hits[0]
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#hit-`+room+` a.grid`)),
		chromedp.WaitVisible(chromedp.CSS(`#room-`+room)),
	); err != nil {
		fail("open the day grid", err)
	}
	// Hours keep their width on a phone: the grid scrolls instead of squashing.
	hour, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(() => { const t = document.querySelector('#room-`+room+` .grid-track'); return t.getBoundingClientRect().width / getComputedStyle(document.querySelector('.grid')).getPropertyValue('--hours'); })()`))
	if err != nil || hour < 40 {
		t.Errorf("an hour of the grid is %.1f px wide at 412 px (%v), want at least 40", hour, err)
	}
	free := `#room-` + room + ` a.block.free[data-start="14:00"]`
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { document.querySelector('`+free+`').scrollIntoView({inline: 'center', block: 'center'}); return true; })()`)); err != nil {
		fail("find the free stretch at 14:00", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(free)),
		chromedp.WaitVisible(chromedp.CSS(`#booking-form`)),
	); err != nil {
		fail("tap the free stretch at 14:00", err)
	}
	filled, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`['room_id','date','start','end'].map(id => document.getElementById(id).value)`))
	if want := []string{room, day, "14:00", "15:00"}; err != nil || strings.Join(filled, " ") != strings.Join(want, " ") {
		t.Errorf("form opened from the grid holds %v (%v), want %v", filled, err, want)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#title`), "八人评审会"),
		chromedp.Click(chromedp.CSS(`#booking-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`section.outcome.confirmed`)),
		chromedp.Navigate(in.url+"/bookings"),
	); err != nil {
		fail("book from the form", err)
	}
	mine, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(mine, "八人评审会") || !strings.Contains(mine, "14:00–15:00") {
		t.Errorf("我的预订 lacks the booking made from the grid: %q", mine)
	}
}

// TestBrowserScreenshots writes the README's screenshots (grid, finder and form, on a
// desktop and on a phone) to ROOMBRIDGE_SCREENSHOTS; scripts/screenshots.sh runs it.
func TestBrowserScreenshots(t *testing.T) {
	dir := os.Getenv("ROOMBRIDGE_SCREENSHOTS")
	if dir == "" {
		t.Skip("set ROOMBRIDGE_SCREENSHOTS to a directory (scripts/screenshots.sh)")
	}
	in := start(t, nil)
	day := in.day(1, 0, 0).Format("2006-01-02")
	pages := []struct{ name, path, wait string }{
		{"grid", "/grid?office=bj-shoukai&date=" + day, ".grid"},
		{"finder", "/find?date=" + day + "&start=14:00&duration=60&capacity=8", ".results"},
		{"form", "/?room=duowei&date=" + day + "&start=11:00&end=12:00", "#timeline .track"},
	}
	for _, size := range []struct {
		name          string
		width, height int
	}{{"desktop", 1280, 900}, {"phone", 412, 915}} {
		ctx := browser(t, size.width, size.height, "zh-CN")
		if err := chromedp.Do(ctx,
			chromedp.Navigate(in.url+"/login"),
			chromedp.Click(chromedp.CSS(`button[name="user"][value="zhangsan"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#booking-form`)),
		); err != nil {
			t.Fatal(err)
		}
		for _, p := range pages {
			if err := chromedp.Do(ctx,
				chromedp.Navigate(in.url+p.path),
				chromedp.WaitVisible(chromedp.CSS(p.wait)),
			); err != nil {
				t.Fatalf("%s %s: %v", size.name, p.name, err)
			}
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("%s %s: %v", size.name, p.name, err)
			}
			name := filepath.Join(dir, p.name+"-"+size.name+".png")
			if err := os.WriteFile(name, png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestBrowserFormShowsSending: while a booking is being submitted the button is disabled,
// says so, and the form is marked busy.
func TestBrowserFormShowsSending(t *testing.T) {
	ctx := browser(t, 412, 915, "zh-CN")
	in := start(t, nil)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(in.url+"/login"),
		chromedp.Click(chromedp.CSS(`button[name="user"][value="zhangsan"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#booking-form`)),
	); err != nil {
		t.Fatal(err)
	}
	// Hold the submission in the page (the form's own listener runs first), then look.
	state, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const f = document.getElementById('booking-form');
		f.addEventListener('submit', e => e.preventDefault());
		f.requestSubmit();
		const b = f.querySelector('button[type=submit]');
		return [String(b.disabled), b.textContent, f.getAttribute('aria-busy') || ''];
	})()`))
	if want := []string{"true", "正在提交…", "true"}; err != nil || strings.Join(state, "|") != strings.Join(want, "|") {
		t.Errorf("while submitting: button disabled, text, form aria-busy = %v (%v), want %v", state, err, want)
	}
}
