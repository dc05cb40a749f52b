package campaign

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/calendar"
	"github.com/zengcheng-kexie/kepubot/scheduler/notify"
	"github.com/zengcheng-kexie/kepubot/scheduler/plan"
	"github.com/zengcheng-kexie/kepubot/scheduler/queue"
)

// rules is what deciding a campaign's recipients needs, loaded once per
// chunk (or plan): the same for the send and its dry run, so a plan
// cannot promise what the send will not do.
type rules struct {
	c          *Campaign
	now        time.Time
	item       *content.Item   // ModeItem
	variants   []*content.Item // ModeItem with variants: each one's message
	cand       []*content.Item // ModePersonalized
	idx        map[string]int  // candidate id → position in cand
	picker     *plan.Picker
	rules      plan.Rules
	kind       plan.Kind
	configured bool // the account can send through WeChat
	// rsv is what the month's bookings hold (nil: the calendar does not
	// apply: none configured, a subscription account, an urgent alert).
	rsv *calendar.Reservations
	// month is now's plan.MonthNumber: the mass budget read is this month's.
	month uint16
}

func (e *Engine) loadRules(ctx context.Context, c *Campaign, now time.Time) (*rules, error) {
	r := &rules{c: c, now: now, rules: e.cfg.Rules(c.Account), kind: plan.KindContent, configured: e.notify.Configured(c.Account)}
	r.month = plan.MonthNumber(now, r.rules.Loc) // MassUsed's month
	if c.Notice {
		r.kind = plan.KindNotice
	}
	var err error
	if e.cfg.Calendar != nil && r.rules.AccountType == plan.ServiceAccount && !c.Urgent {
		if r.rsv, err = e.cfg.Calendar.Reservations(ctx, c.Account, c.Booking, scope(c).ChannelIndex("mass"), now); err != nil {
			return nil, err
		}
	}
	if c.Mode == ModeItem {
		if r.item, err = e.cfg.Items.Item(ctx, c.Account, c.ItemID); err != nil {
			return nil, err
		}
		if r.variants, err = e.variantItems(ctx, c); err != nil {
			return nil, err
		}
		return r, nil
	}
	if r.cand, r.picker, err = e.picker(ctx, c.Account, now); err != nil {
		return nil, err
	}
	r.idx = make(map[string]int, len(r.cand))
	for k, x := range r.cand {
		r.idx[x.ID] = k
	}
	return r, nil
}

// view is the bits of one range of local ids a decision reads.
type view struct {
	states notify.States
	aud    []byte
	days   [][]byte // pushed on each of the last 7 days, today first
	recv   [][]byte // received each candidate item (ModeItem: the item, then each variant's)
	rsv    [][]byte // the bookings' bitmaps (calendar.Reservations.Indexes)
	mass   [][]byte // this month's mass budget (profile.MassLevelIndexes)
}

// bitNames lists the bitmaps read into a view, in the order readView
// splits them.
func (r *rules) bitNames(audience string, loc *time.Location) []string {
	names := append(scope(r.c).StateIndexes(), audience)
	for i := range 7 {
		names = append(names, profile.PushedIndex(r.now.In(loc).AddDate(0, 0, -i)))
	}
	if r.item != nil {
		names = append(names, profile.ReceivedIndex(r.item.ID))
		for _, it := range r.variants {
			names = append(names, profile.ReceivedIndex(it.ID))
		}
	} else {
		for _, it := range r.cand {
			names = append(names, profile.ReceivedIndex(it.ID))
		}
	}
	names = append(names, r.rsvIndexes()...)
	return append(names, profile.MassLevelIndexes(r.month)...)
}

func (r *rules) rsvIndexes() []string {
	if r.rsv == nil {
		return nil
	}
	return r.rsv.Indexes()
}

func (e *Engine) readView(ctx context.Context, r *rules, audience string, shard int, from int64) (*view, error) {
	bits, err := e.cfg.Profiles.Bits(ctx, r.c.Account, shard, r.bitNames(audience, e.cfg.Loc), from, chunkSize)
	if err != nil {
		return nil, err
	}
	m := len(bits) - profile.MassLevels
	k := m - len(r.rsvIndexes())
	return &view{states: notify.States(bits[:5]), aud: bits[5], days: bits[6:13], recv: bits[13:k], rsv: bits[k:m], mass: bits[m:]}, nil
}

// verdict is what the rules decide for one recipient.
type verdict struct {
	item    *content.Item
	channel plan.Channel // ChannelCustom, ChannelTemplate or ChannelMass; ChannelNone with a reason
	window  plan.Window
	reason  string
	failed  bool // the reason is a failure, not a rule (WeChat not configured)
	variant int  // the variant sent (-1: the campaign has none)
	held    bool // in the holdout, before the winner is chosen: left pending
	// noMass: a mass send would take budget the calendar holds for
	// others, so a customer-service message whose window WeChat says is
	// closed does not fall back to one.
	noMass bool
}

// ReasonReserved is why a subscriber is not sent by mass send: their
// remaining mass sends this month are held by other departments'
// bookings or kept for hazard alerts (scheduler/calendar).
const ReasonReserved = "reserved"

// massAllowed applies the calendar's rule (calendar.Allows) to p, bit i
// of view v: within the campaign's own booking, or out of budget no
// other booking holds.
func (r *rules) massAllowed(p *profile.Profile, v *view, i int64) bool {
	if r.rsv == nil {
		return true
	}
	own, others := r.rsv.Count(v.rsv, i)
	return calendar.Allows(plan.MassUsed(p, r.now, r.rules.Loc), own, others, r.c.Alert)
}

// decide applies the campaign's rules to member m, bit i of view v.
// inDoubt messages were claimed by a run that died: their caps and
// received checks passed then, so they are only routed again.
func (r *rules) decide(m profile.Member, v *view, i int64, caps plan.Caps, inDoubt bool) verdict {
	c := r.c
	k, recv := -1, 0
	if len(r.variants) > 0 {
		if k = c.Assign(m.ID); k < 0 && c.Winner == nil {
			return verdict{reason: "ab_holdout", held: true, variant: -1}
		} else if k < 0 {
			k = *c.Winner
		}
		recv = 1 + k
	}
	vd := r.decideItem(m, v, i, caps, inDoubt, recv)
	vd.variant = k
	if k >= 0 && vd.item != nil {
		vd.item = r.variants[k]
	}
	return vd
}

// decideItem is decide for the message whose received bitmap is recv in
// the view (ModeItem).
func (r *rules) decideItem(m profile.Member, v *view, i int64, caps plan.Caps, inDoubt bool, recv int) verdict {
	c := r.c
	if !m.Profile.Reachable() {
		return verdict{reason: "unreachable"}
	}
	m.Profile.SetMassCount(r.month, v.mass, i)         // the budget's one record: the month's bitmaps
	if !inDoubt && c.CorrectionOf == "" && !c.Urgent { // corrections and urgent warnings are never capped
		today, week := 0, 0
		for d, db := range v.days {
			if profile.BitSet(db, i) {
				week++
				if d == 0 {
					today++
				}
			}
		}
		if !caps.Allow(today, week) {
			return verdict{reason: "frequency_cap"}
		}
	}
	it := r.item
	if recv > 0 {
		it = r.variants[recv-1]
	}
	if c.Mode == ModeItem {
		if !inDoubt && profile.BitSet(v.recv[recv], i) {
			return verdict{reason: "already_received"}
		}
		if !deliverable(it, r.now) {
			return verdict{reason: "item_not_deliverable"}
		}
		if c.CorrectionOf == "" && slices.ContainsFunc(it.Topics, m.Profile.OptedOutOf) {
			return verdict{reason: "topic_opted_out"}
		}
	} else {
		best, _, ok := r.picker.Pick(m.Profile, func(id string) bool { return profile.BitSet(v.recv[r.idx[id]], i) }, m.Profile.OptedOutOf)
		if !ok && plan.Known(m.Profile) {
			return verdict{reason: "no_good_item"} // nothing left on what they like: nothing rather than an item they would not open
		}
		if !ok {
			return verdict{reason: "no_item"}
		}
		it = best
	}
	d := plan.Choose(m.Profile, r.kind, r.rules, plan.Options{}, r.now)
	switch d.Channel {
	case plan.ChannelCustom, plan.ChannelTemplate, plan.ChannelMass:
	default:
		return verdict{reason: d.Reason.String()}
	}
	allowed := r.massAllowed(m.Profile, v, i)
	if d.Channel == plan.ChannelMass && !allowed {
		return verdict{reason: ReasonReserved}
	}
	if !r.configured {
		return verdict{reason: notify.ReasonNotConfigured, failed: true}
	}
	return verdict{item: it, channel: d.Channel, window: d.Window, noMass: !allowed}
}

// explain says why it suits p: with the personalized picker's popularity,
// or (one item for everyone) without; nil when the scoring would never
// pick it for p (one item for everyone goes to its whole audience all
// the same).
func (r *rules) explain(p *profile.Profile, it *content.Item) *plan.Explanation {
	var ex plan.Explanation
	if r.picker != nil {
		ex = r.picker.Explain(p, it)
	} else {
		ex = plan.Explain(p, it, r.now, r.rules.Loc, nil)
	}
	if ex.Score == plan.Excluded {
		return nil
	}
	return &ex
}

// chunk decides and sends one chunk of the audience, under a lease.
func (e *Engine) chunk(ctx context.Context, ref jobRef) error {
	c, now, err := e.runnable(ctx, ref)
	if errors.Is(err, errStop) {
		return nil
	}
	if err != nil {
		return err
	}
	r, err := e.loadRules(ctx, c, now)
	if err != nil {
		return err
	}
	sc := scope(c)
	lease, err := e.notify.Acquire(ctx, sc, ref.Shard, fmt.Sprint(ref.From))
	if errors.Is(err, notify.ErrLeaseLost) {
		return queue.Later(err, 5*time.Second) // another run sends this chunk now
	}
	if err != nil {
		return err
	}
	defer lease.Release(ctx)
	v, err := e.readView(ctx, r, audIndex(c.ID), ref.Shard, ref.From)
	if err != nil {
		return err
	}
	var lids []int64
	for i := int64(0); i < chunkSize; i++ {
		if profile.BitSet(v.aud, i) && !v.states.Done(i) {
			lids = append(lids, ref.From+i)
		}
	}
	var decided notify.Decided
	var sends []notify.Send
	arms := map[int][]int64{}        // variant → members, for the stats' bitmaps
	massGroups := map[string]int64{} // popField(group, item) → mass recipients, for learning from mass clicks
	var later time.Time              // the earliest best hour still to come (SendOptimal)
	if len(lids) > 0 {
		members, err := e.cfg.Profiles.Members(ctx, c.Account, ref.Shard, lids)
		if err != nil {
			return err
		}
		found := make(map[int64]bool, len(members))
		for _, m := range members {
			found[m.ID.Local] = true
		}
		for _, lid := range lids {
			if !found[lid] {
				decided.Skip(lid, "erased")
			}
		}
		for _, m := range members {
			i := m.ID.Local - ref.From
			inDoubt := v.states.InDoubt(i)
			if due := e.dueAt(c, m.Profile, now); !inDoubt && due.After(now) {
				if later.IsZero() || due.Before(later) {
					later = due // their best hour has not come: pending
				}
				continue
			}
			vd := r.decide(m, v, i, e.cfg.Caps, inDoubt)
			if len(r.variants) > 0 {
				k := c.Assign(m.ID)
				arms[k] = append(arms[k], m.ID.Local)
			}
			switch {
			case vd.held:
				// the holdout waits for the winner phase
			case vd.failed:
				decided.Fail(m.ID.Local, vd.reason)
			case vd.channel == plan.ChannelMass && m.Profile.Elder:
				decided.Plan(m.ID.Local, massKey(vd.item, vd.variant)+elderMass) // the short text, in batches of its own
				massGroups[popField(m.Profile.Group, vd.item.ID)]++
			case vd.channel == plan.ChannelMass:
				decided.Plan(m.ID.Local, massKey(vd.item, vd.variant))
				massGroups[popField(m.Profile.Group, vd.item.ID)]++
			case vd.channel == plan.ChannelNone:
				decided.Skip(m.ID.Local, vd.reason)
			default:
				sends = append(sends, e.send(c, vd, m))
			}
		}
		if err := e.voice(ctx, c.Account, sends); err != nil {
			return err
		}
	}
	if err := e.markArms(ctx, c, ref.Shard, arms); err != nil {
		return err
	}
	// Before the bits: finalize must know every item that has (or may
	// get, when WeChat says a window closed) mass recipients.
	keys := map[string]bool{}
	for it := range decided.Mass {
		keys[it] = true
	}
	for _, s := range sends {
		if strings.HasSuffix(s.Fallback, elderMass) {
			keys[s.Fallback] = true
		}
	}
	if len(keys) > 0 {
		items := make([]any, 0, len(keys))
		for it := range keys {
			items = append(items, it)
		}
		if err := e.cfg.Store.rdb.SAdd(ctx, massItemsKey(c.Account, c.ID), items...).Err(); err != nil {
			return err
		}
	}
	if err := lease.Deliver(ctx, decided, sends); errors.Is(err, notify.ErrLeaseLost) {
		return queue.Later(err, 5*time.Second) // another run took the chunk over
	} else if err != nil {
		return err
	}
	if err := e.countMassGroups(ctx, c, massGroups); err != nil {
		return err
	}
	if !later.IsZero() {
		return queue.At(errors.New("waiting for best hours"), later) // absolute: the clock may have moved while the chunk decided
	}
	last, err := e.cfg.Store.chunkDone(ctx, c.Account, c.ID, ref.Phase, fmt.Sprintf("%d:%d%s", ref.Shard, ref.From, phaseSuffix(ref.Phase)))
	if err != nil {
		return err
	}
	if last {
		return e.enqueueFinal(ctx, c, ref.Phase)
	}
	return nil
}

// send is the direct send of verdict vd to m, its message rendered.
func (e *Engine) send(c *Campaign, vd verdict, m profile.Member) notify.Send {
	s := notify.Send{Member: m, Channel: vd.channel, Window: vd.window, Item: vd.item.ID, Topics: vd.item.Topics}
	key := massKey(vd.item, vd.variant)
	if vd.channel == plan.ChannelTemplate {
		t := e.template(c, m, e.Render(c, vd.item, m, "template"))
		s.Message.Template = &t
		return s
	}
	s.Fallback = key // a stale window: wait for the mass send
	if m.Profile.Elder {
		s.Message.Text = e.Render(c, vd.item, m, "elder").Text
		s.Fallback = key + elderMass
	}
	if vd.noMass {
		s.Fallback = "" // the calendar holds their mass send for others
	}
	if m.Profile.Elder {
		return s
	}
	a := e.Render(c, vd.item, m, "custom").article()
	s.Message.Article = &a
	return s
}

// elderMass marks the mass key of an item's elder-mode recipients: they
// get its short text (finalize.go).
const elderMass = "~elder"

// voice adds the item's recording to the customer-service sends of
// elder-mode subscribers whose 48-hour window has room for two messages,
// uploading it to WeChat once per account (notify caches the media_id,
// one upload across replicas); each subscriber gets at most one voice
// message a day (notify.VoicedIndex, claimed here), the text always.
func (e *Engine) voice(ctx context.Context, account string, sends []notify.Send) error {
	if e.cfg.Audio == nil {
		return nil
	}
	media := map[string]string{} // item → media_id ("" none)
	keys := map[string]string{}
	var voiced []int // sends that get a recording
	for i := range sends {
		s := &sends[i]
		p := s.Member.Profile
		if s.Channel != plan.ChannelCustom || !p.Elder || s.Window != plan.WindowMessage || p.MessagesUsed+2 > plan.MessageQuota {
			continue
		}
		id, ok := media[s.Item]
		if !ok {
			a, err := e.cfg.Audio(ctx, account, s.Item)
			switch {
			case errors.Is(err, content.ErrNotFound):
			case err != nil:
				return err
			default:
				data := func(context.Context) ([]byte, error) { return a.Data, nil }
				if id, err = e.notify.VoiceMediaID(ctx, account, a.SHA, s.Item+"."+a.Format, data); err != nil {
					return err
				}
				keys[s.Item] = a.SHA
			}
			media[s.Item] = id
		}
		if id != "" {
			voiced = append(voiced, i)
		}
	}
	if len(voiced) == 0 {
		return nil
	}
	lids := make([]int64, len(voiced))
	for k, i := range voiced {
		lids[k] = sends[i].Member.ID.Local
	}
	day := notify.VoicedIndex(e.cfg.Now().In(e.cfg.Loc))
	had, err := e.cfg.Profiles.SetBits(ctx, account, sends[voiced[0]].Member.ID.Shard, profile.BitChange{Index: day, Bit: 1, TTL: notify.VoicedTTL, Lids: lids})
	if err != nil {
		return err
	}
	for k, i := range voiced {
		if had[k] {
			continue // a voice message reached them today already
		}
		s := &sends[i]
		s.Message.Voice, s.Message.VoiceKey = media[s.Item], keys[s.Item]
	}
	return nil
}
