package wechat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"syscall"

	"github.com/silenceper/wechat/v2/util"
)

// Error is an error answer from the WeChat API.
type Error struct {
	Code int    // errcode
	Msg  string // errmsg
	Op   string // our name of the API, e.g. "custom_send"

	// MsgID is set on a 45065 duplicate mass send: the earlier msg_id.
	MsgID int64
	err   error // the SDK's error, when it made the call
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("wechat %s: errcode=%d errmsg=%s", e.Op, e.Code, e.Msg)
}

// Unwrap returns the SDK's error, if any.
func (e *Error) Unwrap() error { return e.err }

// Class is what a caller should do about an error.
type Class int

const (
	// OK is the class of a nil error.
	OK Class = iota
	// Retry: system busy (-1), timeouts and network errors; retry with backoff.
	Retry
	// RateLimited: 45009, 45011; back off for a long while, don't hammer.
	RateLimited
	// TokenInvalid: 40001, 40014, 42001; the client already retried once.
	TokenInvalid
	// WindowClosed: 45015; the customer-service window is closed (or the
	// user unfollowed).
	WindowClosed
	// QuotaUsed: 45047; the window's message count is used up.
	QuotaUsed
	// Unfollowed: 43004; the user does not follow the account.
	Unfollowed
	// Duplicate: 45065; a mass send with this clientmsgid was already made.
	Duplicate
	// Permanent: anything else; retrying will not help.
	Permanent
)

var classNames = [...]string{"ok", "retry", "rate_limited", "token_invalid", "window_closed", "quota_used", "unfollowed", "duplicate", "permanent"}

// String returns a short lowercase name, suitable for a metric label.
func (c Class) String() string {
	if c >= 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

var codeClass = map[int]Class{
	-1:    Retry,
	45009: RateLimited,
	45011: RateLimited,
	40001: TokenInvalid,
	40014: TokenInvalid,
	42001: TokenInvalid,
	45015: WindowClosed,
	45047: QuotaUsed,
	43004: Unfollowed,
	45065: Duplicate,
}

// Classify tells a caller how to handle err.
func Classify(err error) Class {
	if err == nil {
		return OK
	}
	if code, ok := Code(err); ok {
		if c, ok := codeClass[code]; ok {
			return c
		}
		return Permanent
	}
	if errors.Is(err, context.Canceled) {
		return Permanent
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) {
		return Retry
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return Retry
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return Retry
	}
	if status, ok := httpStatus(err); ok && (status >= 500 || status == 429) {
		return Retry
	}
	return Permanent
}

// The SDK reports some errors only as text. These patterns match its
// formats in v2.1.10 (see errors_test.go), e.g.
//
//	customer msg send error : errcode=45015 , errmsg=...
//	template msg send error : errcode=43004 , errmsg=...
//	GetUserInfo Error , errcode=40003 , errmsg=...
//	CreateTag Error , errcode=45157 , errmsg=...
//	get qr_ticket error : errcode=40053 , errormsg=...
//	get stable access_token error : errcode=40125 , errormsg=...
//	get access_token error : errcode=40125 , errormsg=...
//	http post error : uri=... , statusCode=502
var (
	errcodeText = regexp.MustCompile(`errcode=(-?\d+)`)
	statusText  = regexp.MustCompile(`statusCode=(\d+)`)
	tokenText   = regexp.MustCompile(`access_token=[^&\s"]+`)
)

// Code extracts WeChat's errcode from err, whichever way it was reported:
// our *Error, the SDK's *util.CommonError, or the SDK's plain-text errors.
// It is the only place that reads error text.
func Code(err error) (int, bool) {
	if err == nil {
		return 0, false
	}
	var we *Error
	if errors.As(err, &we) {
		return we.Code, true
	}
	var ce *util.CommonError
	if errors.As(err, &ce) {
		return int(ce.ErrCode), true
	}
	if m := errcodeText.FindStringSubmatch(err.Error()); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			return n, true
		}
	}
	return 0, false
}

// httpStatus extracts the HTTP status from the SDK's non-200 errors.
func httpStatus(err error) (int, bool) {
	if m := statusText.FindStringSubmatch(err.Error()); m != nil {
		n, err := strconv.Atoi(m[1])
		return n, err == nil
	}
	return 0, false
}

// redacted hides access tokens, which the SDK's and net/http's errors
// carry in URLs, while keeping the cause for errors.Is and errors.As.
type redacted struct{ err error }

func (r redacted) Error() string { return redact(r.err.Error()) }
func (r redacted) Unwrap() error { return r.err }

func redact(s string) string { return tokenText.ReplaceAllString(s, "access_token=REDACTED") }

// wrap turns an error from an API call into an *Error when it carries an
// errcode, and otherwise adds the operation and hides tokens.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var we *Error
	if errors.As(err, &we) {
		if we.Op == "" {
			we.Op = op
		}
		return err
	}
	if code, ok := Code(err); ok {
		msg := redact(err.Error())
		var ce *util.CommonError
		if errors.As(err, &ce) {
			msg = ce.ErrMsg
		}
		return &Error{Code: code, Msg: msg, Op: op, err: redacted{err}}
	}
	return fmt.Errorf("wechat %s: %w", op, redacted{err})
}
