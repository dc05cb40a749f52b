package notify

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/wechat"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// Recipient is one subscriber of a mass send.
type Recipient struct {
	Shard  int    `json:"s"`
	Lid    int64  `json:"l"`
	OpenID string `json:"o,omitempty"` // none in a group send (by tag or to all)
}

// MassResult is what a mass send reports of one call.
type MassResult struct {
	MsgID int64 // WeChat's msg_id, for its MASSSENDJOBFINISH report
	// To is whom the call addressed: "openids" (a list), "tag" or "all".
	To string
	// Recipients is how many of the scope's messages it carried.
	Recipients int
}

// Whom a mass-send call addressed (MassResult.To).
const (
	ToOpenIDs = "openids"
	ToTag     = "tag"
	ToAll     = "all"
)

// SendMass sends text to a batch of 2 to 10,000 recipients as one mass send
// by openid list, records their outcome (sent, or failed with WeChat's
// code) and spends their monthly mass budget (recordMass). Its clientmsgid is derived
// from key and the recipients. The batch is written ahead of the send and
// cleared after its record: a run that dies between the two leaves it, and
// ResumeMass sends exactly that batch again (WeChat answers 45065 and the
// batch is only recorded), however the states changed meanwhile. item (""
// none) is marked received. A retryable answer returns a queue.Retry error.
func (n *Notifier) SendMass(ctx context.Context, sc Scope, key, item, text string, batch []Recipient) (MassResult, error) {
	if len(batch) < wechat.MassMinOpenIDs || len(batch) > wechat.MassMaxOpenIDs {
		return MassResult{}, fmt.Errorf("mass send of %d recipients: WeChat takes %d to %d", len(batch), wechat.MassMinOpenIDs, wechat.MassMaxOpenIDs)
	}
	b, _ := json.Marshal(pendingMass{Item: item, Text: text, Batch: batch})
	if err := n.cfg.Redis.Set(ctx, sc.massKey(key), b, 7*24*time.Hour).Err(); err != nil {
		return MassResult{}, fmt.Errorf("mass send %s: %w", sc.Name, err)
	}
	res, err := n.sendMass(ctx, sc, key, item, text, batch)
	if err != nil {
		return res, err
	}
	if err := n.cfg.Redis.Del(ctx, sc.massKey(key)).Err(); err != nil {
		return res, fmt.Errorf("mass send %s: %w", sc.Name, err)
	}
	return res, nil
}

// pendingMass is a mass batch written ahead of its send: an openid list
// (Batch), or a group send (Group; its recipients are read again from the
// bitmaps on resume, as a district's would not fit one key).
type pendingMass struct {
	Item  string      `json:"i"`
	Text  string      `json:"t"`
	Batch []Recipient `json:"b,omitempty"`
	Group *Group      `json:"g,omitempty"`
}

// ResumeMass finishes the mass batch of key a dead run left between its
// send and its record, if any: call it before making batches from states.
func (n *Notifier) ResumeMass(ctx context.Context, sc Scope, key string) (MassResult, error) {
	b, err := n.cfg.Redis.Get(ctx, sc.massKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return MassResult{}, nil
	}
	if err != nil {
		return MassResult{}, fmt.Errorf("resume mass send %s: %w", sc.Name, err)
	}
	var p pendingMass
	if err := json.Unmarshal(b, &p); err != nil {
		return MassResult{}, fmt.Errorf("resume mass send %s: %w", sc.Name, err)
	}
	if p.Group != nil {
		return n.resumeGroup(ctx, sc, key, p.Item, p.Text, *p.Group)
	}
	return n.SendMass(ctx, sc, key, p.Item, p.Text, p.Batch)
}

func (n *Notifier) sendMass(ctx context.Context, sc Scope, key, item, text string, batch []Recipient) (MassResult, error) {
	sender, err := n.cfg.Sender(sc.Account)
	if err != nil {
		return MassResult{}, n.recordMass(ctx, sc, batch, item, ReasonNotConfigured)
	}
	openIDs := make([]string, len(batch))
	for i, r := range batch {
		openIDs[i] = r.OpenID
	}
	if err := n.waitMass(ctx, sc.Account); err != nil {
		return MassResult{}, err
	}
	res, err := sender.MassSendToOpenIDs(ctx, openIDs, wechat.MassMessage{Text: text}, batchID(sc.Name+"\x00"+key, openIDs))
	return n.settleMass(ctx, sc, item, batch, ToOpenIDs, res, err)
}

// settleMass classifies WeChat's answer to a mass-send call and records
// its batch: sent, failed for good, or left pending (a queue.Retry error).
func (n *Notifier) settleMass(ctx context.Context, sc Scope, item string, batch []Recipient, to string, res wechat.MassResult, err error) (MassResult, error) {
	switch wechat.Classify(err) {
	case wechat.OK, wechat.Duplicate:
		if res.MsgID == 0 {
			var we *wechat.Error
			if errors.As(err, &we) {
				res.MsgID = we.MsgID
			}
		}
		return MassResult{MsgID: res.MsgID, To: to, Recipients: len(batch)}, n.recordMass(ctx, sc, batch, item, "")
	case wechat.RateLimited:
		return MassResult{}, queue.Retry(err, 10*time.Second) // 45009: back off, don't hammer
	case wechat.Retry, wechat.TokenInvalid:
		return MassResult{}, queue.Retry(err, 2*time.Second)
	}
	if ctx.Err() != nil {
		return MassResult{}, ctx.Err()
	}
	code, _ := wechat.Code(err)
	return MassResult{}, n.recordMass(ctx, sc, batch, item, fmt.Sprintf("wechat_%d", code))
}

// recordMass records a mass batch as sent (failReason "") or failed, in
// one write per shard: a sent batch spends the monthly mass budget of
// each recipient not recorded sent before, in the same write (settle.lua),
// so a batch recorded again spends nothing twice.
func (n *Notifier) recordMass(ctx context.Context, sc Scope, batch []Recipient, item, failReason string) error {
	now := n.cfg.Now()
	byShard := map[int]*outcomes{}
	for _, r := range batch {
		o := byShard[r.Shard]
		if o == nil {
			o = newOutcomes(sc, r.Shard, now, n.cfg.Loc)
			byShard[r.Shard] = o
		}
		if failReason != "" {
			o.failed[failReason] = append(o.failed[failReason], r.Lid)
			continue
		}
		o.sent["mass"] = append(o.sent["mass"], r.Lid)
		if item != "" {
			o.received[item] = append(o.received[item], r.Lid)
		}
	}
	for shard, o := range byShard {
		var c changes
		o.changes(&c)
		if err := n.apply(ctx, sc, shard, "", "", 0, &c); err != nil {
			return err
		}
	}
	return nil
}

// waitMass respects WeChat's mass-send call limits: 60 a minute, 100 a day
// (one a day for a subscription account).
func (n *Notifier) waitMass(ctx context.Context, account string) error {
	if err := n.wait(ctx, "mass-min:"+account, n.cfg.Limits.MassPerMinute, 1); err != nil {
		return err
	}
	return n.wait(ctx, "mass-day:"+account, n.cfg.Limits.MassPerDay, 1)
}

// batchID is a mass send's clientmsgid (WeChat allows 64 bytes): the same
// key and members give the same id, so WeChat deduplicates a repeated call
// (45065) within 24 hours.
func batchID(key string, openIDs []string) string {
	h := sha1.New()
	h.Write([]byte(key))
	for _, o := range openIDs {
		h.Write([]byte("\x00" + o))
	}
	return "kb" + hex.EncodeToString(h.Sum(nil))
}
