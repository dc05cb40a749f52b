package console

import (
	"encoding/json"
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestLoginByName: a login finds its user through admin.Users.ByName, so
// the name is compared as user names are (trimmed, any case), and every
// refused login costs one bcrypt comparison, whether the name exists,
// has no password or has a different one.
func TestLoginByName(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.console.acc
	s, err := acc.Login(b.ctx, "  Viewer-USER ", testPassword, "192.0.2.1")
	if err != nil || s.UserID != b.users[admin.RoleViewer].ID || s.Name != "viewer-user" {
		t.Fatalf("Login(\"  Viewer-USER \") = %+v, %v; want viewer-user's session", s, err)
	}

	users := admin.NewUsers(b.rdb)
	if _, err := users.Create(b.ctx, "no-password", admin.RoleEditor, "test"); err != nil {
		t.Fatal(err)
	}
	compares := 0
	acc.compare = func(hash, pw []byte) error { compares++; return bcrypt.CompareHashAndPassword(hash, pw) }
	for _, tc := range []struct{ name, password string }{
		{"nobody", testPassword},
		{"no-password", "kepubot-console-dummy"}, // the dummy hash's own password
		{"editor-user", "wrong password!"},
	} {
		compares = 0
		if _, err := acc.Login(b.ctx, tc.name, tc.password, "192.0.2.2"); !errors.Is(err, ErrBadLogin) {
			t.Errorf("Login(%q, %q) = %v, want ErrBadLogin", tc.name, tc.password, err)
		}
		if compares != 1 {
			t.Errorf("Login(%q) made %d bcrypt comparisons, want 1 (equal timing)", tc.name, compares)
		}
	}

	// Failures count against the folded name: case does not reset them.
	for i := range maxNameFailures {
		name := "Organizer-User"
		if i%2 == 0 {
			name = "organizer-user"
		}
		if _, err := acc.Login(b.ctx, name, "wrong password!", "192.0.2.3"); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("failure %d = %v, want ErrBadLogin", i+1, err)
		}
	}
	var le *LimitedError
	if _, err := acc.Login(b.ctx, "ORGANIZER-USER", testPassword, "192.0.2.3"); !errors.As(err, &le) {
		t.Errorf("Login after %d failures in mixed case = %v, want *LimitedError", maxNameFailures, err)
	}
	// The guesser slowed down only themselves: from another address the
	// user logs in (finding 5: no lock-out of a named user).
	if _, err := acc.Login(b.ctx, "organizer-user", testPassword, "192.0.2.4"); err != nil {
		t.Errorf("Login from another address after someone's failures = %v, want a session", err)
	}
}

// TestLoginOldUsers: users stored before names were unique log in by
// name; of two with one name, the older keeps it and the younger cannot
// be given a password (ErrNameTaken).
func TestLoginOldUsers(t *testing.T) {
	t.Parallel()
	rdb := redistest.Start(t)
	ctx := t.Context()
	for _, u := range []admin.User{
		{ID: "u_1", Name: "老管理员", Role: admin.RoleAdmin},
		{ID: "u_2", Name: "Twin", Role: admin.RoleEditor},
		{ID: "u_3", Name: "twin", Role: admin.RoleViewer},
	} {
		if err := rdb.HSet(ctx, "kb:{admin}:users", u.ID, mustJSON(t, u)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	acc := NewAccounts(rdb, admin.NewUsers(rdb))
	acc.cost = bcrypt.MinCost
	for _, id := range []string{"u_1", "u_2"} {
		if err := acc.SetPassword(ctx, id, testPassword); err != nil {
			t.Fatalf("SetPassword(%s) = %v", id, err)
		}
	}
	if err := acc.SetPassword(ctx, "u_3", testPassword); !errors.Is(err, ErrNameTaken) {
		t.Errorf("SetPassword(younger twin) = %v, want ErrNameTaken", err)
	}
	for name, want := range map[string]string{"老管理员": "u_1", "TWIN": "u_2"} {
		if s, err := acc.Login(ctx, name, testPassword, "192.0.2.1"); err != nil || s.UserID != want {
			t.Errorf("Login(%q) = %+v, %v; want %s", name, s, err, want)
		}
	}
}
