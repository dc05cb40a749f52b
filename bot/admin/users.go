package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// Redis keys of the admin API's own state, built here and in auditKey.
// Users are the deployment's, not one account's: a user has one role in
// every account or a role in each of some accounts (User.Accounts). All
// share the hash tag {admin}, so the scripts that
// touch several of them run on one Redis Cluster slot.
//
//	kb:{admin}:users:seq            user id counter
//	kb:{admin}:users                hash user id → JSON User
//	kb:{admin}:users:names          hash FoldName(name) → user id: names are unique
//	kb:{admin}:users:names:indexed  set once users made before the name index are in it
//	kb:{admin}:tokens               hash hex SHA-256 of a token → JSON Principal
//	kb:{admin}:audit                stream of audit entries, capped (audit.go)
//	kb:{admin}:accounts[:version]   accounts added through the API (accounts.go)
const (
	usersSeqKey      = "kb:{admin}:users:seq"
	usersKey         = "kb:{admin}:users"
	userNamesKey     = "kb:{admin}:users:names"
	userNamesDoneKey = "kb:{admin}:users:names:indexed"
	tokensKey        = "kb:{admin}:tokens"
	auditKey         = "kb:{admin}:audit"
)

// maxUserName bounds a user's display name.
const maxUserName = 64

// User is an admin API user as listed (never with a token).
type User struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Role is the role of a deployment-wide user in every account; empty
	// for a user of some accounts only (Accounts).
	Role Role `json:"role,omitempty"`
	// Accounts maps each account the user belongs to to its role there.
	Accounts map[string]Role `json:"accounts,omitempty"`
	// Department is the user's department (optional): the campaigns and
	// mass-send bookings the user makes are the department's by default.
	Department string    `json:"department,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	CreatedBy  string    `json:"created_by"`
}

// NewUser is a user just created, with the bearer token shown this once.
type NewUser struct {
	User
	Token string `json:"token"`
}

// Users stores admin API users and authenticates their tokens. Only a
// SHA-256 of each token is stored: a leaked Redis dump grants nothing.
// User names are unique, compared as FoldName folds them.
type Users struct {
	rdb redis.UniversalClient
	now func() time.Time
	// indexed is set once this process has seen the name index complete
	// (ensureNames), so that it is checked once, not on every call.
	indexed atomic.Bool
}

// NewUsers returns the user store on rdb.
func NewUsers(rdb redis.UniversalClient) *Users {
	return &Users{rdb: rdb, now: time.Now}
}

// ErrNameTaken is Create's answer for a name another user has (as
// FoldName compares them); the API answers it 409.
var ErrNameTaken = errors.New("another user has this name")

// FoldName is the form in which user names are compared: trimmed and
// lower-cased, so "Wang" and " wang " are the same name.
func FoldName(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Create adds a deployment-wide user with role, created by user by, and
// returns it with its token. Bad input is an *InvalidError.
func (u *Users) Create(ctx context.Context, name string, role Role, by string) (NewUser, error) {
	return u.CreateIn(ctx, name, role, nil, "", by)
}

// CreateIn adds a user created by user by: with accounts (account id →
// role), a member of those accounts only, and role must be empty; without,
// a deployment-wide user with role. department is optional. The caller
// checks the accounts exist. Bad input is an *InvalidError.
func (u *Users) CreateIn(ctx context.Context, name string, role Role, accounts map[string]Role, department, by string) (NewUser, error) {
	name, department = strings.TrimSpace(name), strings.TrimSpace(department)
	fields := map[string]string{}
	if name == "" || utf8.RuneCountInString(name) > maxUserName {
		fields["name"] = fmt.Sprintf("required, at most %d characters", maxUserName)
	}
	if utf8.RuneCountInString(department) > MaxDepartment {
		fields["department"] = fmt.Sprintf("at most %d characters", MaxDepartment)
	}
	const roles = "one of admin, editor, reviewer, organizer, viewer"
	switch {
	case len(accounts) > 0 && role != "":
		fields["role"] = "give either role (every account) or accounts (a role in each), not both"
	case len(accounts) > 0:
		for id, r := range accounts {
			if !ValidRole(r) {
				fields["accounts"] = fmt.Sprintf("account %s: role must be %s", id, roles)
			}
		}
	case !ValidRole(role):
		fields["role"] = roles
	}
	if len(fields) > 0 {
		return NewUser{}, Invalid(fields, "invalid user")
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return NewUser{}, fmt.Errorf("create user: token: %w", err)
	}
	n, err := u.rdb.Incr(ctx, usersSeqKey).Result()
	if err != nil {
		return NewUser{}, fmt.Errorf("create user: %w", err)
	}
	nu := NewUser{
		User: User{ID: "u_" + strconv.FormatInt(n, 10), Name: name, Role: role, Accounts: accounts,
			Department: department, CreatedAt: u.now().UTC(), CreatedBy: by},
		Token: hex.EncodeToString(raw),
	}
	user, err := json.Marshal(nu.User)
	if err != nil {
		return NewUser{}, fmt.Errorf("create user: %w", err)
	}
	principal, err := json.Marshal(nu.Principal())
	if err != nil {
		return NewUser{}, fmt.Errorf("create user: %w", err)
	}
	if err := u.ensureNames(ctx); err != nil {
		return NewUser{}, fmt.Errorf("create user: %w", err)
	}
	created, err := createUserScript.Run(ctx, u.rdb, []string{userNamesKey, usersKey, tokensKey},
		FoldName(name), nu.ID, user, hashToken(nu.Token), principal).Int()
	if err != nil {
		return NewUser{}, fmt.Errorf("create user %s: %w", nu.ID, err)
	}
	if created == 0 {
		// The id drawn above is left unused: ids need not be dense.
		// A 409 that names the field, so that a form shows it by the name.
		return NewUser{}, &StatusError{Status: http.StatusConflict, Err: &InvalidError{
			Msg:    fmt.Sprintf("a user named %q already exists (names are unique, ignoring case and surrounding spaces)", name),
			Fields: map[string]string{"name": "taken by another user"},
			Err:    ErrNameTaken,
		}}
	}
	return nu, nil
}

//go:embed scripts/create_user.lua
var createUserLua string

// createUserScript claims a name and stores its user: scripts/create_user.lua.
var createUserScript = redis.NewScript(createUserLua)

// ensureNames puts the names of users created before the name index
// existed into it, once. Every replica that finds the index incomplete
// does the same idempotent work (HSETNX in id order, so that of two old
// users with the same name the older keeps it) and marks the index
// complete in the same transaction; Create runs it before claiming a
// name, so no new user can take an old user's name.
func (u *Users) ensureNames(ctx context.Context) error {
	if u.indexed.Load() {
		return nil
	}
	n, err := u.rdb.Exists(ctx, userNamesDoneKey).Result()
	if err != nil {
		return fmt.Errorf("user name index: %w", err)
	}
	if n == 0 {
		all, err := u.List(ctx)
		if err != nil {
			return fmt.Errorf("user name index: %w", err)
		}
		_, err = u.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for _, x := range all {
				p.HSetNX(ctx, userNamesKey, FoldName(x.Name), x.ID)
			}
			p.Set(ctx, userNamesDoneKey, "1", 0)
			return nil
		})
		if err != nil {
			return fmt.Errorf("user name index: %w", err)
		}
	}
	u.indexed.Store(true)
	return nil
}

// ByName returns the user named name (compared as FoldName folds it), or
// an error wrapping ErrNotFound.
func (u *Users) ByName(ctx context.Context, name string) (User, error) {
	if err := u.ensureNames(ctx); err != nil {
		return User{}, err
	}
	id, err := u.rdb.HGet(ctx, userNamesKey, FoldName(name)).Result()
	if errors.Is(err, redis.Nil) {
		return User{}, fmt.Errorf("%w: no user with this name", ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("user by name: %w", err)
	}
	return u.ByID(ctx, id)
}

// ByID returns the user with id, or an error wrapping ErrNotFound.
func (u *Users) ByID(ctx context.Context, id string) (User, error) {
	raw, err := u.rdb.HGet(ctx, usersKey, id).Bytes()
	if errors.Is(err, redis.Nil) {
		return User{}, fmt.Errorf("%w: no user %s", ErrNotFound, id)
	}
	if err != nil {
		return User{}, fmt.Errorf("user %s: %w", id, err)
	}
	var x User
	if err := json.Unmarshal(raw, &x); err != nil {
		return User{}, fmt.Errorf("decode user %s: %w", id, err)
	}
	return x, nil
}

// List returns every user, oldest first.
func (u *Users) List(ctx context.Context) ([]User, error) {
	all, err := u.rdb.HGetAll(ctx, usersKey).Result()
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out := make([]User, 0, len(all))
	for id, raw := range all {
		var x User
		if err := json.Unmarshal([]byte(raw), &x); err != nil {
			return nil, fmt.Errorf("decode user %s: %w", id, err)
		}
		out = append(out, x)
	}
	num := func(id string) int { n, _ := strconv.Atoi(strings.TrimPrefix(id, "u_")); return n }
	slices.SortFunc(out, func(a, b User) int { return num(a.ID) - num(b.ID) })
	return out, nil
}

// Principal is the caller u is when it authenticates.
func (x User) Principal() Principal {
	return Principal{UserID: x.ID, Name: x.Name, Role: x.Role, Accounts: x.Accounts, Department: x.Department}
}

// Authenticate implements Authenticator: one HGET of the token's hash.
// Compose it with the bootstrap token: BootstrapAdmin(token, users).
func (u *Users) Authenticate(ctx context.Context, token string) (Principal, error) {
	raw, err := u.rdb.HGet(ctx, tokensKey, hashToken(token)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Principal{}, ErrUnauthorized
	}
	if err != nil {
		return Principal{}, fmt.Errorf("%w: authenticate: %w", ErrUnavailable, err)
	}
	var p Principal
	if err := json.Unmarshal(raw, &p); err != nil {
		return Principal{}, fmt.Errorf("authenticate: decode principal: %w", err)
	}
	return p, nil
}

type userRequest struct {
	Name string `json:"name"`
	// Role makes a deployment-wide user (a role in every account).
	Role Role `json:"role,omitempty"`
	// Accounts makes a user of these accounts only: account id → role.
	Accounts map[string]Role `json:"accounts,omitempty"`
	// Department is optional (at most 40 characters).
	Department string `json:"department,omitempty"`
}

// MaxDepartment is the longest department name, in characters.
const MaxDepartment = 40

// RegisterUsers adds the user routes; only deployment-wide admins manage
// users.
func RegisterUsers(s *Server, u *Users) {
	s.HandleDeployment("POST /api/v1/users", func(w http.ResponseWriter, r *http.Request, p Principal) (any, error) {
		var req userRequest
		if err := DecodeJSON(r, &req); err != nil {
			return nil, err
		}
		for id := range req.Accounts {
			if !s.Serves(id) {
				return nil, Invalid(map[string]string{"accounts": "no account " + id}, "unknown account %q", id)
			}
		}
		nu, err := u.CreateIn(r.Context(), req.Name, req.Role, req.Accounts, req.Department, p.UserID)
		if err != nil {
			return nil, err
		}
		return Created{nu}, nil
	})

	s.HandleDeployment("GET /api/v1/users", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		users, err := u.List(r.Context())
		if err != nil {
			return nil, err
		}
		return map[string]any{"users": users}, nil
	})
}
