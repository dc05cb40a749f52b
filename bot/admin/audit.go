package admin

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// auditMaxLen caps the audit stream (approximately: MAXLEN ~ trims whole
// stream nodes, which is cheap).
const auditMaxLen = 100_000

// auditTimeout bounds one audit write; it runs after the response is
// decided and must not hang a request.
const auditTimeout = 2 * time.Second

// AuditLog is an Auditor that appends every state-changing request to a
// capped Redis stream.
type AuditLog struct {
	rdb    redis.UniversalClient
	logger *slog.Logger
}

// NewAuditLog returns an audit log on rdb; failures to write are logged
// to logger (nil: discarded), never returned to the caller.
func NewAuditLog(rdb redis.UniversalClient, logger *slog.Logger) *AuditLog {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &AuditLog{rdb: rdb, logger: logger.With("component", "audit")}
}

// AuditRecord is one audit entry as the API shows it.
type AuditRecord struct {
	ID      string    `json:"id"`
	Time    time.Time `json:"time"`
	UserID  string    `json:"user_id"`
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Method  string    `json:"method"`
	Path    string    `json:"path"`
	Account string    `json:"account"`
	Status  int       `json:"status"`
}

// Audit implements Auditor. It outlives a cancelled request: a refused or
// aborted write is recorded too.
func (a *AuditLog) Audit(ctx context.Context, e AuditEntry) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	err := a.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: auditKey, MaxLen: auditMaxLen, Approx: true,
		Values: []any{
			"time", e.Time.UTC().Format(time.RFC3339Nano),
			"user_id", e.Principal.UserID, "name", e.Principal.Name, "role", string(e.Principal.Role),
			"method", e.Method, "path", e.Path, "account", e.Account, "status", strconv.Itoa(e.Status),
		},
	}).Err()
	if err != nil {
		a.logger.Error("audit write failed", "method", e.Method, "path", e.Path, "user_id", e.Principal.UserID, "err", err)
	}
}

// Recent returns the newest limit entries, newest first.
func (a *AuditLog) Recent(ctx context.Context, limit int) ([]AuditRecord, error) {
	msgs, err := a.rdb.XRevRangeN(ctx, auditKey, "+", "-", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	out := make([]AuditRecord, len(msgs))
	for i, m := range msgs {
		str := func(k string) string { s, _ := m.Values[k].(string); return s }
		t, _ := time.Parse(time.RFC3339Nano, str("time"))
		status, _ := strconv.Atoi(str("status"))
		out[i] = AuditRecord{ID: m.ID, Time: t, UserID: str("user_id"), Name: str("name"), Role: Role(str("role")),
			Method: str("method"), Path: str("path"), Account: str("account"), Status: status}
	}
	return out, nil
}

// Audit log page sizes.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
)

// RegisterAudit adds GET /api/v1/audit?limit= (admins only) and makes a
// the server's auditor.
func RegisterAudit(s *Server, a *AuditLog) {
	s.SetAuditor(a)
	s.HandleDeployment("GET /api/v1/audit", func(w http.ResponseWriter, r *http.Request, _ Principal) (any, error) {
		limit, err := intParam(r, "limit", defaultAuditLimit, 1, maxAuditLimit)
		if err != nil {
			return nil, err
		}
		entries, err := a.Recent(r.Context(), limit)
		if err != nil {
			return nil, err
		}
		return map[string]any{"entries": entries}, nil
	})
}

// intParam reads an integer query parameter in [min, max], def when absent.
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, Invalid(map[string]string{name: fmt.Sprintf("an integer %d–%d", lo, hi)}, "invalid %s", name)
	}
	return n, nil
}
