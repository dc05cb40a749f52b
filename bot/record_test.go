package bot_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
)

// scriptGate holds Redis scripts (the commit is one) while closed, or
// fails the next ones: a commit that Redis has not run yet, or that fails.
type scriptGate struct {
	mu   sync.Mutex
	open chan struct{} // nil: scripts pass
	fail atomic.Int64  // scripts still to fail, as a dropped connection
}

func (g *scriptGate) hold() {
	g.mu.Lock()
	g.open = make(chan struct{})
	g.mu.Unlock()
}

func (g *scriptGate) release() {
	g.mu.Lock()
	if g.open != nil {
		close(g.open)
		g.open = nil
	}
	g.mu.Unlock()
}

func (g *scriptGate) DialHook(next redis.DialHook) redis.DialHook { return next }
func (g *scriptGate) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (g *scriptGate) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if name := cmd.Name(); name != "evalsha" && name != "eval" {
			return next(ctx, cmd)
		}
		g.mu.Lock()
		open := g.open
		g.mu.Unlock()
		if open != nil {
			<-open
		}
		if g.fail.Add(-1) >= 0 {
			cmd.SetErr(io.EOF)
			return io.EOF
		}
		return next(ctx, cmd)
	}
}

// async sends a text from openID on its own goroutine, a second after the
// last message.
func async(f *fixture, openID, text string) <-chan wechattest.Reply {
	f.clock.Add(time.Second)
	return asyncPost(f, func() (wechattest.Reply, error) { return f.phone.Text(f.ctx, openID, text) })
}

// within waits up to d for c's reply; false when none came.
func within(c <-chan wechattest.Reply, d time.Duration) (wechattest.Reply, bool) {
	select {
	case r := <-c:
		return r, true
	case <-time.After(d):
		return wechattest.Reply{}, false
	}
}

func asyncPost(f *fixture, post func() (wechattest.Reply, error)) <-chan wechattest.Reply {
	c := make(chan wechattest.Reply, 1)
	go func() {
		r, err := post()
		if err != nil {
			r.Content = "error: " + err.Error()
		}
		c <- r
	}()
	return c
}

// A help changes nothing but the resident's activity: it is answered
// while its commit has not run yet, and recorded after. A message that
// changes something (退订) is answered only once its change is recorded.
func TestReadOnlyAnsweredBeforeRecorded(t *testing.T) {
	t.Parallel()
	f := setup(t)
	gate := &scriptGate{}
	f.rdb.AddHook(gate)
	f.event(t, "oEarly", "subscribe", "", nil)
	before := f.profile(t, "oEarly")

	gate.hold()
	f.clock.Add(time.Second)
	helpAt := f.clock.Now().Truncate(time.Second)
	helpXML := textXML("oEarly", "帮助", helpAt, 777)
	help, ok := within(asyncPost(f, func() (wechattest.Reply, error) { return f.phone.Post(f.ctx, helpXML) }), 3*time.Second)
	if !ok {
		gate.release()
		t.Fatal("帮助 was not answered while its commit waited")
	}
	wantContains(t, help, "您可以这样用")
	if p, _, err := f.store.Get(f.ctx, "default", "oEarly"); err != nil || !p.LastMessageAt.Equal(before.LastMessageAt) {
		t.Fatalf("while the commit waits, the profile already has the help's activity: %v %v", p, err)
	}

	optOut := async(f, "oEarly", "退订")
	if r, ok := within(optOut, 300*time.Millisecond); ok {
		t.Fatalf("退订 answered before its commit ran: %q", r.Content)
	}
	gate.release()
	wantContains(t, <-optOut, "已停止给您推送")
	p := f.profile(t, "oEarly")
	if !p.OptedOut {
		t.Errorf("退订 not recorded: %+v", p)
	}
	if want := helpAt.Add(time.Second); !p.LastMessageAt.Equal(want) {
		t.Errorf("LastMessageAt = %v, want the 退订's %v", p.LastMessageAt, want)
	}

	// The help was recorded too: WeChat's retry of it is answered from its
	// dedup record. Handled again, it would set LastMessageAt back to its
	// own, older time.
	r, err := f.phone.Post(f.ctx, helpXML)
	if err != nil || r.Content != help.Content {
		t.Fatalf("retry of the help: %q %v, want %q", r.Content, err, help.Content)
	}
	if p := f.profile(t, "oEarly"); !p.LastMessageAt.Equal(helpAt.Add(time.Second)) {
		t.Errorf("the help's retry was handled again: LastMessageAt = %v", p.LastMessageAt)
	}
}

// A help answered from a cached profile that another replica has changed
// since: the commit conflicts, and the message is handled again on the
// new profile to record it. Nothing the other replica wrote is lost, and
// the next help is answered from the new profile.
func TestAnsweredEarlyRecordedOnTheNewProfile(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var observed, ran atomic.Int64
	other, _ := f.safeReplica(t, &observed, &ran)
	f.event(t, "oStale", "subscribe", "", nil)
	f.text(t, "oStale", "帮助") // cached on f's replica
	f.clock.Add(time.Second)
	if r, err := other.Text(f.ctx, "oStale", "长辈模式"); err != nil || r.Status != 200 {
		t.Fatalf("长辈模式 on the other replica: %v %v", r.Status, err)
	}
	f.text(t, "oStale", "帮助")
	at := f.clock.Now().Truncate(time.Second)
	p := f.profile(t, "oStale")
	if !p.Elder {
		t.Errorf("elder mode set on the other replica was lost: %+v", p)
	}
	if !p.LastMessageAt.Equal(at) {
		t.Errorf("LastMessageAt = %v, want the help's %v", p.LastMessageAt, at)
	}
	if r := f.text(t, "oStale", "帮助"); !strings.Contains(r.Content, "发一个词就能查") {
		t.Errorf("help after the conflict: %q, want elder mode's", r.Content)
	}
}

// While Redis fails, the recorder retries a help's commit with backoff
// until it is recorded.
func TestAnsweredEarlyRetriedWhileRedisFails(t *testing.T) {
	t.Parallel()
	f := setup(t)
	gate := &scriptGate{}
	f.rdb.AddHook(gate)
	f.event(t, "oRetry", "subscribe", "", nil)
	f.flush(t)
	gate.fail.Store(3)
	wantContains(t, f.text(t, "oRetry", "帮助"), "您可以这样用")
	at := f.clock.Now().Truncate(time.Second)
	if p := f.profile(t, "oRetry"); !p.LastMessageAt.Equal(at) {
		t.Errorf("LastMessageAt = %v, want the help's %v", p.LastMessageAt, at)
	}
	if n := gate.fail.Load(); n >= 0 {
		t.Errorf("%d failures left: the commits did not go through the gate", n+1)
	}
}

// Close waits for the messages answered early to be recorded; after it,
// a help is recorded before it is answered.
func TestWebhookCloseRecordsWhatWasAnswered(t *testing.T) {
	t.Parallel()
	f := setup(t)
	gate := &scriptGate{}
	f.rdb.AddHook(gate)
	ids := []string{"oClose1", "oClose2", "oClose3", "oClose4"}
	for _, id := range ids {
		f.event(t, id, "subscribe", "", nil)
	}
	f.flush(t)
	gate.hold()
	for _, id := range ids {
		wantContains(t, <-async(f, id, "帮助"), "您可以这样用")
	}
	at := f.clock.Now().Truncate(time.Second)
	closed := make(chan error, 1)
	go func() { closed <- f.wh.Close(f.ctx) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) before the held commits ran", err)
	case <-time.After(200 * time.Millisecond):
	}
	gate.release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		p, _, err := f.store.Get(f.ctx, "default", id)
		if want := at.Add(time.Duration(i-len(ids)+1) * time.Second); err != nil || !p.LastMessageAt.Equal(want) {
			t.Errorf("%s after Close: %v %v, want LastMessageAt %v", id, p, err, want)
		}
	}
	f.text(t, "oClose1", "帮助")
	at = f.clock.Now().Truncate(time.Second)
	if p, _, err := f.store.Get(f.ctx, "default", "oClose1"); err != nil || !p.LastMessageAt.Equal(at) {
		t.Errorf("a help after Close was answered before it was recorded: %v %v", p, err)
	}
}

// Residents in a conversation (cached on the replica) of a safe-mode
// account send 帮助 while redis-server is SIGKILLed: each is answered at
// once, from the cache, and recorded once Redis is back from its AOF:
// none lost. (A plain or compat account must claim the request's nonce
// in Redis first: its helps get the offline answer, TestWebhookWhileRedisDown.)
func TestHelpsDuringRedisOutageRecordedAfter(t *testing.T) {
	t.Parallel()
	redistest.SkipOnCluster(t, "it SIGKILLs one redis-server; the Cluster's fault is TestWebhookDuringClusterFailover")
	srv := redistest.StartServer(t, redistest.Options{Args: []string{"--appendonly", "yes", "--appendfsync", "always"}})
	f := setupOn(t, srv.Client(t))
	var observed, ran atomic.Int64
	phone, wh := f.safeReplica(t, &observed, &ran)
	text := func(openID string) wechattest.Reply {
		t.Helper()
		f.clock.Add(time.Second)
		r, err := phone.Text(f.ctx, openID, "帮助")
		if err != nil || r.Status != 200 {
			t.Fatalf("%s: 帮助: %v %v", openID, r.Status, err)
		}
		return r
	}
	flush := func() {
		t.Helper()
		if err := wh.Flush(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	const residents = 20
	id := func(i int) string { return fmt.Sprintf("oOutage%02d", i) }
	for i := range residents {
		f.clock.Add(time.Second)
		if r, err := phone.Event(f.ctx, id(i), "subscribe", "", nil); err != nil || r.Status != 200 {
			t.Fatalf("subscribe: %v %v", r.Status, err)
		}
		text(id(i))
	}
	flush()
	srv.Kill()
	killed := time.Now()
	answeredAt := make([]time.Time, residents)
	took := make([]time.Duration, residents)
	for i := range residents {
		start := time.Now()
		wantContains(t, text(id(i)), "您可以这样用")
		took[i] = time.Since(start)
		if took[i] > 5*time.Second {
			t.Errorf("%s: 帮助 answered in %v during the outage, after WeChat's 5 s", id(i), took[i])
		}
		answeredAt[i] = f.clock.Now().Truncate(time.Second)
	}
	// At once, from the cache: not after the Redis client's retries (1.7 s,
	// TestWebhookWhileRedisDown). The median, so that a loaded machine's
	// pause on one message does not count.
	slices.Sort(took)
	if took[residents/2] > time.Second {
		t.Errorf("median answer during the outage took %v, want at once (all: %v)", took[residents/2], took)
	}
	t.Logf("%d helps answered %v after the kill", residents, time.Since(killed).Round(time.Millisecond))
	time.Sleep(500 * time.Millisecond) // the recorder retries meanwhile
	srv.Restart(t)
	flush()
	lost := 0
	for i := range residents {
		if p := f.profile(t, id(i)); !p.LastMessageAt.Equal(answeredAt[i]) {
			lost++
			t.Errorf("%s: LastMessageAt = %v, want the outage help's %v", id(i), p.LastMessageAt, answeredAt[i])
		}
	}
	t.Logf("lost %d of %d, recorded %v after the kill", lost, residents, time.Since(killed).Round(time.Millisecond))
}

// A help from a subscriber the replica has not cached: Begin claimed it
// in Redis (for claimTTL only) and loaded the profile; it is answered
// before its commit. When that commit comes after the claim lapsed (here:
// the claim is deleted while the commit is held), the recorder claims the
// message in the commit instead and records it, with its dedup record.
func TestUncachedHelpAnsweredEarlyEvenIfItsClaimLapses(t *testing.T) {
	t.Parallel()
	f := setup(t)
	gate := &scriptGate{}
	f.rdb.AddHook(gate)
	var observed, ran atomic.Int64
	other, wh := f.safeReplica(t, &observed, &ran)
	f.event(t, "oCold", "subscribe", "", nil)
	f.flush(t)
	f.clock.Add(time.Second)
	at := f.clock.Now().Truncate(time.Second)
	help := textXML("oCold", "帮助", at, 4242)
	gate.hold()
	r, ok := within(asyncPost(f, func() (wechattest.Reply, error) { return other.Post(f.ctx, help) }), 3*time.Second)
	if !ok {
		gate.release()
		t.Fatal("an uncached help was not answered while its commit waited")
	}
	wantContains(t, r, "您可以这样用")
	// The key Store.Begin claimed (profile.dedupKey of the message's
	// dedupKey): delete it, as if its 4.5 s had passed.
	claim := fmt.Sprintf("kb:{default:%d}:dd:m:%s:4242", profile.ShardOf("oCold"), profile.Pseudonym("oCold"))
	if n, err := f.rdb.Del(f.ctx, claim).Result(); err != nil || n != 1 {
		gate.release()
		t.Fatalf("deleting the claim %s: %d, %v (not where Begin put it?)", claim, n, err)
	}
	gate.release()
	if err := wh.Flush(f.ctx); err != nil {
		t.Fatal(err)
	}
	if p := f.profile(t, "oCold"); !p.LastMessageAt.Equal(at) {
		t.Errorf("LastMessageAt = %v, want the help's %v", p.LastMessageAt, at)
	}
	if rec, err := f.rdb.Get(f.ctx, claim).Result(); err != nil || !strings.HasPrefix(rec, "r:") {
		t.Errorf("dedup record after the recorder's commit: %q, %v; want the kept reply", rec, err)
	}
	if retry, err := other.Post(f.ctx, help); err != nil || retry.Content != r.Content {
		t.Fatalf("retry: %q %v, want %q", retry.Content, err, r.Content)
	}
	if err := wh.Flush(f.ctx); err != nil {
		t.Fatal(err)
	}
	if p := f.profile(t, "oCold"); !p.LastMessageAt.Equal(at) {
		t.Errorf("after the retry LastMessageAt = %v, want %v", p.LastMessageAt, at)
	}
}
