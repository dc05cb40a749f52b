package redistest

import "syscall"

// dieWithParent makes a redis-server die with the test binary that started
// it, so servers shared by a package's tests (see Start) and servers of a
// test killed by a timeout do not outlive the run. The Go runtime does not
// end the OS thread that started a process unless a goroutine locked to it
// exits, which the helpers never do.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
