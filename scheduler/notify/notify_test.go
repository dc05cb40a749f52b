package notify_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// sender is a scripted WeChat: it answers each openid's sends from a
// list of errors (nil = accepted), and counts what it accepted.
type sender struct {
	mu      sync.Mutex
	answers map[string][]error
	got     map[string]int
	block   chan struct{} // when set, sends wait on it (a process frozen mid-send)
}

func newSender() *sender { return &sender{answers: map[string][]error{}, got: map[string]int{}} }

func (s *sender) answer(openID string) error {
	s.mu.Lock()
	block := s.block
	s.mu.Unlock()
	if block != nil {
		<-block
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if a := s.answers[openID]; len(a) > 0 {
		err, s.answers[openID] = a[0], a[1:]
	}
	if err == nil {
		s.got[openID]++
	}
	return err
}

func (s *sender) SendNews(_ context.Context, o string, _ wechat.Article) error { return s.answer(o) }
func (s *sender) SendText(_ context.Context, o, _ string) error                { return s.answer(o) }
func (s *sender) SendTemplate(_ context.Context, m wechat.TemplateMessage) (int64, error) {
	return 1, s.answer(m.ToUser)
}
func (s *sender) MassSendToOpenIDs(_ context.Context, os []string, _ wechat.MassMessage, _ string) (wechat.MassResult, error) {
	for _, o := range os {
		if err := s.answer(o); err != nil {
			return wechat.MassResult{}, err
		}
	}
	return wechat.MassResult{MsgID: 7}, nil
}

func (s *sender) MassSendToTag(_ context.Context, tag int, _ wechat.MassMessage, _ string) (wechat.MassResult, error) {
	return wechat.MassResult{MsgID: 8}, s.answer(fmt.Sprintf("tag:%d", tag))
}
func (s *sender) MassSendToAll(_ context.Context, _ wechat.MassMessage, _ string) (wechat.MassResult, error) {
	return wechat.MassResult{MsgID: 9}, s.answer("all")
}

type bundle struct {
	ctx      context.Context
	rdb      redis.UniversalClient
	profiles *profile.Store
	n        *notify.Notifier
	snd      *sender
	members  []profile.Member
	sc       notify.Scope
	groups   []notify.Group // what Config.Groups returns
}

func setup(t *testing.T, count int) *bundle {
	t.Helper()
	ctx := context.Background()
	rdb := redistest.Start(t)
	ps, err := profile.NewStore(ctx, rdb, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{ctx: ctx, rdb: rdb, profiles: ps, snd: newSender(), sc: notify.Scope{Account: "default", Name: "t:1", TTL: time.Hour}}
	var all []*profile.Profile
	for i := range count {
		all = append(all, &profile.Profile{OpenID: fmt.Sprintf("oN%04d", i), Subscribed: true, Group: "farmer"})
	}
	if _, err := ps.Import(ctx, "default", all); err != nil {
		t.Fatal(err)
	}
	for _, p := range all {
		q, id, err := ps.Get(ctx, "default", p.OpenID)
		if err != nil {
			t.Fatal(err)
		}
		q.OpenID = p.OpenID
		b.members = append(b.members, profile.Member{ID: id, OpenID: p.OpenID, Profile: q})
	}
	b.n, err = notify.New(notify.Config{Redis: rdb, Profiles: ps, Sender: func(string) (notify.Sender, error) { return b.snd, nil },
		Groups:  func(context.Context, string) ([]notify.Group, error) { return b.groups, nil },
		Senders: 4, Lease: 300 * time.Millisecond, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Attempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// shard0 returns the members of one shard (the one with the most).
func (b *bundle) shard() (int, []profile.Member) {
	by := map[int][]profile.Member{}
	best := 0
	for _, m := range b.members {
		by[m.ID.Shard] = append(by[m.ID.Shard], m)
		if len(by[m.ID.Shard]) > len(by[best]) {
			best = m.ID.Shard
		}
	}
	return best, by[best]
}

func sends(ms []profile.Member) []notify.Send {
	var out []notify.Send
	for _, m := range ms {
		out = append(out, notify.Send{Member: m, Channel: plan.ChannelCustom, Message: notify.Message{Text: "你好"}})
	}
	return out
}

func (b *bundle) states(t *testing.T, shard int) notify.States {
	t.Helper()
	bits, err := b.profiles.Bits(b.ctx, "default", shard, b.sc.StateIndexes(), 0, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return notify.States(bits)
}

func TestRetryableAnswersLeaveMessagesPending(t *testing.T) {
	t.Parallel()
	b := setup(t, 200)
	shard, ms := b.shard()
	busy := &wechat.Error{Code: -1}
	// Everyone's first try is "system busy"; one keeps failing.
	for _, m := range ms {
		b.snd.answers[m.OpenID] = []error{busy}
	}
	stubborn := ms[0].OpenID
	b.snd.answers[stubborn] = []error{busy, busy, busy, busy, busy, busy, busy, busy}
	lease, err := b.n.Acquire(b.ctx, b.sc, shard, "x")
	if err != nil {
		t.Fatal(err)
	}
	err = lease.Deliver(b.ctx, notify.Decided{}, sends(ms))
	var re *queue.RetryError
	if !errors.As(err, &re) || !re.Free {
		t.Fatalf("Deliver = %v, want a queue.Later for the stubborn one", err)
	}
	st := b.states(t, shard)
	for _, m := range ms {
		i := m.ID.Local
		switch {
		case m.OpenID == stubborn:
			if st.Done(i) || st.InDoubt(i) {
				t.Errorf("the stubborn message is done or in flight; want pending")
			}
		case !profile.BitSet(st[1], i):
			t.Errorf("%s not sent after one busy answer", m.OpenID)
		}
	}
	lease.Release(b.ctx)
	// The job's next run sends it.
	b.snd.mu.Lock()
	b.snd.answers[stubborn] = nil
	b.snd.mu.Unlock()
	lease, _ = b.n.Acquire(b.ctx, b.sc, shard, "x")
	if err := lease.Deliver(b.ctx, notify.Decided{}, sends(ms[:1])); err != nil {
		t.Fatal(err)
	}
	b.snd.mu.Lock()
	defer b.snd.mu.Unlock()
	for _, m := range ms {
		if b.snd.got[m.OpenID] != 1 {
			t.Errorf("%s got %d messages, want 1", m.OpenID, b.snd.got[m.OpenID])
		}
	}
}

func TestLeaseKeepsOneRunPerBatch(t *testing.T) {
	t.Parallel()
	b := setup(t, 10)
	l1, err := b.n.Acquire(b.ctx, b.sc, 3, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.n.Acquire(b.ctx, b.sc, 3, "x"); !errors.Is(err, notify.ErrLeaseLost) {
		t.Fatalf("second Acquire = %v, want ErrLeaseLost", err)
	}
	if err := l1.Release(b.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.n.Acquire(b.ctx, b.sc, 3, "x"); err != nil {
		t.Fatalf("Acquire after Release = %v", err)
	}
	// An abandoned lease expires.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := b.n.Acquire(b.ctx, b.sc, 3, "x")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("abandoned lease never expired: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A run dies with a wave in flight: the next run, once the lease expired,
// finds those messages in doubt, sends them again and counts them.
func TestInDoubtMessagesAreResentAndCounted(t *testing.T) {
	t.Parallel()
	b := setup(t, 200)
	shard, ms := b.shard()
	b.snd.mu.Lock()
	b.snd.block = make(chan struct{})
	b.snd.mu.Unlock()
	ctx, cancel := context.WithCancel(b.ctx)
	lease, err := b.n.Acquire(ctx, b.sc, shard, "x")
	if err != nil {
		t.Fatal(err)
	}
	died := make(chan struct{})
	go func() {
		defer close(died)
		lease.Deliver(context.WithoutCancel(ctx), notify.Decided{}, sends(ms))
	}()
	// The first wave (4 senders) is in flight and frozen: the run "dies".
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := b.states(t, shard)
		n := 0
		for _, m := range ms {
			if st.InDoubt(m.ID.Local) {
				n++
			}
		}
		if n == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d in flight, want 4", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	// A new run: the lease is still held, then expires.
	var l2 *notify.Lease
	for {
		l2, err = b.n.Acquire(b.ctx, b.sc, shard, "x")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease of the dead run never expired")
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := b.states(t, shard)
	var again []notify.Send
	for _, s := range sends(ms) {
		if !st.Done(s.Member.ID.Local) {
			again = append(again, s)
		}
	}
	b.snd.mu.Lock()
	frozen := b.snd.block
	b.snd.block = nil
	b.snd.mu.Unlock()
	if err := l2.Deliver(b.ctx, notify.Decided{}, again); err != nil {
		t.Fatal(err)
	}
	close(frozen) // the dead run's sends complete late: those are the duplicates
	<-died
	reasons, err := b.n.Reasons(b.ctx, b.sc)
	if err != nil {
		t.Fatal(err)
	}
	if reasons[notify.ReasonInDoubtResent] != 4 {
		t.Errorf("in_doubt_resent = %d, want 4 (reasons %v)", reasons[notify.ReasonInDoubtResent], reasons)
	}
	dups := 0
	for _, m := range ms {
		b.snd.mu.Lock()
		n := b.snd.got[m.OpenID]
		b.snd.mu.Unlock()
		switch {
		case n == 0:
			t.Errorf("%s lost", m.OpenID)
		case n > 1:
			dups += n - 1
		}
	}
	if dups > 4 {
		t.Errorf("%d duplicates, at most the 4 in doubt", dups)
	}
}

func TestSettleCountsReasonsOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, 50)
	shard, ms := b.shard()
	var d notify.Decided
	for _, m := range ms {
		d.Skip(m.ID.Local, "frequency_cap")
	}
	for range 3 { // a job run three times records the same outcomes
		if err := b.n.Record(b.ctx, b.sc, shard, d); err != nil {
			t.Fatal(err)
		}
	}
	reasons, err := b.n.Reasons(b.ctx, b.sc)
	if err != nil {
		t.Fatal(err)
	}
	if got := reasons["skipped:frequency_cap"]; got != int64(len(ms)) {
		t.Errorf("skipped:frequency_cap = %d, want %d", got, len(ms))
	}
}

// TestJournalReplaysWritesARestartLost: a redis-server without persistence
// restarts empty; the next write this process makes sees the new run_id
// and writes its last seconds' states again.
func TestJournalReplaysWritesARestartLost(t *testing.T) {
	t.Parallel()
	redistest.SkipOnCluster(t, "it restarts one redis-server without persistence")
	srv := redistest.StartServer(t, redistest.Options{})
	rdb := srv.Client(t)
	ctx := context.Background()
	ps, err := profile.NewStore(ctx, rdb, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(notify.Config{Redis: rdb, Profiles: ps, Sender: func(string) (notify.Sender, error) { return newSender(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	sc := notify.Scope{Account: "default", Name: "t:2"}
	var d notify.Decided
	d.Skip(5, "frequency_cap")
	if err := n.Record(ctx, sc, 1, d); err != nil {
		t.Fatal(err)
	}
	srv.Restart(t) // no persistence: everything is gone
	if err := n.Sync(ctx, sc); err != nil {
		t.Fatal(err)
	}
	bits, err := ps.Bits(ctx, "default", 1, sc.StateIndexes(), 0, 8)
	if err != nil {
		t.Fatal(err)
	}
	if !notify.States(bits).Done(5) || n.Replays() == 0 {
		t.Errorf("after the restart: done = %v, replays = %d; want the outcome written again", notify.States(bits).Done(5), n.Replays())
	}
}
