package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

// masterKill is TestReplicasChaos's Cluster fault: one master SIGKILLed
// while the campaign runs, and when its replica took over.
type masterKill struct {
	mu       sync.Mutex
	killed   time.Time // zero until the kill
	promoted time.Time // zero until a replica serves the slot again
	finished time.Time // when the campaign was seen done
}

// run waits 0.5–1.5 s (or until stop), SIGKILLs the master of a random
// key and waits for its replica to be promoted.
func (m *masterKill) run(t *testing.T, cl *redistest.Cluster, rng *rand.Rand, stop <-chan struct{}) {
	select {
	case <-stop:
		return
	case <-time.After(time.Duration(500+rng.IntN(1000)) * time.Millisecond):
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := fmt.Sprintf("chaos-%d", rng.IntN(1000))
	dead, err := cl.MasterOf(ctx, key)
	if err != nil {
		t.Error(err)
		return
	}
	dead.Kill()
	m.mu.Lock()
	m.killed = time.Now()
	m.mu.Unlock()
	if _, err := cl.WaitPromoted(ctx, key, dead); err != nil {
		t.Error(err)
		return
	}
	m.mu.Lock()
	m.promoted = time.Now()
	m.mu.Unlock()
}

// done notes when the campaign was seen done.
func (m *masterKill) done(at time.Time) {
	m.mu.Lock()
	m.finished = at
	m.mu.Unlock()
}

// check fails t unless the master died before the campaign was done and
// its replica was promoted.
func (m *masterKill) check(t *testing.T) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.killed.IsZero() || m.killed.After(m.finished) {
		t.Errorf("no master was killed before the campaign was done: the Cluster's failover was not tested")
	}
	if m.promoted.IsZero() {
		t.Errorf("the killed master's replica was not promoted")
	}
}

func (m *masterKill) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.killed.IsZero():
		return "no master killed"
	case m.promoted.IsZero():
		return "a master killed, no promotion seen"
	case m.finished.Before(m.promoted):
		return fmt.Sprintf("a master killed, its replica promoted %v later, the campaign done %v after the kill (before the promotion)",
			m.promoted.Sub(m.killed).Round(10*time.Millisecond), m.finished.Sub(m.killed).Round(10*time.Millisecond))
	}
	return fmt.Sprintf("a master killed, its replica promoted %v later, the campaign done %v after the promotion",
		m.promoted.Sub(m.killed).Round(10*time.Millisecond), m.finished.Sub(m.promoted).Round(10*time.Millisecond))
}
