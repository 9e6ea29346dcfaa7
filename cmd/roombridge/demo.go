package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"roombridge/bridge/dingtalk/dingtalkfake"
	"roombridge/bridge/oa/seeyonfake"
	"roombridge/models"
)

// Credentials the in-process fakes accept (demo mode and the fake-* commands).
const (
	fakeOAUser     = "rest-roombridge"
	fakeOAPassword = "demo-password"
	fakeAppKey     = "dingdemoappkey"
	fakeAppSecret  = "demo-app-secret"
)

// fakeUnionID is the unionId the DingTalk fake gives a catalog user.
func fakeUnionID(userID string) string { return "union-" + userID }

func newSeeyonFake(cat models.Catalog, zone *time.Location, now func() time.Time) *seeyonfake.Server {
	var rooms []seeyonfake.Room
	for _, r := range cat.Rooms() {
		if r.OARoomID != "" {
			rooms = append(rooms, seeyonfake.Room{ID: r.OARoomID, Name: r.Name, Seats: r.Capacity})
		}
	}
	var users []seeyonfake.User
	for _, u := range cat.Users {
		if u.OALogin != "" {
			users = append(users, seeyonfake.User{LoginName: u.OALogin, Name: u.Name})
		}
	}
	return seeyonfake.New(fakeOAUser, fakeOAPassword, rooms, users, seeyonfake.WithZone(zone), seeyonfake.WithNow(now))
}

func newDingTalkFake(cat models.Catalog, now func() time.Time) *dingtalkfake.Server {
	var rooms []dingtalkfake.Room
	for _, r := range cat.Rooms() {
		if r.DingTalkRoomID != "" {
			rooms = append(rooms, dingtalkfake.Room{ID: r.DingTalkRoomID, Name: r.Name, Capacity: r.Capacity})
		}
	}
	var users []dingtalkfake.User
	for _, u := range cat.Users {
		if u.DingTalkUserID != "" {
			union := u.DingTalkUnionID
			if union == "" {
				union = fakeUnionID(u.DingTalkUserID)
			}
			users = append(users, dingtalkfake.User{UserID: u.DingTalkUserID, UnionID: union, Name: u.Name})
		}
	}
	return dingtalkfake.New(fakeAppKey, fakeAppSecret, rooms, users, dingtalkfake.WithNow(now))
}

// fakes are the demo's in-process backends, served on loopback.
type fakes struct {
	oa      *seeyonfake.Server
	dt      *dingtalkfake.Server
	oaURL   string
	dtURL   string
	servers []*http.Server
}

// startFakes serves both fakes on free loopback ports until ctx ends.
func startFakes(ctx context.Context, cat models.Catalog, zone *time.Location, now func() time.Time, log *slog.Logger) (*fakes, error) {
	f := &fakes{oa: newSeeyonFake(cat, zone, now), dt: newDingTalkFake(cat, now)}
	var err error
	if f.oaURL, err = f.serve(ctx, f.oa, log); err != nil {
		return nil, err
	}
	if f.dtURL, err = f.serve(ctx, f.dt, log); err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

func (f *fakes) serve(ctx context.Context, h http.Handler, log *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen for a demo backend: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	f.servers = append(f.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo backend stopped", "err", err)
		}
	}()
	return "http://" + ln.Addr().String(), nil
}

func (f *fakes) close() {
	for _, s := range f.servers {
		s.Close()
	}
}

// seedDemo books a few meetings directly in both fake systems, as staff who use the OA
// and DingTalk directly would, so the form and the day grid show busy times from both
// from the start. Tomorrow (the day the demo is about) has rooms of 北京首开 busy in both
// systems side by side, and one cross-system double booking: 多维缩放会议室 at 11:00 is
// held in the OA and, booked directly by someone else, in DingTalk too.
func seedDemo(f *fakes, cat models.Catalog, zone *time.Location, now time.Time, cutover time.Time) error {
	room := func(id string) models.Room {
		for _, r := range cat.Rooms() {
			if r.ID == id {
				return r
			}
		}
		return models.Room{}
	}
	day := func(t time.Time, addDays, hour, minute int) time.Time {
		t = t.In(zone).AddDate(0, 0, addDays)
		return time.Date(t.Year(), t.Month(), t.Day(), hour, minute, 0, 0, zone)
	}
	duowei, tianyuan := room("duowei"), room("sk-tianyuan")
	if duowei.OARoomID == "" || tianyuan.OARoomID == "" {
		return nil // a custom catalog: nothing to seed
	}
	oaBookings := []struct {
		room       models.Room
		login      string
		start, end time.Time
		desc       string
	}{
		{duowei, "lisi", day(now, 1, 10, 0), day(now, 1, 12, 0), "钉钉培训（上午场）"},
		{duowei, "lisi", day(now, 1, 14, 0), day(now, 1, 16, 0), "钉钉培训（下午场）"},
		{tianyuan, "wangwu", day(now, 1, 9, 0), day(now, 1, 10, 30), "财务月度对账"},
		{tianyuan, "wangwu", day(now, 2, 9, 30), day(now, 2, 10, 30), "财务月度对账"},
	}
	for _, b := range oaBookings {
		if _, err := f.oa.AddNative(b.room.OARoomID, b.login, b.start, b.end, b.desc); err != nil {
			return fmt.Errorf("seed OA booking: %w", err)
		}
	}
	dtBookings := []struct {
		room       models.Room
		user       string
		start, end time.Time
		title      string
	}{
		// Booked directly in DingTalk before its cutover, as staff did during the parallel period.
		{duowei, "zhaoliu", day(now, 1, 11, 0), day(now, 1, 12, 30), "产品评审"}, // double-books the OA's 10:00–12:00
		{tianyuan, "zhaoliu", day(now, 1, 11, 0), day(now, 1, 12, 0), "招聘面试"},
		{duowei, "wangwu", day(cutover, 1, 10, 0), day(cutover, 1, 11, 30), "新系统周会"},
		{duowei, "zhaoliu", day(cutover, 3, 15, 0), day(cutover, 3, 16, 0), "客户演示"},
		{tianyuan, "lisi", day(cutover, 0, 9, 0), day(cutover, 0, 10, 0), "切换首日站会"},
	}
	for _, b := range dtBookings {
		if _, err := f.dt.AddNative(fakeUnionID(b.user), b.room.DingTalkRoomID, b.title, b.start, b.end); err != nil {
			return fmt.Errorf("seed DingTalk booking: %w", err)
		}
	}
	return nil
}
