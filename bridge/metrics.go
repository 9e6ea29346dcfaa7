package bridge

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the engine's Prometheus collectors.
type Metrics struct {
	jobs          *prometheus.CounterVec
	jobSeconds    *prometheus.HistogramVec
	outboxPending prometheus.Gauge
	outboxFailed  prometheus.Gauge
}

// NewMetrics creates the collectors and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombridge_outbox_jobs_total", Help: "Outbox jobs run, by backend, kind and outcome.",
		}, []string{"backend", "kind", "outcome"}),
		jobSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "roombridge_outbox_job_seconds", Help: "Time one outbox job took at its backend.",
			Buckets: prometheus.ExponentialBuckets(0.005, 3, 9),
		}, []string{"backend", "kind"}),
		outboxPending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "roombridge_outbox_pending", Help: "Outbox jobs waiting to run."}),
		outboxFailed:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "roombridge_outbox_failed", Help: "Outbox jobs given up on (need an admin)."}),
	}
	if reg != nil {
		reg.MustRegister(m.jobs, m.jobSeconds, m.outboxPending, m.outboxFailed)
	}
	return m
}
