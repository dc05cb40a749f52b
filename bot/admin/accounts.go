package admin

import (
	"context"
	"net/http"
	"slices"
)

// AccountInfo is one WeChat Official Account of the deployment, as the
// API shows it (never with its secrets).
type AccountInfo struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	AppID string `json:"app_id"`
	Type  string `json:"type,omitempty"` // service or subscription
	// Webhook is the path WeChat posts this account's messages to.
	Webhook string `json:"webhook"`
	// Default is the account a request addresses when it names none.
	Default bool `json:"default,omitempty"`
	// Role is the caller's role in the account (GET /api/v1/accounts).
	Role Role `json:"role,omitempty"`
}

// AccountInput is the body of POST /api/v1/accounts: a new account,
// served from then on by every replica without a restart.
type AccountInput struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	AppID     string `json:"app_id"`
	AppSecret string `json:"app_secret,omitempty"`
	Token     string `json:"token"`
	AESKey    string `json:"aes_key,omitempty"`
	// EncodingMode is plain, compat or safe (empty: compat with an
	// aes_key, plain without).
	EncodingMode string `json:"encoding_mode,omitempty"`
	Type         string `json:"type,omitempty"`
}

// AccountDeps is what the account routes need.
type AccountDeps struct {
	// List returns every account of the deployment, the default first.
	List func(ctx context.Context) ([]AccountInfo, error)
	// Add validates and adds an account (an *InvalidError for bad input,
	// ErrConflict for a taken id, AppID or token) and serves it.
	Add func(ctx context.Context, in AccountInput) (AccountInfo, error)
}

// RegisterAccounts adds the account routes: everyone lists the accounts
// they belong to; only a deployment-wide admin adds one.
func RegisterAccounts(s *Server, d AccountDeps) {
	s.HandleCaller("GET /api/v1/accounts", func(w http.ResponseWriter, r *http.Request, p Principal) (any, error) {
		all, err := d.List(r.Context())
		if err != nil {
			return nil, err
		}
		out := slices.DeleteFunc(all, func(a AccountInfo) bool { _, ok := p.RoleIn(a.ID); return !ok })
		for i := range out {
			out[i].Role, _ = p.RoleIn(out[i].ID)
		}
		return map[string]any{"accounts": out}, nil
	})
	if d.Add == nil {
		return
	}
	s.HandleDeployment("POST /api/v1/accounts", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		var in AccountInput
		if err := DecodeJSON(r, &in); err != nil {
			return nil, err
		}
		a, err := d.Add(r.Context(), in)
		if err != nil {
			return nil, err
		}
		s.AddAccount(a.ID)
		return Created{a}, nil
	})
}
