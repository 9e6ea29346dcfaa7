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
	syncRows      *prometheus.CounterVec
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
		syncRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roombridge_sync_rows_total",
			Help: "Backend bookings a sync pass treated apart, by outcome: skipped (its row could not be written; the rest of the pass applied) or release_failed (imported although a release was queued for it: the release gave up, the backend still holds it).",
		}, []string{"backend", "outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.jobs, m.jobSeconds, m.outboxPending, m.outboxFailed, m.calls, m.metered, m.events, m.syncRows)
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

// SyncRows counts n backend bookings a sync pass of b treated apart, by outcome
// ("skipped" or "release_failed"). A nil Metrics counts nothing.
func (m *Metrics) SyncRows(b models.Backend, outcome string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.syncRows.WithLabelValues(string(b), outcome).Add(float64(n))
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
		state: prometheus.NewDesc("roombridge_dingtalk_sync_state",
			"1 for the state DingTalk sync is in: running, throttled (the budget stretches the interval) or paused (the month's budget is spent).", []string{"state"}, nil),
		until: prometheus.NewDesc("roombridge_dingtalk_sync_until_timestamp_seconds",
			"When a throttled or paused DingTalk sync runs its next pass (Unix time; 0 when running).", nil, nil),
		overage: prometheus.NewDesc("roombridge_dingtalk_sync_overage", "Metered calls sync may spend past the budget to keep one pass a day.", nil, nil),
	}
}

type usageCollector struct {
	status                                                   func() models.UsageStatus
	used, budget, projected, interval, state, until, overage *prometheus.Desc
}

func (c *usageCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.used
	ch <- c.budget
	ch <- c.projected
	ch <- c.interval
	ch <- c.state
	ch <- c.until
	ch <- c.overage
}

func (c *usageCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.status()
	ch <- prometheus.MustNewConstMetric(c.used, prometheus.GaugeValue, float64(st.Used))
	ch <- prometheus.MustNewConstMetric(c.budget, prometheus.GaugeValue, float64(st.Budget))
	ch <- prometheus.MustNewConstMetric(c.projected, prometheus.GaugeValue, float64(st.Projected))
	ch <- prometheus.MustNewConstMetric(c.interval, prometheus.GaugeValue, st.Interval.Seconds())
	for _, state := range []string{models.SyncRunning, models.SyncThrottled, models.SyncPaused} {
		v := 0.0
		if st.State == state {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, v, state)
	}
	until := 0.0
	if !st.Until.IsZero() {
		until = float64(st.Until.Unix())
	}
	ch <- prometheus.MustNewConstMetric(c.until, prometheus.GaugeValue, until)
	ch <- prometheus.MustNewConstMetric(c.overage, prometheus.GaugeValue, float64(st.Overage))
}
