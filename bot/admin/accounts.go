package admin

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/redis/go-redis/v9"
)

// Accounts added through the API (not the config file) are kept here, so
// that every replica serves them, now and after a restart:
//
//	kb:{admin}:accounts          hash account id → JSON AccountInput (with its AppSecret)
//	kb:{admin}:accounts:version  counter moved by every addition (replicas compare it)
const (
	accountsKey        = "kb:{admin}:accounts"
	accountsVersionKey = "kb:{admin}:accounts:version"
)

// AccountStore keeps the accounts added at run time. An account's
// AppSecret is stored as WeChat's access tokens are: in Redis, which only
// kepubot reaches.
type AccountStore struct{ rdb redis.UniversalClient }

// NewAccountStore returns the store on rdb.
func NewAccountStore(rdb redis.UniversalClient) *AccountStore { return &AccountStore{rdb: rdb} }

// ErrAccountExists is Save's answer for an id already stored.
var ErrAccountExists = errors.New("an account with this id exists")

// Save stores a new account and moves the version, or returns
// ErrAccountExists (wrapped in ErrConflict).
func (s *AccountStore) Save(ctx context.Context, in AccountInput) error {
	raw, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("save account %s: %w", in.ID, err)
	}
	added, err := saveAccountScript.Run(ctx, s.rdb, []string{accountsKey, accountsVersionKey}, in.ID, raw).Int()
	if err != nil {
		return fmt.Errorf("save account %s: %w", in.ID, err)
	}
	if added == 0 {
		return fmt.Errorf("%w: account %s: %w", ErrConflict, in.ID, ErrAccountExists)
	}
	return nil
}

//go:embed scripts/save_account.lua
var saveAccountLua string

// saveAccountScript adds an account unless its id is taken:
// scripts/save_account.lua.
var saveAccountScript = redis.NewScript(saveAccountLua)

// Version returns the version of the stored accounts (0: none yet).
func (s *AccountStore) Version(ctx context.Context) (int64, error) {
	v, err := s.rdb.Get(ctx, accountsVersionKey).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("accounts version: %w", err)
	}
	return v, nil
}

// All returns every stored account.
func (s *AccountStore) All(ctx context.Context) ([]AccountInput, error) {
	m, err := s.rdb.HGetAll(ctx, accountsKey).Result()
	if err != nil {
		return nil, fmt.Errorf("load accounts: %w", err)
	}
	out := make([]AccountInput, 0, len(m))
	for id, raw := range m {
		var in AccountInput
		if err := json.Unmarshal([]byte(raw), &in); err != nil {
			return nil, fmt.Errorf("decode account %s: %w", id, err)
		}
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b AccountInput) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out, nil
}

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
