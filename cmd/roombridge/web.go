package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"roombridge/bridge"
	"roombridge/bridge/dingtalk/dingtalkfake"
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
	keys := a.cfg.SessionKeys
	if keys == nil && a.cfg.Auth != "header" {
		v, err := a.store.Secret(context.Background(), "session_key", web.NewSessionKey)
		if err != nil {
			return nil, fmt.Errorf("session key: %w", err)
		}
		if keys, err = web.SessionKeys(v); err != nil {
			return nil, fmt.Errorf("session key in the database: %w", err)
		}
	}
	var signIn web.SignIn
	login := web.DingTalkLogin{LoginURL: a.cfg.DingTalkLoginURL, AppKey: a.cfg.DingTalkAppKey, CorpID: a.cfg.DingTalkCorpID, JSAPIURL: a.cfg.DingTalkJSAPIURL}
	if a.cfg.Auth == "dingtalk" {
		if a.dingtalk == nil {
			return nil, &configError{"ROOMBRIDGE_AUTH", "dingtalk sign-in needs the DingTalk app (ROOMBRIDGE_DINGTALK_APP_KEY)"}
		}
		signIn = dingTalkSignIn{client: a.dingtalk.Client, store: a.store}
		if a.fakes != nil {
			login = web.DingTalkLogin{LoginURL: a.fakes.dtURL, AppKey: fakeAppKey, CorpID: dingtalkfake.CorpID, JSAPIURL: a.fakes.dtURL + "/jsapi/dingtalk.open.js"}
		}
	}
	return web.New(web.Config{
		Store: a.store, Booker: a.service, Zone: a.cfg.Zone, Now: a.now, Logger: a.log, WaitMax: formWait,
		Auth: a.cfg.Auth, AuthHeader: a.cfg.AuthHeader, Access: a.cfg.access(), Demo: a.cfg.Demo, BaseURL: a.cfg.BaseURL,
		TrustedProxies: a.cfg.TrustedProxies, SessionKeys: keys, SignIn: signIn, DingTalk: login,
		Metrics:    promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}),
		Registerer: a.reg,
		Ready:      a.ready,
		Version:    version,
		Feeds:      a.feeds,
		Admin:      a.admin,
		Conflicts:  a.service,
		RoomLists:  a.rooms,
	})
}

// ready reports whether the database answers (backends being down is normal: the outbox
// waits for them).
func (a *app) ready(ctx context.Context) error { return a.store.Ping(ctx) }

// formWait is how long the booking form waits for a new booking's outcome. Outcomes
// reached within it are shown by the form; later ones are sent to the organizer as a
// DingTalk work notification when ROOMBRIDGE_NOTIFY is on.
const formWait = 3 * time.Second
