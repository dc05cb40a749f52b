package admin

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/export"
	"github.com/zengcheng-kexie/kepubot/bot/quiz"
	"github.com/zengcheng-kexie/kepubot/content"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

// QuizDeps is what the quiz-competition routes need.
type QuizDeps struct {
	Quiz      *quiz.Store
	Content   *content.Store
	Campaigns quiz.Campaigns // the campaign service, for invitations; nil disables the route
	Tax       *taxonomy.Taxonomy
	Now       func() time.Time
}

// quizStats is GET /api/v1/competitions/{id}/stats (contract:
// participants, completed, pass_rate, by_town, by_group).
type quizStats struct {
	Competition string `json:"competition"`
	PassMark    int    `json:"pass_mark"`
	quiz.Stats
}

// RegisterQuiz adds the quiz-competition routes: leaderboards, stats
// with the literacy indicator, the CSV export and invitations. They show
// openids, so they are for organizers (and viewers, who read reports).
func RegisterQuiz(s *Server, d QuizDeps) {
	if d.Now == nil {
		d.Now = time.Now
	}
	s.Handle("GET /api/v1/competitions/{id}/leaderboard", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		c, err := d.competition(r)
		if err != nil {
			return nil, err
		}
		q := r.URL.Query()
		b := quiz.Board{Town: q.Get("town"), Group: q.Get("group")}
		fields := map[string]string{}
		if _, ok := d.Tax.Town(b.Town); b.Town != "" && !ok {
			fields["town"] = "unknown town " + strconv.Quote(b.Town)
		}
		if _, ok := d.Tax.Group(b.Group); b.Group != "" && !ok {
			fields["group"] = "unknown group " + strconv.Quote(b.Group)
		}
		limit := 100
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				fields["limit"] = "1–1000"
			}
			limit = n
		}
		if len(fields) > 0 {
			return nil, Invalid(fields, "invalid leaderboard query")
		}
		es, err := d.Quiz.Leaderboard(r.Context(), Account(r), c.ID, b, limit)
		if err != nil {
			return nil, err
		}
		return es, nil
	}, RoleOrganizer, RoleViewer)

	s.Handle("GET /api/v1/competitions/{id}/stats", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		c, err := d.competition(r)
		if err != nil {
			return nil, err
		}
		st, err := d.Quiz.Stats(r.Context(), Account(r), c.ID)
		if err != nil {
			return nil, err
		}
		return quizStats{Competition: c.ID, PassMark: c.PassMark, Stats: st}, nil
	}, RoleOrganizer, RoleViewer)

	// The export answers CSV, not JSON, so it is served beside Handle
	// with the same authentication and roles.
	exportRoles := []Role{RoleOrganizer, RoleViewer}
	s.handleRaw("GET /api/v1/competitions/{id}/export.csv", func(w http.ResponseWriter, r *http.Request) {
		r, _, err := s.authorize(r, exportRoles, scopeAccount)
		var buf bytes.Buffer
		if err == nil {
			err = d.export(&buf, r)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+url.PathEscape(r.PathValue("id"))+`.csv"`)
		w.Write(buf.Bytes())
	}, exportRoles...)

	if d.Campaigns == nil {
		return
	}
	s.Handle("POST /api/v1/competitions/{id}/invitation", func(w http.ResponseWriter, r *http.Request, p Principal) (any, error) {
		var req struct {
			URL string `json:"url"` // the competition's rules page
		}
		if err := DecodeJSON(r, &req); err != nil {
			return nil, err
		}
		if u, err := url.Parse(req.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, Invalid(map[string]string{"url": "an http(s) URL is required"}, "invalid invitation")
		}
		camp, err := quiz.Invite(r.Context(), d.Content, d.Campaigns, Account(r), r.PathValue("id"), req.URL, p.UserID)
		switch {
		case errors.Is(err, quiz.ErrNotPublished):
			return nil, &StatusError{Status: http.StatusConflict, Err: err}
		case err != nil:
			return nil, contentError(err)
		}
		return Created{camp}, nil
	}, RoleOrganizer)
}

func (d QuizDeps) competition(r *http.Request) (content.Competition, error) {
	c, err := d.Content.Competition(r.Context(), Account(r), r.PathValue("id"))
	return c, contentError(err)
}

// export writes the competition's CSV: first participation and the
// literacy indicator (section total, town, group), then one row per
// recorded attempt (section result) with the answer-time flags.
func (d QuizDeps) export(w io.Writer, r *http.Request) error {
	c, err := d.competition(r)
	if err != nil {
		return err
	}
	st, err := d.Quiz.Stats(r.Context(), Account(r), c.ID)
	if err != nil {
		return err
	}
	io.WriteString(w, "\uFEFF") // so that Excel reads UTF-8
	cw := export.NewCSV(w)
	cw.Write([]string{"section", "id", "name", "participants", "completed", "passed", "pass_rate",
		"openid", "town", "group", "attempt", "score", "questions", "seconds", "passed_attempt", "quit", "fast_answers", "finished_at"})
	tally := func(section, id, name string, t quiz.Tally) {
		cw.Write([]string{section, id, name, strconv.FormatInt(t.Participants, 10), strconv.FormatInt(t.Completed, 10),
			strconv.FormatInt(t.Passed, 10), strconv.FormatFloat(t.PassRate, 'f', 4, 64)})
	}
	tally("total", c.ID, c.Title, st.Tally)
	for _, id := range sortedKeys(st.ByTown) {
		name := id
		if t, ok := d.Tax.Town(id); ok {
			name = t.Name
		}
		tally("town", id, name, st.ByTown[id])
	}
	for _, id := range sortedKeys(st.ByGroup) {
		name := id
		if g, ok := d.Tax.Group(id); ok {
			name = g.Name
		}
		tally("group", id, name, st.ByGroup[id])
	}
	err = d.Quiz.Results(r.Context(), Account(r), c.ID, func(res quiz.Result, town, group string) error {
		return cw.Write([]string{"result", "", "", "", "", "", "", res.OpenID, town, group, strconv.Itoa(res.Attempt),
			strconv.Itoa(res.Correct), strconv.Itoa(res.Questions), strconv.FormatFloat(float64(res.Millis)/1000, 'f', 3, 64),
			strconv.FormatBool(res.Passed), strconv.FormatBool(res.Quit), strconv.Itoa(res.Fast), res.FinishedAt.Format(time.RFC3339)})
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
