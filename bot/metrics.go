package bot

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the webhook's Prometheus metrics. A nil *Metrics records
// nothing.
type Metrics struct {
	latency  *prometheus.HistogramVec
	messages *prometheus.CounterVec
	dedup    prometheus.Counter
	offlines prometheus.Counter
}

// NewMetrics registers the webhook metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kepubot_webhook_duration_seconds",
			Help:    "Time to answer a WeChat webhook request.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"status"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kepubot_webhook_messages_total",
			Help: "Inbound WeChat messages by type (text, voice, event_subscribe, ...) and status.",
		}, []string{"type", "status"}),
		dedup: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kepubot_webhook_dedup_hits_total",
			Help: "WeChat retries of messages already handled or in progress.",
		}),
		offlines: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kepubot_webhook_offline_total",
			Help: "Messages answered from memory, recording nothing, because Redis was unavailable.",
		}),
	}
	reg.MustRegister(m.latency, m.messages, m.dedup, m.offlines)
	return m
}

func (m *Metrics) observe(kind string, status int, d time.Duration) {
	if m == nil {
		return
	}
	s := strconv.Itoa(status)
	m.latency.WithLabelValues(s).Observe(d.Seconds())
	m.messages.WithLabelValues(kind, s).Inc()
}

func (m *Metrics) offline() {
	if m != nil {
		m.offlines.Inc()
	}
}

func (m *Metrics) dedupHit() {
	if m != nil {
		m.dedup.Inc()
	}
}
