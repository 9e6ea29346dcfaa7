package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"roombridge/bridge/dingtalk"
	"roombridge/migrations"
	"roombridge/models"
)

// serve runs the web server, the dispatcher and the syncers until ctx ends.
func serve(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	a, err := build(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	handler, err := a.handler()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return &configError{"ROOMBRIDGE_ADDR", err.Error()}
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	mode := "production, sign-in " + cfg.Auth
	if cfg.Demo {
		mode = "demo: in-process OA and DingTalk fakes, sign-in " + cfg.Auth
	}
	for _, w := range cfg.warnings() {
		a.log.Warn(w)
	}
	fmt.Fprintf(stdout, "roombridge listening on http://%s (%s; cutover %s, OA freeze %s)\n", displayAddr(ln.Addr()), mode,
		cfg.Cutover.In(cfg.Zone).Format("2006-01-02 15:04"), cfg.Freeze.In(cfg.Zone).Format("2006-01-02 15:04"))
	if a.fakes != nil {
		fmt.Fprintf(stdout, "demo OA (Seeyon) fake at %s, DingTalk fake at %s (admin API under /_fake/)\n", a.fakes.oaURL, a.fakes.dtURL)
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	g.Go(func() error { return a.dispatcher.Run(gctx) })
	g.Go(func() error {
		// Everything once at start: conflicts of reservations stored before detection
		// existed, or changed while no process ran.
		if _, err := a.detector.DetectSince(gctx, time.Time{}); err != nil && gctx.Err() == nil {
			a.log.Warn("detect conflicts at start", "err", err)
		}
		return a.detector.Run(gctx)
	})
	for _, s := range a.syncers {
		s := s
		g.Go(func() error { return s.Run(gctx) })
	}
	if a.dingtalk != nil && cfg.DingTalkStream {
		g.Go(func() error {
			err := a.dingtalk.Client.Listen(gctx, func(ctx context.Context, ev dingtalk.StreamEvent) error {
				since := a.now().Add(-time.Second)
				err := a.dingtalk.HandleEvent(ctx, ev)
				a.metrics.Event(models.BackendDingTalk, ev.Type, err)
				if err == nil {
					a.detector.Notify(since)
				}
				if err != nil {
					a.log.Warn("dingtalk event not applied; it will be delivered again", "event", ev.ID, "type", ev.Type, "err", err)
				}
				return err
			})
			if err != nil {
				// Refused credentials stop only the event path; sync keeps the table right.
				a.log.Error("dingtalk stream stopped", "err", err)
			}
			return nil
		})
	}
	if a.usage != nil {
		g.Go(func() error {
			t := time.NewTicker(time.Minute)
			defer t.Stop()
			for {
				select {
				case <-gctx.Done():
					a.usage.Flush(context.Background(), a.now())
					return nil
				case <-t.C:
					a.usage.Flush(gctx, a.now())
				}
			}
		})
	}
	err = g.Wait()
	a.log.Info("roombridge stopped")
	return err
}

func displayAddr(addr net.Addr) string {
	if t, ok := addr.(*net.TCPAddr); ok && (t.IP == nil || t.IP.IsUnspecified()) {
		return fmt.Sprintf("localhost:%d", t.Port)
	}
	return addr.String()
}

// migrate applies pending migrations.
func migrate(ctx context.Context, cfg config, stdout io.Writer) error {
	store, err := models.Open(cfg.DB, time.Now)
	if err != nil {
		return &configError{"ROOMBRIDGE_DB", err.Error()}
	}
	defer store.Close()
	if err := store.Ping(ctx); err != nil {
		return &configError{"ROOMBRIDGE_DB", fmt.Sprintf("cannot reach the database: %v", err)}
	}
	dialect := migrations.DialectMySQL
	if store.Dialect() == models.DialectSQLite {
		dialect = migrations.DialectSQLite
	}
	n, err := migrations.Up(ctx, store.SQL(), dialect)
	if err != nil {
		return err
	}
	st, err := migrations.Status(ctx, store.SQL(), dialect)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied %d migration(s); schema version %d\n", n, st.Current)
	return nil
}

// syncOnce runs one pass of both backends and prints the summaries as JSON.
func syncOnce(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	a, err := build(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	sums, err := a.admin.Sync(ctx, false)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if eerr := enc.Encode(sums); eerr != nil {
		return eerr
	}
	if a.usage != nil {
		a.usage.Flush(ctx, a.now())
	}
	return err
}

// verify checks the configuration, database, catalog and backends and reports each.
func verify(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	a, err := build(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	problems := 0
	report := func(ok bool, what, detail string) {
		mark := "ok  "
		if !ok {
			mark = "FAIL"
			problems++
		}
		fmt.Fprintf(stdout, "%s %s%s\n", mark, what, detail)
	}
	report(true, "configuration", fmt.Sprintf(" (demo=%v, cutover %s, OA freeze %s)", cfg.Demo, cfg.Cutover.Format(time.RFC3339), cfg.Freeze.Format(time.RFC3339)))
	proxies := make([]string, 0, len(cfg.TrustedProxies))
	for _, p := range cfg.TrustedProxies {
		proxies = append(proxies, p.String())
	}
	if len(proxies) == 0 {
		proxies = append(proxies, "none")
	}
	report(true, "sign-in", fmt.Sprintf(" (auth %s, trusted proxies %s, base URL %s, https %v)", cfg.Auth, strings.Join(proxies, ","), cfg.BaseURL, strings.HasPrefix(cfg.BaseURL, "https://")))
	for _, w := range cfg.warnings() {
		fmt.Fprintf(stdout, "warn %s\n", w)
	}
	report(true, "database", " ("+a.store.Dialect()+", schema current)")
	rooms := a.catalog.Rooms()
	for _, r := range rooms {
		if r.OARoomID == "" || r.DingTalkRoomID == "" {
			fmt.Fprintf(stdout, "warn room %s (%s) is not mapped in both systems (oa %q, dingtalk %q)\n", r.ID, r.Name, r.OARoomID, r.DingTalkRoomID)
		}
	}
	report(true, "catalog", fmt.Sprintf(" (%d offices, %d rooms, %d users)", len(a.catalog.Offices), len(rooms), len(a.catalog.Users)))
	for _, s := range a.syncers {
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		sum, err := s.Pass(pctx, false)
		cancel()
		detail := fmt.Sprintf(" (%d bookings seen)", sum.Seen)
		if sum.Skipped {
			detail = " (" + sum.Note + ")"
		}
		if err != nil {
			detail = ": " + err.Error()
		}
		report(err == nil, "backend "+string(s.Backend()), detail)
	}
	if problems > 0 {
		return fmt.Errorf("verify: %d problem(s)", problems)
	}
	return nil
}

// runFake serves one in-memory backend on its own, seeded with the catalog.
func runFake(ctx context.Context, cmd string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	addr := ":9001"
	if cmd == "fake-dingtalk" {
		addr = ":9002"
	}
	var rest []string
	for i := 0; i < len(args); i++ {
		switch {
		case (args[i] == "--addr" || args[i] == "-addr") && i+1 < len(args):
			addr = args[i+1]
			i++
		default:
			rest = append(rest, args[i])
		}
	}
	cfg, _, err := loadConfig(rest, getenv, time.Now())
	if err != nil {
		return err
	}
	cat, err := cfg.catalog()
	if err != nil {
		return err
	}
	var h http.Handler
	var creds string
	if cmd == "fake-oa" {
		h = newSeeyonFake(cat, cfg.Zone, time.Now)
		creds = fmt.Sprintf("ROOMBRIDGE_OA_URL=http://%s ROOMBRIDGE_OA_REST_USER=%s ROOMBRIDGE_OA_REST_PASSWORD=%s", "ADDR", fakeOAUser, fakeOAPassword)
	} else {
		h = newDingTalkFake(cat, time.Now)
		creds = fmt.Sprintf("ROOMBRIDGE_DINGTALK_URL=http://%s ROOMBRIDGE_DINGTALK_OAPI_URL=http://%s ROOMBRIDGE_DINGTALK_APP_KEY=%s ROOMBRIDGE_DINGTALK_APP_SECRET=%s", "ADDR", "ADDR", fakeAppKey, fakeAppSecret)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w", cmd, addr, err)
	}
	shown := displayAddr(ln.Addr())
	fmt.Fprintf(stdout, "%s listening on http://%s (admin API under /_fake/)\nconnect roombridge with: %s\n", cmd, shown, strings.ReplaceAll(creds, "ADDR", shown))
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
