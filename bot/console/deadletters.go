package console

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
)

// deadLetter is one job that failed for good (GET /api/v1/deadletters).
type deadLetter struct {
	ID      string    `json:"id"`
	JobID   string    `json:"job_id"`
	Kind    string    `json:"kind"`
	Attempt int       `json:"attempt"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
}

type deadLettersView struct {
	Account    string
	Letters    []deadLetter
	CanOperate bool
	Done       string
}

// maxDeadLetters is how many dead letters the page lists, newest first.
const maxDeadLetters = 200

// deadLettersPage serves GET /console/deadletters.
func (c *Console) deadLettersPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	account := admin.Account(r)
	var letters []deadLetter
	path := acctPath("/api/v1/deadletters", account, url.Values{"limit": {strconv.Itoa(maxDeadLetters)}})
	if err := c.call(r.Context(), s, http.MethodGet, path, nil, &letters); err != nil {
		return apiFail(err)
	}
	v := deadLettersView{Account: account, Letters: letters, CanOperate: mayOperate(s), Done: doneMessages[r.URL.Query().Get("done")]}
	c.render(w, http.StatusOK, "deadletters.html", view{Title: "失败任务", Session: s, Data: v})
	return nil
}

// retrySubmit serves POST /console/deadletters/{id}/retry through POST
// /api/v1/deadletters/{id}/retry.
func (c *Console) retrySubmit(w http.ResponseWriter, r *http.Request, s *Session) error {
	account := admin.Account(r)
	path := acctPath("/api/v1/deadletters/"+url.PathEscape(r.PathValue("id"))+"/retry", account, nil)
	if err := c.call(r.Context(), s, http.MethodPost, path, nil, nil); err != nil {
		return apiFail(err)
	}
	redirectDone(w, r, "/console/deadletters", account, "retry")
	return nil
}
