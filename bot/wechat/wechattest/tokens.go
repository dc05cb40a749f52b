package wechattest

import "time"

const (
	tokenLifetime = 7200 * time.Second
	// tokenOverlap is how long a /cgi-bin/token token keeps working after
	// a newer one was fetched.
	tokenOverlap = 5 * time.Minute
)

// token is one issued access_token.
type token struct {
	value   string
	appID   string
	stable  bool
	expires time.Time
	invalid bool      // invalidated: 40001
	retire  time.Time // superseded by a newer /cgi-bin/token: 40001 from then
}

// TokenFetches is the number of access tokens issued to appID by either
// token endpoint.
func (s *Server) TokenFetches(appID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mustApp(appID).fetches
}

// Invalidate makes the current tokens of appID fail with 40001, as when
// WeChat revokes a token or another party refreshed it.
func (s *Server) Invalidate(appID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.mustApp(appID)
	for _, t := range []*token{a.normal, a.stable} {
		if t != nil {
			t.invalid = true
		}
	}
}

// authenticate checks an access_token. Callers hold s.mu.
func (s *Server) authenticate(value string, now time.Time) (*app, int, string) {
	if value == "" {
		return nil, 41001, "access_token missing"
	}
	t, ok := s.tokens[value]
	if !ok || t.invalid || (!t.retire.IsZero() && !now.Before(t.retire)) {
		return nil, 40001, "invalid credential, access_token is invalid or not latest"
	}
	if !now.Before(t.expires) {
		return nil, 42001, "access_token expired"
	}
	return s.apps[t.appID], 0, ""
}

// issue creates a new token for a. Callers hold s.mu.
func (s *Server) issue(a *app, stable bool, now time.Time) *token {
	t := &token{
		value:   "ACCESS_TOKEN_" + s.randHex(48),
		appID:   a.acct.AppID,
		stable:  stable,
		expires: now.Add(tokenLifetime),
	}
	s.tokens[t.value] = t
	a.fetches++
	return t
}

// credentials checks appid and secret. Callers hold s.mu.
func (s *Server) credentials(appID, secret string) (*app, result, bool) {
	a, ok := s.apps[appID]
	if !ok {
		return nil, fail(40013, "invalid appid"), false
	}
	if secret != a.acct.Secret {
		return nil, fail(40125, "invalid appsecret"), false
	}
	return a, result{}, true
}

func tokenResult(t *token, now time.Time) result {
	// expires_in is the remaining lifetime, as stable_token reports it.
	return result{body: map[string]any{
		"access_token": t.value,
		"expires_in":   int(t.expires.Sub(now) / time.Second),
	}}
}

// handleToken serves GET /cgi-bin/token: 2000 fetches a day, and each fetch
// retires the previous token after a 5-minute overlap.
func (s *Server) handleToken(q *request) result {
	v := q.r.URL.Query()
	if v.Get("grant_type") != "client_credential" {
		return fail(40002, "invalid grant_type")
	}
	a, res, ok := s.credentials(v.Get("appid"), v.Get("secret"))
	if !ok {
		return res
	}
	if !a.quota("token", "day", 2000, q.now) {
		return fail(45009, "reach max api daily quota limit")
	}
	if old := a.normal; old != nil && old.retire.IsZero() {
		old.retire = q.now.Add(tokenOverlap)
	}
	a.normal = s.issue(a, false, q.now)
	return tokenResult(a.normal, q.now)
}

// handleStableToken serves POST /cgi-bin/stable_token. Without
// force_refresh it returns the current token while that is valid; its
// tokens are independent of /cgi-bin/token's. 10,000 calls a minute.
func (s *Server) handleStableToken(q *request) result {
	var b struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if err := q.decode(&b); err != nil {
		return badBody(err)
	}
	if b.GrantType != "client_credential" {
		return fail(40002, "invalid grant_type")
	}
	a, res, ok := s.credentials(b.AppID, b.Secret)
	if !ok {
		return res
	}
	// unsure: WeChat documents the minute limit, not its errcode; 45009 is
	// what its other frequency limits answer.
	if !a.quota("stable_token", "min", 10000, q.now) {
		return fail(45009, "reach max api minute quota limit")
	}
	cur := a.stable
	if b.ForceRefresh || cur == nil || cur.invalid || !q.now.Before(cur.expires) {
		if cur != nil {
			// A forced refresh retires the old stable token at once.
			// unsure: WeChat may keep it usable for a short overlap.
			cur.invalid = true
		}
		a.stable = s.issue(a, true, q.now)
	}
	return tokenResult(a.stable, q.now)
}
