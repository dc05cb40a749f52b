package redisconn_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/redisconn"
)

func TestUnavailable(t *testing.T) {
	t.Parallel()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"redis.Nil", redis.Nil, false},
		{"caller's deadline", fmt.Errorf("load: %w", context.DeadlineExceeded), false},
		{"caller cancelled", context.Canceled, false},
		{"a script's own error", errors.New("ERR user script failed"), false},
		{"connection refused", fmt.Errorf("claim: %w", refused), true},
		{"EOF", io.EOF, true},
		{"reset", syscall.ECONNRESET, true},
	}
	for _, tc := range tests {
		if got := redisconn.Unavailable(tc.err); got != tc.want {
			t.Errorf("Unavailable(%s: %v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url     string
		cluster bool
		addrs   string
	}{
		{"redis://127.0.0.1:7000/0", false, "127.0.0.1:7000"},
		{"127.0.0.1:7000", false, "127.0.0.1:7000"},
		{"127.0.0.1:7000,127.0.0.1:7001, redis://127.0.0.1:7002", true, "127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002"},
	}
	for _, tc := range tests {
		c, err := redisconn.Open(tc.url)
		if err != nil {
			t.Errorf("Open(%q): %v", tc.url, err)
			continue
		}
		_, isCluster := c.(*redis.ClusterClient)
		if isCluster != tc.cluster || redisconn.Describe(c) != tc.addrs {
			t.Errorf("Open(%q) = cluster %v at %s, want cluster %v at %s", tc.url, isCluster, redisconn.Describe(c), tc.cluster, tc.addrs)
		}
		if cc, ok := c.(*redis.ClusterClient); ok {
			o := cc.Options()
			if o.MaxRedirects != redisconn.MaxRedirects || o.ReadOnly || o.RouteByLatency || o.DialTimeout != redisconn.DialTimeout ||
				o.ClusterStateReloadInterval != redisconn.StateReloadInterval {
				t.Errorf("Open(%q) cluster options = %+v, want redisconn's failover options", tc.url, o)
			}
		}
		c.Close()
	}
	if _, err := redisconn.Open("redis://[bad"); err == nil {
		t.Error("Open(bad URL) = nil error")
	}
}
