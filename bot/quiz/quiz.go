// Package quiz runs the science-literacy quiz competitions
// (公民科学素质知识竞赛, 农村居民科学素质竞赛) inside the WeChat chat:
// 答题 starts or resumes an attempt, questions come one at a time in
// passive replies, 排行 shows where a participant stands, 退出答题 ends an
// attempt.
//
// The attempt in progress is the subscriber's dialog (bot.Request.Dialog),
// which the webhook stores atomically with the profile and the reply. A
// retried message gets its first reply back without running again, and of
// two messages racing for one question the second is handled again on the
// state the first left: no answer counts twice. Redis writes of the
// package itself are idempotent per message or per attempt: starting an
// attempt is keyed by the message, recording a result by (competition,
// openid, attempt). Results reach the leaderboards only when an attempt
// finishes.
//
// Leaderboards are sorted sets (overall, by town, by group) of each
// participant's best attempt, with correct answers and total time packed
// into one score so that ties go to the faster participant. Counters of
// participants, completions and passes, overall and by town and group,
// give the literacy indicator: the share of participants at or above the
// pass mark.
package quiz

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zengcheng-kexie/kepubot/bot"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

// Config is what a Quiz needs. Redis, Content and Taxonomy are required.
type Config struct {
	Redis    redis.UniversalClient
	Content  *content.Store
	Taxonomy *taxonomy.Taxonomy
	// Location is the district's time zone (segment active:Nd terms,
	// start times shown to participants). Default Asia/Shanghai.
	Location *time.Location
	Logger   *slog.Logger
	// CacheTTL is how long competitions and questions are cached in
	// memory (default 15 s; negative: no cache).
	CacheTTL time.Duration
	// FastAnswer flags answers given sooner than this after the question
	// was shown (default 1.5 s). Flagged answers still count; organizers
	// see the flags in the export.
	FastAnswer time.Duration
	// RateLimit bounds quiz messages (answers, 答题, 排行) per subscriber
	// per minute (default 30).
	RateLimit int
}

// Quiz is the chat side of quiz competitions and their records.
type Quiz struct {
	content *content.Store
	tax     *taxonomy.Taxonomy
	store   *Store
	lib     *library
	loc     *time.Location
	logger  *slog.Logger
	fast    time.Duration
	rate    int
	mux     *bot.Mux
}

// New returns a Quiz.
func New(cfg Config) (*Quiz, error) {
	if cfg.Redis == nil || cfg.Content == nil || cfg.Taxonomy == nil {
		return nil, errors.New("quiz: Redis, Content and Taxonomy are required")
	}
	q := &Quiz{content: cfg.Content, tax: cfg.Taxonomy, store: NewStore(cfg.Redis), loc: cfg.Location,
		logger: cfg.Logger, fast: cfg.FastAnswer, rate: cfg.RateLimit}
	if q.loc == nil {
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			return nil, fmt.Errorf("quiz: %w", err)
		}
		q.loc = loc
	}
	if q.logger == nil {
		q.logger = slog.New(slog.DiscardHandler)
	}
	q.logger = q.logger.With("component", "quiz")
	if q.fast == 0 {
		q.fast = 1500 * time.Millisecond
	}
	if q.rate == 0 {
		q.rate = 30
	}
	ttl := cfg.CacheTTL
	if ttl == 0 {
		ttl = 15 * time.Second
	}
	q.lib = newLibrary(q, max(ttl, 0))
	return q, nil
}

// Store returns the quiz records (leaderboards, stats, results).
func (q *Quiz) Store() *Store { return q.store }

// Erase implements bot.Eraser: it removes a subscriber's quiz records.
func (q *Quiz) Erase(ctx context.Context, account, openID string) error {
	return q.store.Erase(ctx, account, openID)
}

// Routes adds the quiz commands and dialog to m (bot.Options.Routes). A
// menu button whose key is 答题 or 排行 works too: the bot routes a CLICK
// as the text of its key.
func (q *Quiz) Routes(m *bot.Mux) {
	q.mux = m
	m.Command(bot.HandlerFunc(q.start), wordsStart...)
	m.Prefix(wordsStart[0], bot.HandlerFunc(q.start)) // 答题 <code>
	m.Command(bot.HandlerFunc(q.quit), wordsQuit...)
	m.Command(bot.ReadOnly(bot.HandlerFunc(q.rank)), wordsRank...) // its rate limit is a best-effort counter
	m.Dialog(DialogName, bot.HandlerFunc(q.answer))
}

// msgKey names the message for idempotent writes: the MsgId, or for a
// menu click (routed as text, without one) its CreateTime and key.
func msgKey(m *bot.Message) string {
	if m.MsgID != 0 {
		return "m" + strconv.FormatInt(m.MsgID, 10)
	}
	return "e" + strconv.FormatInt(m.CreateTime.Unix(), 10) + ":" + m.Text
}

// current returns the attempt in progress in req's dialog.
func current(req *bot.Request) (state, bool) {
	if req.Dialog.Name != DialogName {
		return state{}, false
	}
	return decodeState(req.Dialog.Data)
}

func (q *Quiz) save(req *bot.Request, st state) {
	req.Dialog = bot.Dialog{Name: DialogName, Data: st.encode()}
}

// start handles 答题 and 答题 <code>: it resumes the attempt in progress
// or starts one.
func (q *Quiz) start(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	acct := req.Msg.Account
	code := strings.TrimSpace(foldWidth(strings.TrimSpace(req.Msg.Text)))
	for _, w := range wordsStart {
		if rest, ok := strings.CutPrefix(code, w); ok {
			code = strings.TrimSpace(rest)
			break
		}
	}
	st, active := current(req)
	if active && !st.Done {
		c, err := q.lib.competition(ctx, acct, st.C)
		if err != nil {
			return bot.Reply{}, err
		}
		if code != "" && !strings.EqualFold(code, c.Code) {
			return bot.Text(fmt.Sprintf(txtBusy, c.Title)), nil
		}
		if !st.rate(req.Now, q.rate) {
			q.save(req, st)
			return bot.Text(txtTooFast), nil
		}
		return q.resume(ctx, req, c, st)
	}
	c, msg, err := q.find(ctx, req, code)
	if err != nil || c == nil {
		return bot.Text(msg), err
	}
	if req.Now.Before(c.StartsAt) {
		return bot.Text(fmt.Sprintf(txtNotStarted, c.Title, c.StartsAt.In(q.loc).Format("1月2日 15:04"))), nil
	}
	if !c.EndsAt.IsZero() && !req.Now.Before(c.EndsAt) {
		return bot.Text(fmt.Sprintf(txtEnded, c.Title)), nil
	}
	if !c.open(req.Profile, req.Now, q.loc) {
		return bot.Text(fmt.Sprintf(txtNotForYou, c.Title)), nil
	}
	p := req.Profile
	n, ok, err := q.store.startAttempt(ctx, acct, c.ID, p.OpenID, msgKey(req.Msg), c.Attempts, p.Town, p.Group, req.Now)
	if err != nil {
		return bot.Reply{}, err
	}
	if !ok {
		return bot.Text(fmt.Sprintf(txtNoAttempts, c.Title, c.Attempts)), nil
	}
	ids, err := q.pick(ctx, acct, &c.Competition, p.OpenID, n)
	if err != nil {
		return bot.Reply{}, err
	}
	st = state{C: c.ID, N: n, Q: ids}
	st.rate(req.Now, q.rate)
	st.show(req.Now, req.Msg.CreateTime)
	first, err := q.lib.question(ctx, acct, ids[0])
	if err != nil {
		return bot.Reply{}, err
	}
	q.save(req, st)
	intro := fmt.Sprintf(txtIntro, c.Title, len(ids), c.TimeLimitSeconds, c.PassMark, n)
	return bot.Text(intro + "\n\n" + questionText(first, 0, len(ids), c.TimeLimitSeconds)), nil
}

// find resolves the competition to join: by code, or the newest
// published one running now whose audience includes the subscriber. It
// returns a message for the subscriber when there is none.
func (q *Quiz) find(ctx context.Context, req *bot.Request, code string) (*compiled, string, error) {
	acct := req.Msg.Account
	if code != "" {
		if !content.ValidCode(code) {
			return nil, txtNoSuchCode, nil
		}
		id, err := q.content.ByCode(ctx, acct, code)
		if errors.Is(err, content.ErrNotFound) || err == nil && !strings.HasPrefix(id, "c_") {
			return nil, txtNoSuchCode, nil
		}
		if err != nil {
			return nil, "", err
		}
		c, err := q.lib.competition(ctx, acct, id)
		if errors.Is(err, content.ErrNotFound) || err == nil && c.Status != content.StatusPublished {
			return nil, txtNoSuchCode, nil
		}
		return c, "", err
	}
	cs, err := q.lib.published(ctx, acct)
	if err != nil {
		return nil, "", err
	}
	for _, c := range cs {
		running := !req.Now.Before(c.StartsAt) && (c.EndsAt.IsZero() || req.Now.Before(c.EndsAt))
		if running && c.open(req.Profile, req.Now, q.loc) {
			return c, "", nil
		}
	}
	return nil, txtNoCompetition, nil
}

// pick returns the questions of attempt n: the competition's list, or
// question_count drawn from the bank, the same for every run of one
// attempt.
func (q *Quiz) pick(ctx context.Context, acct string, c *content.Competition, openID string, n int) ([]string, error) {
	if len(c.QuestionIDs) > 0 {
		return c.QuestionIDs, nil
	}
	bank, err := q.lib.questionBank(ctx, acct)
	if err != nil {
		return nil, err
	}
	if len(bank) == 0 {
		return nil, fmt.Errorf("competition %s: the question bank is empty", c.ID)
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%s|%d", c.ID, openID, n)
	r := rand.New(rand.NewPCG(h.Sum64(), uint64(n)))
	ids := slices.Clone(bank)
	r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids[:min(c.QuestionCount, len(ids))], nil
}

// resume shows the open question again, or, when its time ran out while
// the participant was away, scores it 0 and moves on.
func (q *Quiz) resume(ctx context.Context, req *bot.Request, c *compiled, st state) (bot.Reply, error) {
	qu, err := q.lib.question(ctx, req.Msg.Account, st.Q[st.I])
	if err != nil {
		return bot.Reply{}, err
	}
	if st.elapsed(req.Now) > c.limit() {
		return q.record(ctx, req, c, st, qu, nil)
	}
	st.Tm = req.Msg.CreateTime.Unix() // answers racing this message are not for the question
	q.save(req, st)
	return bot.Text(txtResume + "\n" + questionText(qu, st.I, len(st.Q), c.TimeLimitSeconds)), nil
}

func (c *compiled) limit() time.Duration { return time.Duration(c.TimeLimitSeconds) * time.Second }

// answer handles a text while an attempt is open.
func (q *Quiz) answer(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	st, ok := current(req)
	if !ok || st.Done {
		if ok && req.Now.UnixMilli()-st.At < 60_000 {
			if _, isAnswer := parseChoice(req.Msg.Text, 6, true); isAnswer {
				return bot.Text(txtAlreadyDone), nil // a late answer racing the last one
			}
		}
		// Nothing open: the text is for the rest of the bot.
		req.Dialog = bot.Dialog{}
		return q.mux.Handle(ctx, req)
	}
	acct := req.Msg.Account
	c, err := q.lib.competition(ctx, acct, st.C)
	if err != nil {
		return bot.Reply{}, err
	}
	qu, err := q.lib.question(ctx, acct, st.Q[st.I])
	if err != nil {
		return bot.Reply{}, err
	}
	if !st.rate(req.Now, q.rate) {
		q.save(req, st)
		return bot.Text(txtTooFast), nil
	}
	if st.elapsed(req.Now) > c.limit() {
		return q.record(ctx, req, c, st, qu, nil)
	}
	if req.Msg.CreateTime.Unix() <= st.Tm {
		q.save(req, st)
		return bot.Text(fmt.Sprintf(txtStale, st.I+1) + "\n" + questionText(qu, st.I, len(st.Q), c.TimeLimitSeconds)), nil
	}
	chosen, ok := parseChoice(req.Msg.Text, len(qu.Options), qu.Multiple())
	if !ok {
		q.save(req, st)
		return bot.Text(answerHint(qu) + "\n\n" + questionText(qu, st.I, len(st.Q), c.TimeLimitSeconds)), nil
	}
	return q.record(ctx, req, c, st, qu, chosen)
}

// quizBoost is how much answering a question raises interest in its
// topic (of profile.WeightMax; at least 10, or the decay drops it): less
// than a search, as the competition, not the resident, chose the question.
const quizBoost = 10

// record scores the open question (chosen nil: the time ran out), then
// shows the next question or finishes the attempt.
func (q *Quiz) record(ctx context.Context, req *bot.Request, c *compiled, st state, qu *content.Question, chosen []int) (bot.Reply, error) {
	if p := req.Profile; p != nil && qu.Topic != "" && chosen != nil {
		// Answering a question on a topic is a (weak) sign of interest in it.
		p.DecayInterests(req.Now)
		p.AddInterestWeight(qu.Topic, quizBoost)
	}
	if len(st.A) == 0 {
		// The attempt reached the participant: a later 答题 no longer
		// joins it (see startAttempt).
		if err := q.store.answered(ctx, req.Msg.Account, c.ID, req.Msg.OpenID, st.N); err != nil {
			return bot.Reply{}, err
		}
	}
	el := st.elapsed(req.Now)
	a := answer{Choice: letters(chosen), Ms: min(el, c.limit()).Milliseconds()}
	var lines []string
	right := letters(sortedAnswer(qu))
	switch {
	case chosen == nil || el > c.limit():
		a.Late = true
		lines = append(lines, fmt.Sprintf(txtLate, right))
	case isCorrect(qu, chosen):
		a.OK = true
		lines = append(lines, txtRight)
	default:
		lines = append(lines, fmt.Sprintf(txtWrong, right))
	}
	a.Fast = !a.Late && el < q.fast
	if qu.Explanation != "" {
		lines = append(lines, fmt.Sprintf(txtExplain, qu.Explanation))
	}
	st.A = append(st.A, a)
	st.I++
	if st.I < len(st.Q) {
		next, err := q.lib.question(ctx, req.Msg.Account, st.Q[st.I])
		if err != nil {
			return bot.Reply{}, err
		}
		st.show(req.Now, req.Msg.CreateTime)
		q.save(req, st)
		lines = append(lines, "", questionText(next, st.I, len(st.Q), c.TimeLimitSeconds))
		return bot.Text(strings.Join(lines, "\n")), nil
	}
	end, err := q.finish(ctx, req, c, st, false)
	if err != nil {
		return bot.Reply{}, err
	}
	lines = append(lines, "", end)
	return bot.Text(strings.Join(lines, "\n")), nil
}

func sortedAnswer(qu *content.Question) []int {
	a := slices.Clone(qu.Answer)
	slices.Sort(a)
	return a
}

// finish records the attempt and returns the closing lines. The dialog
// stays briefly as done, so an answer racing the last one is told the
// attempt is over instead of being searched for.
func (q *Quiz) finish(ctx context.Context, req *bot.Request, c *compiled, st state, quit bool) (string, error) {
	r := Result{Competition: c.ID, OpenID: req.Profile.OpenID, Attempt: st.N, Questions: len(st.Q),
		Quit: quit, FinishedAt: req.Now.UTC()}
	r.Correct, r.Millis, r.Fast = score(st.A)
	r.Passed = !quit && r.Correct >= c.PassMark
	for i, a := range st.A {
		r.Answers = append(r.Answers, Answer{Question: st.Q[i], Choice: a.Choice, Correct: a.OK && !a.Late,
			Millis: a.Ms, Late: a.Late, Fast: a.Fast})
	}
	stored, standing, err := q.store.finish(ctx, req.Msg.Account, r)
	if err != nil {
		return "", err
	}
	req.Dialog = bot.Dialog{Name: DialogName, Data: (&state{C: c.ID, N: st.N, Done: true, At: req.Now.UnixMilli()}).encode()}
	left := c.Attempts - st.N
	if quit {
		req.Dialog = bot.Dialog{}
		lines := []string{fmt.Sprintf(txtQuit, stored.Correct)}
		if left > 0 {
			lines = append(lines, fmt.Sprintf(txtAttemptsLeft, left))
		}
		return strings.Join(lines, "\n"), nil
	}
	lines := []string{fmt.Sprintf(txtFinished, stored.Correct, stored.Questions, duration(stored.Millis))}
	if stored.Passed {
		lines = append(lines, fmt.Sprintf(txtPassed, c.PassMark))
	} else {
		lines = append(lines, fmt.Sprintf(txtNotPassed, c.PassMark))
	}
	if standing.Rank > 0 {
		lines = append(lines, fmt.Sprintf(txtRanks, standing.Rank, q.townName(req.Profile.Town), standing.TownRank))
	}
	if left > 0 {
		lines = append(lines, fmt.Sprintf(txtAttemptsLeft, left))
	}
	lines = append(lines, txtRankHint)
	return strings.Join(lines, "\n"), nil
}

// quit handles 退出答题.
func (q *Quiz) quit(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	st, ok := current(req)
	if !ok || st.Done {
		if ok {
			req.Dialog = bot.Dialog{}
		}
		return bot.Text(txtNotInQuiz), nil
	}
	c, err := q.lib.competition(ctx, req.Msg.Account, st.C)
	if err != nil {
		return bot.Reply{}, err
	}
	end, err := q.finish(ctx, req, c, st, true)
	if err != nil {
		return bot.Reply{}, err
	}
	return bot.Text(end), nil
}

func (q *Quiz) townName(id string) string {
	if t, ok := q.tax.Town(id); ok {
		return t.Name
	}
	return txtUnknownTown
}

func (q *Quiz) groupName(id string) string {
	if g, ok := q.tax.Group(id); ok {
		return g.Name
	}
	return ""
}
