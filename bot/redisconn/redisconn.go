// Package redisconn opens kepubot's Redis client from its URL: one server
// (redis://host:port/db) or a Redis Cluster (a comma-separated list of seed
// nodes), with the Cluster options that make a client follow a failover
// within seconds. The service, its CLI and the test kit all connect here,
// so a fault test's worker process runs with the options production runs
// with.
//
// Why these Cluster options (go-redis v9 defaults in brackets):
//
//   - DialTimeout 1 s [5 s]: a SIGKILLed master's port refuses at once, but
//     a master behind a dead host or partition never answers; a short dial
//     lets the retry move on to the promoted replica quickly.
//   - ReadTimeout / WriteTimeout 2 s [3 s]: commands are small; a stuck
//     node fails over to the next attempt inside WeChat's 5 s webhook limit.
//   - MaxRedirects 8 [3]: a failover (node-timeout plus the election, 2–5 s
//     with cluster-node-timeout 1–2 s) answers CLUSTERDOWN, MOVED and
//     connection errors in turn; each attempt backs off (MinRetryBackoff
//     50 ms, MaxRetryBackoff 1 s), so 8 attempts span the promotion.
//   - ClusterStateReloadInterval 5 s [60 s]: the slot table is refreshed in
//     the background even when no command failed.
//   - ReadOnly, RouteByLatency, RouteRandomly off: every read goes to the
//     master, so a reader sees its own writes (replicas lag) and nothing
//     reads a replica that is about to be demoted or is still loading.
//   - A hook reloads the slot table (ReloadState, which coalesces and
//     cools down for 200 ms) on every connection error and on CLUSTERDOWN /
//     TRYAGAIN: go-redis reloads on MOVED by itself, but a dead master
//     answers with connection errors, never MOVED, and without the hook
//     the client dialled it until the next periodic reload (60 s).
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster timing; see the package comment for why.
const (
	DialTimeout         = time.Second
	CommandTimeout      = 2 * time.Second
	MaxRedirects        = 8
	MinRetryBackoff     = 50 * time.Millisecond
	MaxRetryBackoff     = time.Second
	StateReloadInterval = 5 * time.Second
)

// Open returns a client for url: a comma-separated list of nodes (each
// host:port or redis://…) opens a Cluster client, anything else (a
// redis:// URL or host:port) a single-server client by redis.ParseURL. The client is not pinged.
func Open(url string) (redis.UniversalClient, error) {
	if !strings.Contains(url, ",") {
		if !strings.Contains(url, "://") {
			url = "redis://" + url // host:port
		}
		o, err := redis.ParseURL(url)
		if err != nil {
			return nil, err
		}
		return redis.NewClient(o), nil
	}
	opts := &redis.ClusterOptions{}
	for _, part := range strings.Split(url, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "://") {
			part = "redis://" + part
		}
		o, err := redis.ParseURL(part)
		if err != nil {
			return nil, err
		}
		opts.Addrs = append(opts.Addrs, o.Addr)
		opts.Username, opts.Password, opts.TLSConfig = o.Username, o.Password, o.TLSConfig
	}
	return NewCluster(opts), nil
}

// NewCluster returns a Cluster client for opts.Addrs with kepubot's
// failover options set over opts (fields that are zero, and the routing
// flags, which are forced off) and the reload-on-error hook added.
func NewCluster(opts *redis.ClusterOptions) *redis.ClusterClient {
	o := *opts
	if o.DialTimeout == 0 {
		o.DialTimeout = DialTimeout
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = CommandTimeout
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = CommandTimeout
	}
	if o.MaxRedirects == 0 {
		o.MaxRedirects = MaxRedirects
	}
	if o.MinRetryBackoff == 0 {
		o.MinRetryBackoff = MinRetryBackoff
	}
	if o.MaxRetryBackoff == 0 {
		o.MaxRetryBackoff = MaxRetryBackoff
	}
	if o.ClusterStateReloadInterval == 0 {
		o.ClusterStateReloadInterval = StateReloadInterval
	}
	o.ReadOnly, o.RouteByLatency, o.RouteRandomly = false, false, false
	c := redis.NewClusterClient(&o)
	c.AddHook(reloadHook{c})
	return c
}

// reloadHook asks the Cluster client to reload its slot table when a
// command or pipeline fails in a way a topology change explains.
type reloadHook struct{ c *redis.ClusterClient }

func (h reloadHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h reloadHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if Unavailable(err) {
			h.c.ReloadState(ctx)
		}
		return err
	}
}

func (h reloadHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if Unavailable(err) {
			h.c.ReloadState(ctx)
		}
		return err
	}
}

// Unavailable reports whether err means Redis could not serve the command
// (and, on a Cluster, that its topology may have changed): a network error
// (a dead or unreachable node), CLUSTERDOWN, TRYAGAIN, LOADING, MASTERDOWN,
// or a write to a node that became a replica.
func Unavailable(err error) bool {
	// The caller's own deadline or cancellation says nothing about Redis
	// (context.DeadlineExceeded would otherwise pass as a net.Error).
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	return redis.IsClusterDownError(err) || redis.IsTryAgainError(err) || redis.IsReadOnlyError(err) ||
		redis.IsLoadingError(err) || redis.IsMasterDownError(err)
}

// Describe names the servers of a client, without credentials, for error
// messages.
func Describe(rdb redis.UniversalClient) string {
	switch c := rdb.(type) {
	case *redis.Client:
		return c.Options().Addr
	case *redis.ClusterClient:
		return strings.Join(c.Options().Addrs, ",")
	}
	return "the configured address"
}

// Ping checks that rdb answers within timeout.
func Ping(ctx context.Context, rdb redis.UniversalClient, timeout time.Duration) error {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		return fmt.Errorf("ping %s: %w", Describe(rdb), err)
	}
	return nil
}
