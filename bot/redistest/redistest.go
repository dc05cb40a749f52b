// Package redistest starts a private redis-server for a test.
//
// Every call to Start runs its own server in a temporary directory, listening
// on a unix socket only, so tests and packages run in parallel without sharing
// data and without fighting over TCP ports. The server is stopped when the
// test ends. Redis is never mocked: the server is the real Debian
// redis-server that .ci/run installs when a machine lacks it.
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

	cmd  *exec.Cmd
	dir  string
	bin  string
	args []string
}

// Options tune a server. The zero value is a unix-socket server with no
// persistence.
type Options struct {
	// TCP makes the server listen on a free 127.0.0.1 port instead of a
	// unix socket (needed when another process must reach it by address).
	TCP bool
	// Args are extra redis-server arguments, e.g. "--maxmemory", "10mb".
	Args []string
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

// Start starts a fresh redis-server for tb and returns a client connected to
// it. Both are closed when tb ends.
func Start(tb testing.TB) redis.UniversalClient {
	tb.Helper()
	srv := StartServer(tb, Options{})
	return srv.Client(tb)
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
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	// t.TempDir paths can exceed the 107-byte unix socket limit; use a short one.
	dir, err := os.MkdirTemp("", "kbr")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir}
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
	s.bin, s.args = bin, append(args, opts.Args...)
	if err := s.run(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the server and removes its directory.
func (s *Server) Close() {
	s.Stop()
	os.RemoveAll(s.dir)
}

func (s *Server) start(tb testing.TB) {
	tb.Helper()
	if err := s.run(); err != nil {
		tb.Fatal(err)
	}
}

func (s *Server) run() error {
	s.cmd = exec.Command(s.bin, s.args...)
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	if err := s.waitReady(10 * time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
		return fmt.Errorf("redis-server did not start: %w\n%s", err, log)
	}
	return nil
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

// UsedMemory reports the server's used_memory in bytes.
func UsedMemory(ctx context.Context, c redis.UniversalClient) (int64, error) {
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
