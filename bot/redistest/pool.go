package redistest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// pool holds the idle Clusters of this test binary (see Start).
var pool struct {
	mu    sync.Mutex
	idle  []*Cluster
	swept bool
}

// poolDirPrefix names the directories of pooled nodes after this process,
// so a later run can remove what a finished run left behind.
func poolDirPrefix() string { return "kbp" + strconv.Itoa(os.Getpid()) + "-" }

// startPooled lends tb an idle pooled Cluster (starting one when none is
// idle) and returns a client for it; the Cluster is flushed and returned
// when tb ends.
func startPooled(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	return borrow(tb).Client(tb)
}

// borrow lends tb an idle pooled Cluster, starting one when none is idle;
// it is flushed and returned to the pool when tb ends.
func borrow(tb testing.TB) *Cluster {
	tb.Helper()
	pool.mu.Lock()
	if !pool.swept {
		pool.swept = true
		sweepPoolDirs()
	}
	var c *Cluster
	if n := len(pool.idle); n > 0 {
		c, pool.idle = pool.idle[n-1], pool.idle[:n-1]
	}
	pool.mu.Unlock()
	if c == nil {
		var err error
		c, err = startCluster(ClusterOptions{dirPrefix: poolDirPrefix(), pooled: true})
		if err != nil {
			if c != nil {
				c.stop()
			}
			tb.Fatal(err)
		}
	}
	tb.Cleanup(func() { release(c) })
	return c
}

// release flushes c and puts it back in the pool; a Cluster that cannot
// be flushed (a test broke it) is stopped instead.
func release(c *Cluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.FlushAll(ctx); err != nil || len(c.Masters(ctx)) != 3 {
		c.stop()
		return
	}
	pool.mu.Lock()
	pool.idle = append(pool.idle, c)
	pool.mu.Unlock()
}

// sweepPoolDirs removes the directories of pooled nodes whose test binary
// has exited (its servers died with it; their files stay behind).
func sweepPoolDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "kbp*-*"))
	for _, d := range dirs {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(d), "kbp"), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
			os.RemoveAll(d)
		}
	}
}
