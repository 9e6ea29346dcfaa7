package web

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// healthz handles GET /healthz: the process answers; no database involved.
func (s *server) healthz(c echo.Context) error {
	return c.String(http.StatusOK, "ok")
}

// readyz handles GET /readyz: 200 when cfg.Ready says the service can take traffic, 503
// otherwise (the reason goes to the log, not to the caller).
func (s *server) readyz(c echo.Context) error {
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			return c.String(http.StatusServiceUnavailable, "not ready")
		}
	}
	return c.String(http.StatusOK, "ready")
}

// serveMetrics handles GET /metrics with the handler from Config.Metrics.
func (s *server) serveMetrics(c echo.Context) error {
	if s.metrics == nil {
		return echo.ErrNotFound
	}
	s.metrics.ServeHTTP(c.Response(), c.Request())
	return nil
}
