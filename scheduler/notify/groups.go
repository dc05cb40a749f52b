package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/wechat"
)

// Group is a set of followers that one sendall call reaches: a WeChat user
// tag (TagID) or every follower (All). Index names the profile bitmap of
// its members as WeChat knows them: tag sync's bitmap of whom it tagged,
// or profile.IndexSubscribed for everyone.
//
// A group send reaches every member on WeChat's side, including ones
// kepubot would not send to (capped, opted out, already sent, over the
// monthly budget). So MassAll uses a group only when every member of its
// bitmap is waiting for this very mass send (decided mass, same item, not
// yet sent, failed or skipped): then the call reaches exactly the
// recipients an openid list would, in one call instead of one per 10,000.
// What the bitmap cannot know (a tag added by hand in WeChat's console, a
// follower kepubot never saw) is received as well; WeChat still filters
// unfollowed users and those over their monthly budget.
type Group struct {
	TagID int    `json:"tag,omitempty"`
	All   bool   `json:"all,omitempty"`
	Index string `json:"ix"`
}

// Everyone is the group of every follower (is_to_all).
var Everyone = Group{All: true, Index: profile.IndexSubscribed}

func (g Group) String() string {
	if g.All {
		return ToAll
	}
	return ToTag + ":" + strconv.Itoa(g.TagID)
}

// Groups returns the follower groups of account that mass sends may
// address in one call (Config.Groups; none without it).
func (n *Notifier) Groups(ctx context.Context, account string) ([]Group, error) {
	if n.cfg.Groups == nil {
		return nil, nil
	}
	gs, err := n.cfg.Groups(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("mass groups of %s: %w", account, err)
	}
	return gs, nil
}

// MassAll sends text to every message of sc waiting for a mass send of key
// (recorded with Decided.Plan(lid, key)) and not yet sent or failed: first
// to each group (Config.Groups) whose members all wait for it, in one call
// each, then the rest in lists of up to 10,000 made in the same order on
// every run. It first replays what a restarted Redis lost (Sync) and
// finishes the batch a dead run left (ResumeMass). A lone recipient left
// for the lists is unreachable as "mass_batch_of_one" (WeChat's lists take
// two or more). item ("" none) is marked received. It returns the calls it
// made.
func (n *Notifier) MassAll(ctx context.Context, sc Scope, key, item, text string) ([]MassResult, error) {
	if err := n.Sync(ctx, sc); err != nil {
		return nil, err
	}
	var out []MassResult
	res, err := n.ResumeMass(ctx, sc, key)
	if err != nil {
		return nil, err
	}
	if res.MsgID != 0 {
		out = append(out, res)
	}
	groups, err := n.Groups(ctx, sc.Account)
	if err != nil {
		return nil, err
	}
	sb, err := n.pendingBits(ctx, sc, key, groups)
	if err != nil {
		return nil, err
	}
	chosen := chooseGroups(sb, len(groups))
	lists, rest, err := n.recipients(ctx, sc, sb, chosen)
	if err != nil {
		return out, err
	}
	for k, gi := range chosen {
		res, err := n.sendGroup(ctx, sc, key, item, text, groups[gi], lists[k])
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	for start := 0; start < len(rest); start += wechat.MassMaxOpenIDs {
		batch := rest[start:min(start+wechat.MassMaxOpenIDs, len(rest))]
		if len(batch) < wechat.MassMinOpenIDs {
			for _, r := range batch {
				var d Decided
				d.Skip(r.Lid, "mass_batch_of_one")
				if err := n.Record(ctx, sc, r.Shard, d); err != nil {
					return out, err
				}
			}
			continue
		}
		res, err := n.SendMass(ctx, sc, key, item, text, batch)
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

// shardBits is one shard's messages waiting for a mass send (pending) and
// the member bitmaps of the groups, over the same local ids.
type shardBits struct {
	shard   int
	pending []byte
	groups  [][]byte
}

// pendingBits reads, shard by shard, which messages of sc wait for the mass
// send of key, and the groups' member bitmaps.
func (n *Notifier) pendingBits(ctx context.Context, sc Scope, key string, groups []Group) ([]shardBits, error) {
	names := []string{sc.MassIndex(key), sc.SentIndex(), sc.FailedIndex(), sc.SkippedIndex()}
	for _, g := range groups {
		names = append(names, g.Index)
	}
	out := make([]shardBits, 0, profile.Shards)
	for shard := range profile.Shards {
		max, err := n.cfg.Profiles.MaxLocal(ctx, sc.Account, shard)
		if err != nil {
			return nil, err
		}
		size := (max/8 + 1) * 8
		b, err := n.cfg.Profiles.Bits(ctx, sc.Account, shard, names, 0, size)
		if err != nil {
			return nil, err
		}
		p := b[0]
		for i := range p {
			p[i] &^= b[1][i] | b[2][i] | b[3][i]
		}
		out = append(out, shardBits{shard: shard, pending: p, groups: b[4:]})
	}
	return out, nil
}

// chooseGroups picks the groups to send to: every member pending, at least
// one member, and no member shared with a group picked before (everyone
// first, then the larger tags), so nobody is sent the message twice.
func chooseGroups(sb []shardBits, ngroups int) []int {
	size := make([]int, ngroups)
	usable := make([]bool, ngroups)
	for gi := range ngroups {
		usable[gi] = true
		for _, s := range sb {
			for i, g := range s.groups[gi] {
				if g&^s.pending[i] != 0 {
					usable[gi] = false
				}
				size[gi] += bits.OnesCount8(g)
			}
		}
	}
	order := make([]int, 0, ngroups)
	for gi := range ngroups {
		if usable[gi] && size[gi] > 0 {
			order = append(order, gi)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return size[b] - size[a] })
	var chosen []int
	for _, gi := range order {
		disjoint := true
		for _, s := range sb {
			for _, ci := range chosen {
				for i, g := range s.groups[gi] {
					if g&s.groups[ci][i] != 0 {
						disjoint = false
					}
				}
			}
		}
		if disjoint {
			chosen = append(chosen, gi)
		}
	}
	return chosen
}

// recipients lists the pending messages shard by shard in local-id
// order: those of each chosen group apart (lists[k] for chosen[k]), by
// local id alone (a group send names no openid), the rest with their
// openids from the reverse map (no profile is read; an erased
// subscriber's message is left out).
func (n *Notifier) recipients(ctx context.Context, sc Scope, sb []shardBits, chosen []int) (lists [][]Recipient, rest []Recipient, err error) {
	lists = make([][]Recipient, len(chosen))
	for _, s := range sb {
		var others []int64
	pending:
		for i := range int64(len(s.pending)) * 8 {
			if !profile.BitSet(s.pending, i) {
				continue
			}
			for k, gi := range chosen {
				if profile.BitSet(s.groups[gi], i) {
					lists[k] = append(lists[k], Recipient{Shard: s.shard, Lid: i})
					continue pending
				}
			}
			others = append(others, i)
		}
		if len(others) == 0 {
			continue
		}
		openIDs, err := n.cfg.Profiles.OpenIDs(ctx, sc.Account, s.shard, others)
		if err != nil {
			return nil, nil, err
		}
		for j, o := range openIDs {
			if o != "" {
				rest = append(rest, Recipient{Shard: s.shard, Lid: others[j], OpenID: o})
			}
		}
	}
	return lists, rest, nil
}

// sendGroup sends text to group g in one sendall call and records batch,
// the group's members, as sent (or failed). Like SendMass it writes the
// send ahead and clears it after the record; its clientmsgid comes from
// the scope, key and group, so a call made again after a crash is
// deduplicated by WeChat (45065) and only recorded.
func (n *Notifier) sendGroup(ctx context.Context, sc Scope, key, item, text string, g Group, batch []Recipient) (MassResult, error) {
	b, _ := json.Marshal(pendingMass{Item: item, Text: text, Group: &g})
	if err := n.cfg.Redis.Set(ctx, sc.massKey(key), b, 7*24*time.Hour).Err(); err != nil {
		return MassResult{}, fmt.Errorf("mass send %s: %w", sc.Name, err)
	}
	res, err := n.callGroup(ctx, sc, key, item, text, g, batch)
	if err != nil {
		return res, err
	}
	if err := n.cfg.Redis.Del(ctx, sc.massKey(key)).Err(); err != nil {
		return res, fmt.Errorf("mass send %s: %w", sc.Name, err)
	}
	return res, nil
}

// callGroup makes the sendall call of g and records batch by its answer.
func (n *Notifier) callGroup(ctx context.Context, sc Scope, key, item, text string, g Group, batch []Recipient) (MassResult, error) {
	sender, err := n.cfg.Sender(sc.Account)
	if err != nil {
		return MassResult{}, n.recordMass(ctx, sc, batch, item, ReasonNotConfigured)
	}
	if err := n.waitMass(ctx, sc.Account); err != nil {
		return MassResult{}, err
	}
	id := batchID(sc.Name+"\x00"+key, []string{g.String()})
	var wres wechat.MassResult
	to := ToTag
	if g.All {
		to = ToAll
		wres, err = sender.MassSendToAll(ctx, wechat.MassMessage{Text: text}, id)
	} else {
		wres, err = sender.MassSendToTag(ctx, g.TagID, wechat.MassMessage{Text: text}, id)
	}
	return n.settleMass(ctx, sc, item, batch, to, wres, err)
}

// resumeGroup finishes a group send a dead run left: its members still
// pending are read again and the call is made again (WeChat deduplicates
// it by its clientmsgid), then recorded.
func (n *Notifier) resumeGroup(ctx context.Context, sc Scope, key, item, text string, g Group) (MassResult, error) {
	sb, err := n.pendingBits(ctx, sc, key, []Group{g})
	if err != nil {
		return MassResult{}, err
	}
	for _, s := range sb {
		for i := range s.pending {
			s.pending[i] &= s.groups[0][i]
		}
	}
	lists, _, err := n.recipients(ctx, sc, sb, []int{0})
	if err != nil {
		return MassResult{}, err
	}
	return n.sendGroup(ctx, sc, key, item, text, g, lists[0])
}
