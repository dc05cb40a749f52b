package wechattest

import (
	"strings"
	"time"
)

// Fault makes matching API calls fail or slow down. A faulted call that
// fails has no effect on the fake's state.
type Fault struct {
	// AppID limits the fault to one account; "" matches any.
	AppID string
	// Path is a path prefix, e.g. "/cgi-bin/message/"; "" matches any.
	Path string
	// Rate is the probability (0..1, from the seeded source) that a
	// matching call is faulted.
	Rate float64
	// Count faults the next Count matching calls, then the fault is gone.
	// With neither Rate nor Count, every matching call is faulted.
	Count int
	// ErrCode is the errcode answered, e.g. -1 or 45009; 0 answers
	// normally after Latency.
	ErrCode int
	// Latency delays the answer.
	Latency time.Duration
}

type faultState struct {
	f    Fault
	left int
}

// InjectFault adds a fault. Faults are checked in the order they were added.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{f: f, left: f.Count})
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// matchFault picks the fault for a request, if any, and consumes one use.
func (s *Server) matchFault(q *request) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, fs := range s.faults {
		f := fs.f
		if f.AppID != "" && f.AppID != q.appID {
			continue
		}
		if !strings.HasPrefix(q.r.URL.Path, f.Path) {
			continue
		}
		switch {
		case f.Count > 0:
			fs.left--
			if fs.left <= 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
			return f, true
		case f.Rate > 0:
			if s.rnd.Float64() < f.Rate {
				return f, true
			}
		default:
			return f, true
		}
	}
	return Fault{}, false
}
