package quiz_test

import (
	"strings"
	"testing"
	"time"
)

// TestFlow takes a quiz through the webhook: start, answers in every
// accepted form, a wrong one, leaving and resuming, the result and rank.
func TestFlow(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c, _ := f.competition(t, 4, nil)
	f.subscriber(t, "oA", "farmer", "paitan")

	r := f.text(t, "oA", "答题", time.Second)
	wantContains(t, r, c.Title, "共4题", "第1/4题", "A. 甲")
	r = f.text(t, "oA", "Ａ", 3*time.Second) // full-width, right (answer of q1 is A)
	wantContains(t, r, "答对了", "解析1", "第2/4题")
	r = f.text(t, "oA", "帮助", time.Second) // another command keeps the attempt
	wantContains(t, r, "您可以这样用")
	r = f.text(t, "oA", "答题", time.Second)
	wantContains(t, r, "继续答题", "第2/4题")
	r = f.text(t, "oA", "２", 3*time.Second) // right: B
	wantContains(t, r, "答对了", "第3/4题")
	r = f.text(t, "oA", "随便说说", 2*time.Second)
	wantContains(t, r, "请回复选项字母或数字", "第3/4题")
	r = f.text(t, "oA", "a", 2*time.Second) // wrong: C
	wantContains(t, r, "答错了，正确答案是 C", "第4/4题")
	r = f.text(t, "oA", "选D", 2*time.Second)
	wantContains(t, r, "答对了", "答题结束！答对 3/4 题", "全区第1名", "派潭镇第1名", "还可以再答1次")

	// Each answer (right or wrong) is a little interest in the question's topic.
	if p, _, err := f.profiles.Get(f.ctx, "default", "oA"); err != nil || !p.HasInterest("health") || p.Interests[0].Weight != 4*10 {
		t.Errorf("after answering 4 health questions: interests %+v, %v; want health at 40", p.Interests, err)
	}

	r = f.text(t, "oA", "排行", time.Second)
	wantContains(t, r, "答对3题", "派潭镇前10名", "派潭镇 农民 #1")
	if r := f.text(t, "oA", "荔枝", 2*time.Minute); r.Content == "" || containsAny(r.Content, "答题", "选项") {
		t.Errorf("after the quiz, a search got %q", r.Content)
	}
}

func containsAny(s string, parts ...string) bool {
	for _, p := range parts {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}
