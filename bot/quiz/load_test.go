package quiz_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/content"
)

// participant is one simulated resident and what the test expects of them.
type participant struct {
	openID, group, town string
	delays              []int // rounds between seeing question j and answering it
	right               []bool
	// expected outcome, recounted by the test
	correct int
	ms      int64
}

const (
	roundStep  = 4 * time.Second
	limitSecs  = 20
	passMark   = 6
	numQ       = 10
	numPlayers = 1000
)

// TestThousandParticipants runs 1,000 participants across every town and
// group through the real webhook at once, round by round: in each round
// every participant due to act sends their message concurrently, then the
// shared clock moves on. Who answers what, and after how many rounds, is
// known in advance (some answers come after the time limit), so the test
// recounts every score, time, rank and pass rate independently and
// compares them with the admin API's leaderboards, stats and export.
func TestThousandParticipants(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c, qs := f.competition(t, numQ, func(c *content.Competition) {
		c.TimeLimitSeconds, c.PassMark, c.Attempts = limitSecs, passMark, 1
	})
	ps := make([]*participant, numPlayers)
	for i := range ps {
		p := &participant{openID: fmt.Sprintf("oP%04d", i),
			group: f.tax.Groups[i%len(f.tax.Groups)].ID, town: f.tax.Towns[(i/len(f.tax.Groups))%len(f.tax.Towns)].ID}
		for j := range numQ {
			d := 1 + (i+j)%3
			if (i*7+j)%11 == 0 {
				d = 6 // 24 s: past the 20-second limit, scores 0
			}
			p.delays = append(p.delays, d)
			p.right = append(p.right, (i*3+j*5)%10 < 7)
			if d*int(roundStep/time.Second) <= limitSecs {
				if p.right[j] {
					p.correct++
				}
				p.ms += int64(d) * roundStep.Milliseconds()
			} else {
				p.ms += limitSecs * 1000
			}
		}
		f.subscriber(t, p.openID, p.group, p.town)
		ps[i] = p
	}

	// schedule[r] lists (participant, question) pairs acting in round r;
	// question -1 is 答题.
	type act struct{ p, q int }
	var schedule [][]act
	add := func(r int, a act) {
		for len(schedule) <= r {
			schedule = append(schedule, nil)
		}
		schedule[r] = append(schedule[r], a)
	}
	for i, p := range ps {
		r := i % 3 // staggered starts
		add(r, act{i, -1})
		for j, d := range p.delays {
			r += d
			add(r, act{i, j})
		}
	}
	forms := []func(int) string{
		func(o int) string { return string(rune('A' + o)) },
		func(o int) string { return strconv.Itoa(o + 1) },
		func(o int) string { return string(rune('a' + o)) },
		func(o int) string { return string(rune('Ａ' + o)) },
		func(o int) string { return string(rune('１' + o)) },
	}
	sem := make(chan struct{}, 128)
	for r, acts := range schedule {
		var wg sync.WaitGroup
		errs := make(chan error, len(acts))
		for _, a := range acts {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				p := ps[a.p]
				text := "答题"
				if a.q >= 0 {
					o := qs[a.q].Answer[0]
					if !p.right[a.q] {
						o = (o + 1) % 4
					}
					text = forms[(a.p+a.q)%len(forms)](o)
				}
				rep, err := f.phone.Text(f.ctx, p.openID, text)
				switch {
				case err != nil:
					errs <- fmt.Errorf("round %d %s %q: %v", r, p.openID, text, err)
				case rep.Status != http.StatusOK || rep.Content == "":
					errs <- fmt.Errorf("round %d %s %q: status %d, reply %q", r, p.openID, text, rep.Status, rep.Content)
				case a.q == numQ-1 && !strings.Contains(rep.Content, "答题结束"):
					errs <- fmt.Errorf("%s: last answer got %q", p.openID, rep.Content)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		f.clock.Add(roundStep)
	}

	api := f.admin(t)
	// Leaderboards: overall, every town, every group, and a town × group.
	boards := []quizBoard{{}}
	for _, tw := range f.tax.Towns {
		boards = append(boards, quizBoard{town: tw.ID})
	}
	for _, g := range f.tax.Groups {
		boards = append(boards, quizBoard{group: g.ID})
	}
	boards = append(boards, quizBoard{town: "paitan", group: "farmer"})
	for _, b := range boards {
		var got []entry
		api.get(t, fmt.Sprintf("/api/v1/competitions/%s/leaderboard?town=%s&group=%s&limit=1000", c.ID, b.town, b.group), &got)
		want := recount(ps, b)
		sortEntries(got)
		sortEntries(want)
		if !slices.Equal(got, want) {
			t.Errorf("leaderboard %+v: got %d entries, want %d; first difference %v", b, len(got), len(want), firstDiff(got, want))
		}
	}
	var top []entry
	api.get(t, "/api/v1/competitions/"+c.ID+"/leaderboard?limit=3", &top)
	if len(top) != 3 || top[0].Rank != 1 {
		t.Errorf("top 3 = %v", top)
	}

	// Stats: the literacy indicator overall, by town and by group.
	var st struct {
		Participants int64   `json:"participants"`
		Completed    int64   `json:"completed"`
		PassRate     float64 `json:"pass_rate"`
		ByTown       map[string]struct {
			Participants, Completed, Passed int64
			PassRate                        float64 `json:"pass_rate"`
		} `json:"by_town"`
		ByGroup map[string]struct {
			Participants, Completed, Passed int64
			PassRate                        float64 `json:"pass_rate"`
		} `json:"by_group"`
	}
	api.get(t, "/api/v1/competitions/"+c.ID+"/stats", &st)
	passed, byTown, byGroup := 0, map[string][2]int{}, map[string][2]int{}
	for _, p := range ps {
		ok := 0
		if p.correct >= passMark {
			ok = 1
			passed++
		}
		byTown[p.town] = [2]int{byTown[p.town][0] + 1, byTown[p.town][1] + ok}
		byGroup[p.group] = [2]int{byGroup[p.group][0] + 1, byGroup[p.group][1] + ok}
	}
	if st.Participants != numPlayers || st.Completed != numPlayers || st.PassRate != float64(passed)/numPlayers {
		t.Errorf("stats = %d participants, %d completed, pass rate %v; want %d, %d, %v",
			st.Participants, st.Completed, st.PassRate, numPlayers, numPlayers, float64(passed)/numPlayers)
	}
	for town, n := range byTown {
		if got := st.ByTown[town]; got.Participants != int64(n[0]) || got.Passed != int64(n[1]) || got.PassRate != float64(n[1])/float64(n[0]) {
			t.Errorf("stats of %s = %+v, want %d participants, %d passed", town, got, n[0], n[1])
		}
	}
	for group, n := range byGroup {
		if got := st.ByGroup[group]; got.Participants != int64(n[0]) || got.Passed != int64(n[1]) {
			t.Errorf("stats of %s = %+v, want %d participants, %d passed", group, got, n[0], n[1])
		}
	}

	// The export's answer log: one result row per participant, as recounted.
	rows := api.csv(t, "/api/v1/competitions/"+c.ID+"/export.csv")
	results := map[string][]string{}
	for _, row := range rows[1:] {
		if row[0] == "result" {
			results[row[7]] = row
		}
	}
	if len(results) != numPlayers {
		t.Fatalf("export has %d results, want %d", len(results), numPlayers)
	}
	for _, p := range ps {
		row := results[p.openID]
		want := []string{p.town, p.group, "1", strconv.Itoa(p.correct), strconv.Itoa(numQ),
			strconv.FormatFloat(float64(p.ms)/1000, 'f', 3, 64), strconv.FormatBool(p.correct >= passMark), "false", "0"}
		if got := row[8:17]; !slices.Equal(got, want) {
			t.Errorf("export row of %s = %v, want %v", p.openID, got, want)
		}
	}
}

type quizBoard struct{ town, group string }

// entry is a leaderboard line as the API answers it.
type entry struct {
	OpenID  string  `json:"openid"`
	Score   int     `json:"score"`
	Seconds float64 `json:"seconds"`
	Rank    int     `json:"rank"`
}

// recount ranks the participants of a board from what they answered:
// more correct first, then less time; equal ones share a rank.
func recount(ps []*participant, b quizBoard) []entry {
	var in []*participant
	for _, p := range ps {
		if (b.town == "" || p.town == b.town) && (b.group == "" || p.group == b.group) {
			in = append(in, p)
		}
	}
	slices.SortFunc(in, func(x, y *participant) int {
		if x.correct != y.correct {
			return y.correct - x.correct
		}
		return int(x.ms - y.ms)
	})
	out := make([]entry, len(in))
	for i, p := range in {
		rank := i + 1
		if i > 0 && p.correct == in[i-1].correct && p.ms == in[i-1].ms {
			rank = out[i-1].Rank
		}
		out[i] = entry{OpenID: p.openID, Score: p.correct, Seconds: float64(p.ms) / 1000, Rank: rank}
	}
	return out
}

func sortEntries(es []entry) {
	slices.SortFunc(es, func(a, b entry) int {
		if a.Rank != b.Rank {
			return a.Rank - b.Rank
		}
		return strings.Compare(a.OpenID, b.OpenID)
	})
}

func firstDiff(a, b []entry) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("at %d: got %+v, want %+v", i, a[i], b[i])
		}
	}
	return "in length"
}

// adminAPI calls the admin API with the bootstrap token.
type adminAPI struct {
	url   string
	token string
}

func (f *fixture) admin(t testing.TB) *adminAPI {
	t.Helper()
	s := admin.NewServer(admin.BootstrapAdmin("root-token", nil), nil)
	s.SetAccounts([]string{"default"})
	admin.RegisterQuiz(s, admin.QuizDeps{Quiz: f.quiz.Store(), Content: f.lib, Tax: f.tax, Now: f.clock.Now})
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return &adminAPI{url: hs.URL, token: "root-token"}
}

func (a *adminAPI) do(t testing.TB, path string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", a.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("GET %s: status %d", path, resp.StatusCode)
	}
	return resp
}

func (a *adminAPI) get(t testing.TB, path string, v any) {
	t.Helper()
	resp := a.do(t, path)
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func (a *adminAPI) csv(t testing.TB, path string) [][]string {
	t.Helper()
	resp := a.do(t, path)
	defer resp.Body.Close()
	r := csv.NewReader(resp.Body)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return rows
}
