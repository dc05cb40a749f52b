package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
)

// wordCount is one searched word (GET /api/v1/demand's words).
type wordCount struct {
	Word  string `json:"word"`
	Count int64  `json:"count"`
}

// demandList is the top words of one slice of the log.
type demandList struct {
	ID, Name string // town or group; "" for the whole account
	Words    []wordCount
}

type demandView struct {
	Account  string
	Days     int
	From, To string
	Overall  demandList
	Towns    []demandList
	Groups   []demandList
}

// demandDays are the windows the page offers.
var demandDays = []int{7, 30}

const (
	demandTop      = 30 // words of the whole account
	demandTopSlice = 8  // words of each town and group
)

// demandPage serves GET /console/demand?days=7|30: what people searched
// for over the whole account, in each town and in each group, through GET
// /api/v1/demand (words and counts only). The per-town and per-group
// lists are fetched at once.
func (c *Console) demandPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	account := admin.Account(r)
	days := 7
	if d, err := strconv.Atoi(r.URL.Query().Get("days")); err == nil && (d == 7 || d == 30) {
		days = d
	}
	v := demandView{Account: account, Days: days}
	tax := c.cfg.Tax
	v.Towns = make([]demandList, len(tax.Towns))
	v.Groups = make([]demandList, len(tax.Groups))
	errs := make([]error, 1+len(v.Towns)+len(v.Groups))
	var wg sync.WaitGroup
	wg.Go(func() {
		var from, to string
		v.Overall.Words, from, to, errs[0] = c.demand(r.Context(), s, account, days, "", "", demandTop)
		v.From, v.To = from, to
	})
	for i, t := range tax.Towns {
		v.Towns[i] = demandList{ID: t.ID, Name: t.Name}
		wg.Go(func() {
			v.Towns[i].Words, _, _, errs[1+i] = c.demand(r.Context(), s, account, days, t.ID, "", demandTopSlice)
		})
	}
	for i, g := range tax.Groups {
		v.Groups[i] = demandList{ID: g.ID, Name: g.Name}
		wg.Go(func() {
			v.Groups[i].Words, _, _, errs[1+len(v.Towns)+i] = c.demand(r.Context(), s, account, days, "", g.ID, demandTopSlice)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return apiFail(firstError(errs))
	}
	c.render(w, http.StatusOK, "demand.html", view{Title: "群众需求", Session: s, Data: v})
	return nil
}

// demand calls GET /api/v1/demand.
func (c *Console) demand(ctx context.Context, s *Session, account string, days int, town, group string, limit int) (words []wordCount, from, to string, err error) {
	var a struct {
		From  string      `json:"from"`
		To    string      `json:"to"`
		Words []wordCount `json:"words"`
	}
	q := url.Values{"days": {strconv.Itoa(days)}, "town": {town}, "group": {group}, "limit": {strconv.Itoa(limit)}}
	if err := c.call(ctx, s, http.MethodGet, acctPath("/api/v1/demand", account, q), nil, &a); err != nil {
		return nil, "", "", err
	}
	return a.Words, a.From, a.To, nil
}

// firstError is the first non-nil error of errs (an *apiError keeps its
// status for apiFail).
func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
