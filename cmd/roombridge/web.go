package main

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"roombridge/bridge"
	"roombridge/models"
	"roombridge/web"
)

// version is shown in the page footer.
const version = "0.3.0"

// handler builds the web layer on the app's engine.
func (a *app) handler() (http.Handler, error) {
	if a.usage != nil {
		for _, s := range a.syncers {
			if s.Backend() == models.BackendDingTalk {
				s := s
				a.reg.MustRegister(bridge.UsageCollector(func() bridge.UsageStatus {
					st, _ := s.UsageStatus(context.Background())
					return st
				}))
			}
		}
	}
	return web.New(web.Config{
		Store: a.store, Booker: a.service, Zone: a.cfg.Zone, Now: a.now, Logger: a.log,
		Auth: a.cfg.Auth, AuthHeader: a.cfg.AuthHeader, Admins: a.cfg.Admins, Demo: a.cfg.Demo, BaseURL: a.cfg.BaseURL,
		Metrics:    promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}),
		Registerer: a.reg,
		Ready:      a.ready,
		Version:    version,
		Feeds:      feedsAdapter{a.feeds},
		Admin:      adminAdapter{a},
		Conflicts:  a.service,
	})
}

// ready reports whether the database answers (backends being down is normal: the outbox
// waits for them).
func (a *app) ready(ctx context.Context) error { return a.store.Ping(ctx) }

// feedsAdapter presents bridge.Feeds as web.Feeds.
type feedsAdapter struct{ f *bridge.Feeds }

func (f feedsAdapter) CreateToken(ctx context.Context, userID, label string) (string, models.FeedToken, error) {
	return f.f.CreateToken(ctx, userID, label)
}

func (f feedsAdapter) Rotate(ctx context.Context, userID, id string) (string, models.FeedToken, error) {
	return f.f.Rotate(ctx, userID, id)
}

func (f feedsAdapter) Revoke(ctx context.Context, userID, id string) error {
	return f.f.Revoke(ctx, userID, id)
}

func (f feedsAdapter) Tokens(ctx context.Context, userID string) ([]models.FeedToken, error) {
	return f.f.Tokens(ctx, userID)
}

func (f feedsAdapter) Render(ctx context.Context, token, scope, id string) (web.FeedRender, error) {
	r, err := f.f.Render(ctx, token, scope, id)
	return web.FeedRender{Body: r.Body, ETag: r.ETag, LastModified: r.LastModified, Filename: r.Filename}, err
}

// adminAdapter presents the app's sync and status to web.
type adminAdapter struct{ a *app }

func summary(s bridge.Summary) web.SyncSummary {
	return web.SyncSummary{Backend: string(s.Backend), StartedAt: s.StartedAt, DurationMS: s.DurationMS, Seen: s.Seen, Created: s.Created,
		Updated: s.Updated, Cancelled: s.Cancelled, Errors: s.Errors, MeteredCalls: s.MeteredCalls, Guarded: s.Guarded, Skipped: s.Skipped, Note: s.Note}
}

func (ad adminAdapter) Sync(ctx context.Context, force bool) ([]web.SyncSummary, error) {
	sums, err := ad.a.SyncAll(ctx, force)
	out := make([]web.SyncSummary, 0, len(sums))
	for _, s := range sums {
		out = append(out, summary(s))
	}
	return out, err
}

func (ad adminAdapter) Status(ctx context.Context) (web.AdminStatus, error) {
	a := ad.a
	st := web.AdminStatus{Cutover: a.cfg.Cutover, Freeze: a.cfg.Freeze, Demo: a.cfg.Demo, Outbox: map[string]int{}}
	runs, err := a.store.SyncRuns(ctx, "", 20)
	if err != nil {
		return st, err
	}
	for _, r := range runs {
		st.Runs = append(st.Runs, web.SyncSummary{Backend: string(r.Backend), StartedAt: r.StartedAt, DurationMS: r.DurationMS, Seen: r.Seen,
			Created: r.Created, Updated: r.Updated, Cancelled: r.Cancelled, Errors: r.Errors, MeteredCalls: r.MeteredCalls, Guarded: r.Guarded, Note: r.Note})
	}
	for _, s := range a.syncers {
		if u, ok := s.UsageStatus(ctx); ok {
			st.Usage = append(st.Usage, web.UsageStatus{Backend: string(u.Backend), Month: u.Month, Budget: u.Budget, Used: u.Used,
				PerPass: u.PerPass, Projected: u.Projected, SteadyMonth: u.SteadyMonth, Interval: u.Interval})
		}
	}
	counts, err := a.store.JobCounts(ctx)
	if err != nil {
		return st, err
	}
	for k, v := range counts {
		st.Outbox[string(k)] = v
	}
	return st, nil
}
