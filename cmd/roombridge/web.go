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
				a.reg.MustRegister(bridge.UsageCollector(func() models.UsageStatus {
					st, _ := s.UsageStatus(context.Background())
					return st
				}))
			}
		}
	}
	return web.New(web.Config{
		Store: a.store, Booker: a.service, Zone: a.cfg.Zone, Now: a.now, Logger: a.log,
		Auth: a.cfg.Auth, AuthHeader: a.cfg.AuthHeader, Access: a.cfg.access(), Demo: a.cfg.Demo, BaseURL: a.cfg.BaseURL,
		Metrics:    promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}),
		Registerer: a.reg,
		Ready:      a.ready,
		Version:    version,
		Feeds:      a.feeds,
		Admin:      a.admin,
		Conflicts:  a.service,
	})
}

// ready reports whether the database answers (backends being down is normal: the outbox
// waits for them).
func (a *app) ready(ctx context.Context) error { return a.store.Ping(ctx) }
