//go:build !linux

package redistest

import "syscall"

// dieWithParent is a no-op where the kernel cannot signal a child when its
// parent dies: Stop and the test cleanups end the servers.
func dieWithParent() *syscall.SysProcAttr { return nil }
