package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"roombridge/bridge"
	"roombridge/bridge/dingtalk"
	"roombridge/bridge/oa"
	"roombridge/migrations"
	"roombridge/models"
)

// app is the wired program: store, engine, workers and their collaborators.
type app struct {
	cfg        config
	log        *slog.Logger
	store      *models.Store
	catalog    models.Catalog
	reg        *prometheus.Registry
	metrics    *bridge.Metrics
	service    *bridge.Service
	dispatcher *bridge.Dispatcher
	detector   *bridge.Detector
	syncers    []*bridge.Syncer
	// dingtalk is the DingTalk backend when one is configured.
	dingtalk *bridge.DingTalk
	usage    *bridge.Usage
	feeds    *bridge.Feeds
	admin    *bridge.Admin
	rooms    *bridge.RoomLists
	fakes    *fakes
	now      func() time.Time
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	if cfg.Demo {
		return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// openStore connects and checks the schema: the embedded SQLite default migrates
// itself, a MySQL database must have been migrated with `roombridge migrate`.
func openStore(ctx context.Context, cfg config, now func() time.Time, log *slog.Logger) (*models.Store, error) {
	store, err := models.Open(cfg.DB, now)
	if err != nil {
		return nil, &configError{"ROOMBRIDGE_DB", err.Error()}
	}
	if err := store.SetConns(cfg.DBConns); err != nil {
		store.Close()
		return nil, &configError{"ROOMBRIDGE_DB_CONNS", err.Error()}
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := store.Ping(pctx); err != nil {
		store.Close()
		return nil, &configError{"ROOMBRIDGE_DB", fmt.Sprintf("cannot reach the database: %v", err)}
	}
	if store.Dialect() == models.DialectSQLite {
		n, err := migrations.Up(ctx, store.SQL(), migrations.DialectSQLite)
		if err != nil {
			store.Close()
			return nil, err
		}
		if n > 0 {
			log.Info("database migrated", "applied", n)
		}
		return store, nil
	}
	st, err := migrations.Status(ctx, store.SQL(), migrations.DialectMySQL)
	if err != nil {
		store.Close()
		return nil, err
	}
	if st.Pending > 0 {
		store.Close()
		return nil, fmt.Errorf("the database schema is at version %d but this build needs %d (%d migrations pending): run `roombridge migrate` first", st.Current, st.Latest, st.Pending)
	}
	return store, nil
}

// build wires everything serve, sync --once and verify need. In demo mode it also
// starts the in-process fakes of both backends and books a few meetings in them.
func build(ctx context.Context, cfg config, stderr io.Writer) (*app, error) {
	a := &app{cfg: cfg, log: newLogger(cfg, stderr), now: time.Now}
	var err error
	if a.catalog, err = cfg.catalog(); err != nil {
		return nil, err
	}
	if cfg.FreshDemoDB {
		if err := removeSQLite(cfg.DB); err != nil {
			return nil, &configError{"ROOMBRIDGE_DB", err.Error()}
		}
		a.log.Info("demo: starting from an empty database (the demo backends keep nothing across restarts; set ROOMBRIDGE_DB to keep one)")
	}
	if a.store, err = openStore(ctx, cfg, a.now, a.log); err != nil {
		return nil, err
	}
	if err := a.store.SyncCatalog(ctx, a.catalog); err != nil {
		a.close()
		return nil, &configError{"ROOMBRIDGE_CATALOG", err.Error()}
	}
	a.reg = prometheus.NewRegistry()
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.metrics = bridge.NewMetrics(a.reg)
	routing := cfg.routing()

	oaURL, dtURL, dtOAPI := cfg.OAURL, cfg.DingTalkURL, cfg.DingTalkOAPIURL
	oaUser, oaPass, appKey, appSecret := cfg.OAUser, cfg.OAPassword, cfg.DingTalkAppKey, cfg.DingTalkAppSecret
	if cfg.Demo {
		if a.fakes, err = startFakes(ctx, a.catalog, cfg.Zone, a.now, a.log); err != nil {
			a.close()
			return nil, err
		}
		oaURL, dtURL, dtOAPI = a.fakes.oaURL, a.fakes.dtURL, a.fakes.dtURL
		oaUser, oaPass, appKey, appSecret = fakeOAUser, fakeOAPassword, fakeAppKey, fakeAppSecret
	}

	var backends []bridge.Backend
	var sources []bridge.Source
	var names []models.Backend
	a.rooms = &bridge.RoomLists{Now: a.now}
	if oaURL != "" {
		client, err := oa.New(oa.Config{BaseURL: oaURL, RestUser: oaUser, RestPassword: oaPass, Zone: cfg.Zone, Now: a.now,
			OnCall: a.metrics.BackendCall(models.BackendOA)})
		if err != nil {
			a.close()
			return nil, &configError{"ROOMBRIDGE_OA_URL", err.Error()}
		}
		o := &bridge.OA{Client: client, SyncLogin: a.syncLogin(), Store: a.store}
		backends, sources, names = append(backends, o), append(sources, o), append(names, models.BackendOA)
		a.rooms.Sources = append(a.rooms.Sources, o)
	}
	if appKey != "" {
		a.usage = bridge.NewUsage(a.store, models.BackendDingTalk, cfg.DingTalkBudget, cfg.Zone, a.log)
		a.usage.Overage = cfg.DingTalkOverage
		if err := a.usage.Load(ctx, a.now()); err != nil {
			a.close()
			return nil, err
		}
		onCall := a.metrics.BackendCall(models.BackendDingTalk)
		client, err := dingtalk.New(dingtalk.Config{BaseURL: dtURL, OAPIURL: dtOAPI, AppKey: appKey, AppSecret: appSecret, Now: a.now,
			OnCall: func(api string, metered bool, err error) {
				onCall(api, err)
				if metered {
					a.usage.Record(a.now())
					a.metrics.Metered(models.BackendDingTalk)
				}
			},
			OnStreamConnect: func() {
				a.log.Info("dingtalk stream connected")
				a.dingtalk.NoteStream(true)
			},
			OnStreamDrop: func(err error) {
				a.log.Warn("dingtalk stream dropped; reconnecting", "err", err)
				a.dingtalk.NoteStream(false)
			},
		})
		if err != nil {
			a.close()
			return nil, &configError{"ROOMBRIDGE_DINGTALK_APP_KEY", err.Error()}
		}
		d := &bridge.DingTalk{Client: client, Store: a.store, Zone: cfg.Zone, Log: a.log, Operator: a.operator(), Calendars: cfg.DingTalkCalendars, Now: a.now}
		a.dingtalk = d
		backends, sources, names = append(backends, d), append(sources, d), append(names, models.BackendDingTalk)
		a.rooms.Sources = append(a.rooms.Sources, d)
		a.rooms.Usage = a.usage // the room-mapping page's reads are metered too
	}

	a.detector = bridge.NewDetector(a.store, routing, a.log)
	instance := cfg.instance()
	var notify *bridge.NotifyConfig
	if cfg.Notify && a.dingtalk != nil {
		notify = &bridge.NotifyConfig{Notifier: bridge.DingTalkNotifier{Client: a.dingtalk.Client, AgentID: cfg.DingTalkAgentID, Location: cfg.Zone},
			BaseURL: cfg.BaseURL, After: formWait}
		a.store.SetNotifyConflicts(true)
	}
	a.dispatcher = bridge.NewDispatcher(bridge.DispatcherConfig{Store: a.store, Backends: backends, Routing: routing, Now: a.now, Logger: a.log, Metrics: a.metrics,
		Owner: instance, Lease: cfg.OutboxLease, Backoff: bridge.BackoffUpTo(cfg.OutboxRetryMax), Detector: a.detector, Notify: notify})
	a.service = bridge.NewService(bridge.ServiceConfig{Store: a.store, Routing: routing, Backends: names, Access: cfg.access(), Now: a.now, Logger: a.log, Dispatcher: a.dispatcher,
		SeriesWindow: cfg.BookingWindow})
	for _, src := range sources {
		var usage *bridge.Usage
		var plan *bridge.SyncPlan
		if src.Name() == models.BackendDingTalk {
			usage = a.usage
			if cfg.DingTalkPlan != nil {
				p := *cfg.DingTalkPlan
				p.Stream = cfg.DingTalkStream
				plan = &p
			}
		}
		a.syncers = append(a.syncers, bridge.NewSyncer(bridge.SyncerConfig{Store: a.store, Source: src, Routing: routing, Now: a.now, Logger: a.log,
			Usage: usage, Back: cfg.SyncBack, Ahead: cfg.SyncAhead, Instance: instance, Lease: cfg.SyncLease, Detector: a.detector, Plan: plan, Metrics: a.metrics}))
	}
	a.admin = &bridge.Admin{Store: a.store, Syncers: a.syncers, Routing: routing, Demo: cfg.Demo, Now: a.now, Detector: a.detector}
	if a.dingtalk != nil && cfg.DingTalkStream {
		a.admin.Stream = a.dingtalk
	}
	a.feeds = &bridge.Feeds{Store: a.store, Zone: cfg.Zone, Now: a.now, Access: cfg.access(), ShowTitles: cfg.FeedShowTitles,
		BookingURL: func(id string) string { return cfg.BaseURL + "/bookings/" + url.PathEscape(id) }}

	if cfg.Demo {
		if err := seedDemo(a.fakes, a.catalog, cfg.Zone, a.now(), routing.Cutover()); err != nil {
			a.close()
			return nil, err
		}
	}
	return a, nil
}

// instance names this replica in the outbox and sync leases: ROOMBRIDGE_INSTANCE, or
// the host and listen address (stable across restarts, so a restarted replica takes
// back its own jobs at once), or the host and process id when the port is chosen at
// random.
func (c config) instance() string {
	if c.Instance != "" {
		return c.Instance
	}
	if _, port, err := net.SplitHostPort(c.Addr); err == nil && port != "0" && port != "" {
		return bridge.DefaultOwner(c.Addr)
	}
	return bridge.DefaultOwner("")
}

// removeSQLite deletes a SQLite database and its WAL files.
func removeSQLite(dsn string) error {
	path, ok := strings.CutPrefix(dsn, "sqlite:")
	if !ok {
		return nil
	}
	path, _, _ = strings.Cut(path, "?")
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("reset the demo database: %w", err)
		}
	}
	return nil
}

// syncLogin is the OA login occupancy is read as.
func (a *app) syncLogin() string {
	if a.cfg.OASyncLogin != "" {
		return a.cfg.OASyncLogin
	}
	for _, u := range a.catalog.Users {
		if a.cfg.Admins[u.ID] && u.OALogin != "" {
			return u.OALogin
		}
	}
	for _, u := range a.catalog.Users {
		if u.OALogin != "" {
			return u.OALogin
		}
	}
	return ""
}

// operator is the catalog user room schedules are read as.
func (a *app) operator() string {
	if a.cfg.DingTalkOperator != "" {
		return a.cfg.DingTalkOperator
	}
	for _, u := range a.catalog.Users {
		if a.cfg.Admins[u.ID] && (u.DingTalkUserID != "" || u.DingTalkUnionID != "") {
			return u.ID
		}
	}
	for _, u := range a.catalog.Users {
		if u.DingTalkUserID != "" || u.DingTalkUnionID != "" {
			return u.ID
		}
	}
	return ""
}

func (a *app) close() {
	if a.fakes != nil {
		a.fakes.close()
	}
	if a.store != nil {
		a.store.Close()
	}
}
