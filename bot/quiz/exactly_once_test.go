package quiz_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/wechat/wechattest"
	"github.com/zengcheng-kexie/kepubot/content"
)

// result reads a participant's recorded attempt from the export.
func (f *fixture) results(t *testing.T, api *adminAPI, comp string) map[string][][]string {
	t.Helper()
	out := map[string][][]string{}
	for _, row := range api.csv(t, "/api/v1/competitions/"+comp+"/export.csv")[1:] {
		if row[0] == "result" {
			out[row[7]] = append(out[row[7]], row)
		}
	}
	return out
}

// TestRetriesCountOnce resends answers as WeChat's retries do: each retry
// gets the first reply back and the attempt moves on once.
func TestRetriesCountOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c, _ := f.competition(t, 3, nil)
	f.subscriber(t, "oR", "youth", "licheng")
	f.text(t, "oR", "答题", time.Second)
	first := f.text(t, "oR", "A", 3*time.Second) // right
	for range 3 {
		f.clock.Add(time.Second)
		again, err := f.phone.Post(f.ctx, first.Request)
		if err != nil || again.Content != first.Content {
			t.Fatalf("retry = %q, %v; want the first reply %q", again.Content, err, first.Content)
		}
	}
	wantContains(t, first, "第2/3题")
	r := f.text(t, "oR", "B", 3*time.Second)
	wantContains(t, r, "第3/3题")
	last := f.text(t, "oR", "C", 3*time.Second)
	wantContains(t, last, "答对 3/3 题")
	if again, _ := f.phone.Post(f.ctx, last.Request); again.Content != last.Content {
		t.Errorf("retry of the last answer = %q, want %q", again.Content, last.Content)
	}
	rows := f.results(t, f.admin(t), c.ID)["oR"]
	if len(rows) != 1 || rows[0][11] != "3" {
		t.Errorf("recorded attempts = %v, want one with 3 correct", rows)
	}
}

// TestRacingAnswersCountOnce sends two different answers to one question
// at the same moment, for many participants: exactly one of them counts,
// the other is told the question was answered, and every attempt ends
// with one answer per question.
func TestRacingAnswersCountOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c, _ := f.competition(t, 2, nil)
	const n = 40
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "oRace" + string(rune('A'+i/26)) + string(rune('a'+i%26))
		f.subscriber(t, ids[i], "farmer", "paitan")
		f.text(t, ids[i], "答题", 0)
	}
	f.clock.Add(5 * time.Second)
	var wg sync.WaitGroup
	replies := make([][2]wechattest.Reply, n)
	for i, id := range ids {
		for k, ans := range []string{"A", "B"} { // A is right for question 1
			wg.Go(func() {
				r, err := f.phone.Text(f.ctx, id, ans)
				if err != nil || r.Status != http.StatusOK {
					t.Errorf("%s %s: %v %d", id, ans, err, r.Status)
				}
				replies[i][k] = r
			})
		}
	}
	wg.Wait()
	moved := 0
	for i := range ids {
		for _, r := range replies[i] {
			if strings.Contains(r.Content, "第2/2题") && !strings.Contains(r.Content, "已经在作答中") {
				moved++
			}
		}
	}
	if moved != n {
		t.Errorf("%d replies moved on to question 2, want exactly %d (one per participant)", moved, n)
	}
	f.clock.Add(5 * time.Second)
	for _, id := range ids {
		f.text(t, id, "B", 0) // right for question 2
	}
	res := f.results(t, f.admin(t), c.ID)
	for i, id := range ids {
		rows := res[id]
		if len(rows) != 1 {
			t.Fatalf("%s has %d results, want 1", id, len(rows))
		}
		want := "1" // B won the race: question 1 wrong
		if strings.Contains(replies[i][0].Content, "答对了") {
			want = "2"
		}
		if rows[0][11] != want || rows[0][12] != "2" {
			t.Errorf("%s: %s of %s correct, want %s of 2 (replies %q / %q)", id, rows[0][11], rows[0][12], want,
				replies[i][0].Content, replies[i][1].Content)
		}
	}
}

// TestTimeLimitAttemptsAndFlags: an answer after the time limit scores 0,
// also when the participant comes back late; a too-fast answer is
// flagged; attempts run out; 退出答题 ends an attempt unranked.
func TestTimeLimitAttemptsAndFlags(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c, _ := f.competition(t, 3, nil) // 30 s a question, 2 attempts
	f.subscriber(t, "oT", "worker", "xintang")
	api := f.admin(t)

	f.text(t, "oT", "答题", time.Second)
	r := f.text(t, "oT", "A", 31*time.Second) // right, but too late
	wantContains(t, r, "超时了，这题不计分", "第2/3题")
	r = f.text(t, "oT", "B", time.Second) // right and implausibly fast
	wantContains(t, r, "答对了", "第3/3题")
	f.text(t, "oT", "排行", 2*time.Second)
	r = f.text(t, "oT", "答题", 40*time.Second) // back after the limit
	wantContains(t, r, "超时了", "答题结束！答对 1/3 题")
	rows := f.results(t, api, c.ID)["oT"]
	if len(rows) != 1 || rows[0][11] != "1" || rows[0][13] != "61.000" || rows[0][16] != "1" {
		t.Errorf("attempt 1 = %v, want 1 correct, 61 s, 1 fast answer", rows)
	}

	r = f.text(t, "oT", "答题", time.Second)
	wantContains(t, r, "第2次答题")
	r = f.text(t, "oT", "退出答题", 3*time.Second)
	wantContains(t, r, "已退出答题")
	r = f.text(t, "oT", "答题", time.Second)
	wantContains(t, r, "次数已用完")
	r = f.text(t, "oT", "退出答题", time.Second)
	wantContains(t, r, "没有在答题")
	var board []entry
	api.get(t, "/api/v1/competitions/"+c.ID+"/leaderboard", &board)
	if len(board) != 1 || board[0].Score != 1 {
		t.Errorf("leaderboard = %v, want the first attempt only", board)
	}

	// 删除我的数据 takes the participant off the boards.
	f.text(t, "oT", "删除我的数据", time.Second)
	f.text(t, "oT", "确认删除", time.Second)
	api.get(t, "/api/v1/competitions/"+c.ID+"/leaderboard", &board)
	if len(board) != 0 {
		t.Errorf("leaderboard after erasure = %v, want empty", board)
	}
}

// TestJoining covers finding a competition: by code, for the audience
// only, not before it starts.
func TestJoining(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.competition(t, 2, func(c *content.Competition) { c.Audience = "group:farmer" })
	f.subscriber(t, "oFarmer", "farmer", "zhengguo")
	f.subscriber(t, "oYouth", "youth", "zhengguo")
	wantContains(t, f.text(t, "oYouth", "答题", time.Second), "没有正在进行")
	wantContains(t, f.text(t, "oYouth", "答题 KX2027", time.Second), "面向特定人群")
	wantContains(t, f.text(t, "oFarmer", "答题 kx9999", time.Second), "没有找到这个竞赛码")
	wantContains(t, f.text(t, "oFarmer", "答题ｋｘ２０２７", time.Second), "第1/2题")
	// A menu button with the key 答题 resumes like the text.
	f.clock.Add(time.Second)
	r, err := f.phone.Event(f.ctx, "oFarmer", "CLICK", "答题", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantContains(t, r, "继续答题", "第1/2题")
}
