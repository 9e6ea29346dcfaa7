package main

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// browserContext starts headless Chromium as a phone speaking Chinese (with userAgent
// when not empty).
func browserContext(t *testing.T, userAgent string) context.Context {
	t.Helper()
	var extra []chromedp.ExecAllocatorOption
	if userAgent != "" {
		extra = append(extra, chromedp.UserAgent(userAgent))
	}
	return browser(t, 412, 915, "zh-CN", extra...)
}

// dingTalkOnPort starts the demo with DingTalk sign-in on a known loopback port, so that
// the base URL (the OAuth redirect_uri) points at it.
func dingTalkOnPort(t *testing.T) *instance {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return start(t, map[string]string{"ROOMBRIDGE_AUTH": "dingtalk", "ROOMBRIDGE_ADDR": addr, "ROOMBRIDGE_BASE_URL": "http://" + addr})
}

// TestBrowserSignsInWithDingTalkAndBooks: a browser is sent to DingTalk's login page (the
// fake's), picks an account, comes back signed in and books a room through the form.
func TestBrowserSignsInWithDingTalkAndBooks(t *testing.T) {
	ctx := browserContext(t, "")
	in := dingTalkOnPort(t)
	day := in.day(1, 0, 0).Format("2006-01-02")
	err := chromedp.Do(ctx,
		chromedp.Navigate(in.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#dt-user-zhaoliu`)),
		chromedp.Click(chromedp.CSS(`#dt-user-zhaoliu`)),
		chromedp.WaitVisible(chromedp.CSS(`#booking-form`)),
		fillSlot("bj-shoukai", "sk-xiaoyao", day, "15:00", "16:00"),
		chromedp.SendKeys(chromedp.CSS(`#title`), "钉钉登录后的预订"),
	)
	if err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`body`)))
		t.Fatalf("sign in and fill in the form: %v\npage: %s\nserver log:\n%s", err, page, in.stderr)
	}
	who, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.who`)))
	if err != nil || !strings.Contains(who, "赵六") {
		t.Errorf("header after the DingTalk sign-in = %q, %v; want 赵六", who, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#booking-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`section.outcome.confirmed`)),
	); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		t.Fatalf("submit: %v\npage: %s\nserver log:\n%s", err, page, in.stderr)
	}
	outcome, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`section.outcome`)))
	if err != nil || !strings.Contains(outcome, "预订成功") {
		t.Errorf("outcome = %q, %v; want 预订成功", outcome, err)
	}
}

// TestBrowserInsideDingTalkSignsInWithoutAClick: opened inside the DingTalk app, any page
// signs in through the JSAPI (the fake's stand-in) with no click.
func TestBrowserInsideDingTalkSignsInWithoutAClick(t *testing.T) {
	ctx := browserContext(t, "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Mobile Safari/537.36 AliApp(DingTalk/7.6.0) com.alibaba.android.rimet")
	in := dingTalkOnPort(t)
	if r := in.do("POST", in.dtURL+"/_fake/inapp/user", "", strings.NewReader(`{"userId":"lisi"}`)); r.code != 204 {
		t.Fatalf("set the in-app user: %d %s", r.code, r.body)
	}
	// The sign-in page replaces itself with /bookings; the name shows only once signed in.
	err := chromedp.Do(ctx, chromedp.Navigate(in.url+"/bookings"), chromedp.WaitVisible(chromedp.CSS(`.who strong`)))
	if err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`body`)))
		t.Fatalf("open /bookings inside DingTalk: %v\npage: %s\nserver log:\n%s", err, page, in.stderr)
	}
	who, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.who`)))
	if err != nil || !strings.Contains(who, "李四") {
		t.Errorf("header after the in-app sign-in = %q, %v; want 李四", who, err)
	}
	path, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil || path != "/bookings" {
		t.Errorf("page after the in-app sign-in = %q, %v; want /bookings", path, err)
	}
}
