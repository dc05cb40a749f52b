package campaign_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/scheduler/campaign"
)

// failoverWithin is how soon after the promotion a campaign must finish.
const failoverWithin = 15 * time.Second

// TestDeliveryUnderClusterFailover: a campaign runs on a real 6-node Redis
// Cluster; at a random moment (20–60% of it) one master is SIGKILLed while
// the worker process and this test keep using the Cluster through
// redisconn's options. Its replica is promoted; the campaign finishes
// within 15 s of the promotion, nobody is left out, and the only
// duplicates are in-flight customer-service messages counted in
// in_doubt_resent. KEPUBOT_FAULT_FAILOVER_RUNS sets the number of runs.
func TestDeliveryUnderClusterFailover(t *testing.T) {
	runs := envInt("KEPUBOT_FAULT_FAILOVER_RUNS", 1)
	n := envInt("KEPUBOT_FAULT_AUDIENCE", 1000)
	if testing.Short() {
		runs = 1
	}
	var total tally
	for run := range runs {
		t.Run(strconv.Itoa(run), func(t *testing.T) {
			ctx := context.Background()
			cl := redistest.StartCluster(t, redistest.ClusterOptions{})
			r := &faultRun{t: t, ctx: ctx, url: cl.URL(), rdb: cl.Client(t)}
			r.seed(n)
			r.injectFaults()
			rng := rand.New(rand.NewPCG(uint64(run), 13))
			r.startWorker()
			c := r.create(&campaign.Campaign{Name: "台风", Audience: "group:farmer", Mode: campaign.ModeItem, ItemID: "it1"})
			created, share := time.Now(), 0.2+0.4*rng.Float64()
			r.waitProgress(c.ID, share, 30*time.Second)
			t.Logf("%.0f%% of the campaign done %v after it was created", 100*share, time.Since(created).Round(time.Millisecond))

			probe := fmt.Sprintf("probe%d", rng.IntN(1000)) // a random master
			dead, err := cl.MasterOf(ctx, probe)
			if err != nil {
				t.Fatal(err)
			}
			killed := time.Now()
			dead.Kill()
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if _, err := cl.WaitPromoted(wctx, probe, dead); err != nil {
				t.Fatal(err)
			}
			promoted := time.Now()
			st := r.waitDone(c.ID, 2*time.Minute)
			done := time.Now()
			tl := r.check(st)
			if after := done.Sub(promoted); after > failoverWithin {
				t.Errorf("campaign done %v after the promotion, want within %v", after.Round(time.Millisecond), failoverWithin)
			}
			if int64(tl.dups) > st.InDoubtResent {
				t.Errorf("%d duplicates, but only %d counted in in_doubt_resent", tl.dups, st.InDoubtResent)
			}
			total.lost += tl.lost
			total.dups += tl.dups
			total.received += tl.received
			t.Logf("%d followers: promotion %v after the kill, done %v after the promotion; sent %d, lost %d, duplicates %d, in_doubt_resent %d, by channel %v",
				n, promoted.Sub(killed).Round(time.Millisecond), done.Sub(promoted).Round(time.Millisecond),
				st.Sent, tl.lost, tl.dups, st.InDoubtResent, st.ByChannel)
		})
	}
	t.Logf("%d runs × %d followers, one master killed each: lost %d, duplicates %d", runs, n, total.lost, total.dups)
}
