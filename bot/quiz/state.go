package quiz

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zengcheng-kexie/kepubot/content"
)

// DialogName is the name of the quiz dialog in bot.Request.Dialog.
const DialogName = "quiz"

// state is one attempt in progress, kept as the subscriber's dialog. The
// webhook stores it atomically with the reply, so it is the one record of
// which question is open: a retried message gets the stored reply back,
// and of two messages racing for one question only the first to commit
// moves the attempt on (the other is handled again on the new state).
type state struct {
	C string   `json:"c"`           // competition id
	N int      `json:"n"`           // attempt number, from 1
	Q []string `json:"q,omitempty"` // question ids, in order
	I int      `json:"i"`           // index of the open question
	// At is when the open question was shown (server clock, unix ms): the
	// time limit and the fast-answer flag count from it.
	At int64 `json:"at"`
	// Tm is the WeChat CreateTime (unix s) of the message the open
	// question was shown in answer to. An answer created no later than
	// that was sent before the participant could see the question: a
	// double tap racing the previous answer, never counted for this one.
	Tm   int64    `json:"tm"`
	A    []answer `json:"a,omitempty"`
	Done bool     `json:"done,omitempty"` // finished; kept briefly to catch late racing answers
	// RW and RN count quiz messages in the current rate window (unix s).
	RW int64 `json:"rw,omitempty"`
	RN int   `json:"rn,omitempty"`
}

// answer is the outcome of one question of an attempt.
type answer struct {
	Choice string `json:"c,omitempty"` // letters chosen, "" when the time ran out
	OK     bool   `json:"ok,omitempty"`
	Ms     int64  `json:"ms"`             // time taken, capped at the limit
	Late   bool   `json:"late,omitempty"` // after the time limit: scores 0
	Fast   bool   `json:"fast,omitempty"` // implausibly fast
}

func decodeState(data string) (state, bool) {
	var st state
	if data == "" || json.Unmarshal([]byte(data), &st) != nil || st.C == "" || st.N < 1 {
		return state{}, false
	}
	if !st.Done && (len(st.Q) == 0 || st.I < 0 || st.I >= len(st.Q) || len(st.A) != st.I) {
		return state{}, false
	}
	return st, true
}

func (st *state) encode() string {
	b, _ := json.Marshal(st)
	return string(b)
}

// show opens question i at now, in answer to a message created at msgAt.
func (st *state) show(now, msgAt time.Time) {
	st.At, st.Tm = now.UnixMilli(), msgAt.Unix()
}

// elapsed is how long the open question has been shown.
func (st *state) elapsed(now time.Time) time.Duration {
	return time.Duration(now.UnixMilli()-st.At) * time.Millisecond
}

// rate counts one quiz message at now and reports whether it is within
// limit messages per minute.
func (st *state) rate(now time.Time, limit int) bool {
	if now.Unix()-st.RW >= 60 {
		st.RW, st.RN = now.Unix(), 0
	}
	st.RN++
	return st.RN <= limit
}

// score sums an attempt's answers: correct answers and total time.
func score(as []answer) (correct int, ms int64, fast int) {
	for _, a := range as {
		if a.OK && !a.Late {
			correct++
		}
		ms += a.Ms
		if a.Fast {
			fast++
		}
	}
	return correct, ms, fast
}

// parseChoice reads an answer to a question with n options: letters
// (A–F, any case, full-width too) or numbers 1–6, optionally decorated
// ("选A", "答案：B", "A。"). Several for a multiple-choice question ("AB",
// "1 3", "A、C"). It returns the sorted 0-based option indexes, or false
// when the text is not an answer.
func parseChoice(text string, n int, multiple bool) ([]int, bool) {
	s := strings.ToUpper(foldWidth(strings.TrimSpace(text)))
	for _, w := range []string{"我选", "选择", "答案", "选", "是"} {
		s = strings.ReplaceAll(s, w, "")
	}
	var out []int
	for _, r := range s {
		var i int
		switch {
		case r >= 'A' && r <= 'Z':
			i = int(r - 'A')
		case r >= '1' && r <= '9':
			i = int(r - '1')
		case strings.ContainsRune(" ,.;:、，。；：!！", r):
			continue
		default:
			return nil, false
		}
		if i >= n {
			return nil, false
		}
		if !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	if len(out) == 0 || (!multiple && len(out) > 1) {
		return nil, false
	}
	slices.Sort(out)
	return out, true
}

// foldWidth turns full-width ASCII and the ideographic space into ASCII.
func foldWidth(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\u3000':
			return ' '
		case r >= '\uff01' && r <= '\uff5e':
			return r - 0xfee0
		}
		return r
	}, s)
}

// isCorrect reports whether chosen (sorted) is exactly q's answer.
func isCorrect(q *content.Question, chosen []int) bool {
	want := slices.Clone(q.Answer)
	slices.Sort(want)
	return slices.Equal(want, chosen)
}

// letters writes option indexes as letters: [0 2] → "AC".
func letters(ix []int) string {
	var b strings.Builder
	for _, i := range ix {
		b.WriteByte(byte('A' + i))
	}
	return b.String()
}

// questionText renders question i of total with its options.
func questionText(q *content.Question, i, total int, limit int) string {
	var b strings.Builder
	multi := ""
	if q.Multiple() {
		multi = txtMultiple
	}
	fmt.Fprintf(&b, txtQuestion, i+1, total, multi, q.Stem)
	for j, o := range q.Options {
		b.WriteString("\n" + string(rune('A'+j)) + ". " + o)
	}
	b.WriteString("\n（限时" + strconv.Itoa(limit) + "秒）")
	return b.String()
}

// answerHint is the reply to a text that is not an answer.
func answerHint(q *content.Question) string {
	hint := ""
	if q.Multiple() {
		hint = txtMultiHint
	}
	return fmt.Sprintf(txtAnswerHint, hint)
}

// duration writes a time as elderly readers say it: 2分05秒, 48秒.
func duration(ms int64) string {
	s := (ms + 500) / 1000
	if s < 60 {
		return strconv.FormatInt(s, 10) + "秒"
	}
	return fmt.Sprintf("%d分%02d秒", s/60, s%60)
}
