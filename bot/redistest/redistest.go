// Package redistest starts a private redis-server, or a real Redis
// Cluster, for a test.
//
// Every call to Start runs its own server in a temporary directory, listening
// on a unix socket only, so tests and packages run in parallel without sharing
// data and without fighting over TCP ports. The server is stopped when the
// test ends. Redis is never mocked: the server is the real Debian
// redis-server that .ci/run installs when a machine lacks it.
//
// StartCluster starts a 6-node Redis Cluster (redis-server
// --cluster-enabled ×6 on free ports, AOF on, joined by redis-cli --cluster
// create) for failover tests: MasterOf finds the node serving a key,
// Server.Kill SIGKILLs it, WaitPromoted waits for its replica. With
// KEPUBOT_TEST_REDIS=cluster (make test-cluster), Start itself hands out
// Clusters from a per-binary pool, so the whole suite runs on one.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a running redis-server owned by one test (or benchmark).
type Server struct {
	// Addr is the unix socket path, or host:port when started with TCP.
	Addr string
	// Network is "unix" or "tcp".
	Network string

	cmd    *exec.Cmd
	dir    string
	pooled bool
	bin    string
	args   []string
}

// Options tune a server. The zero value is a unix-socket server with no
// persistence.
type Options struct {
	// TCP makes the server listen on a free 127.0.0.1 port instead of a
	// unix socket (needed when another process must reach it by address).
	TCP bool
	// Args are extra redis-server arguments, e.g. "--maxmemory", "10mb".
	Args []string

	dirPrefix string // of the temporary directory (default "kbr")
	pooled    bool   // the server dies with the test binary (see startProcess)
}

// Binary returns the path of redis-server, or an error that says how to get it.
func Binary() (string, error) {
	if p := os.Getenv("KEPUBOT_REDIS_SERVER"); p != "" {
		return p, nil
	}
	for _, p := range []string{"redis-server", "/usr/bin/redis-server", "/usr/sbin/redis-server", "/usr/local/bin/redis-server"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	return "", errors.New("redis-server not found: install it (apt-get install redis-server) or run `make test`, which does")
}

// EnvMode names the environment variable that chooses what Start gives a
// test: unset or "single" a private redis-server, "cluster" a Redis
// Cluster (see Start). `make test-cluster` sets it.
const EnvMode = "KEPUBOT_TEST_REDIS"

// Start gives tb an empty Redis and returns a client for it, closed when
// tb ends.
//
// By default that is a fresh redis-server of its own. With
// KEPUBOT_TEST_REDIS=cluster it is a 6-node Redis Cluster (3 masters, 3
// replicas) from a pool the test binary keeps: a test takes an idle
// Cluster (the pool starts one when none is idle, so parallel tests each
// have their own) and, when it ends, every master is flushed and the
// Cluster goes back to the pool. A package's tests thus share one or two
// Clusters instead of starting six servers each, and still never see each
// other's keys. The pooled servers die with the test binary.
func Start(tb testing.TB) redis.UniversalClient {
	tb.Helper()
	if OnCluster() {
		return startPooled(tb)
	}
	srv := StartServer(tb, Options{})
	return srv.Client(tb)
}

// StartURL is Start for a Redis that another process reaches by address
// (the service under test, a child `kepubot serve`): it returns the
// KEPUBOT_REDIS_URL for it and a client. By default that is a fresh
// redis-server on a TCP port with opts; with KEPUBOT_TEST_REDIS=cluster it
// is a pooled Cluster as Start lends (opts are ignored: its nodes run
// with AOF on) and the URL lists its nodes. Tests that must kill or
// restart their Redis use StartServer or StartCluster instead.
func StartURL(tb testing.TB, opts Options) (url string, client redis.UniversalClient) {
	tb.Helper()
	if OnCluster() {
		c := borrow(tb)
		return c.URL(), c.Client(tb)
	}
	opts.TCP = true
	srv := StartServer(tb, opts)
	return "redis://" + srv.Addr, srv.Client(tb)
}

// OnCluster reports whether KEPUBOT_TEST_REDIS asks for a Cluster.
func OnCluster() bool { return os.Getenv(EnvMode) == "cluster" }

// SkipOnCluster skips tb when KEPUBOT_TEST_REDIS=cluster, saying why: for
// a test of one redis-server on purpose (it kills and restarts it), which
// `make test` runs and a Cluster run would only repeat.
func SkipOnCluster(tb testing.TB, reason string) {
	tb.Helper()
	if OnCluster() {
		tb.Skip("SKIP on a Cluster (KEPUBOT_TEST_REDIS=cluster): " + reason)
	}
}

// StartServer starts a redis-server with opts; it is stopped when tb ends.
func StartServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := Launch(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Launch starts a redis-server with opts outside a test (`kepubot bench`
// starts its own); Close stops it and removes its directory.
func Launch(opts Options) (*Server, error) {
	return launchNew(func() (*Server, error) { return newServer(opts) })
}

// launchNew prepares a server with prepare and launches it, again with a
// freshly prepared one (new ports) when a port freePort found was taken
// before redis-server bound it: the ephemeral range is shared with every
// client socket on the machine, and under a parallel test run another
// process takes one now and then.
func launchNew(prepare func() (*Server, error)) (*Server, error) {
	for attempt := 1; ; attempt++ {
		s, err := prepare()
		if err != nil {
			return nil, err
		}
		err = s.launch()
		if err == nil {
			return s, nil
		}
		s.Close()
		if attempt == 5 || !strings.Contains(err.Error(), "Address already in use") {
			return nil, err
		}
	}
}

// Close stops the server and removes its directory.
func (s *Server) Close() {
	s.Stop()
	os.RemoveAll(s.dir)
}

// newServer prepares a server (its directory, address and arguments)
// without starting it.
func newServer(opts Options) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	// t.TempDir paths can exceed the 107-byte unix socket limit; use a short one.
	prefix := opts.dirPrefix
	if prefix == "" {
		prefix = "kbr"
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, pooled: opts.pooled}
	args := []string{
		"--dir", dir,
		"--save", "",
		"--appendonly", "no",
		"--bind", "127.0.0.1",
		"--loglevel", "warning",
		"--logfile", filepath.Join(dir, "redis.log"),
	}
	if opts.TCP {
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s.Network, s.Addr = "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		args = append(args, "--port", strconv.Itoa(port))
	} else {
		s.Network, s.Addr = "unix", filepath.Join(dir, "r.sock")
		args = append(args, "--port", "0", "--unixsocket", s.Addr, "--unixsocketperm", "700")
	}
	args = append(args, opts.Args...)

	s.bin, s.args = bin, args
	return s, nil
}

// launch starts the prepared server and waits until it answers PING.
func (s *Server) launch() error {
	s.cmd = exec.Command(s.bin, s.args...)
	if err := startProcess(s.cmd, s.pooled); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	if err := s.waitReady(10 * time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
		s.Kill()
		return fmt.Errorf("redis-server did not start: %w\n%s", err, log)
	}
	return nil
}

func (s *Server) start(tb testing.TB) {
	tb.Helper()
	if err := s.launch(); err != nil {
		tb.Fatal(err)
	}
}

// Restart starts the server again after Kill, on the same address and
// directory: with persistence on (e.g. Args "--appendonly", "yes") it loads
// what it had written, as a restarted production Redis would.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.Kill()
	s.start(tb)
}

// Client returns a new client for the server, closed when tb ends.
func (s *Server) Client(tb testing.TB) redis.UniversalClient {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Network: s.Network, Addr: s.Addr, PoolSize: 32})
	tb.Cleanup(func() { c.Close() })
	return c
}

// Kill stops the server at once, as a crash would (SIGKILL).
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// Stop shuts the server down. It is safe to call twice.
func (s *Server) Stop() { s.Kill() }

// UsedMemory reports the server's used_memory in bytes; on a Cluster, the
// sum over its masters.
func UsedMemory(ctx context.Context, c redis.UniversalClient) (int64, error) {
	if cc, ok := c.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		var total int64
		err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			n, err := UsedMemory(ctx, m)
			mu.Lock()
			total += n
			mu.Unlock()
			return err
		})
		return total, err
	}
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		line := sc.Text()
		const p = "used_memory:"
		if len(line) > len(p) && line[:len(p)] == p {
			return strconv.ParseInt(trimCR(line[len(p):]), 10, 64)
		}
	}
	return 0, errors.New("used_memory not in INFO")
}

func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout(s.Network, s.Addr, 100*time.Millisecond)
		if err == nil {
			fmt.Fprint(c, "PING\r\n")
			c.SetReadDeadline(time.Now().Add(time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if err == nil && trimCR(line) == "+PONG" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PONG from %s within %v", s.Addr, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func trimCR(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\r' || s[len(s)-1] == '\n') {
		s = s[:len(s)-1]
	}
	return s
}
