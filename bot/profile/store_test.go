package profile

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

type fixture struct {
	ctx   context.Context
	store *Store
}

func setup(t testing.TB) fixture {
	t.Helper()
	ctx := context.Background()
	rdb := redistest.Start(t)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	s, err := NewStore(ctx, rdb, loc)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{ctx: ctx, store: s}
}

func farmer(openID string, now time.Time) *Profile {
	return &Profile{
		OpenID: openID, Group: "farmer", Town: "paitan", Subscribed: true,
		Interests: []Interest{{"litchi", WeightChosen}, {"weather", WeightChosen}},
		CreatedAt: now, LastActiveAt: now, Source: "training-2027",
	}
}

func TestCodecRoundTrip(t *testing.T) {
	t.Parallel()
	f := setup(t)
	now := time.Unix(1795000000, 0).UTC()
	p := farmer("o1", now)
	p.OptedOut, p.Step, p.MessagesUsed, p.LastMessageAt, p.Elder = true, StepTown, 3, now, true
	p.Reading = Reading{X: -100, Y: 37}
	for i := range MaxInterests {
		p.SetInterest(fmt.Sprintf("t%d", i), uint8(10*i))
	}
	if err := f.store.dict.ensureProfile(f.ctx, p); err != nil {
		t.Fatal(err)
	}
	b, err := encode(p, 4242, f.store.dict)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 64 {
		t.Errorf("packed profile is %d bytes, want ≤ 64 (listpack value limit)", len(b))
	}
	got, lid, err := decode(b, f.store.dict)
	if err != nil || lid != 4242 {
		t.Fatalf("decode: lid %d, err %v", lid, err)
	}
	got.OpenID = p.OpenID
	if !reflect.DeepEqual(got, p) {
		t.Errorf("decode(encode(p)) = %+v, want %+v", got, p)
	}
	if _, _, err := decode(b[:10], f.store.dict); err == nil {
		t.Error("decode of a truncated profile succeeded")
	}
	// A version 1 profile (no reading) still decodes, knowing no hour.
	v1 := append([]byte{1}, b[1:len(b)-trailerLen]...)
	got, _, err = decode(v1, f.store.dict)
	if err != nil || got.Reading != (Reading{}) || len(got.Interests) != MaxInterests {
		t.Errorf("decode(version 1) = %+v, %v; want the profile without a reading", got, err)
	}
}

func TestReadingBestHour(t *testing.T) {
	t.Parallel()
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	at := func(day, h, m int) time.Time { return time.Date(2027, 5, day, h, m, 0, 0, sh) }
	tests := []struct {
		name  string
		times []time.Time
		want  int // -1: unknown
	}{
		{"nothing noted", nil, -1},
		{"one evening message", []time.Time{at(1, 19, 10)}, 19},
		{"evenings, across midnight", []time.Time{at(1, 23, 0), at(2, 23, 30), at(3, 0, 30), at(4, 23, 50)}, 0},
		{"mornings, then the habit moves to the evening", []time.Time{at(1, 7, 0), at(2, 7, 0), at(3, 20, 0), at(4, 20, 0), at(5, 20, 0), at(6, 20, 0), at(7, 20, 0), at(8, 20, 0)}, 20},
	}
	for _, tt := range tests {
		var r Reading
		for _, ts := range tt.times {
			r.Note(ts)
		}
		got, ok := r.BestHour(sh)
		if !ok {
			got = -1
		}
		if got != tt.want {
			t.Errorf("%s: BestHour() = %d (%+v), want %d", tt.name, got, r, tt.want)
		}
	}
}

func TestBeginCommitAndDedup(t *testing.T) {
	t.Parallel()
	f := setup(t)
	now := time.Now()
	sess, err := f.store.Begin(f.ctx, "default", "oA", "m:1", 5*time.Second)
	if err != nil || sess.Profile != nil || sess.Duplicate {
		t.Fatalf("Begin new = %+v, %v", sess, err)
	}
	// A retry arriving while the first attempt runs sees a pending claim.
	dup, err := f.store.Begin(f.ctx, "default", "oA", "m:1", 5*time.Second)
	if err != nil || !dup.Duplicate || dup.Reply != nil {
		t.Fatalf("Begin retry = %+v, %v; want pending duplicate", dup, err)
	}
	if err := f.store.Commit(f.ctx, dup, Outcome{Profile: farmer("oA", now)}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("Commit of duplicate = %v, want ErrDuplicate", err)
	}
	if err := f.store.Commit(f.ctx, sess, Outcome{Profile: farmer("oA", now), Reply: []byte("hello"), ReplyTTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	dup, err = f.store.Begin(f.ctx, "default", "oA", "m:1", 5*time.Second)
	if err != nil || !dup.Duplicate || string(dup.Reply) != "hello" {
		t.Fatalf("Begin after commit = %+v, %v; want duplicate with kept reply", dup, err)
	}
	p, id, err := f.store.Get(f.ctx, "default", "oA")
	if err != nil {
		t.Fatal(err)
	}
	if p.Group != "farmer" || p.Town != "paitan" || !p.HasInterest("litchi") || id.Local != 1 || id.Shard != ShardOf("oA") {
		t.Errorf("Get = %+v %+v", p, id)
	}
	if _, _, err := f.store.Get(f.ctx, "default", "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get unknown = %v, want ErrNotFound", err)
	}
	if _, _, err := f.store.Get(f.ctx, "other", "oA"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get in another account = %v, want ErrNotFound (accounts are separate)", err)
	}
}

func TestCommitConflict(t *testing.T) {
	t.Parallel()
	f := setup(t)
	now := time.Now()
	if err := f.store.Update(f.ctx, "default", "oB", func(*Profile) (*Profile, error) { return farmer("oB", now), nil }); err != nil {
		t.Fatal(err)
	}
	a, _ := f.store.Begin(f.ctx, "default", "oB", "m:a", time.Second)
	b, _ := f.store.Begin(f.ctx, "default", "oB", "m:b", time.Second)
	pa := a.Profile.Clone()
	pa.Town = "licheng"
	if err := f.store.Commit(f.ctx, a, Outcome{Profile: pa}); err != nil {
		t.Fatal(err)
	}
	pb := b.Profile.Clone()
	pb.Group = "worker"
	if err := f.store.Commit(f.ctx, b, Outcome{Profile: pb}); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale Commit = %v, want ErrConflict", err)
	}
	if err := f.store.Reload(f.ctx, b); err != nil {
		t.Fatal(err)
	}
	pb = b.Profile.Clone()
	pb.Group = "worker"
	if err := f.store.Commit(f.ctx, b, Outcome{Profile: pb}); err != nil {
		t.Fatal(err)
	}
	p, _, _ := f.store.Get(f.ctx, "default", "oB")
	if p.Town != "licheng" || p.Group != "worker" {
		t.Errorf("after both commits: town %q group %q, want licheng worker", p.Town, p.Group)
	}
}

func TestConcurrentUpdatesCountOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if err := f.store.Update(f.ctx, "default", "oC", func(*Profile) (*Profile, error) { return farmer("oC", time.Now()), nil }); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			err := f.store.Update(f.ctx, "default", "oC", func(p *Profile) (*Profile, error) {
				p.MessagesUsed++
				return p, nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	p, _, _ := f.store.Get(f.ctx, "default", "oC")
	if p.MessagesUsed != 20 {
		t.Errorf("MessagesUsed = %d after 20 concurrent increments, want 20", p.MessagesUsed)
	}
}

func TestIndexesFollowProfile(t *testing.T) {
	t.Parallel()
	f := setup(t)
	now := time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	groups := []string{"farmer", "youth", "worker", "official", "resident", ""}
	towns := []string{"paitan", "licheng", "xintang", "zhengguo", ""}
	topics := []string{"litchi", "weather", "health", "rice", "stem"}
	all := map[string]*Profile{}
	for i := range 400 {
		id := fmt.Sprintf("o%03d", i)
		p := &Profile{OpenID: id, Group: groups[rng.IntN(len(groups))], Town: towns[rng.IntN(len(towns))],
			Subscribed: rng.IntN(10) > 0, OptedOut: rng.IntN(10) == 0, CreatedAt: now, LastActiveAt: now}
		for _, tp := range topics {
			if rng.IntN(3) == 0 {
				p.SetInterest(tp, WeightChosen)
			}
		}
		if err := f.store.Update(f.ctx, "default", id, func(*Profile) (*Profile, error) { return p, nil }); err != nil {
			t.Fatal(err)
		}
		all[id] = p
	}
	// Change some and erase some: indexes must follow.
	for i := range 100 {
		id := fmt.Sprintf("o%03d", i)
		err := f.store.Update(f.ctx, "default", id, func(p *Profile) (*Profile, error) {
			if i%4 == 0 {
				return nil, nil
			}
			p.Town = "zhengguo"
			p.RemoveInterest("litchi")
			p.OptedOut = !p.OptedOut
			return p, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			delete(all, id)
		} else {
			all[id].Town = "zhengguo"
			all[id].RemoveInterest("litchi")
			all[id].OptedOut = !all[id].OptedOut
		}
	}
	prog := And(Term(GroupIndex("farmer")), Or(Term(TownIndex("paitan")), Term(TownIndex("zhengguo"))), Term(InterestIndex("litchi")), Reachable())
	rows := []string{TownIndex("paitan"), TownIndex("zhengguo"), TownIndex("licheng")}
	cols := []string{GroupIndex("farmer"), GroupIndex("youth")}
	got, err := f.store.Count(f.ctx, "default", prog, rows, cols)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	byTown := map[string]int64{}
	for _, p := range all {
		if p.Group == "farmer" && (p.Town == "paitan" || p.Town == "zhengguo") && p.HasInterest("litchi") && p.Reachable() {
			total++
			byTown[TownIndex(p.Town)]++
		}
	}
	if got.Total != total || total == 0 {
		t.Errorf("Count total = %d, want %d (scan)", got.Total, total)
	}
	for _, r := range rows {
		if got.Rows[r] != byTown[r] || got.Cells[r][GroupIndex("farmer")] != byTown[r] || got.Cells[r][GroupIndex("youth")] != 0 {
			t.Errorf("Count row %s = %d cells %v, want %d", r, got.Rows[r], got.Cells[r], byTown[r])
		}
	}
	// Not: everyone known who is not a farmer.
	notFarmer, err := f.store.Count(f.ctx, "default", Not(Term(GroupIndex("farmer"))), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wantNot int64
	for _, p := range all {
		if p.Group != "farmer" {
			wantNot++
		}
	}
	if notFarmer.Total != wantNot {
		t.Errorf("Count !farmer = %d, want %d", notFarmer.Total, wantNot)
	}
	// The empty program counts everyone with a profile.
	everyone, _ := f.store.Count(f.ctx, "default", nil, nil, nil)
	if everyone.Total != int64(len(all)) {
		t.Errorf("Count all = %d, want %d", everyone.Total, len(all))
	}
	// Not over an index no one is in is everyone.
	nobody, _ := f.store.Count(f.ctx, "default", Not(Term(SourceIndex("never"))), nil, nil)
	if nobody.Total != int64(len(all)) {
		t.Errorf("Count !source:never = %d, want %d", nobody.Total, len(all))
	}
}

func TestImport(t *testing.T) {
	t.Parallel()
	f := setup(t)
	now := time.Now()
	ps := []*Profile{farmer("i1", now), farmer("i2", now), farmer("i1", now)}
	n, err := f.store.Import(f.ctx, "default", ps)
	if err != nil || n != 2 {
		t.Fatalf("Import = %d, %v; want 2 created (i1 twice)", n, err)
	}
	if n, _ := f.store.Import(f.ctx, "default", ps[:1]); n != 0 {
		t.Errorf("re-Import created %d", n)
	}
	c, _ := f.store.Count(f.ctx, "default", Term(GroupIndex("farmer")), nil, nil)
	if c.Total != 2 {
		t.Errorf("farmers = %d, want 2", c.Total)
	}
	if p, _, err := f.store.Get(f.ctx, "default", "i2"); err != nil || p.Town != "paitan" {
		t.Errorf("Get(i2) = %+v, %v", p, err)
	}
}

func TestProgramBuilders(t *testing.T) {
	t.Parallel()
	a, b, c := Term("a"), Term("b"), Term("c")
	for _, tc := range []struct {
		got  Program
		want string
	}{
		{And(a, b, c), "[k:a k:b k:c &3]"},
		{And(And(a, b), c), "[k:a k:b k:c &3]"},
		{And(nil, a), "[k:a]"},
		{And(nil, nil), "[]"},
		{Or(a, nil), "[]"},
		{Or(Or(a, b), And(b, c)), "[k:a k:b k:b k:c &2 |3]"},
		{And(Or(a, b), Not(c)), "[k:a k:b |2 k:c ! &2]"},
	} {
		if fmt.Sprint(tc.got) != tc.want {
			t.Errorf("program = %v, want %s", tc.got, tc.want)
		}
	}
}

// setupTwoReplicas is setup with a second Store on the same Redis: another
// replica.
func setupTwoReplicas(t *testing.T) (fixture, *Store) {
	t.Helper()
	f := setup(t)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	other, err := NewStore(f.ctx, f.store.rdb, loc)
	if err != nil {
		t.Fatal(err)
	}
	return f, other
}

// TestCacheIsNeverTrusted: two replicas with caches on one Redis. A stale
// cache costs a conflict answered with the fresh state, never a lost write.
func TestCacheIsNeverTrusted(t *testing.T) {
	t.Parallel()
	f, other := setupTwoReplicas(t)
	f.store.EnableCache(10)
	other.EnableCache(10)
	handle := func(s *Store, msg string, fn func(p *Profile)) {
		t.Helper()
		sess, err := s.Begin(f.ctx, "default", "oCache", msg, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			p := sess.Profile.Clone()
			if p == nil {
				p = farmer("oCache", time.Now())
			}
			fn(p)
			err = s.Commit(f.ctx, sess, Outcome{Profile: p, ReplyTTL: time.Minute})
			if !errors.Is(err, ErrConflict) {
				break
			}
			s.Reload(f.ctx, sess)
		}
		if err != nil {
			t.Fatalf("%s: %v", msg, err)
		}
	}
	handle(f.store, "m:1", func(p *Profile) { p.Town = "paitan" })
	handle(other, "m:2", func(p *Profile) { p.Group = "worker" }) // f.store's cache is now stale
	handle(f.store, "m:3", func(p *Profile) { p.SetInterest("rice", 100) })
	p, _, _ := f.store.Get(f.ctx, "default", "oCache")
	if p.Group != "worker" || p.Town != "paitan" || !p.HasInterest("rice") {
		t.Errorf("profile = %+v: a stale cache lost a write", p)
	}
	// A retry of a message answered through the cache is a duplicate.
	sess, _ := f.store.Begin(f.ctx, "default", "oCache", "m:3", time.Second)
	if err := f.store.Commit(f.ctx, sess, Outcome{Profile: sess.Profile}); !errors.Is(err, ErrDuplicate) {
		t.Errorf("retry through the cache: %v, want ErrDuplicate", err)
	}
}

func TestDecayInterests(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &Profile{InterestsAt: t0}
	p.SetInterest("litchi", WeightChosen) // chosen: stays
	p.SetInterest("weather", WeightMax)   // chosen, then raised: fades to chosen
	p.SetInterest("health", 40)           // learned from searches: fades away
	p.DecayInterests(t0.Add(InterestHalfLife))
	want := map[string]uint8{"litchi": 200, "weather": 228, "health": 20}
	for _, in := range p.Interests {
		if in.Weight != want[in.Topic] {
			t.Errorf("after one half-life %s = %d, want %d", in.Topic, in.Weight, want[in.Topic])
		}
	}
	p.DecayInterests(t0.Add(3 * InterestHalfLife))
	if p.HasInterest("health") || !p.HasInterest("litchi") {
		t.Errorf("after three half-lives: %+v, want health gone and litchi kept", p.Interests)
	}
}

func TestTopicOptOut(t *testing.T) {
	t.Parallel()
	f := setup(t)
	now := time.Now()
	p := farmer("oOpt", now) // litchi, weather
	p.OptOutTopic("anti_superstition")
	p.OptOutTopic("litchi")
	if p.HasInterest("litchi") || !p.OptedOutOf("litchi") || p.HasInterest("anti_superstition") {
		t.Fatalf("opt-outs: %+v", p.Interests)
	}
	p.AddInterestWeight("litchi", 50) // a search does not undo an opt-out
	if p.HasInterest("litchi") {
		t.Errorf("a search overrode an opt-out")
	}
	if err := f.store.Update(f.ctx, "default", "oOpt", func(*Profile) (*Profile, error) { return p, nil }); err != nil {
		t.Fatal(err)
	}
	c, _ := f.store.Count(f.ctx, "default", Term(InterestIndex("litchi")), nil, nil)
	w, _ := f.store.Count(f.ctx, "default", Term(InterestIndex("weather")), nil, nil)
	if c.Total != 0 || w.Total != 1 {
		t.Errorf("interest bitmaps: litchi %d (opted out), weather %d; want 0 and 1", c.Total, w.Total)
	}
	got, _, _ := f.store.Get(f.ctx, "default", "oOpt")
	if !got.OptedOutOf("litchi") || len(got.OptOutTopics()) != 2 {
		t.Errorf("stored opt-outs: %+v", got.Interests)
	}
}

func TestCreditTopics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		before []Interest
		topics []string
		want   map[string]uint8
	}{
		{"nothing known: each topic the boost", nil, []string{"litchi", "agriculture"}, map[string]uint8{"litchi": 40, "agriculture": 40}},
		{"a known topic takes the boost, the broad one a third", []Interest{{"litchi", 60}}, []string{"agriculture", "litchi"},
			map[string]uint8{"litchi": 100, "agriculture": 13}},
		{"the strongest known topic only", []Interest{{"litchi", 60}, {"weather", 90}}, []string{"litchi", "weather"},
			map[string]uint8{"litchi": 73, "weather": 130}},
		{"an opt-out stays", []Interest{{"litchi", 0}}, []string{"litchi", "weather"}, map[string]uint8{"litchi": 0, "weather": 40}},
	}
	for _, tt := range tests {
		p := &Profile{}
		for _, in := range tt.before {
			p.SetInterest(in.Topic, in.Weight)
		}
		p.CreditTopics(tt.topics, 40)
		got := map[string]uint8{}
		for _, in := range p.Interests {
			got[in.Topic] = in.Weight
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: CreditTopics(%v) = %v, want %v", tt.name, tt.topics, got, tt.want)
		}
	}
}

// commandCalls sums INFO commandstats' calls per command over rdb's
// servers (every master of a Cluster). Commands a script runs count too.
func commandCalls(t *testing.T, ctx context.Context, rdb redis.UniversalClient) map[string]int64 {
	t.Helper()
	calls := map[string]int64{}
	var mu sync.Mutex
	add := func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "commandstats").Result()
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for line := range strings.Lines(info) {
			name, rest, ok := strings.Cut(strings.TrimPrefix(line, "cmdstat_"), ":calls=")
			if !ok {
				continue
			}
			n, _ := strconv.ParseInt(rest[:strings.IndexByte(rest+",", ',')], 10, 64)
			calls[name] += n
		}
		return nil
	}
	var err error
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, add)
	case *redis.Client:
		err = add(ctx, c)
	default:
		t.Fatalf("commandCalls: %T", rdb)
	}
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

// TestCommitHotPath: a message of a cached subscriber commits with four
// commands inside the script (GET of the bucket state, SET NX of the reply,
// HGET and HSET of the profile), three when the profile is unchanged; no
// DEL of a dialog nobody had. The reply is then kept for retries as
// before.
func TestCommitHotPath(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.store.EnableCache(10)
	now := time.Unix(1795000000, 0).UTC()
	if err := f.store.Update(f.ctx, "default", "oHot", func(*Profile) (*Profile, error) { return farmer("oHot", now), nil }); err != nil {
		t.Fatal(err)
	}
	handle := func(msgKey string, change func(p *Profile)) map[string]int64 {
		t.Helper()
		sess, err := f.store.Begin(f.ctx, "default", "oHot", msgKey, time.Second)
		if err != nil || sess.Profile == nil {
			t.Fatalf("Begin = %+v, %v", sess, err)
		}
		before := commandCalls(t, f.ctx, f.store.rdb)
		p := sess.Profile.Clone()
		change(p)
		if err := f.store.Commit(f.ctx, sess, Outcome{Profile: p, Reply: []byte("re " + msgKey), ReplyTTL: time.Minute}); err != nil {
			t.Fatal(err)
		}
		after := commandCalls(t, f.ctx, f.store.rdb)
		delta := map[string]int64{}
		for _, c := range []string{"get", "set", "hget", "hset", "del", "exists"} {
			delta[c] = after[c] - before[c]
		}
		return delta
	}
	// The first message through Update's session is not cached; prime it.
	handle("m:1", func(p *Profile) { p.TouchMessage(now.Add(time.Second)) })
	got := handle("m:2", func(p *Profile) { p.TouchMessage(now.Add(2 * time.Second)) })
	if want := map[string]int64{"get": 1, "set": 1, "hget": 1, "hset": 1, "del": 0, "exists": 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("commit of a changed profile ran %v, want %v", got, want)
	}
	got = handle("m:3", func(*Profile) {})
	if want := map[string]int64{"get": 1, "set": 1, "hget": 1, "hset": 0, "del": 0, "exists": 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("commit of an unchanged profile ran %v, want %v", got, want)
	}
	p, _, err := f.store.Get(f.ctx, "default", "oHot")
	if err != nil || !p.LastMessageAt.Equal(now.Add(2*time.Second)) {
		t.Errorf("stored profile = %+v, %v", p, err)
	}
	other, err := NewStore(f.ctx, f.store.rdb, time.UTC) // a replica without the subscriber cached
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"m:2", "m:3"} {
		dup, err := other.Begin(f.ctx, "default", "oHot", m, time.Second)
		if err != nil || !dup.Duplicate || string(dup.Reply) != "re "+m {
			t.Errorf("retry of %s = %+v, %v; want its kept reply", m, dup, err)
		}
	}
}

// TestLateClaimConflictKeepsNoReply: a cached (late-claimed) commit stores
// the reply as it claims the message; when the subscriber changed since
// (another replica), it is taken back with the conflict, so a retry in
// between is not answered with a reply whose outcome was never stored, and
// the commit after the reload stores it.
func TestLateClaimConflictKeepsNoReply(t *testing.T) {
	t.Parallel()
	f, other := setupTwoReplicas(t)
	f.store.EnableCache(10)
	now := time.Now()
	if err := f.store.Update(f.ctx, "default", "oLate", func(*Profile) (*Profile, error) { return farmer("oLate", now), nil }); err != nil {
		t.Fatal(err)
	}
	sess, _ := f.store.Begin(f.ctx, "default", "oLate", "m:1", time.Second) // reads Redis, caches
	if err := f.store.Commit(f.ctx, sess, Outcome{Profile: sess.Profile, ReplyTTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := other.Update(f.ctx, "default", "oLate", func(p *Profile) (*Profile, error) { p.Town = "licheng"; return p, nil }); err != nil {
		t.Fatal(err)
	}
	sess, _ = f.store.Begin(f.ctx, "default", "oLate", "m:2", time.Second) // from the stale cache
	p := sess.Profile.Clone()
	p.Group = "student"
	err := f.store.Commit(f.ctx, sess, Outcome{Profile: p, Reply: []byte("re m:2"), ReplyTTL: time.Minute})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("commit through a stale cache = %v, want ErrConflict", err)
	}
	if n, err := f.store.rdb.Exists(f.ctx, dedupKey(sess.tag, "m:2")).Result(); err != nil || n != 0 {
		t.Fatalf("after the conflict the dedup record exists (%d, %v), want none", n, err)
	}
	if err := f.store.Reload(f.ctx, sess); err != nil {
		t.Fatal(err)
	}
	p = sess.Profile.Clone()
	p.Group = "student"
	if err := f.store.Commit(f.ctx, sess, Outcome{Profile: p, Reply: []byte("re m:2"), ReplyTTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	got, _, _ := other.Get(f.ctx, "default", "oLate")
	if got.Town != "licheng" || got.Group != "student" {
		t.Errorf("profile = %+v, want both changes", got)
	}
	dup, err := other.Begin(f.ctx, "default", "oLate", "m:2", time.Second)
	if err != nil || !dup.Duplicate || string(dup.Reply) != "re m:2" {
		t.Errorf("retry = %+v, %v; want the kept reply", dup, err)
	}
}

// TestValidNameMatchesRegexp: ValidAccount, ValidOpenID and ValidNonce
// accept exactly what their regexps (the specification) accept.
func TestValidNameMatchesRegexp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		valid func(string) bool
		re    *regexp.Regexp
	}{
		{"account", ValidAccount, regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)},
		{"openid", ValidOpenID, regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)},
		{"nonce", ValidNonce, regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)},
	} {
		check := func(s string) {
			if got, want := tc.valid(s), tc.re.MatchString(s); got != want {
				t.Errorf("%s %q: %v, want %v", tc.name, s, got, want)
			}
		}
		for _, s := range []string{"", "a", "Z", "0", "_", "-", ".", "{", ":", " ", "\x00", "\xff", "é", "oAbC_-09",
			strings.Repeat("a", 32), strings.Repeat("a", 33), strings.Repeat("Z", 64), strings.Repeat("Z", 65), "a\n", "\na"} {
			check(s)
		}
		const alphabet = "azAZ09_-.{}: \x00\x7f\xff@[`/"
		r := rand.New(rand.NewPCG(1, 2))
		for range 20000 {
			b := make([]byte, r.IntN(70))
			for i := range b {
				if r.IntN(4) == 0 {
					b[i] = alphabet[r.IntN(len(alphabet))]
				} else {
					b[i] = "abcxyz0189"[r.IntN(10)]
				}
			}
			check(string(b))
		}
	}
}
