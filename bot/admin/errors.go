package admin

import (
	"errors"
	"fmt"
	"net/http"
)

// Errors handlers return; ErrorStatus maps them (and domain errors wrapped
// in them) to HTTP statuses.
var (
	ErrUnauthorized = errors.New("missing or invalid token")
	ErrForbidden    = errors.New("your role may not do this")
	// ErrNotMember is a caller with no role in the account a request
	// addresses (403).
	ErrNotMember   = fmt.Errorf("%w: you have no role in this account", ErrForbidden)
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("conflict")
	ErrUnavailable = errors.New("temporarily unavailable")
)

// InvalidError is a bad request, with per-field messages where known.
type InvalidError struct {
	Msg    string
	Fields map[string]string
	// Position, when HasPosition, is where in an expression the error is
	// (answered as "position").
	Position    int
	HasPosition bool
	// Err, when not nil, is the condition behind it, for errors.Is.
	Err error
}

func (e *InvalidError) Error() string { return e.Msg }
func (e *InvalidError) Unwrap() error { return e.Err }

// Invalid returns a bad-request error; fields may be nil.
func Invalid(fields map[string]string, format string, args ...any) error {
	return &InvalidError{Msg: fmt.Sprintf(format, args...), Fields: fields}
}

// StatusError pairs an error with the HTTP status to answer it with.
// Domain packages never return it; a handler wraps a domain error in one
// when the mapping is specific to that handler.
type StatusError struct {
	Status int
	Err    error
}

func (e *StatusError) Error() string { return e.Err.Error() }
func (e *StatusError) Unwrap() error { return e.Err }

// ErrorStatusOrOK is ErrorStatus, or 200 for a nil error.
func ErrorStatusOrOK(err error) int {
	if err == nil {
		return http.StatusOK
	}
	return ErrorStatus(err)
}

// ErrorStatus maps an error to its HTTP status.
func ErrorStatus(err error) int {
	var se *StatusError
	var ie *InvalidError
	switch {
	case errors.As(err, &se):
		return se.Status
	case errors.As(err, new(*ThrottledError)):
		return http.StatusTooManyRequests
	case errors.As(err, &ie):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
