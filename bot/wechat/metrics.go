package wechat

import (
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are shared by every Client on a registry.
type metrics struct {
	calls   *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kepubot_wechat_api_calls_total",
			Help: "WeChat API calls by API and errcode (0 = success, \"transport\" = no answer).",
		}, []string{"api", "errcode"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kepubot_wechat_api_call_duration_seconds",
			Help:    "WeChat API call latency by API.",
			Buckets: []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"api"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.calls, err = register(reg, m.calls); err != nil {
		return nil, err
	}
	if m.latency, err = register(reg, m.latency); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered
// under its name (a second Client on the same registry).
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

func (m *metrics) observe(api string, err error, start time.Time) {
	code := "0"
	if err != nil {
		if n, ok := Code(err); ok {
			code = strconv.Itoa(n)
		} else {
			code = "transport"
		}
	}
	m.calls.WithLabelValues(api, code).Inc()
	m.latency.WithLabelValues(api).Observe(time.Since(start).Seconds())
}
