package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserDemoWalkthrough is the README's "first ten minutes" on
// `kepubot demo` (after its simulated days): an editor writes an item, a
// reviewer approves it, the organizer publishes it and sends it to the
// farmers of 派潭 — and 居民手机 shows it on 陈伯's phone. It fails if the
// demo's week left no room in the residents' caps.
func TestBrowserDemoWalkthrough(t *testing.T) {
	ctx := newBrowser(t, 4*time.Minute)
	var out bytes.Buffer
	d, err := runDemo(context.Background(), 3, &out)
	if d != nil {
		defer d.close()
	}
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	password := regexp.MustCompile(`password ([0-9a-f]+)`).FindStringSubmatch(out.String())[1]
	base := d.base
	do, must := steps(t, ctx)

	must("login editor", login(ctx, base, "editor", password))
	do("write the item", writeLitchiItem(base, "荔枝花期管理要点（演示）", "https://kepu.example.org/a/litchi-flower-demo")...)
	must("create the draft", submit(ctx, `form.itemform button`))
	where, err := chromedp.Run(ctx, chromedp.Location())
	must("location", err)
	itemURL := strings.TrimPrefix(where, base)
	if !strings.HasPrefix(itemURL, "/console/items/") {
		t.Fatalf("after creating, the browser is at %s", where)
	}
	must("submit for review", submit(ctx, `form[action$="/submit"] button`))
	must("logout editor", logout(ctx))

	must("login reviewer", login(ctx, base, "reviewer", password))
	do("open the review queue", chromedp.Navigate(base+"/console/review"), chromedp.WaitVisible(chromedp.CSS(`main`)))
	must("approve", submit(ctx, `form[action="`+itemURL+`/approve"] button`))
	must("logout reviewer", logout(ctx))

	must("login organizer", login(ctx, base, "organizer", password))
	do("open the item", chromedp.Navigate(base+itemURL), chromedp.WaitVisible(chromedp.CSS(`form[action$="/publish"]`)))
	must("publish", submit(ctx, `form[action$="/publish"] button`))
	do("compose", chromedp.Navigate(base+"/console/campaigns/new"), chromedp.WaitVisible(chromedp.CSS(`form.camp-form`)),
		chromedp.SendKeys(chromedp.CSS(`form.camp-form input[name=name]`), "派潭荔枝花期提醒"),
		chromedp.SetValue(chromedp.CSS(`select[name=item_id]`), strings.TrimPrefix(itemURL, "/console/items/")),
		chromedp.SendKeys(chromedp.CSS(`form.camp-form input[name=expr]`), "group:farmer & town:paitan"),
	)
	must("save the draft", submit(ctx, `form.camp-form button`))
	do("see the plan", chromedp.WaitVisible(chromedp.CSS(`.camp-plan`)))
	screenshot(t, ctx, "demo-walkthrough-plan.png")
	must("send now", submit(ctx, `form[action$="/start"] button`))

	// 陈伯 (a litchi farmer in 派潭) finds it on his phone.
	chen := personas[0]
	deadline := time.Now().Add(time.Minute)
	for {
		do("open 陈伯's phone", chromedp.Navigate(base+"/console/phones?p="+chen.OpenID), chromedp.WaitVisible(chromedp.CSS(`.phone .chat`)))
		if strings.Contains(text(t, ctx, ".phone .chat"), "荔枝花期管理要点（演示）") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("陈伯's phone never showed the campaign; campaign page:\n%s", func() string {
				do("open the campaigns", chromedp.Navigate(base+"/console/campaigns"), chromedp.WaitVisible(chromedp.CSS(`main`)))
				return text(t, ctx, "main")
			}())
		}
		time.Sleep(200 * time.Millisecond)
	}
	screenshot(t, ctx, "demo-walkthrough-phone.png")
}
