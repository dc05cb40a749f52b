package bot

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the webhook's Prometheus metrics (WebhookOptions.Metrics;
// without them the webhook keeps its own, registered nowhere).
type Metrics struct {
	latency  *prometheus.HistogramVec
	messages *prometheus.CounterVec
	dedup    prometheus.Counter
	offlines prometheus.Counter
	early    prometheus.Counter
	retries  prometheus.Counter
	lost     prometheus.Counter
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
		early: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kepubot_webhook_answered_early_total",
			Help: "Messages answered before their outcome (the activity) was recorded: read-only answers.",
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kepubot_webhook_record_retries_total",
			Help: "Retries of recording a message answered early, while Redis failed.",
		}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kepubot_webhook_records_lost_total",
			Help: "Messages answered early whose activity could not be recorded (Redis failed for a minute).",
		}),
	}
	reg.MustRegister(m.latency, m.messages, m.dedup, m.offlines, m.early, m.retries, m.lost)
	return m
}

func (m *Metrics) observe(kind string, status int, d time.Duration) {
	s := strconv.Itoa(status)
	m.latency.WithLabelValues(s).Observe(d.Seconds())
	m.messages.WithLabelValues(kind, s).Inc()
}
