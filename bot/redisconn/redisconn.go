package redisconn

import (
	"cmp"
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
	o.DialTimeout = cmp.Or(o.DialTimeout, DialTimeout)
	o.ReadTimeout = cmp.Or(o.ReadTimeout, CommandTimeout)
	o.WriteTimeout = cmp.Or(o.WriteTimeout, CommandTimeout)
	o.MaxRedirects = cmp.Or(o.MaxRedirects, MaxRedirects)
	o.MinRetryBackoff = cmp.Or(o.MinRetryBackoff, MinRetryBackoff)
	o.MaxRetryBackoff = cmp.Or(o.MaxRetryBackoff, MaxRetryBackoff)
	o.ClusterStateReloadInterval = cmp.Or(o.ClusterStateReloadInterval, StateReloadInterval)
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
