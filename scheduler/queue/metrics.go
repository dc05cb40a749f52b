package queue

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are shared by every Queue on a registry.
type metrics struct {
	jobs      *prometheus.CounterVec
	reclaimed *prometheus.CounterVec
	latency   *prometheus.HistogramVec
}

// Job outcomes, the "outcome" label of kepubot_queue_jobs_total.
const (
	outcomeDone      = "done"
	outcomeRetry     = "retry"
	outcomeDead      = "dead"
	outcomeAbandoned = "abandoned"
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kepubot_queue_jobs_total",
			Help: "Job runs by queue, lane and outcome (done, retry, dead, abandoned at shutdown).",
		}, []string{"queue", "lane", "outcome"}),
		reclaimed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kepubot_queue_reclaimed_total",
			Help: "Deliveries taken over from a worker that did not acknowledge them in time.",
		}, []string{"queue", "lane"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kepubot_queue_handler_duration_seconds",
			Help:    "Handler latency by queue, lane and job kind.",
			Buckets: []float64{.001, .005, .025, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"queue", "lane", "kind"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.jobs, err = register(reg, m.jobs); err != nil {
		return nil, err
	}
	if m.reclaimed, err = register(reg, m.reclaimed); err != nil {
		return nil, err
	}
	if m.latency, err = register(reg, m.latency); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// its name (a second Queue on the same registry).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

func (m *metrics) observe(queue string, j Job, outcome string, took time.Duration) {
	m.jobs.WithLabelValues(queue, j.Lane.String(), outcome).Inc()
	m.latency.WithLabelValues(queue, j.Lane.String(), j.Kind).Observe(took.Seconds())
}
