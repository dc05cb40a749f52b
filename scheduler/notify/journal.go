package notify

import (
	"context"
	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"strconv"
	"sync"
	"time"
)

// journalKeep is how long a write is kept for replay: more than Redis's
// append-only file can lose with "appendfsync everysec" (about one second,
// two when fsync is slow) or a replica lags behind its master at failover.
const journalKeep = 5 * time.Second

// journal remembers this process's last few seconds of state writes, shard
// by shard, with the run_id of the server that took them. When a later
// write finds another run_id, the server restarted (or failed over) and may
// have lost what it acknowledged last: the journal writes it again. Writes
// are idempotent bit sets (reasons count only bits that change), so
// writing one that survived changes nothing. Without this, a Redis that
// lost its last second would make this process send those messages again,
// uncounted.
type journal struct {
	mu      sync.Mutex
	entries []entry
	runIDs  map[string]string // account:shard → run_id last seen
	now     func() time.Time
	// Replays counts writes replayed after a restart (for tests, metrics).
	replays int
}

type entry struct {
	at    time.Time
	key   string // account:shard
	sc    Scope
	shard int
	c     *changes
}

// wrote records a write server runID took, and replays the shard's recent
// writes when runID is new.
func (j *journal) wrote(ctx context.Context, n *Notifier, sc Scope, shard int, runID string, c *changes) error {
	key := sc.Account + ":" + strconv.Itoa(shard)
	now := j.now()
	j.mu.Lock()
	if j.runIDs == nil {
		j.runIDs = map[string]string{}
	}
	prev, known := j.runIDs[key]
	j.runIDs[key] = runID
	var replay []entry
	if known && prev != runID {
		for _, e := range j.entries {
			if e.key == key && now.Sub(e.at) < journalKeep {
				replay = append(replay, e)
			}
		}
		j.replays += len(replay)
	}
	// Drop what is too old to matter, keep this write. Entries are in
	// time order: the old ones are a prefix, so this is not a scan of the
	// journal on every write.
	old := 0
	for old < len(j.entries) && now.Sub(j.entries[old].at) >= journalKeep {
		old++
	}
	j.entries = j.entries[old:]
	if !c.empty() {
		j.entries = append(j.entries, entry{at: now, key: key, sc: sc, shard: shard, c: c})
	}
	j.mu.Unlock()
	if len(replay) == 0 {
		return nil
	}
	n.log.Warn("redis restarted: writing the last seconds' delivery states again", "account", sc.Account, "shard", shard, "writes", len(replay))
	for _, e := range replay {
		// In their order, without a lease: the batch's lease may be gone.
		if _, _, err := n.run(ctx, e.sc, e.shard, e.sc.leaseKey(e.shard, "none"), "-", 0, e.c, false); err != nil {
			return err
		}
	}
	// This write was made on the new server before the replay: make it
	// last again.
	_, _, err := n.run(ctx, sc, shard, sc.leaseKey(shard, "none"), "-", 0, c, false)
	return err
}

// Replays reports how many writes were replayed after a Redis restart.
func (n *Notifier) Replays() int {
	n.journal.mu.Lock()
	defer n.journal.mu.Unlock()
	return n.journal.replays
}

// Sync checks every shard of sc's account for a restarted server and
// writes this process's recent states again where one did, before a caller
// reads states to decide what to send (a lease's Acquire does the same for
// its shard).
func (n *Notifier) Sync(ctx context.Context, sc Scope) error {
	for shard := range profile.Shards {
		if err := n.apply(ctx, sc, shard, "", "", 0, &changes{}); err != nil {
			return err
		}
	}
	return nil
}
