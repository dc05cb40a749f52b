package redisconn

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Monitor watches whether Redis answers, for /healthz and /metrics: it
// pings every interval and counts, from a hook on the client, every
// command that failed for want of Redis (connection errors, CLUSTERDOWN,
// LOADING …; not redis.Nil or a script's own error).
//
// Metrics:
//
//	kepubot_redis_up                    1 while the last ping answered, else 0
//	kepubot_redis_errors_total          commands failed for want of Redis
//	kepubot_redis_outages_total         times Redis went from up to down
//	kepubot_redis_outage_seconds_total  time Redis did not answer (ping to ping)
type Monitor struct {
	rdb      redis.UniversalClient
	log      *slog.Logger
	interval time.Duration

	up      prometheus.Gauge
	errs    prometheus.Counter
	outages prometheus.Counter
	outage  prometheus.Counter

	mu    sync.Mutex
	fails int       // failed pings in a row
	down  time.Time // when the current outage began (zero while up)
	last  time.Time // when it was last added to outage
}

// downAfter is how many pings in a row must fail before Redis counts as
// down. One ping that times out on a starved machine (or during a GC
// pause) is not an outage: were it one, every webhook for the next
// interval would answer "please send it again" while Redis was fine. A
// real outage is seen one interval later; until then the requests that
// fail fall back on their own (see Unavailable).
const downAfter = 2

// NewMonitor registers the metrics with reg (nil: not exported) and adds
// the counting hook to rdb. Run starts the pings.
func NewMonitor(rdb redis.UniversalClient, reg prometheus.Registerer, log *slog.Logger, interval time.Duration) *Monitor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if interval <= 0 {
		interval = time.Second
	}
	m := &Monitor{rdb: rdb, log: log.With("component", "redis"), interval: interval,
		up:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "kepubot_redis_up", Help: "1 while Redis answered the last health ping, else 0."}),
		errs:    prometheus.NewCounter(prometheus.CounterOpts{Name: "kepubot_redis_errors_total", Help: "Redis commands failed because Redis was unreachable, down or failing over."}),
		outages: prometheus.NewCounter(prometheus.CounterOpts{Name: "kepubot_redis_outages_total", Help: "Times Redis went from answering to not answering."}),
		outage:  prometheus.NewCounter(prometheus.CounterOpts{Name: "kepubot_redis_outage_seconds_total", Help: "Seconds Redis did not answer the health pings."}),
	}
	m.up.Set(1)
	if reg != nil {
		reg.MustRegister(m.up, m.errs, m.outages, m.outage)
	}
	rdb.AddHook(countHook{m.errs})
	return m
}

// Run pings Redis every interval until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		m.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Up reports whether Redis is up: false once downAfter pings in a row
// failed, true again at the first that answers (and before the first).
func (m *Monitor) Up() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.down.IsZero()
}

// Check pings Redis once, updates the metrics and reports whether it
// answered.
func (m *Monitor) Check(ctx context.Context) bool {
	pctx, cancel := context.WithTimeout(ctx, m.interval)
	err := m.rdb.Ping(pctx).Err()
	cancel()
	if ctx.Err() != nil {
		return err == nil
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.fails++
	} else {
		m.fails = 0
	}
	switch {
	case err != nil && m.fails < downAfter:
		// One failure is not an outage yet.
	case err != nil && m.down.IsZero():
		m.down, m.last = now, now
		m.up.Set(0)
		m.outages.Inc()
		m.log.Warn("redis unreachable", "err", err)
	case err != nil:
		m.outage.Add(now.Sub(m.last).Seconds())
		m.last = now
	case !m.down.IsZero():
		m.outage.Add(now.Sub(m.last).Seconds())
		m.log.Info("redis answers again", "outage", now.Sub(m.down).Round(time.Millisecond).String())
		m.down = time.Time{}
		m.up.Set(1)
	}
	return err == nil
}

// countHook counts the commands that fail for want of Redis.
type countHook struct{ errs prometheus.Counter }

func (h countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if Unavailable(err) {
			h.errs.Inc()
		}
		return err
	}
}

func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if Unavailable(err) {
			h.errs.Inc()
		}
		return err
	}
}
