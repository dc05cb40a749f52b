package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/scheduler/alerts"
)

// capFeedServer serves an Atom index linking the CAP samples published so
// far (content/alert/testdata, real-format documents).
type capFeedServer struct {
	*httptest.Server
	mu        sync.Mutex
	published []string
	indexHits atomic.Int64
}

func newCAPFeedServer(t *testing.T) *capFeedServer {
	f := &capFeedServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := strings.CutPrefix(r.URL.Path, "/cap/"); ok {
			http.ServeFile(w, r, "../../content/alert/testdata/"+name)
			return
		}
		f.indexHits.Add(1)
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Header().Set("Content-Type", "application/atom+xml")
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom"><id>urn:e2e</id><title>增城预警</title>`)
		for _, name := range f.published {
			fmt.Fprintf(w, `<entry><id>urn:e2e:%s</id><title>预警</title><link rel="alternate" type="application/cap+xml" href="/cap/%s"/></entry>`, name, name)
		}
		fmt.Fprint(w, `</feed>`)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *capFeedServer) publish(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published = append(f.published, name)
}

// TestHazardAlertEndToEnd: a red rainstorm warning for 荔城 and 新塘 from
// a CAP feed configured with KEPUBOT_ALERT_FEEDS reaches at 23:00 (quiet
// hours) exactly the subscribers of those towns; its update and its
// cancellation reach the same people; replaying the feed sends nothing
// more; GET /api/v1/alerts shows each with its reach.
func TestHazardAlertEndToEnd(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	start, real := time.Date(2027, 3, 15, 23, 0, 0, 0, loc), time.Now()
	feeds := newCAPFeedServer(t)
	e := startE2EWith(t, AppOptions{Now: func() time.Time { return start.Add(time.Since(real)) }},
		map[string]string{"KEPUBOT_ALERT_FEEDS": feeds.URL + "/warnings.atom"})
	in := map[string]string{"oAlertLC1": "荔城", "oAlertLC2": "荔城街道", "oAlertXT1": "新塘镇"}
	out := map[string]string{"oAlertPT1": "派潭", "oAlertZG1": "正果"}
	for o, town := range in {
		e.onboard(o, "农民", town)
	}
	for o, town := range out {
		e.onboard(o, "农民", town)
	}
	// The configured feed was polled at start (empty then).
	deadline := time.Now().Add(10 * time.Second)
	for feeds.indexHits.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the KEPUBOT_ALERT_FEEDS feed was never polled")
		}
		time.Sleep(10 * time.Millisecond)
	}

	ctx := context.Background()
	feed := alerts.Feed{URL: feeds.URL + "/warnings.atom", AutoSend: true, Account: "default"}
	count := func(o string) int { return len(e.wx.Delivered(e.appID, o)) }
	before := map[string]int{}
	for _, m := range []map[string]string{in, out} {
		for o := range m {
			before[o] = count(o)
		}
	}
	// step publishes a document, polls (the poller's own loop waits its
	// 2-minute interval), and checks who got how many messages.
	step := func(file string, want int) {
		t.Helper()
		if file != "" {
			feeds.publish(file)
		}
		// Poll again every second while waiting: on a loaded machine a
		// fetch of the linked CAP document may time out, and the poller
		// leaves that alert to its next poll. Polls are replays too: the
		// exact counts below prove they send nothing twice.
		deadline, nextPoll := time.Now().Add(30*time.Second), time.Time{}
		for {
			if time.Now().After(nextPoll) {
				if err := e.app.alertPoller.Poll(ctx, feed); err != nil {
					t.Fatalf("poll after %s: %v", file, err)
				}
				nextPoll = time.Now().Add(time.Second)
			}
			done := true
			for o := range in {
				done = done && count(o)-before[o] >= want
			}
			if done {
				break
			}
			if time.Now().After(deadline) {
				_, list := e.api("GET", "/api/v1/alerts?limit=10", "admintoken", nil)
				t.Fatalf("after %s: the warned towns' subscribers did not all get %d messages; alerts: %v", file, want, list)
			}
			time.Sleep(20 * time.Millisecond)
		}
		for o := range in {
			if got := count(o) - before[o]; got != want {
				t.Errorf("after %s: %s got %d messages, want %d", file, o, got, want)
			}
		}
		for o := range out {
			if got := count(o) - before[o]; got != 0 {
				t.Errorf("after %s: %s outside the warned towns got %d messages", file, o, got)
			}
		}
	}
	step("rainstorm_red.xml", 1)
	msgs := e.wx.Delivered(e.appID, "oAlertXT1")
	if last := fmt.Sprint(msgs[len(msgs)-1]); !strings.Contains(last, "暴雨红色预警") {
		t.Errorf("the warning's message = %s, want the red rainstorm notice", last)
	}
	// Someone in 荔城 follows after the warning: the update and the
	// cancellation follow the warning's recipients, not the towns.
	e.onboard("oAlertLate", "农民", "荔城")
	out["oAlertLate"], before["oAlertLate"] = "荔城", count("oAlertLate")
	step("rainstorm_red_update.xml", 2)
	step("rainstorm_red_cancel.xml", 3)
	step("", 3) // the feed replayed

	code, body := e.apiArray("GET", "/api/v1/alerts")
	if code != 200 || len(body) != 3 {
		t.Fatalf("GET /api/v1/alerts = %d, %d alerts, want 200 and 3", code, len(body))
	}
	for _, a := range body {
		if a["status"] != "sent" || a["urgent"] != true || a["reach"] != float64(len(in)) || a["campaign_id"] == "" {
			t.Errorf("alert %v %v: status %v urgent %v reach %v, want sent, urgent, reach %d", a["msg_type"], a["id"], a["status"], a["urgent"], a["reach"], len(in))
		}
	}
	if code, ans := e.api("POST", "/api/v1/alerts/"+body[0]["id"].(string)+"/approve", "admintoken", nil); code != 409 || !strings.Contains(fmt.Sprint(ans["error"]), "预警") {
		t.Errorf("approving a sent alert = %d %v, want 409 with a Chinese message", code, ans)
	}
	if code, _ := e.api("POST", "/api/v1/alerts/nope/approve", "admintoken", nil); code != 404 {
		t.Errorf("approving an unknown alert = %d, want 404", code)
	}

	// The console lists the alerts with their reach.
	page := e.consolePage("organizer", "/console/alerts")
	for _, want := range []string{"暴雨红色预警", "荔城街道、新塘镇", "已发送", "解除", fmt.Sprintf(`class="reach">%d<`, len(in))} {
		if !strings.Contains(page, want) {
			t.Errorf("console alerts page lacks %q:\n%s", want, page)
		}
	}
}

// consolePage logs a new console user of role in and returns the page at
// path.
func (e *e2e) consolePage(role, path string) string {
	e.t.Helper()
	name := e.consoleUser(role, "correct horse battery")
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Get(e.base + "/console/login")
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(string(b))
	if m == nil {
		e.t.Fatalf("login page without a csrf token:\n%s", b)
	}
	if resp, err = client.PostForm(e.base+"/console/login", url.Values{"csrf": {m[1]}, "name": {name}, "password": {"correct horse battery"}}); err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp, err = client.Get(e.base + path); err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		e.t.Fatalf("GET %s = %d:\n%s", path, resp.StatusCode, b)
	}
	return string(b)
}

// apiArray calls the admin API for a JSON array.
func (e *e2e) apiArray(method, path string) (int, []map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.base+path, nil)
	req.Header.Set("Authorization", "Bearer admintoken")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}
