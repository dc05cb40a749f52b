package admin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/zengcheng-kexie/kepubot/content/demand"
	"github.com/zengcheng-kexie/kepubot/content/taxonomy"
)

// DemandDeps is what the demand-log route needs.
type DemandDeps struct {
	Log *demand.Log
	Tax *taxonomy.Taxonomy
	Now func() time.Time
}

// Bounds of GET /api/v1/demand.
const (
	defaultDemandDays  = 7
	maxDemandDays      = 366
	defaultDemandLimit = 50
	maxDemandLimit     = 500
)

// demandAnswer is GET /api/v1/demand (contract: days, from, to, town,
// group, words[{word, count}]). Words and counts only: the demand log
// keeps no one's identity.
type demandAnswer struct {
	Days  int            `json:"days"`
	From  string         `json:"from"` // 2006-01-02, first day counted
	To    string         `json:"to"`   // last day counted (today)
	Town  string         `json:"town,omitempty"`
	Group string         `json:"group,omitempty"`
	Words []demand.Count `json:"words"`
}

// RegisterDemand adds GET /api/v1/demand?days=&town=&group=&limit=: the
// most searched words over the last days days (default 7, at most 366),
// for the whole account or one town or one group (not both: the log
// counts them apart), limit words (default 50, at most 500). Every role
// may read it.
func RegisterDemand(s *Server, d DemandDeps) {
	if d.Now == nil {
		d.Now = time.Now
	}
	s.Handle("GET /api/v1/demand", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		account, err := validAccount(r)
		if err != nil {
			return nil, err
		}
		q := r.URL.Query()
		fields := map[string]string{}
		days, limit := defaultDemandDays, defaultDemandLimit
		if v := q.Get("days"); v != "" {
			if days, err = strconv.Atoi(v); err != nil || days < 1 || days > maxDemandDays {
				fields["days"] = "1–366"
			}
		}
		if v := q.Get("limit"); v != "" {
			if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxDemandLimit {
				fields["limit"] = "1–500"
			}
		}
		town, group := q.Get("town"), q.Get("group")
		if _, ok := d.Tax.Town(town); town != "" && !ok {
			fields["town"] = "unknown town " + strconv.Quote(town)
		}
		if _, ok := d.Tax.Group(group); group != "" && !ok {
			fields["group"] = "unknown group " + strconv.Quote(group)
		}
		if town != "" && group != "" {
			fields["group"] = "give town or group, not both"
		}
		if len(fields) > 0 {
			return nil, Invalid(fields, "invalid demand query")
		}
		dim := "all"
		switch {
		case town != "":
			dim = "t:" + town
		case group != "":
			dim = "g:" + group
		}
		to := d.Now()
		from := to.AddDate(0, 0, -(days - 1))
		words, err := d.Log.Top(r.Context(), account, dim, from, to, limit)
		if err != nil {
			return nil, err
		}
		if words == nil {
			words = []demand.Count{}
		}
		return demandAnswer{Days: days, From: d.Log.Day(from), To: d.Log.Day(to), Town: town, Group: group, Words: words}, nil
	}, Roles()...)
}
