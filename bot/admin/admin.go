// Package admin serves kepubot's admin API (/api/v1/...): JSON over HTTP,
// authenticated by bearer tokens, each request checked against the caller's
// role. Handlers stay thin: they decode and validate the request, call the
// domain packages, and map domain errors to HTTP statuses (ErrorStatus).
//
// Each area of the API has its own file (subscribers.go, qrcodes.go, ...)
// with a register function that Server.routes calls.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/profile"
)

// HandlerFunc is an admin handler: it returns the value to encode as JSON
// (with status 200, or 201 when it is a Created) or an error.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, p Principal) (any, error)

// Created marks a response body as a newly created resource (201).
type Created struct{ Body any }

// Server is the admin API's HTTP handler.
type Server struct {
	auth   Authenticator
	audit  Auditor
	now    func() time.Time // nil: time.Now
	logger *slog.Logger
	// throttle, when set, slows down wrong bearer tokens per client
	// address (ThrottleTokens).
	throttle *Throttle
	clientIP func(*http.Request) string
	// accounts, when set, are the accounts served (SetAccounts);
	// defaultAccount is the first of them, addressed when a request names
	// none.
	accounts       map[string]bool
	defaultAccount string
	mux            *http.ServeMux
	// routes is every pattern registered, in order, for Routes.
	mu     sync.Mutex
	routes []Route
}

// Route is one registered route of the admin API.
type Route struct {
	Pattern string // "METHOD /path", as given to Handle
	// Roles may call it besides admins (empty: admins only).
	Roles []Role
	// Deployment routes (users, accounts, the audit log) address no
	// account: only a deployment-wide admin may call them.
	Deployment bool
}

// Routes returns every route registered so far, in registration order.
// The OpenAPI document and its test compare against it.
func (s *Server) Routes() []Route {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Route, len(s.routes))
	for i, r := range s.routes {
		out[i] = Route{Pattern: r.Pattern, Roles: slices.Clone(r.Roles), Deployment: r.Deployment}
	}
	return out
}

// handleRaw registers a handler that writes its own answer (not JSON),
// recording it like Handle. The handler authenticates and checks roles
// itself, with s.authenticate and allowed.
func (s *Server) handleRaw(pattern string, h http.HandlerFunc, roles ...Role) {
	s.record(pattern, roles, false)
	s.mux.HandleFunc(pattern, h)
}

func (s *Server) record(pattern string, roles []Role, deployment bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes = append(s.routes, Route{Pattern: pattern, Roles: slices.Clone(roles), Deployment: deployment})
}

// scope is what a route addresses, and so who may call it.
type scope int

const (
	scopeAccount    scope = iota // one account (?account=): a role there
	scopeDeployment              // the whole deployment: a deployment-wide admin
	scopeCaller                  // the caller's own view: anyone authenticated
)

// authorize authenticates r and checks the caller may call a route for
// roles in the account r addresses (or, for a deployment route, is a
// deployment-wide admin). It returns the request carrying its account
// and the caller as it acts there.
func (s *Server) authorize(r *http.Request, roles []Role, sc scope) (*http.Request, Principal, error) {
	p, err := s.authenticate(r)
	if err != nil {
		return r, p, err
	}
	if sc == scopeCaller {
		return r, p, nil
	}
	if sc == scopeDeployment {
		if !p.DeploymentAdmin() {
			return r, p, fmt.Errorf("%w: only an admin of the whole deployment may do this", ErrForbidden)
		}
		return r, p, nil
	}
	r, err = s.resolveAccount(r)
	if err != nil {
		return r, p, err
	}
	account := Account(r)
	role, ok := p.RoleIn(account)
	if !ok {
		return r, p, ErrNotMember
	}
	if !allowed(role, roles) {
		return r, p.In(account), ErrForbidden
	}
	return r, p.In(account), nil
}

// AuditEntry is one state-changing admin request, as the audit log keeps it.
type AuditEntry struct {
	Principal Principal
	Method    string
	Path      string
	Account   string
	Status    int
	Time      time.Time
}

// Auditor records every state-changing request (any method but GET/HEAD),
// allowed or refused.
type Auditor interface {
	Audit(ctx context.Context, e AuditEntry)
}

// SetAuditor sets where state-changing requests are recorded.
func (s *Server) SetAuditor(a Auditor) { s.audit = a }

// SetClock sets the clock of the audit log's times (default time.Now): the
// demo's simulated clock, so the API's entries and the console's agree.
func (s *Server) SetClock(now func() time.Time) { s.now = now }

// NewServer returns an admin API server with no routes but its OpenAPI
// document's; areas add theirs with Handle.
func NewServer(auth Authenticator, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{auth: auth, logger: logger.With("component", "admin"), mux: http.NewServeMux()}
	s.handleRaw("GET "+OpenAPIPath, s.serveOpenAPI) // public: see openapi.go
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Handle registers h for pattern (e.g. "GET /api/v1/subscribers/{openid}"),
// allowed for the given roles (admin is always allowed).
func (s *Server) Handle(pattern string, h HandlerFunc, roles ...Role) {
	s.handle(pattern, h, true, scopeAccount, roles)
}

// HandleDeployment registers h for a route of the whole deployment
// (users, accounts, the audit log): only a deployment-wide admin may call
// it, and it addresses no account.
func (s *Server) HandleDeployment(pattern string, h HandlerFunc) {
	s.handle(pattern, h, true, scopeDeployment, nil)
}

// HandleCaller registers h for a route that addresses no account and
// answers what the caller may see (its own accounts): anyone
// authenticated may call it.
func (s *Server) HandleCaller(pattern string, h HandlerFunc) {
	s.handle(pattern, h, true, scopeCaller, Roles())
}

// HandleQuery is Handle for a POST that changes nothing (it takes its
// question as a body, like a segment preview): it is not audited, so that
// a live count as an organizer types does not flood the audit log.
func (s *Server) HandleQuery(pattern string, h HandlerFunc, roles ...Role) {
	s.handle(pattern, h, false, scopeAccount, roles)
}

func (s *Server) handle(pattern string, h HandlerFunc, audited bool, sc scope, roles []Role) {
	s.record(pattern, roles, sc == scopeDeployment)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		r, p, err := s.authorize(r, roles, sc)
		var body any
		hw := &writeTracker{ResponseWriter: w}
		if err == nil {
			body, err = h(hw, r, p)
		}
		defer func() {
			if audited && s.audit != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
				s.audit.Audit(r.Context(), AuditEntry{Principal: p, Method: r.Method, Path: r.URL.Path,
					Account: Account(r), Status: ErrorStatusOrOK(err), Time: s.clock()})
			}
		}()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		status := http.StatusOK
		if c, ok := body.(Created); ok {
			status, body = http.StatusCreated, c.Body
		}
		if body == nil {
			if !hw.wrote { // a handler that wrote its own answer (a CSV file) is done
				w.WriteHeader(http.StatusNoContent)
			}
			return
		}
		WriteJSON(w, status, body)
	})
}

// writeTracker notes whether a handler wrote its own answer.
type writeTracker struct {
	http.ResponseWriter
	wrote bool
}

func (t *writeTracker) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *writeTracker) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

// Roles lists every role; use it for read-only routes anyone may call.
func Roles() []Role {
	return []Role{RoleAdmin, RoleEditor, RoleReviewer, RoleOrganizer, RoleViewer}
}

func allowed(r Role, roles []Role) bool {
	if r == RoleAdmin {
		return true
	}
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

// principalKey is the context key of an in-process caller's principal.
type principalKey struct{}

// WithPrincipal returns a context whose requests the Server serves as p,
// without a bearer token. It is for in-process callers that authenticated
// the user themselves (the web console calls the API this way); a request
// from the network cannot carry a context value.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

func (s *Server) authenticate(r *http.Request) (Principal, error) {
	if p, ok := r.Context().Value(principalKey{}).(Principal); ok && p.Valid() {
		return p, nil
	}
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" || s.auth == nil {
		return Principal{}, ErrUnauthorized
	}
	if s.throttle == nil {
		return s.auth.Authenticate(r.Context(), strings.TrimSpace(token))
	}
	ctr := Counter{Key: bearerFailKey(s.clientIP(r)), Free: maxTokenFailures, Base: time.Second}
	wait, err := s.throttle.Wait(r.Context(), ctr)
	if err != nil {
		return Principal{}, err
	}
	if wait > 0 {
		return Principal{}, &ThrottledError{RetryAfter: max(wait, time.Second)}
	}
	p, err := s.auth.Authenticate(r.Context(), strings.TrimSpace(token))
	if errors.Is(err, ErrUnauthorized) {
		s.throttle.Reserve(r.Context(), ctr) // counted; the next one may wait
	}
	return p, err
}

// SetAccounts names the accounts the API serves, the default (addressed
// when a request names none) first: a request whose account parameter
// names another is a 404, before any handler builds a Redis key from it.
func (s *Server) SetAccounts(ids []string) {
	accounts := map[string]bool{}
	for _, id := range ids {
		accounts[id] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts = accounts
	if len(ids) > 0 {
		s.defaultAccount = ids[0]
	}
}

// Serves reports whether the API serves account id.
func (s *Server) Serves(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accounts[id]
}

// Accounts lists the accounts served, the default first.
func (s *Server) Accounts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.accounts))
	for id := range s.accounts {
		if id != s.defaultAccount {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	if s.defaultAccount != "" {
		out = append([]string{s.defaultAccount}, out...)
	}
	return out
}

// AddAccount serves one more account (an account added at run time).
func (s *Server) AddAccount(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.accounts == nil {
		s.accounts = map[string]bool{}
	}
	s.accounts[id] = true
	if s.defaultAccount == "" {
		s.defaultAccount = id
	}
}

// accountKey is the context key of the account a request addresses.
type accountKey struct{}

// resolveAccount refuses an account parameter that is malformed (400) or
// not served (404), and returns the request carrying the account it
// addresses (the default one when it names none), for Account.
func (s *Server) resolveAccount(r *http.Request) (*http.Request, error) {
	a := r.URL.Query().Get("account")
	s.mu.Lock()
	known, def := s.accounts[a], s.defaultAccount
	s.mu.Unlock()
	switch {
	case a == "":
		if def == "" {
			return r, fmt.Errorf("no WeChat account is configured: %w", ErrNotFound)
		}
		a = def
	case !profile.ValidAccount(a):
		return r, Invalid(map[string]string{"account": "1-32 of a-z, 0-9, _ and -"}, "invalid account")
	case !known:
		return r, fmt.Errorf("account %s: %w", a, ErrNotFound)
	}
	return r.WithContext(context.WithValue(r.Context(), accountKey{}, a)), nil
}

// ThrottleTokens makes wrong bearer tokens from one client address (as
// clientIP finds it) slow down the next attempts from there: after
// maxTokenFailures, each waits twice as long as the last, up to
// ThrottleCap (429 with Retry-After meanwhile).
func (s *Server) ThrottleTokens(t *Throttle, clientIP func(*http.Request) string) {
	s.throttle, s.clientIP = t, clientIP
}

// maxTokenFailures is how many wrong bearer tokens an address may send
// before it is slowed down.
const maxTokenFailures = 10

// ThrottledError is a request refused because of too many failures from
// its address.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed attempts; retry in %s", e.RetryAfter.Round(time.Second))
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := ErrorStatus(err)
	msg := err.Error()
	body := map[string]any{"error": msg}
	var ie *InvalidError
	if errors.As(err, &ie) {
		if len(ie.Fields) > 0 {
			body["fields"] = ie.Fields
		}
		if ie.HasPosition {
			body["position"] = ie.Position
		}
	}
	if status == http.StatusInternalServerError {
		// Internal details stay in the log; the caller gets a plain message.
		s.logger.Error("admin request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		body["error"] = "internal error"
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kepubot"`)
	}
	if te, ok := errors.AsType[*ThrottledError](err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(te.RetryAfter.Round(time.Second).Seconds())))
	}
	WriteJSON(w, status, body)
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// maxBody bounds request bodies.
const maxBody = 1 << 20

// DecodeJSON decodes the request body into v strictly: unknown fields,
// trailing data and oversized bodies are bad requests.
func DecodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Invalid(nil, "invalid JSON body: %v", err)
	}
	if dec.More() {
		return Invalid(nil, "invalid JSON body: trailing data")
	}
	return nil
}

// Account returns the account a request addresses, as the Server
// resolved it (the `account` query parameter, or the default account).
func Account(r *http.Request) string {
	if a, ok := r.Context().Value(accountKey{}).(string); ok {
		return a
	}
	return r.URL.Query().Get("account")
}

func (s *Server) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}
