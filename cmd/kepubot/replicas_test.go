package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
	"github.com/zengcheng-kexie/kepubot/content"
)

// fleet is several `kepubot serve` replicas, each a child process (this
// test binary running main) on its own fixed port, sharing one Redis.
type fleet struct {
	t        *testing.T
	env      []string
	mu       sync.Mutex
	addrs    []string
	procs    []*replica // nil while a replica is down
	kills    int
	restarts int    // replicas that exited while starting and were started again
	logs     string // directory of the replicas' output, one file per start
	runs     int    // starts so far
}

// logLines logs the lines of every replica's output (every start) that
// contain one of words: what the replicas did about a campaign that did
// not finish.
func (f *fleet) logLines(words ...string) {
	files, _ := filepath.Glob(filepath.Join(f.logs, "replica*.log"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			for _, w := range words {
				if strings.Contains(line, w) {
					f.t.Logf("%s: %s", filepath.Base(name), line)
					break
				}
			}
		}
	}
}

// replica is one running child process.
type replica struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has ended
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start starts replica i and waits until its /healthz answers 200. A
// replica that exits while starting (Redis unreachable at that moment,
// e.g. during a Cluster failover) is started again, as a process manager
// would, within the same 30 s.
func (f *fleet) start(i int) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, logFile := f.launch(i)
		if r == nil {
			return
		}
		for time.Now().Before(deadline) {
			if isClosed(r.exited) {
				log, _ := os.ReadFile(logFile)
				f.t.Logf("replica %d exited while starting, started again; its output:\n%s", i, log)
				f.mu.Lock()
				f.restarts++
				f.mu.Unlock()
				break
			}
			if resp, err := http.Get("http://" + f.addrs[i] + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !isClosed(r.exited) || time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile)
			f.t.Errorf("replica %d did not become healthy within 30 s; its output:\n%s", i, log)
			return
		}
	}
}

// launch starts replica i's process, its output to a file of its own.
func (f *fleet) launch(i int) (*replica, string) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), f.env...), "KEPUBOT_TEST_MAIN=serve", "KEPUBOT_HTTP_ADDR="+f.addrs[i])
	f.mu.Lock()
	f.runs++
	logFile := fmt.Sprintf("%s/replica%d-%d.log", f.logs, i, f.runs)
	f.mu.Unlock()
	out, err := os.Create(logFile)
	if err != nil {
		f.t.Error(err)
		return nil, ""
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		f.t.Error(err)
		return nil, ""
	}
	r := &replica{cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		out.Close()
		close(r.exited)
	}()
	f.mu.Lock()
	f.procs[i] = r
	f.mu.Unlock()
	return r, logFile
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// kill SIGKILLs replica i.
func (f *fleet) kill(i int) {
	f.mu.Lock()
	r := f.procs[i]
	f.procs[i] = nil
	if r != nil {
		f.kills++
	}
	f.mu.Unlock()
	if r != nil {
		r.cmd.Process.Signal(syscall.SIGKILL)
		<-r.exited
	}
}

// live returns the address of a random replica that is up.
func (f *fleet) live(rng *rand.Rand) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var up []string
	for i, c := range f.procs {
		if c != nil {
			up = append(up, f.addrs[i])
		}
	}
	if len(up) == 0 {
		return f.addrs[0]
	}
	return up[rng.IntN(len(up))]
}

// api calls the admin API on a live replica, again on another when the
// one it reached dies under it (only for requests safe to repeat).
func (f *fleet) api(rng *rand.Rand, method, path string, body any, out any) int {
	f.t.Helper()
	return f.apiAs(rng, "admintoken", method, path, body, out)
}

// apiAs is api with another user's token.
func (f *fleet) apiAs(rng *rand.Rand, token, method, path string, body any, out any) int {
	f.t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest(method, "http://"+f.live(rng)+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			if out != nil {
				if _, ok := out.(*[]byte); ok {
					*out.(*[]byte) = data
				} else {
					json.Unmarshal(data, out)
				}
			}
			return resp.StatusCode
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s %s: %v", method, path, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReplicasChaos: three replicas (all roles) on one Redis; while a
// recurring programme's run-now sends a campaign to n residents and 20
// residents play a 3-question quiz through the webhooks, a random replica
// is SIGKILLed every 1–2.5 s and started again. Under
// KEPUBOT_TEST_REDIS=cluster the replicas share a 6-node Cluster instead,
// and a random master of it is SIGKILLed too, 0.5–1.5 s after the run-now.
// The scheduler takes the run once (one campaign), nobody is left out of
// it, the only duplicates are in-flight customer-service messages counted
// in in_doubt_resent, and every quiz answer counts once.
// KEPUBOT_FAULT_AUDIENCE sets n (default 500).
func TestReplicasChaos(t *testing.T) {
	t.Parallel()
	n := 500
	if v, err := strconv.Atoi(os.Getenv("KEPUBOT_FAULT_AUDIENCE")); err == nil && v > 0 {
		n = v
	}
	const players, questions = 20, 3
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 15))
	// On a Cluster (KEPUBOT_TEST_REDIS=cluster) the test has one of its
	// own, not a pooled one: a master of it is SIGKILLed mid-campaign.
	var cl *redistest.Cluster
	var redisURL string
	var rdb redis.UniversalClient
	if redistest.OnCluster() {
		cl = redistest.StartCluster(t, redistest.ClusterOptions{})
		redisURL, rdb = cl.URL(), cl.Client(t)
	} else {
		srv := redistest.StartServer(t, redistest.Options{TCP: true, Args: []string{"--appendonly", "yes", "--appendfsync", "everysec"}})
		redisURL, rdb = "redis://"+srv.Addr, srv.Client(t)
	}
	acct := wechattest.Account{AppID: fmt.Sprintf("wxrep%d", appSeq.Add(1)), Secret: "rep-secret", Token: "reptoken", EncodingAESKey: testAESKey}
	fake.AddAccount(acct)
	// WeChat answers sends after 300 ms, so the campaign lasts through
	// kills.
	fake.InjectFault(wechattest.Fault{AppID: acct.AppID, Path: "/cgi-bin/message/", Latency: 300 * time.Millisecond})
	cfgFile := t.TempDir() + "/kepubot.yaml"
	// No frequency caps: the quiz players also get the campaign.
	if err := os.WriteFile(cfgFile, []byte("delivery:\n  per_day: 0\n  per_week: 0\n  quiet_hours: \"off\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fleet{t: t, env: []string{
		"KEPUBOT_CONFIG=" + cfgFile,
		"KEPUBOT_REDIS_URL=" + redisURL,
		"KEPUBOT_WECHAT_APP_ID=" + acct.AppID, "KEPUBOT_WECHAT_APP_SECRET=" + acct.Secret,
		"KEPUBOT_WECHAT_TOKEN=" + acct.Token, "KEPUBOT_WECHAT_AES_KEY=" + testAESKey,
		"KEPUBOT_WECHAT_API_BASE=" + fake.URL(), "KEPUBOT_ADMIN_TOKEN=admintoken",
		"KEPUBOT_PUBLIC_URL=https://kepu.example.org", "KEPUBOT_LOG_LEVEL=error",
	}, logs: t.TempDir()}
	for range 3 {
		f.addrs = append(f.addrs, freeAddr(t))
		f.procs = append(f.procs, nil)
	}
	t.Cleanup(func() {
		for i := range f.procs {
			f.kill(i)
		}
	})
	for i := range f.procs {
		f.start(i)
	}

	// The library, the quiz and the residents, written straight to Redis.
	loc, _ := time.LoadLocation("Asia/Shanghai")
	lib := content.NewStore(rdb, time.Now)
	itemID := publishedItem(t, f, rng)
	var qids []string
	for i := range questions {
		q, err := lib.CreateQuestion(ctx, "default", content.Question{Stem: fmt.Sprintf("第%d题：哪一项正确？", i+1),
			Options: []string{"甲", "乙", "丙", "丁"}, Answer: []int{i % 4}, Explanation: "解析", Topic: "health", Difficulty: 2})
		if err != nil {
			t.Fatal(err)
		}
		qids = append(qids, q.ID)
	}
	comp, err := lib.CreateCompetition(ctx, "default", content.Competition{Code: "KXREP", Title: "知识竞赛",
		StartsAt: time.Now().Add(-time.Hour), EndsAt: time.Now().Add(24 * time.Hour), QuestionIDs: qids, TimeLimitSeconds: 120, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lib.PublishCompetition(ctx, "default", comp.ID); err != nil {
		t.Fatal(err)
	}
	people := seedResidents(t, rdb, loc, acct.AppID, n)

	var prog map[string]any
	if code := f.api(rng, "POST", "/api/v1/programmes", map[string]any{"name": "litchi-weekly", "spec": "0 3 1 1 *",
		"audience": "group:farmer", "mode": "item", "item_id": itemID}, &prog); code != 201 {
		t.Fatalf("create programme: %d %v", code, prog)
	}

	// Chaos: a random replica SIGKILLed every 1–2.5 s (the first within a
	// second), started again.
	stop := make(chan struct{})
	var chaos sync.WaitGroup
	chaos.Go(func() {
		crng := rand.New(rand.NewPCG(2, 15))
		wait := 300 + crng.IntN(500)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(wait) * time.Millisecond):
			}
			i := crng.IntN(len(f.addrs))
			f.kill(i)
			f.start(i)
			wait = 1000 + crng.IntN(1500)
		}
	})

	var tick struct {
		Tick string `json:"tick"`
	}
	runNow := time.Now()
	if code := f.api(rng, "POST", "/api/v1/jobs/"+fmt.Sprint(prog["job"])+"/run", nil, &tick); code != 200 && code != 202 {
		t.Fatalf("run programme now: %d", code)
	}
	// On a Cluster, a random master SIGKILLed 0.5–1.5 s after the run-now,
	// while the campaign sends and the quiz is played; its replica takes
	// over.
	var master masterKill
	if cl != nil {
		chaos.Go(func() { master.run(t, cl, rand.New(rand.NewPCG(3, 15)), stop) })
	}
	var quiz sync.WaitGroup
	for p := range players {
		quiz.Go(func() { playQuiz(t, f, acct, people[p], questions) })
	}
	quiz.Wait()

	// The run-now is taken once: one campaign from the programme. Work a
	// killed replica held comes back after its lease or visibility timeout
	// (the tick's lease 1 min, a job's 30 s, a batch's 30 s), and the kills
	// go on until the campaign is done, so a run can chain several: CI saw
	// a campaign still a draft after 2 min once. The bound is liveness;
	// what the test asserts is nothing lost and nothing twice.
	var cid string
	deadline := time.Now().Add(4 * time.Minute)
	var c map[string]any
	var killsDuring int
	var took time.Duration // from the run-now to the campaign seen done
	for {
		if cid == "" {
			var list []map[string]any
			f.api(rng, "GET", "/api/v1/campaigns", nil, &list)
			var ids []string
			for _, x := range list {
				if strings.HasPrefix(fmt.Sprint(x["name"]), "litchi-weekly") {
					ids = append(ids, fmt.Sprint(x["id"]))
				}
			}
			if len(ids) > 1 {
				t.Fatalf("the programme's run made %d campaigns, want 1", len(ids))
			}
			if len(ids) == 1 {
				cid = ids[0]
			}
		}
		if cid != "" {
			f.api(rng, "GET", "/api/v1/campaigns/"+cid, nil, &c)
			if c["status"] == "done" {
				f.mu.Lock()
				killsDuring = f.kills
				f.mu.Unlock()
				master.done(time.Now())
				took = time.Since(runNow)
				break
			}
		}
		if time.Now().After(deadline) {
			f.logLines("tick", "campaign", "level=ERROR", "level=WARN")
			t.Fatalf("campaign %q not done: %v", cid, c)
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	chaos.Wait()

	st, _ := c["stats"].(map[string]any)
	lost, dups := 0, 0
	for _, o := range people {
		switch k := len(fake.Delivered(acct.AppID, o)); {
		case k == 0:
			lost++
		case k > 1:
			dups += k - 1
		}
	}
	resent, _ := st["in_doubt_resent"].(float64)
	if lost > 0 || st["queued"] != float64(n) || st["sent"] != float64(n) {
		t.Errorf("%d of %d lost; stats %v", lost, n, st)
	}
	if float64(dups) > resent {
		t.Errorf("%d duplicates, only %v counted in in_doubt_resent", dups, resent)
	}
	if killsDuring == 0 {
		t.Errorf("no replica was killed before the campaign was done: the test tested nothing")
	}
	if cl != nil {
		master.check(t)
	}

	// Every quiz answer counted once: one attempt per player, all right.
	var export []byte
	f.api(rng, "GET", "/api/v1/competitions/"+comp.ID+"/export.csv", nil, &export)
	cr := csv.NewReader(bytes.NewReader(export))
	cr.FieldsPerRecord = -1 // sections of different widths
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	attempts := map[string][]string{}
	for _, row := range rows {
		if len(row) > 11 && row[0] == "result" {
			attempts[row[7]] = append(attempts[row[7]], row[11])
		}
	}
	for _, o := range people[:players] {
		if got := attempts[o]; len(got) != 1 || got[0] != strconv.Itoa(questions) {
			t.Errorf("%s: recorded attempts (correct answers) %v, want one with %d", o, got, questions)
		}
	}
	where := "one redis-server"
	if redistest.OnCluster() {
		where = "a 6-node Cluster, " + master.String()
	}
	t.Logf("on %s: %d residents, campaign done %v after the run-now, %d replica kills (%d before the campaign was done, %d restarted after exiting while starting): sent %v, lost %d, duplicates %d, in_doubt_resent %v; %d quiz players × %d answers each counted once (%d answered \"send it again\" and sent again)",
		where, n, took.Round(10*time.Millisecond), f.kills, killsDuring, f.restarts, st["sent"], lost, dups, resent, players, questions, offlineAnswers.Load())
}

// publishedItem creates and publishes the campaign's item through the API.
func publishedItem(t *testing.T, f *fleet, rng *rand.Rand) string {
	t.Helper()
	tokens := map[string]string{}
	for _, role := range []string{"editor", "reviewer", "organizer"} {
		var u map[string]any
		if code := f.api(rng, "POST", "/api/v1/users", map[string]any{"name": "rep-" + role, "role": role}, &u); code != 201 {
			t.Fatalf("create %s: %d %v", role, code, u)
		}
		tokens[role] = fmt.Sprint(u["token"])
	}
	var it map[string]any
	if code := f.apiAs(rng, tokens["editor"], "POST", "/api/v1/items", map[string]any{"title": "荔枝花期管理要点", "summary": "花期控梢保花。",
		"url": "https://kepu.example.org/a/litchi-rep", "groups": []string{"farmer"}, "towns": []string{}, "topics": []string{"litchi"},
		"source": "广东省农业农村厅"}, &it); code != 201 {
		t.Fatalf("create item: %d %v", code, it)
	}
	id := fmt.Sprint(it["id"])
	for _, step := range []struct{ verb, role string }{{"submit", "editor"}, {"approve", "reviewer"}, {"publish", "organizer"}} {
		if code := f.apiAs(rng, tokens[step.role], "POST", "/api/v1/items/"+id+"/"+step.verb, map[string]any{}, nil); code != 200 {
			t.Fatalf("%s item: %d", step.verb, code)
		}
	}
	return id
}

// seedResidents imports n farmers in 派潭 who follow the account; every
// other one has an open customer-service window.
func seedResidents(t *testing.T, rdb redis.UniversalClient, loc *time.Location, appID string, n int) []string {
	t.Helper()
	ctx := context.Background()
	profiles, err := profile.NewStore(ctx, rdb, loc)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var people []string
	var batch []*profile.Profile
	for i := range n {
		p := &profile.Profile{OpenID: fmt.Sprintf("oRep%s%05d", appID[5:], i), Group: "farmer", Town: "paitan", Subscribed: true, CreatedAt: now}
		p.SetInterest("litchi", 200)
		fake.Follow(appID, p.OpenID)
		if i%2 == 0 {
			fake.UserMessage(appID, p.OpenID)
			p.TouchMessage(now)
		}
		people = append(people, p.OpenID)
		batch = append(batch, p)
	}
	if _, err := profiles.Import(ctx, "default", batch); err != nil {
		t.Fatal(err)
	}
	return people
}

// playQuiz plays one quiz through random live replicas' webhooks, every
// answer right; a request that dies with its replica is sent again, as
// WeChat retries (same MsgId), to another replica until one answers.
func playQuiz(t *testing.T, f *fleet, acct wechattest.Account, openID string, questions int) {
	rng := rand.New(rand.NewPCG(uint64(len(openID)), uint64(openID[len(openID)-1])))
	phone := func() *wechattest.Phone {
		return wechattest.NewPhone(fake, acct, "http://"+f.live(rng)+"/wechat", true)
	}
	ctx := context.Background()
	var last int64 // CreateTime of the last message
	// message is what the resident types: a later CreateTime than the last
	// (in seconds, as a person's is) and a new MsgId.
	message := func(text string) []byte {
		for time.Now().Unix() <= last {
			time.Sleep(50 * time.Millisecond)
		}
		last = time.Now().Unix()
		return fmt.Appendf(nil, "<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>"+
			"<CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%d</MsgId></xml>",
			acct.OriginalID, openID, last, text, quizMsgID.Add(1))
	}
	say := func(text string) wechattest.Reply {
		raw := message(text)
		deadline := time.Now().Add(60 * time.Second)
		for {
			r, err := phone().Post(ctx, raw)
			if err == nil && r.Status == 200 && strings.HasPrefix(r.Content, "系统正在检修") && time.Now().Before(deadline) {
				// Redis did not answer that replica in time (a starved
				// machine): nothing was recorded, and the reply asks the
				// resident to send it again, which they do.
				offlineAnswers.Add(1)
				time.Sleep(time.Second)
				raw = message(text)
				continue
			}
			if err == nil && r.Status == 200 {
				return r
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: no answer to %q: %d %v", openID, text, r.Status, err)
				return r
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	r := say("答题")
	for i := range questions {
		if !strings.Contains(r.Content, fmt.Sprintf("第%d/%d题", i+1, questions)) {
			t.Errorf("%s: reply %q, want question %d", openID, r.Content, i+1)
			return
		}
		r = say(string(rune('A' + i%4)))
	}
}

// quizMsgID numbers the quiz players' messages (WeChat's MsgId).
var quizMsgID atomic.Int64

// offlineAnswers counts the quiz messages answered "please send it again".
var offlineAnswers atomic.Int64
