package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// kepubot simulate runs a seeded district through the real service: the
// embedded Redis, the sample library, the fake WeChat (which enforces
// WeChat's limits) and the real webhook, campaign engine and click
// tracking, on a simulated clock. Residents are split into arms of equal
// make-up that differ only in how their pushes are chosen:
//
//	personalized  one personalized campaign (each resident's best item)
//	group         one campaign per group, the best item for the group
//	random        a random item (one per cohort of the arm)
//
// With --send-time the arms are instead personalized (sent at a fixed
// hour, 12:00) and optimal (the same campaign with send_time "optimal"),
// and each resident has a hidden reading hour (simtime.go).
//
// Each resident tells the bot only their group and town (a QR code, as a
// training day's poster would); their interests are hidden, and they act
// on them: they search for what they care about and open results that
// match, and open a pushed item with a probability that depends on
// whether it is about what they like (the click model, simClickProb).

// simArms are the arms, in report order.
var simArms = []string{"personalized", "group", "random"}

// simTimeArms are the arms of a --send-time run.
var simTimeArms = []string{"personalized", "optimal"}

// Click model: the chance a resident opens a pushed item.
const (
	simClickLiked  = 0.5  // the item is about a topic they like
	simClickGroup  = 0.10 // it is not, but it is written for their group
	simClickAll    = 0.03 // it is not, and it is written for everyone
	simClickOthers = 0.01 // it is written for other groups only
	simSearchRate  = 0.6  // chance they search (rather than just chat) before a push
	simOpenResult  = 0.7  // chance they open a search result they like

	simSecondLike = 0.3 // chance a resident likes a second topic
	simMinItems   = 5   // a hidden interest is a topic of at least this many items
)

// simOptions are simulate's flags.
type simOptions struct {
	Residents, Weeks int
	Seed             uint64
	Out              string
	// Library is how many copies of the sample library the district has:
	// the samples and Library-1 synthetic twins of each (simTwins).
	Library int
	// SendTime compares a fixed hour with send_time "optimal" on
	// residents with a hidden reading hour.
	SendTime bool
}

// arms returns the run's arms, in report order.
func (o simOptions) arms() []string {
	if o.SendTime {
		return simTimeArms
	}
	return simArms
}

// simWeek is one week's outcome per arm.
type simWeek struct {
	Sent, Clicks map[string]int64
	// Liked counts the pushes about a topic the recipient likes (the
	// precision of the targeting); Skipped the residents the campaign left
	// out because nothing good was left for them (no_good_item).
	Liked, Skipped map[string]int64
	// OnTime counts the pushes that came within the hour before the
	// resident looked at their phone (--send-time).
	OnTime map[string]int64
}

// CTR returns the arm's click-through of the week.
func (w simWeek) CTR(arm string) float64 {
	if w.Sent[arm] == 0 {
		return 0
	}
	return float64(w.Clicks[arm]) / float64(w.Sent[arm])
}

// simRun is a simulation's outcome: its weeks and how many residents each
// arm has.
type simRun struct {
	Weeks     []simWeek
	Residents map[string]int
	Items     int // the library's deliverable items, twins included
}

type simResident struct {
	openID, arm, group, town string
	source                   string // the QR code's source: the arm (random: one of simRandomCohorts)
	likes                    []string
	hour                     int // the hidden reading hour (--send-time only)
	seen                     int // messages delivered already read
}

func cmdSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o simOptions
	fs.IntVar(&o.Residents, "residents", 120, "simulated residents (3-3000), split into the arms")
	fs.IntVar(&o.Weeks, "weeks", 4, "simulated weeks (1-12), one push a week")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed: the same seed gives the same district")
	fs.StringVar(&o.Out, "out", "", "folder for report.md and ctr.svg (none when empty)")
	fs.IntVar(&o.Library, "library", 1, "copies of the sample library (1-10): the samples and synthetic twins of each")
	fs.BoolVar(&o.SendTime, "send-time", false, "compare a fixed hour with send_time optimal (hidden reading hours)")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return errUsage
	}
	if len(rest) > 0 || o.Residents < 3 || o.Residents > 3000 || o.Weeks < 1 || o.Weeks > 12 || o.Library < 1 || o.Library > 10 {
		fmt.Fprintln(stderr, "usage: kepubot simulate [--residents N (3-3000)] [--weeks W (1-12)] [--seed S] [--library K (1-10)] [--send-time] [--out DIR]")
		return errUsage
	}
	run, err := runSimulation(ctx, o, stdout)
	if err != nil {
		return err
	}
	if o.Out == "" {
		return nil
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	if err := os.WriteFile(filepath.Join(o.Out, "ctr.svg"), []byte(simChart(o.arms(), run.Weeks)), 0o644); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	if err := os.WriteFile(filepath.Join(o.Out, "report.md"), []byte(simReport(o, run)), 0o644); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	fmt.Fprintf(stdout, "report: %s, chart: %s\n", filepath.Join(o.Out, "report.md"), filepath.Join(o.Out, "ctr.svg"))
	return nil
}

// simEnv is a running simulation: the service, its simulated clock and
// WeChat, the library and the residents.
type simEnv struct {
	o         simOptions
	app       *App
	clock     *simClock
	wx        *wechattest.Server
	acct      wechattest.Account
	phone     *wechattest.Phone
	base      string
	loc       *time.Location
	rng       *rand.Rand
	items     []*content.Item
	byID      map[string]*content.Item
	residents []*simResident
	sentTo    map[string]map[string]bool // arm|group → items sent
	client    *http.Client
}

// runSimulation runs the district for o.Weeks weeks and returns each
// week's sends and clicks by arm, printing a line a week to stdout.
func runSimulation(ctx context.Context, o simOptions, stdout io.Writer) (simRun, error) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return simRun{}, err
	}
	if o.Library < 1 {
		o.Library = 1
	}
	s := &simEnv{o: o, loc: loc, rng: rand.New(rand.NewPCG(o.Seed, 16)), sentTo: map[string]map[string]bool{},
		clock:  &simClock{t: time.Date(2027, 5, 17, 6, 0, 0, 0, loc)}, // a Monday, in quiet hours
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	s.wx = wechattest.New(wechattest.Options{Now: s.clock.Now, Seed: int64(o.Seed)})
	defer s.wx.Close()
	s.acct = wechattest.Account{AppID: "wxkepubotsim", Secret: randomHex(16), Token: "kepubotsim"}
	s.wx.AddAccount(s.acct)
	cfg, err := simulatedConfig(s.wx, s.acct, randomHex(16))
	if err != nil {
		return simRun{}, err
	}
	s.app, err = NewApp(ctx, cfg, slog.New(slog.DiscardHandler), AppOptions{Now: s.clock.Now})
	if err != nil {
		return simRun{}, err
	}
	defer s.app.Close()
	if err := s.start(ctx); err != nil {
		return simRun{}, err
	}
	run := simRun{Residents: map[string]int{}, Items: len(s.items)}
	for _, r := range s.residents {
		run.Residents[r.arm]++
	}
	arms := o.arms()
	fmt.Fprintf(stdout, "kepubot simulate: %d residents (%s), %d weeks, seed %d, library %d items\n",
		len(s.residents), strings.Join(arms, ", "), o.Weeks, o.Seed, len(s.items))
	fmt.Fprintf(stdout, "%-5s", "week")
	for _, a := range arms {
		fmt.Fprintf(stdout, " %13s", a)
	}
	for _, a := range arms[1:] {
		fmt.Fprintf(stdout, " %8s", simRatioName(o, a))
	}
	fmt.Fprintf(stdout, " %8s\n", "skipped")
	for w := range o.Weeks {
		var wk simWeek
		if o.SendTime {
			wk, err = s.timedWeek(ctx, w)
		} else {
			wk, err = s.week(ctx, w)
		}
		if err != nil {
			return simRun{}, err
		}
		run.Weeks = append(run.Weeks, wk)
		fmt.Fprintf(stdout, "%-5d", w+1)
		for _, a := range arms {
			fmt.Fprintf(stdout, " %12.1f%%", 100*wk.CTR(a))
		}
		for _, a := range arms[1:] {
			fmt.Fprintf(stdout, " %7.2f×", simRatio(o, wk, a))
		}
		fmt.Fprintf(stdout, " %8d\n", wk.Skipped[arms[0]])
	}
	return run, nil
}

// start starts the service with only the simulation's campaigns, adds the
// library's twins, and has the residents follow the account.
func (s *simEnv) start(ctx context.Context) error {
	app := s.app
	if err := app.Start(ctx); err != nil {
		return err
	}
	// Only the simulation's campaigns run: the scheduled ones (daily tip,
	// digest, farming calendar) would reach every arm alike.
	sts, err := app.delivery.sched.Statuses(ctx)
	if err != nil {
		return err
	}
	for _, st := range sts {
		if err := app.delivery.sched.Pause(ctx, st.Name); err != nil {
			return err
		}
	}
	s.base = "http://" + app.Addr()
	s.phone = wechattest.NewPhone(s.wx, s.acct, s.base+"/wechat", false)
	items, err := campaign.StoreItems{Store: app.content}.Deliverable(ctx, app.cfg.WeChat.ID, s.clock.Now())
	if err != nil {
		return err
	}
	if err := simTwins(ctx, app, items, s.o.Library); err != nil {
		return err
	}
	// The word segmenter loads in the background: seconds, a few minutes
	// under -race on a loaded machine.
	for deadline := time.Now().Add(3 * time.Minute); !app.search.Ready(app.cfg.WeChat.ID); {
		if time.Now().After(deadline) {
			return errors.New("simulate: the search index did not load")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s.items, err = (campaign.StoreItems{Store: app.content}).Deliverable(ctx, app.cfg.WeChat.ID, s.clock.Now()); err != nil {
		return err
	}
	s.byID = map[string]*content.Item{}
	perTopic := map[string]int{}
	for _, it := range s.items {
		s.byID[it.ID] = it
		for _, t := range it.Topics {
			perTopic[t]++
		}
	}
	if s.residents, err = simDistrict(ctx, app, s.rng, s.o, perTopic, s.clock.Now()); err != nil {
		return err
	}
	for i, r := range s.residents {
		// WeChat posts an event again when the answer takes too long (on a
		// loaded machine the webhook may give up on one): so does this.
		for attempt := 0; ; attempt++ {
			s.clock.Set(s.clock.Now().Add(2 * time.Second))
			if _, err := s.phone.Event(ctx, r.openID, "subscribe", "qrscene_"+simScene(r), nil); err != nil {
				return fmt.Errorf("simulate: follow: %w", err)
			}
			if _, _, err := app.profiles.Get(ctx, app.cfg.WeChat.ID, r.openID); err == nil {
				break
			} else if !errors.Is(err, profile.ErrNotFound) || attempt == 2 {
				return fmt.Errorf("simulate: resident %d did not follow: %w", i, err)
			}
		}
	}
	return nil
}

// open taps a tracked link, as a phone would (without following it on).
func (s *simEnv) open(ctx context.Context, link string) error {
	_, tok, ok := strings.Cut(link, "/r/")
	if !ok {
		return nil // an untracked link teaches nothing
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/r/"+tok, nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("simulate: open link: %w", err)
	}
	resp.Body.Close()
	return nil
}

// week runs week w: Monday and Thursday at 10:00 the residents chat or
// search, Friday at 09:00 each arm gets its push, at noon they read it.
func (s *simEnv) week(ctx context.Context, w int) (simWeek, error) {
	for _, day := range []int{0, 3} {
		s.clock.Set(time.Date(2027, 5, 17+7*w+day, 10, 0, 0, 0, s.loc))
		for _, r := range s.residents {
			s.clock.Set(s.clock.Now().Add(5 * time.Second))
			if err := s.chat(ctx, r); err != nil {
				return simWeek{}, err
			}
		}
	}
	s.clock.Set(time.Date(2027, 5, 17+7*w+4, 9, 0, 0, 0, s.loc))
	cs, err := simCampaigns(ctx, s.app, s.rng, s.items, s.sentTo, s.clock.Now(), s.loc)
	if err != nil {
		return simWeek{}, err
	}
	if err := s.startAll(ctx, cs); err != nil {
		return simWeek{}, err
	}
	for _, c := range cs {
		if _, err := waitCampaign(ctx, s.app, c, 2*time.Minute); err != nil {
			return simWeek{}, err
		}
	}
	s.clock.Set(s.clock.Now().Add(3 * time.Hour)) // noon: they read their phones
	wk := newSimWeek()
	for _, r := range s.residents {
		msgs := s.wx.Delivered(s.acct.AppID, r.openID)
		for _, m := range msgs[r.seen:] {
			if err := s.read(ctx, r, m, 1, &wk); err != nil {
				return simWeek{}, err
			}
		}
		r.seen = len(msgs)
	}
	return wk, s.count(ctx, cs, &wk)
}

func newSimWeek() simWeek {
	return simWeek{Sent: map[string]int64{}, Clicks: map[string]int64{}, Liked: map[string]int64{}, Skipped: map[string]int64{}, OnTime: map[string]int64{}}
}

// read is r reading pushed message m: they open it with the click model's
// chance times timing (1 when it came as they look at their phone).
func (s *simEnv) read(ctx context.Context, r *simResident, m wechattest.Message, timing float64, wk *simWeek) error {
	it := s.byID[simLinkItem(m.URL)]
	if it == nil {
		return nil
	}
	if simLikes(r, it) {
		wk.Liked[r.arm]++
	}
	if timing == 1 {
		wk.OnTime[r.arm]++
	}
	if s.rng.Float64() < simClickProb(r, it)*timing {
		return s.open(ctx, m.URL)
	}
	return nil
}

// startAll starts the campaigns.
func (s *simEnv) startAll(ctx context.Context, cs []*campaign.Campaign) error {
	for _, c := range cs {
		if _, err := s.app.delivery.engine.Change(ctx, c.Account, c.ID, campaign.ActStart); err != nil {
			return fmt.Errorf("simulate: start %s: %w", c.Name, err)
		}
	}
	return nil
}

// count adds the campaigns' sends, clicks and no_good_item skips to wk by
// arm (the campaign's name says it: sim-<arm>-...).
func (s *simEnv) count(ctx context.Context, cs []*campaign.Campaign, wk *simWeek) error {
	for _, c := range cs {
		cur, err := s.app.delivery.campaigns.Get(ctx, c.Account, c.ID)
		if err != nil {
			return err
		}
		st, err := s.app.delivery.engine.Stats(ctx, cur, nil, nil)
		if err != nil {
			return err
		}
		arm, _, _ := strings.Cut(strings.TrimPrefix(c.Name, "sim-"), "-")
		wk.Sent[arm] += st.Sent
		wk.Clicks[arm] += st.Clicks
		for k, n := range st.Reasons {
			if strings.HasSuffix(k, "no_good_item") {
				wk.Skipped[arm] += n
			}
		}
	}
	return nil
}

// idle waits until the account's queue has nothing ready or running, after
// the delayed jobs that fell due on the clock were moved (the workers poll
// every second).
func (s *simEnv) idle(ctx context.Context) error {
	q := s.app.delivery.queues[s.app.cfg.WeChat.ID]
	if q == nil {
		return errors.New("simulate: no queue")
	}
	time.Sleep(2200 * time.Millisecond)
	for deadline := time.Now().Add(2 * time.Minute); ; {
		st, err := q.Stats(ctx)
		if err != nil {
			return err
		}
		busy := false
		for l := range st.Ready {
			busy = busy || st.Ready[l]+st.Pending[l] > 0
		}
		if !busy {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("simulate: the queue did not drain")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// simRatio is the week's ratio for arm a (not the first): the first
// arm's click-through over a's; in a send-time run the effect of the
// optimal hour, optimal's over the fixed hour's.
func simRatio(o simOptions, wk simWeek, a string) float64 {
	if o.SendTime {
		return ctrRatio(wk.CTR(a), wk.CTR(o.arms()[0]))
	}
	return ctrRatio(wk.CTR(o.arms()[0]), wk.CTR(a))
}

// simRatioName heads simRatio's column.
func simRatioName(o simOptions, a string) string {
	if o.SendTime {
		return "opt÷fix"
	}
	return "÷" + a
}

// ctrRatio is a/b, or 0 when b is 0.
func ctrRatio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
