package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/redisconn"
)

// Cluster is a running Redis Cluster of real redis-server processes on free
// 127.0.0.1 ports: by default 3 masters with one replica each, AOF on
// (fsync every second), a node timeout of one second so a killed master's
// replica is promoted within a few seconds.
type Cluster struct {
	// Nodes are the servers, masters and replicas, in creation order.
	Nodes []*Server
}

// ClusterOptions tune StartCluster. The zero value is 3 masters, 1 replica
// each.
type ClusterOptions struct {
	// Masters is the number of masters (default 3, the Cluster minimum).
	Masters int
	// Replicas is the number of replicas per master (default 1; -1 for none).
	Replicas int
	// Args are extra redis-server arguments for every node.
	Args []string

	dirPrefix string // of the nodes' temporary directories
	pooled    bool   // nodes die with the test binary
}

// CLIBinary returns the path of redis-cli, or an error that says how to get it.
func CLIBinary() (string, error) {
	if p := os.Getenv("KEPUBOT_REDIS_CLI"); p != "" {
		return p, nil
	}
	for _, p := range []string{"redis-cli", "/usr/bin/redis-cli", "/usr/local/bin/redis-cli"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	return "", errors.New("redis-cli not found: install it (apt-get install redis-tools, which redis-server pulls in) or run `make redis`")
}

// StartCluster starts a Redis Cluster for tb; it is stopped when tb ends.
func StartCluster(tb testing.TB, opts ClusterOptions) *Cluster {
	tb.Helper()
	c, err := startCluster(opts)
	if c != nil {
		tb.Cleanup(c.stop)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// startCluster starts the nodes, joins them with redis-cli --cluster
// create and waits until every node reports the Cluster healthy.
func startCluster(opts ClusterOptions) (*Cluster, error) {
	cli, err := CLIBinary()
	if err != nil {
		return nil, err
	}
	masters, replicas := opts.Masters, opts.Replicas
	if masters == 0 {
		masters = 3
	}
	if replicas == 0 {
		replicas = 1
	} else if replicas < 0 {
		replicas = 0
	}
	c := &Cluster{}
	for range masters * (1 + replicas) {
		s, err := launchNew(func() (*Server, error) {
			bus, err := freePort()
			if err != nil {
				return nil, err
			}
			args := append([]string{
				"--cluster-enabled", "yes",
				"--cluster-port", strconv.Itoa(bus),
				"--cluster-node-timeout", "1000",
				"--cluster-config-file", "nodes.conf",
				"--appendonly", "yes", "--appendfsync", "everysec",
				// A replica syncs at once, not after the default 5 s wait for more.
				"--repl-diskless-sync-delay", "0",
			}, opts.Args...)
			return newServer(Options{TCP: true, Args: args, dirPrefix: opts.dirPrefix, pooled: opts.pooled})
		})
		if err != nil {
			return c, err
		}
		c.Nodes = append(c.Nodes, s)
	}
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		return c, fmt.Errorf("redis-cli --cluster create: %w\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c, c.WaitHealthy(ctx)
}

// Addrs returns every node's host:port.
func (c *Cluster) Addrs() []string {
	var addrs []string
	for _, s := range c.Nodes {
		addrs = append(addrs, s.Addr)
	}
	return addrs
}

// URL returns the nodes as KEPUBOT_REDIS_URL writes a Cluster: host:port
// pairs separated by commas.
func (c *Cluster) URL() string { return strings.Join(c.Addrs(), ",") }

// Client returns a Cluster client with kepubot's failover options
// (redisconn.NewCluster), closed when tb ends.
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	cl := redisconn.NewCluster(&redis.ClusterOptions{Addrs: c.Addrs(), PoolSize: 32})
	tb.Cleanup(func() { cl.Close() })
	return cl
}

// Alive reports whether the node's process runs.
func (s *Server) Alive() bool { return s.cmd != nil }

// nodeDo runs one command on one node by address, with a short timeout.
func nodeDo(ctx context.Context, addr string, args ...any) (any, error) {
	cl := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 500 * time.Millisecond,
		ReadTimeout: time.Second, MaxRetries: -1, PoolSize: 1})
	defer cl.Close()
	return cl.Do(ctx, args...).Result()
}

// WaitHealthy waits until every live node reports cluster_state:ok, all
// 16384 slots served and the same number of known nodes, and every live
// replica's link to its master is up.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	var last string
	for {
		ok := true
		for _, s := range c.Nodes {
			if !s.Alive() {
				continue
			}
			info, err := nodeDo(ctx, s.Addr, "cluster", "info")
			if err != nil {
				ok, last = false, err.Error()
				break
			}
			f := fields(fmt.Sprint(info))
			if f["cluster_state"] != "ok" || f["cluster_slots_ok"] != "16384" {
				ok, last = false, fmt.Sprintf("%s: state %s, slots ok %s", s.Addr, f["cluster_state"], f["cluster_slots_ok"])
				break
			}
			repl, err := nodeDo(ctx, s.Addr, "info", "replication")
			if err != nil {
				ok, last = false, err.Error()
				break
			}
			r := fields(fmt.Sprint(repl))
			if r["role"] == "slave" && r["master_link_status"] != "up" {
				ok, last = false, fmt.Sprintf("%s: replica link %s", s.Addr, r["master_link_status"])
				break
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not healthy: %s: %w", last, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// MasterOf returns the node that serves key's slot as master, as a live
// node's CLUSTER SLOTS says.
func (c *Cluster) MasterOf(ctx context.Context, key string) (*Server, error) {
	for _, s := range c.Nodes {
		if !s.Alive() {
			continue
		}
		cl := redis.NewClient(&redis.Options{Addr: s.Addr, DialTimeout: 500 * time.Millisecond, MaxRetries: -1, PoolSize: 1})
		slot, err := cl.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			cl.Close()
			continue
		}
		slots, err := cl.ClusterSlots(ctx).Result()
		cl.Close()
		if err != nil {
			continue
		}
		for _, r := range slots {
			if int64(r.Start) <= slot && slot <= int64(r.End) && len(r.Nodes) > 0 {
				if n := c.node(r.Nodes[0].Addr); n != nil {
					return n, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("no live node knows the master of %q", key)
}

// Masters returns the live nodes that are masters now.
func (c *Cluster) Masters(ctx context.Context) []*Server {
	var ms []*Server
	for _, s := range c.Nodes {
		if !s.Alive() {
			continue
		}
		if v, err := nodeDo(ctx, s.Addr, "role"); err == nil {
			if r, ok := v.([]any); ok && len(r) > 0 && r[0] == "master" {
				ms = append(ms, s)
			}
		}
	}
	return ms
}

// WaitPromoted waits, after dead (the master of key) was killed, until
// another live node serves key's slot as master and the Cluster is healthy
// again; it returns the new master.
func (c *Cluster) WaitPromoted(ctx context.Context, key string, dead *Server) (*Server, error) {
	for {
		if m, err := c.MasterOf(ctx, key); err == nil && m != dead && m.Alive() {
			if err := c.WaitHealthy(ctx); err != nil {
				return nil, err
			}
			return m, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no replica promoted for %q: %w", key, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// FlushAll empties every live master (replicas follow).
func (c *Cluster) FlushAll(ctx context.Context) error {
	for _, m := range c.Masters(ctx) {
		if _, err := nodeDo(ctx, m.Addr, "flushall"); err != nil {
			return fmt.Errorf("flushall %s: %w", m.Addr, err)
		}
	}
	return nil
}

func (c *Cluster) node(addr string) *Server {
	for _, s := range c.Nodes {
		if s.Addr == addr {
			return s
		}
	}
	return nil
}

// stop kills every node and removes its directory.
func (c *Cluster) stop() {
	for _, s := range c.Nodes {
		s.Stop()
		os.RemoveAll(s.dir)
	}
}

// fields parses INFO-style "key:value" lines.
func fields(info string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		if k, v, ok := strings.Cut(trimCR(sc.Text()), ":"); ok {
			m[k] = v
		}
	}
	return m
}
