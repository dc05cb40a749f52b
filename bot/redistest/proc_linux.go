package redistest

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// startProcess starts cmd; with dieWithParent, so that it dies with the
// test binary: the pooled Clusters (see Start) are stopped by no test's
// cleanup.
//
// The kernel sends Pdeathsig when the *thread* that forked the child
// exits, and the Go runtime may end threads, so those servers are forked
// from one goroutine locked to its thread for the life of the process.
// Only pooled servers get it: with it on every server, a queue test that
// counts pending deliveries failed one run in three (not understood yet;
// without it, 10 of 10 passed), and per-test servers are stopped by
// their test's cleanup anyway.
func startProcess(cmd *exec.Cmd, dieWithParent bool) error {
	if !dieWithParent {
		return cmd.Start()
	}
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for r := range spawner.reqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	done := make(chan error, 1)
	spawner.reqs <- spawnReq{cmd, done}
	return <-done
}

var spawner struct {
	once sync.Once
	reqs chan spawnReq
}

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}
