//go:build !linux

package redistest

import "os/exec"

// startProcess starts cmd. Without Linux's parent-death signal, Stop and
// the test cleanups end the servers; pooled Clusters outlive the test
// binary (their directories are swept by the next run).
func startProcess(cmd *exec.Cmd, _ bool) error { return cmd.Start() }
