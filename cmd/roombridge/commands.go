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

	"roombridge/bridge"
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
	// Series split at another cutover are moved by the operator (migrate-bookings), never
	// behind their back at a start: the start says so.
	if splits, err := a.service.ResplitSeries(ctx, "", true); err != nil {
		a.log.Warn("list series split at another cutover", "err", err)
	} else if len(splits) > 0 {
		frozen := 0
		for _, sp := range splits {
			frozen += len(sp.Frozen)
		}
		a.log.Warn("series split at another cutover: run roombridge migrate-bookings to move their occurrences", "series", len(splits), "first", splits[0].Series.ID,
			"oa_frozen", frozen)
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
	// Long-polls answer at once when the server stops (the booking as it stands), so a
	// shutdown does not wait out their 30 s; a request still running after the 5 s grace
	// is cut off, which is a normal stop, not a failure.
	srv.RegisterOnShutdown(a.service.StopWaits)
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			a.log.Warn("shutdown: closing requests still running after the grace period", "err", err)
			srv.Close()
		}
		return nil
	})
	g.Go(func() error { return a.dispatcher.Run(gctx) })
	// The detector's first sweep looks at what changed since the last sweep any process
	// recorded (everything, the first time): conflicts of reservations changed while no
	// process ran, or by a process that stopped before it detected them.
	g.Go(func() error { return a.detector.Run(gctx) })
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
	cfg.Instance = oneOff() // never the name of a serving replica on this host
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

// oneOff names a one-off command in the sync leases (host and process id).
func oneOff() string { return bridge.DefaultOwner("") }

// verify checks the configuration, database, catalog and backends and reports each.
func verify(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	cfg.Instance = oneOff()
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
	problems += verifyBackends(ctx, a, stdout)
	if problems > 0 {
		return fmt.Errorf("verify: %d problem(s)", problems)
	}
	return nil
}

// verifyBackends reads every backend over the sync window from now on (without
// applying anything, except a first sync of the demo's in-process backends) and
// compares it with the reservations table: one line per backend
// ("ok" with the count, or "FAIL" when it cannot be read), then one line per
// discrepancy (missing, extra, different time or room, still pending, a release that
// gave up). A booking the table lacks that a pending job is releasing is listed as
// "info ... releasing", not counted. It returns the number of problems.
func verifyBackends(ctx context.Context, a *app, stdout io.Writer) int {
	problems := 0
	from := a.now()
	to := from.Add(a.cfg.SyncAhead)
	for _, s := range a.syncers {
		b := s.Backend()
		if a.cfg.Demo {
			// The demo backends were born with this process (seeded with a few native
			// bookings the table cannot know yet): sync them once before comparing.
			pctx, cancel := context.WithTimeout(ctx, time.Minute)
			_, _ = s.Pass(pctx, false)
			cancel()
		}
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		remotes, rooms, err := s.Read(pctx, from, to)
		cancel()
		if errors.Is(err, models.ErrFrozen) {
			fmt.Fprintf(stdout, "ok   backend %s (past its freeze: not read, the last snapshot stands)\n", b)
			continue
		}
		if err != nil {
			fmt.Fprintf(stdout, "FAIL backend %s: %v\n", b, err)
			problems++
			continue
		}
		table, err := a.store.Reservations(ctx, models.Filter{Backend: b, RoomIDs: rooms, From: from, To: to})
		if err != nil {
			fmt.Fprintf(stdout, "FAIL backend %s: read the reservations table: %v\n", b, err)
			problems++
			continue
		}
		var inWindow []models.Reservation
		for _, r := range table {
			if !r.Start.Before(from) { // meetings under way or over are not compared: backends list history unreliably
				inWindow = append(inWindow, r)
			}
		}
		var listed []models.Remote
		for _, r := range remotes {
			if !r.Start.Before(from) {
				listed = append(listed, r)
			}
		}
		ids := make([]string, 0, len(listed))
		for _, r := range listed {
			ids = append(ids, r.RemoteID)
		}
		releases, err := a.store.ReleasesOf(ctx, b, ids, inWindow)
		if err != nil {
			fmt.Fprintf(stdout, "FAIL backend %s: read the outbox: %v\n", b, err)
			problems++
			continue
		}
		diffs := models.CompareBackend(b, inWindow, listed, releases)
		bad := 0
		for _, d := range diffs {
			if d.Problem() {
				bad++
			}
		}
		mark := "ok  "
		if bad > 0 {
			mark = "FAIL"
		}
		fmt.Fprintf(stdout, "%s backend %s (%d bookings seen, %d in the table, %d discrepancies)\n", mark, b, len(listed), len(inWindow), bad)
		for _, d := range diffs {
			mark := "FAIL  "
			if !d.Problem() {
				mark = "info  " // on its way out: not a discrepancy
			}
			fmt.Fprintf(stdout, "%s %s %s: reservation %q remote %q room %s %s–%s %s\n", mark, b, d.Kind, d.ReservationID, d.RemoteID, d.RoomID,
				d.Start.In(a.cfg.Zone).Format("2006-01-02 15:04"), d.End.In(a.cfg.Zone).Format("15:04"), d.Detail)
		}
		problems += bad
	}
	return problems
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
