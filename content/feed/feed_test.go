package feed

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zengcheng-kexie/kepubot/bot/redistest"
)

const goodBody = "items:\n  - external_id: feed-001\n    title: 荔枝花期管理\n"

// server is an httptest feed that counts its hits and records the
// conditional headers of the last request.
type server struct {
	*httptest.Server
	hits        atomic.Int32
	ifNoneMatch atomic.Value // string
	ifModSince  atomic.Value // string
}

func newServer(t *testing.T, h func(s *server, w http.ResponseWriter, r *http.Request)) *server {
	t.Helper()
	s := &server{}
	s.ifNoneMatch.Store("")
	s.ifModSince.Store("")
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.ifNoneMatch.Store(r.Header.Get("If-None-Match"))
		s.ifModSince.Store(r.Header.Get("If-Modified-Since"))
		h(s, w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func goodFeed(t *testing.T) *server {
	const etag, lastMod = `"v1"`, "Wed, 01 Sep 2027 08:00:00 GMT"
	return newServer(t, func(_ *server, w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == etag || r.Header.Get("If-Modified-Since") == lastMod {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/yaml")
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", lastMod)
		_, _ = w.Write([]byte(goodBody))
	})
}

// slowFeed answers only when the client gives up (or the test ends).
func slowFeed(t *testing.T) *server {
	release := make(chan struct{})
	s := newServer(t, func(_ *server, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before s.Close
	return s
}

// garbageFeed answers with bytes that are not HTTP at all.
func garbageFeed(t *testing.T) *server {
	return newServer(t, func(_ *server, w http.ResponseWriter, _ *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		_, _ = buf.WriteString("\x00\x01 this is not http \r\n\r\n")
		_ = buf.Flush()
		_ = conn.Close()
	})
}

func statusFeed(t *testing.T, code int) *server {
	return newServer(t, func(_ *server, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(code)
	})
}

type bundle struct {
	fetcher    *Fetcher
	validators *RedisValidators
}

func setup(t *testing.T, opts Options) bundle {
	t.Helper()
	v := NewRedisValidators(redistest.Start(t))
	if opts.BackoffMin == 0 {
		opts.BackoffMin = time.Millisecond
		opts.BackoffMax = 5 * time.Millisecond
	}
	f, err := NewFetcher(v, opts)
	if err != nil {
		t.Fatalf("NewFetcher: %v", err)
	}
	return bundle{fetcher: f, validators: v}
}

func TestFetchAllBadFeedsDoNotBlockGoodOne(t *testing.T) {
	t.Parallel()
	const timeout = 500 * time.Millisecond
	// A small body limit: reading 5 MiB can outlast the timeout on a
	// loaded machine under -race, and a timeout is retried.
	const limit = 64 << 10
	b := setup(t, Options{Timeout: timeout, Retries: 1, MaxBodyBytes: limit})
	good, slow, broken, garbage := goodFeed(t), slowFeed(t), statusFeed(t, 500), garbageFeed(t)
	huge := newServer(t, func(_ *server, w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(make([]byte, limit+1))
	})

	sources := []Source{
		{Name: "slow", URL: slow.URL},
		{Name: "broken", URL: broken.URL},
		{Name: "garbage", URL: garbage.URL},
		{Name: "huge", URL: huge.URL},
		{Name: "good", URL: good.URL, Trusted: true},
	}
	out := b.fetcher.FetchAll(t.Context(), sources)
	if len(out) != len(sources) {
		t.Fatalf("FetchAll returned %d outcomes, want %d", len(out), len(sources))
	}
	for i, o := range out {
		if o.Source != sources[i] {
			t.Errorf("outcome %d is for %q, want %q", i, o.Source.Name, sources[i].Name)
		}
	}

	g := out[4]
	if g.Err != nil {
		t.Fatalf("good feed: %v", g.Err)
	}
	if string(g.Result.Body) != goodBody || g.Result.ContentType != "application/yaml" {
		t.Errorf("good feed = %q (%s), want %q (application/yaml)", g.Result.Body, g.Result.ContentType, goodBody)
	}
	if g.Duration >= timeout {
		t.Errorf("good feed took %v, not under the slow feed's timeout %v: it was blocked", g.Duration, timeout)
	}

	if err := out[0].Err; err == nil {
		t.Errorf("slow feed: no error, want a timeout")
	}
	if n := slow.hits.Load(); n != 2 {
		t.Errorf("slow feed hit %d times, want 2 (timeouts are retried once)", n)
	}
	var se *StatusError
	if err := out[1].Err; !errors.As(err, &se) || se.StatusCode != 500 {
		t.Errorf("500 feed: err = %v, want StatusError 500", err)
	}
	if n := broken.hits.Load(); n != 2 {
		t.Errorf("500 feed hit %d times, want 2", n)
	}
	if err := out[2].Err; err == nil {
		t.Errorf("garbage feed: no error")
	}
	if err := out[3].Err; !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge feed: err = %v, want ErrTooLarge", err)
	}
	if n := huge.hits.Load(); n != 1 {
		t.Errorf("huge feed hit %d times, want 1 (no retry)", n)
	}
}

func TestFetchSecondPullIsConditional(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	good := goodFeed(t)
	src := Source{Name: "partner", URL: good.URL}

	first, err := b.fetcher.Fetch(t.Context(), src)
	if err != nil {
		t.Fatalf("first Fetch: %v", err)
	}
	if first.NotModified || string(first.Body) != goodBody {
		t.Fatalf("first Fetch = %+v, want the body", first)
	}
	if got := good.ifNoneMatch.Load().(string); got != "" {
		t.Errorf("first pull sent If-None-Match %q, want none", got)
	}
	etag, lastMod, err := b.validators.Get(t.Context(), "partner")
	if err != nil || etag != `"v1"` || lastMod != "Wed, 01 Sep 2027 08:00:00 GMT" {
		t.Errorf("remembered validators = %q, %q, %v; want \"v1\" and the Last-Modified", etag, lastMod, err)
	}

	second, err := b.fetcher.Fetch(t.Context(), src)
	if err != nil {
		t.Fatalf("second Fetch: %v", err)
	}
	if !second.NotModified || len(second.Body) != 0 {
		t.Errorf("second Fetch = %+v, want NotModified with no body", second)
	}
	if got := good.ifNoneMatch.Load().(string); got != `"v1"` {
		t.Errorf("second pull If-None-Match = %q, want %q", got, `"v1"`)
	}
	if got := good.ifModSince.Load().(string); got != "Wed, 01 Sep 2027 08:00:00 GMT" {
		t.Errorf("second pull If-Modified-Since = %q", got)
	}

	// Forgetting the validators makes the next pull unconditional.
	if err := b.validators.Set(t.Context(), "partner", "", ""); err != nil {
		t.Fatal(err)
	}
	third, err := b.fetcher.Fetch(t.Context(), src)
	if err != nil || third.NotModified {
		t.Errorf("Fetch after forgetting = %+v, %v; want a full body", third, err)
	}
}

func TestFetchRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		failures int // answers with code before a 200
		code     int
		wantHits int32
		wantCode int // 0: success
	}{
		{name: "503 twice then ok", failures: 2, code: http.StatusServiceUnavailable, wantHits: 3},
		{name: "404 is not retried", failures: 100, code: http.StatusNotFound, wantHits: 1, wantCode: 404},
		{name: "429 is not retried", failures: 100, code: http.StatusTooManyRequests, wantHits: 1, wantCode: 429},
		{name: "502 until retries run out", failures: 100, code: http.StatusBadGateway, wantHits: 4, wantCode: 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Options{Retries: 3})
			srv := newServer(t, func(s *server, w http.ResponseWriter, _ *http.Request) {
				if int(s.hits.Load()) <= tt.failures {
					w.WriteHeader(tt.code)
					return
				}
				_, _ = w.Write([]byte(goodBody))
			})
			res, err := b.fetcher.Fetch(t.Context(), Source{Name: "r", URL: srv.URL})
			if got := srv.hits.Load(); got != tt.wantHits {
				t.Errorf("hits = %d, want %d", got, tt.wantHits)
			}
			if tt.wantCode == 0 {
				if err != nil || string(res.Body) != goodBody {
					t.Errorf("Fetch = %q, %v; want the body", res.Body, err)
				}
				return
			}
			var se *StatusError
			if !errors.As(err, &se) || se.StatusCode != tt.wantCode || se.Source != "r" {
				t.Errorf("Fetch err = %v, want StatusError %d", err, tt.wantCode)
			}
		})
	}
}

func TestFetchRejectsBadSources(t *testing.T) {
	t.Parallel()
	f, err := NewFetcher(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []Source{
		{Name: "", URL: "http://127.0.0.1/feed"},
		{Name: "ftp", URL: "ftp://127.0.0.1/feed"},
		{Name: "nohost", URL: "http:///feed"},
	} {
		if _, err := f.Fetch(t.Context(), src); err == nil {
			t.Errorf("Fetch(%+v) = nil error, want one", src)
		}
	}
}

func TestFetchAllHonoursCancel(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Timeout: time.Minute, Concurrency: 1})
	arrived := make(chan struct{}, 2)
	slow := newServer(t, func(_ *server, _ http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(t.Context())
	// The first pull holds the only slot; cancelling must end both.
	done := make(chan []Outcome)
	go func() {
		done <- b.fetcher.FetchAll(ctx, []Source{{Name: "a", URL: slow.URL}, {Name: "b", URL: slow.URL}})
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("slow feed never reached")
	}
	cancel()
	select {
	case out := <-done:
		for _, o := range out {
			if !errors.Is(o.Err, context.Canceled) {
				t.Errorf("%s: err = %v, want context.Canceled", o.Source.Name, o.Err)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("FetchAll did not return after cancel")
	}
}

func TestRedisValidatorsKey(t *testing.T) {
	t.Parallel()
	if got, want := validatorsKey("gd-agri"), "kb:{feeds}:gd-agri"; got != want {
		t.Errorf("validatorsKey = %q, want %q", got, want)
	}
}
