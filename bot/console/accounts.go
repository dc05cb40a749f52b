package console

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/zengcheng-kexie/kepubot/bot/admin"
)

// Password rules. bcrypt reads at most 72 bytes; a longer password would
// silently match any password sharing its first 72 bytes, so it is refused.
const (
	MinPasswordLen = 10
	maxPasswordLen = 72
)

// Login limits. Failed logins slow down rather than lock out (an
// exponential back-off, admin.Throttle): a name from one address gets
// maxNameFailures attempts before each next one waits 1 s, 2 s, 4 s… up to
// admin.ThrottleCap; a name from any address (a distributed guess) and one
// address (an office shares one) get maxIPFailures. Someone guessing a
// colleague's password from their own address slows only themselves.
const (
	maxNameFailures = 5
	maxIPFailures   = 20
	failBase        = time.Second
)

// SessionTTL is how long a console session lasts after login.
const SessionTTL = 12 * time.Hour

// Errors callers branch on.
var (
	// ErrUnknownUser is SetPassword's answer for a user id the admin API
	// does not know.
	ErrUnknownUser = errors.New("unknown user")
	// ErrNameTaken is SetPassword's answer when the user's name leads to
	// another user at login. Names are unique (admin.Users), but two users
	// created before they were can share one; the older keeps it.
	ErrNameTaken = errors.New("another user already logs in to the console with this name")
	// ErrBadLogin is a wrong name or password; which of the two is not said.
	ErrBadLogin = errors.New("wrong name or password")
	// ErrNoSession is a missing, expired or logged-out session.
	ErrNoSession = errors.New("no session")
)

// PasswordError is a password that breaks the rules; Msg says which, in
// Chinese, for the person choosing it.
type PasswordError struct{ Msg string }

func (e *PasswordError) Error() string { return "invalid password: " + e.Msg }

// LimitedError is a login refused because of too many failed attempts.
type LimitedError struct{ RetryAfter time.Duration }

func (e *LimitedError) Error() string {
	return fmt.Sprintf("too many failed logins; retry in %s", e.RetryAfter.Round(time.Second))
}

// Accounts keeps console passwords and sessions for the admin API's
// users. The console uses one; a command line that sets the first
// admin's password needs nothing else.
type Accounts struct {
	rdb   redis.UniversalClient
	users *admin.Users
	now   func() time.Time
	cost  int // bcrypt cost; tests lower it
	// throttle slows down failed logins (loginCounters).
	throttle *admin.Throttle
	// dummy is compared against when a name is unknown (or has no
	// password), so that a login takes as long for a name that exists as
	// for one that does not. It has the accounts' cost and is made on
	// first use, not at start.
	dummy func() []byte
	// compare is bcrypt.CompareHashAndPassword; tests count its calls.
	compare func(hash, password []byte) error
}

// NewAccounts returns the console accounts of users, kept in rdb.
func NewAccounts(rdb redis.UniversalClient, users *admin.Users) *Accounts {
	a := &Accounts{rdb: rdb, users: users, now: time.Now, cost: bcrypt.DefaultCost,
		compare: bcrypt.CompareHashAndPassword}
	a.throttle = admin.NewThrottle(rdb, func() time.Time { return a.now() })
	a.dummy = sync.OnceValue(func() []byte {
		h, _ := bcrypt.GenerateFromPassword([]byte("kepubot-console-dummy"), a.cost)
		return h
	})
	return a
}

// Session is a logged-in console user.
type Session struct {
	admin.Principal
	// CSRF is the token every state-changing form carries.
	CSRF string
	// Account is the WeChat account this request works on (not stored:
	// see withAccount).
	Account string
	Expires time.Time
	id      string // the cookie value
	hash    string // its SHA-256, the key in Redis
}

func checkPassword(pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return &PasswordError{Msg: fmt.Sprintf("密码至少 %d 个字符", MinPasswordLen)}
	case len(pw) > maxPasswordLen:
		return &PasswordError{Msg: fmt.Sprintf("密码最多 %d 字节", maxPasswordLen)}
	}
	return nil
}

// lookupUser finds an admin API user by id.
func (a *Accounts) lookupUser(ctx context.Context, id string) (admin.User, error) {
	u, err := a.users.ByID(ctx, id)
	if errors.Is(err, admin.ErrNotFound) {
		return admin.User{}, fmt.Errorf("%w: %s", ErrUnknownUser, id)
	}
	return u, err
}

// SetPassword sets the console password of the admin API user userID, who
// then logs in with their user name. It ends every session the user has,
// so a changed password locks out whoever knew the old one.
func (a *Accounts) SetPassword(ctx context.Context, userID, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	u, err := a.lookupUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), a.cost)
	if err != nil {
		return fmt.Errorf("set password of %s: %w", userID, err)
	}
	// The user logs in with their name: it must lead to them.
	owner, err := a.users.ByName(ctx, u.Name)
	if err != nil && !errors.Is(err, admin.ErrNotFound) {
		return fmt.Errorf("set password of %s: %w", userID, err)
	}
	if err != nil || owner.ID != userID {
		return fmt.Errorf("set password of %s: %w", userID, ErrNameTaken)
	}
	if err := a.rdb.Set(ctx, passwordKey(userID), hash, 0).Err(); err != nil {
		return fmt.Errorf("set password of %s: %w", userID, err)
	}
	return a.LogoutEverywhere(ctx, userID)
}

// HasPassword reports, for each user id, whether it has a console password.
func (a *Accounts) HasPassword(ctx context.Context, userIDs ...string) ([]bool, error) {
	out := make([]bool, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	keys := make([]string, len(userIDs))
	for i, id := range userIDs {
		keys[i] = passwordKey(id)
	}
	vals, err := a.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("has password: %w", err)
	}
	for i, v := range vals {
		out[i] = v != nil
	}
	return out, nil
}

// Login checks name and password, counting failures against the name and
// the client IP, and returns a new session. It returns *LimitedError while
// either is locked, ErrBadLogin for a wrong name or password.
func (a *Accounts) Login(ctx context.Context, name, password, ip string) (*Session, error) {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 64 {
		name = string([]rune(name)[:64])
	}
	// Failures count against the name as it is compared: "Wang" and
	// "wang" are one name, with one limit.
	folded := admin.FoldName(name)
	// The attempt is counted before the password is checked, in the same
	// step that checks the limits: parallel guesses cannot all get in.
	wait, err := a.throttle.Reserve(ctx, loginCounters(folded, ip)...)
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	if wait > 0 {
		return nil, &LimitedError{RetryAfter: max(wait, time.Second)}
	}
	u, err := a.users.ByName(ctx, name)
	if err != nil && !errors.Is(err, admin.ErrNotFound) {
		return nil, fmt.Errorf("login: %w", err)
	}
	known := err == nil
	// An unknown name, or a user without a console password, is compared
	// against the dummy hash too, and refused whatever it matches.
	hash, hasPassword := a.dummy(), false
	if known {
		h, err := a.rdb.Get(ctx, passwordKey(u.ID)).Bytes()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("login: %w", err)
		}
		if h != nil {
			hash, hasPassword = h, true
		}
	}
	if a.compare(hash, []byte(password)) != nil || !hasPassword {
		return nil, ErrBadLogin // counted above
	}
	if err := a.throttle.Reset(ctx, pairFailKey(folded, ip), nameFailKey(folded)); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	if err := a.throttle.Forgive(ctx, ipFailKey(ip)); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	return a.newSession(ctx, u.Principal())
}

// loginCounters are the throttle counters of a login attempt.
func loginCounters(folded, ip string) []admin.Counter {
	return []admin.Counter{
		{Key: pairFailKey(folded, ip), Free: maxNameFailures, Base: failBase},
		{Key: nameFailKey(folded), Free: maxIPFailures, Base: failBase},
		{Key: ipFailKey(ip), Free: maxIPFailures, Base: failBase},
	}
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// newSession stores a session for p; only its id's hash is kept in Redis.
func (a *Accounts) newSession(ctx context.Context, p admin.Principal) (*Session, error) {
	id, err := randomToken()
	if err != nil {
		return nil, fmt.Errorf("new session: %w", err)
	}
	csrf, err := randomToken()
	if err != nil {
		return nil, fmt.Errorf("new session: %w", err)
	}
	accounts, err := json.Marshal(p.Accounts)
	if err != nil {
		return nil, fmt.Errorf("new session: %w", err)
	}
	now := a.now()
	s := &Session{Principal: p, CSRF: csrf, Expires: now.Add(SessionTTL), hash: hashSessionID(id)}
	_, err = a.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		key := sessionKey(s.hash)
		pipe.HSet(ctx, key, "uid", p.UserID, "name", p.Name, "role", string(p.Role), "csrf", csrf,
			"exp", strconv.FormatInt(s.Expires.Unix(), 10), "accounts", string(accounts), "dept", p.Department)
		pipe.Expire(ctx, key, SessionTTL)
		us := userSessionsKey(p.UserID)
		pipe.ZRemRangeByScore(ctx, us, "-inf", strconv.FormatInt(now.Unix(), 10))
		pipe.ZAdd(ctx, us, redis.Z{Score: float64(s.Expires.Unix()), Member: s.hash})
		pipe.Expire(ctx, us, SessionTTL)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("new session: %w", err)
	}
	s.id = id
	return s, nil
}

// session returns the session of a cookie value, or ErrNoSession.
func (a *Accounts) session(ctx context.Context, id string) (*Session, error) {
	if len(id) != 64 {
		return nil, ErrNoSession
	}
	hash := hashSessionID(id)
	m, err := a.rdb.HGetAll(ctx, sessionKey(hash)).Result()
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	if m["uid"] == "" || m["csrf"] == "" {
		return nil, ErrNoSession
	}
	exp, _ := strconv.ParseInt(m["exp"], 10, 64)
	p := admin.Principal{UserID: m["uid"], Name: m["name"], Role: admin.Role(m["role"]), Department: m["dept"]}
	if raw := m["accounts"]; raw != "" && raw != "null" {
		if err := json.Unmarshal([]byte(raw), &p.Accounts); err != nil {
			return nil, fmt.Errorf("session: accounts: %w", err)
		}
	}
	return &Session{
		Principal: p,
		CSRF:      m["csrf"], Expires: time.Unix(exp, 0), hash: hash, id: id,
	}, nil
}

// logout ends one session.
func (a *Accounts) logout(ctx context.Context, s *Session) error {
	_, err := a.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, sessionKey(s.hash))
		p.ZRem(ctx, userSessionsKey(s.UserID), s.hash)
		return nil
	})
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

//go:embed scripts/logout_all.lua
var logoutAllLua string

// logoutAllScript ends every session of a user: scripts/logout_all.lua.
var logoutAllScript = redis.NewScript(logoutAllLua)

// LogoutEverywhere ends every console session of the user.
func (a *Accounts) LogoutEverywhere(ctx context.Context, userID string) error {
	err := logoutAllScript.Run(ctx, a.rdb, []string{userSessionsKey(userID)}, sessionKey("")).Err()
	if err != nil {
		return fmt.Errorf("logout %s everywhere: %w", userID, err)
	}
	return nil
}
