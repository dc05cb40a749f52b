package admin

import (
	"context"
	"crypto/subtle"
)

// Role is what a user of the admin API may do.
type Role string

// Roles, from most to least powerful. Authors (editors) and reviewers are
// separate roles so that nobody approves their own item.
const (
	RoleAdmin     Role = "admin"
	RoleEditor    Role = "editor"
	RoleReviewer  Role = "reviewer"
	RoleOrganizer Role = "organizer"
	RoleViewer    Role = "viewer"
)

// ValidRole reports whether r is a known role.
func ValidRole(r Role) bool {
	switch r {
	case RoleAdmin, RoleEditor, RoleReviewer, RoleOrganizer, RoleViewer:
		return true
	}
	return false
}

// Principal is the authenticated caller of a request.
//
// A user either has one Role in every account (a deployment-wide user:
// Accounts is empty) or a role in each of the accounts it belongs to
// (Accounts; Role is then empty) and none in the others. A deployment-wide
// admin (DeploymentAdmin) manages users and accounts.
type Principal struct {
	UserID string
	Name   string
	Role   Role
	// Accounts maps the id of each WeChat account the user belongs to to
	// its role there; empty for a deployment-wide user.
	Accounts map[string]Role `json:"Accounts,omitempty"`
	// Department is the user's department, "" when none: the default of
	// the campaigns and bookings the user makes.
	Department string `json:"Department,omitempty"`
}

// RoleIn returns p's role in account, and false when p has none there.
func (p Principal) RoleIn(account string) (Role, bool) {
	if len(p.Accounts) == 0 {
		return p.Role, ValidRole(p.Role)
	}
	r, ok := p.Accounts[account]
	return r, ok && ValidRole(r)
}

// DeploymentAdmin reports whether p is an admin of the whole deployment
// (every account, users and accounts), not of some accounts only.
func (p Principal) DeploymentAdmin() bool { return len(p.Accounts) == 0 && p.Role == RoleAdmin }

// Valid reports whether p has a role anywhere.
func (p Principal) Valid() bool {
	if len(p.Accounts) == 0 {
		return ValidRole(p.Role)
	}
	for _, r := range p.Accounts {
		if !ValidRole(r) {
			return false
		}
	}
	return true
}

// In returns p as it acts in account: with its role there (empty when it
// has none). Handlers receive the principal this way.
func (p Principal) In(account string) Principal {
	r, _ := p.RoleIn(account)
	p.Role = r
	return p
}

// Authenticator resolves a bearer token to a principal. It returns
// ErrUnauthorized for an unknown token.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Principal, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, token string) (Principal, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, token string) (Principal, error) {
	return f(ctx, token)
}

// BootstrapAdmin authenticates the configured KEPUBOT_ADMIN_TOKEN as the
// built-in admin, then falls back to next (which may be nil).
func BootstrapAdmin(token string, next Authenticator) Authenticator {
	return AuthenticatorFunc(func(ctx context.Context, got string) (Principal, error) {
		if token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1 {
			return Principal{UserID: "admin", Name: "admin", Role: RoleAdmin}, nil
		}
		if next == nil {
			return Principal{}, ErrUnauthorized
		}
		return next.Authenticate(ctx, got)
	})
}
