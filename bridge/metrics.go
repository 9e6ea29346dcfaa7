package bridge

import (
	"github.com/prometheus/client_golang/prometheus"

	"roombridge/models"
)

// Metrics are the engine's Prometheus collectors.
type Metrics struct {
	jobs          *prometheus.CounterVec
	jobSeconds    *prometheus.HistogramVec
	outboxPending prometheus.Gauge
	outboxFailed  prometheus.Gauge
	calls         *prometheus.CounterVec
	metered       *prometheus.CounterVec
	events        *prometheus.CounterVec
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
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombridge_backend_calls_total", Help: "HTTP calls to a backend, by endpoint and result.",
		}, []string{"backend", "endpoint", "result"}),
		metered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombridge_backend_metered_calls_total", Help: "Calls a backend counts against its monthly quota.",
		}, []string{"backend"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombridge_backend_events_total",
			Help: "Events a backend pushed (DingTalk Stream deliveries count toward its monthly event quota), by type and result.",
		}, []string{"backend", "type", "result"}),
	}
	if reg != nil {
		reg.MustRegister(m.jobs, m.jobSeconds, m.outboxPending, m.outboxFailed, m.calls, m.metered, m.events)
	}
	return m
}

// BackendCall returns a hook that counts one backend call and its result.
func (m *Metrics) BackendCall(b models.Backend) func(endpoint string, err error) {
	return func(endpoint string, err error) {
		result := "ok"
		if err != nil {
			result = "error"
		}
		m.calls.WithLabelValues(string(b), endpoint, result).Inc()
	}
}

// Event counts one event a backend pushed and whether applying it failed.
func (m *Metrics) Event(b models.Backend, typ string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.events.WithLabelValues(string(b), typ, result).Inc()
}

// Metered counts one call against backend b's monthly quota.
func (m *Metrics) Metered(b models.Backend) { m.metered.WithLabelValues(string(b)).Inc() }

// UsageCollector exposes a Usage's month as gauges (used, budget, projected).
func UsageCollector(status func() models.UsageStatus) prometheus.Collector {
	return &usageCollector{status: status,
		used:      prometheus.NewDesc("roombridge_dingtalk_month_calls", "Metered DingTalk calls this month.", nil, nil),
		budget:    prometheus.NewDesc("roombridge_dingtalk_month_budget", "Monthly budget of metered DingTalk calls.", nil, nil),
		projected: prometheus.NewDesc("roombridge_dingtalk_month_projected", "Projected metered DingTalk calls by the month's end.", nil, nil),
		interval:  prometheus.NewDesc("roombridge_dingtalk_sync_interval_seconds", "Current time between DingTalk sync passes.", nil, nil),
	}
}

type usageCollector struct {
	status                            func() models.UsageStatus
	used, budget, projected, interval *prometheus.Desc
}

func (c *usageCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.used
	ch <- c.budget
	ch <- c.projected
	ch <- c.interval
}

func (c *usageCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.status()
	ch <- prometheus.MustNewConstMetric(c.used, prometheus.GaugeValue, float64(st.Used))
	ch <- prometheus.MustNewConstMetric(c.budget, prometheus.GaugeValue, float64(st.Budget))
	ch <- prometheus.MustNewConstMetric(c.projected, prometheus.GaugeValue, float64(st.Projected))
	ch <- prometheus.MustNewConstMetric(c.interval, prometheus.GaugeValue, st.Interval.Seconds())
}
