// Package feed pulls remote content feeds: documents in the same shape as
// the sample files (JSON or YAML) that partner publishers expose over
// HTTP. It only fetches; the importer parses and validates what it gets.
//
// Every pull is bounded: a per-request timeout, a limited number of
// retries with exponential backoff and jitter (on 5xx answers and
// transport errors such as timeouts, never on 4xx), and a body size limit.
// Pulls are conditional: the ETag and Last-Modified of the last good
// answer are remembered per source (see [Validators]) and sent back as
// If-None-Match and If-Modified-Since, so an unchanged feed costs a 304.
// [Fetcher.FetchAll] pulls many sources concurrently so one slow or broken
// feed never holds up the others.
package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/go-resty/resty/v2"
)

// Defaults used when the matching Options field is zero.
const (
	DefaultTimeout      = 15 * time.Second
	DefaultRetries      = 3
	DefaultBackoffMin   = 500 * time.Millisecond
	DefaultBackoffMax   = 10 * time.Second
	DefaultMaxBodyBytes = 5 << 20 // 5 MiB
	DefaultConcurrency  = 8
	DefaultUserAgent    = "kepubot-feed/1 (+https://kepu.example.org)"
)

// ErrTooLarge is returned when a feed body exceeds Options.MaxBodyBytes.
var ErrTooLarge = errors.New("feed body too large")

// StatusError is returned when a feed answers with a status other than
// 2xx or 304 (after the retries, for 5xx).
type StatusError struct {
	Source     string // the source's name
	StatusCode int
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("feed %s: unexpected status %d %s", e.Source, e.StatusCode, http.StatusText(e.StatusCode))
}

// Source is one remote feed, as configured.
type Source struct {
	Name    string `json:"name" yaml:"name"` // stable id; keys the remembered validators
	URL     string `json:"url" yaml:"url"`
	Trusted bool   `json:"trusted" yaml:"trusted"` // items enter as drafts unless the feed is trusted
}

// Result is what one pull brought back.
type Result struct {
	// Body is the feed document; empty when NotModified.
	Body []byte
	// ContentType is the Content-Type the feed answered with, which tells
	// the importer whether to parse JSON or YAML.
	ContentType string
	// NotModified reports a 304: nothing changed since the last pull.
	NotModified bool
	// ETag and LastModified are the validators of this answer (for a 304,
	// those that were sent).
	ETag, LastModified string
}

// Outcome is the result of one source in [Fetcher.FetchAll].
type Outcome struct {
	Source   Source
	Result   Result
	Err      error
	Duration time.Duration // how long the pull took, retries included
}

// Options tune a Fetcher. Zero fields take the Default* values.
type Options struct {
	Timeout      time.Duration // per HTTP attempt, body included
	Retries      int           // extra attempts after the first; negative means none
	BackoffMin   time.Duration // first backoff; doubles per attempt, with jitter
	BackoffMax   time.Duration // backoff cap
	MaxBodyBytes int           // larger bodies fail with ErrTooLarge
	Concurrency  int           // sources pulled at once by FetchAll
	UserAgent    string
	Logger       *slog.Logger // nil discards
	// Transport replaces the HTTP transport (tests, proxies); nil uses
	// a clone of http.DefaultTransport.
	Transport http.RoundTripper
	// AllowPrivateRedirects lets a feed redirect to loopback, private and
	// link-local addresses (tests, whose feeds listen on 127.0.0.1). Off,
	// as in production, such a redirect fails with ErrPrivateRedirect:
	// a feed must not make kepubot fetch from inside its own network.
	AllowPrivateRedirects bool
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	switch {
	case o.Retries == 0:
		o.Retries = DefaultRetries
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = DefaultBackoffMin
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = DefaultBackoffMax
	}
	if o.BackoffMax < o.BackoffMin {
		o.BackoffMax = o.BackoffMin
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	return o
}

// Fetcher pulls feeds. It is safe for concurrent use.
type Fetcher struct {
	client     *resty.Client
	validators Validators
	opts       Options
	logger     *slog.Logger
}

// NewFetcher returns a Fetcher that remembers validators in v. A nil v
// makes every pull unconditional.
func NewFetcher(v Validators, opts Options) (*Fetcher, error) {
	opts = opts.withDefaults()
	c := resty.New().
		SetTransport(opts.Transport).
		SetTimeout(opts.Timeout).
		SetRetryCount(opts.Retries).
		SetRetryWaitTime(opts.BackoffMin).
		SetRetryMaxWaitTime(opts.BackoffMax).
		SetResponseBodyLimit(opts.MaxBodyBytes).
		SetHeader("User-Agent", opts.UserAgent).
		SetHeader("Accept", "application/json, application/yaml, text/yaml;q=0.9, */*;q=0.5").
		SetLogger(restyLogger{opts.Logger}).
		AddRetryCondition(shouldRetry)
	if !opts.AllowPrivateRedirects {
		c.SetRedirectPolicy(resty.RedirectPolicyFunc(publicRedirectsOnly))
	}
	return &Fetcher{
		client:     c,
		validators: v,
		opts:       opts,
		logger:     opts.Logger.With("component", "feed"),
	}, nil
}

// shouldRetry retries 5xx answers and transport errors (timeouts, resets,
// malformed answers), but not 4xx, an oversized body or a cancelled
// context: those will not get better by asking again.
func shouldRetry(resp *resty.Response, err error) bool {
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, resty.ErrResponseBodyTooLarge) || errors.Is(err, ErrPrivateRedirect) {
			return false
		}
		var uerr *url.Error
		if errors.As(err, &uerr) && errors.Is(uerr.Err, context.Canceled) {
			return false
		}
		return true
	}
	return resp != nil && resp.StatusCode() >= 500
}

// Fetch pulls src once (with retries), conditionally when validators from
// an earlier good pull are remembered. After a 200 it remembers the new
// validators; failing to read or write them only makes the next pull
// unconditional, so it is logged, not returned.
//
// Validators are remembered as soon as the body arrives. If the caller
// fails to import a body for a reason of its own (not a bad feed), it can
// call Validators.Set with empty values to force a full pull next time.
func (f *Fetcher) Fetch(ctx context.Context, src Source) (Result, error) {
	if err := src.validate(); err != nil {
		return Result{}, err
	}
	log := f.logger.With("feed", src.Name)

	req := f.client.R().SetContext(ctx)
	var etag, lastMod string
	if f.validators != nil {
		var err error
		etag, lastMod, err = f.validators.Get(ctx, src.Name)
		if err != nil {
			log.Warn("feed validators unavailable, pulling unconditionally", "err", err)
			etag, lastMod = "", ""
		}
	}
	if etag != "" {
		req.SetHeader("If-None-Match", etag)
	}
	if lastMod != "" {
		req.SetHeader("If-Modified-Since", lastMod)
	}

	resp, err := req.Get(src.URL)
	if err != nil {
		if errors.Is(err, resty.ErrResponseBodyTooLarge) {
			return Result{}, fmt.Errorf("fetch feed %s: %w (limit %d bytes)", src.Name, ErrTooLarge, f.opts.MaxBodyBytes)
		}
		return Result{}, fmt.Errorf("fetch feed %s: %w", src.Name, err)
	}

	switch code := resp.StatusCode(); {
	case code == http.StatusNotModified:
		return Result{NotModified: true, ETag: etag, LastModified: lastMod}, nil
	case code < 200 || code > 299:
		return Result{}, &StatusError{Source: src.Name, StatusCode: code}
	}

	res := Result{
		Body:         resp.Body(),
		ContentType:  resp.Header().Get("Content-Type"),
		ETag:         resp.Header().Get("ETag"),
		LastModified: resp.Header().Get("Last-Modified"),
	}
	if f.validators != nil && (res.ETag != etag || res.LastModified != lastMod) {
		if err := f.validators.Set(ctx, src.Name, res.ETag, res.LastModified); err != nil {
			log.Warn("feed validators not saved", "err", err)
		}
	}
	return res, nil
}

// FetchAll pulls every source concurrently, at most Options.Concurrency at
// once, and returns one Outcome per source in the order given. A slow or
// failing source costs only its own slot and its own timeout; its error is
// in its Outcome.
func (f *Fetcher) FetchAll(ctx context.Context, sources []Source) []Outcome {
	out := make([]Outcome, len(sources))
	sem := make(chan struct{}, f.opts.Concurrency)
	var wg sync.WaitGroup
	for i, src := range sources {
		out[i].Source = src
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				out[i].Err = fmt.Errorf("fetch feed %s: %w", src.Name, ctx.Err())
				return
			}
			defer func() { <-sem }()
			start := time.Now()
			out[i].Result, out[i].Err = f.Fetch(ctx, src)
			out[i].Duration = time.Since(start)
			if out[i].Err != nil {
				f.logger.Warn("feed pull failed", "feed", src.Name, "err", out[i].Err, "duration", out[i].Duration)
			}
		})
	}
	wg.Wait()
	return out
}

func (s Source) validate() error {
	if s.Name == "" {
		return errors.New("feed source without a name")
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		return fmt.Errorf("feed %s: bad url: %w", s.Name, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("feed %s: url %q is not an http(s) url", s.Name, s.URL)
	}
	return nil
}

// restyLogger sends resty's own messages (retry notices) to slog at debug
// level, instead of resty's default stderr logger.
type restyLogger struct{ l *slog.Logger }

func (r restyLogger) Errorf(format string, v ...any) {
	r.l.Debug("resty", "msg", fmt.Sprintf(format, v...))
}
func (r restyLogger) Warnf(format string, v ...any) {
	r.l.Debug("resty", "msg", fmt.Sprintf(format, v...))
}
func (r restyLogger) Debugf(format string, v ...any) {
	r.l.Debug("resty", "msg", fmt.Sprintf(format, v...))
}
