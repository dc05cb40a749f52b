package quiz_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/zengcheng-kexie/kepubot/bot/quiz"
	"github.com/zengcheng-kexie/kepubot/content"
)

// signedText builds a WeChat text message POST created at t.
func signedText(url, token, openID, text string, msgID int64, t time.Time) *http.Request {
	ts := strconv.FormatInt(t.Unix(), 10)
	nonce := strconv.FormatInt(msgID, 10)
	body := fmt.Sprintf("<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>"+
		"<CreateTime>%s</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%d</MsgId></xml>",
		openID, ts, text, msgID)
	req, _ := http.NewRequest("POST", url+"?signature="+util.Signature(token, ts, nonce)+"&timestamp="+ts+"&nonce="+nonce,
		bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "text/xml")
	return req
}

func post(tb testing.TB, c *http.Client, req *http.Request) (time.Duration, []byte) {
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		tb.Fatalf("status %d", resp.StatusCode)
	}
	return time.Since(start), body
}

// BenchmarkQuizAnswer sends quiz answers through the webhook over HTTP on
// loopback (participants round-robin, each answer 3 s of the shared
// clock after the previous message, a new attempt when one ends), and in
// the same loop the plain text path (帮助) of other subscribers. It
// reports quiz answers per second (one client) and p50/p99 reply latency
// of both. The quiz runs with its production library cache (15 s).
func BenchmarkQuizAnswer(b *testing.B) {
	f := setup(b, func(c *quiz.Config) { c.CacheTTL = 0 })
	_, qs := f.competition(b, 50, func(c *content.Competition) { c.Attempts, c.TimeLimitSeconds = 1_000_000, 600 })
	const users = 8
	for i := range users {
		f.subscriber(b, fmt.Sprintf("oQuiz%02d", i), "farmer", "paitan")
		f.subscriber(b, fmt.Sprintf("oHelp%02d", i), "farmer", "paitan")
	}
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	var id int64 = 1 << 40
	send := func(openID, text string) (time.Duration, []byte) {
		id++
		f.clock.Add(3 * time.Second)
		return post(b, c, signedText(f.url, f.account.Token, openID, text, id, f.clock.Now()))
	}
	next := make([]int, users) // question index each participant is on; -1: needs 答题
	for i := range next {
		next[i] = -1
	}
	var quiz, help []time.Duration
	var quizTotal, helpTotal time.Duration
	n := 0
	for b.Loop() {
		u := n % users
		n++
		openID := fmt.Sprintf("oQuiz%02d", u)
		if next[u] < 0 {
			if _, body := send(openID, "答题"); !bytes.Contains(body, []byte("第1/50题")) {
				b.Fatalf("答题: %s", body)
			}
			next[u] = 0
		}
		d, body := send(openID, string(rune('A'+qs[next[u]].Answer[0])))
		if !bytes.Contains(body, []byte("答对了")) {
			b.Fatalf("answer: %s", body)
		}
		quiz = append(quiz, d)
		quizTotal += d
		if next[u]++; next[u] == len(qs) {
			next[u] = -1
		}
		hd, _ := send(fmt.Sprintf("oHelp%02d", u), "帮助")
		help = append(help, hd)
		helpTotal += hd
	}
	p := func(ds []time.Duration, q float64) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[int(q*float64(len(s)-1))].Microseconds())
	}
	b.ReportMetric(float64(len(quiz))/quizTotal.Seconds(), "answers/s")
	b.ReportMetric(p(quiz, .5), "quiz-p50-µs")
	b.ReportMetric(p(quiz, .99), "quiz-p99-µs")
	b.ReportMetric(float64(len(help))/helpTotal.Seconds(), "help-msgs/s")
	b.ReportMetric(p(help, .5), "help-p50-µs")
	b.ReportMetric(p(help, .99), "help-p99-µs")
}
