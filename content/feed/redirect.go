package feed

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
)

// ErrPrivateRedirect is a feed redirecting to an address inside a private
// network (loopback, private, link-local, CGNAT, unspecified, multicast)
// or to something other than http(s).
var ErrPrivateRedirect = errors.New("feed redirected to a non-public address")

// maxRedirects is how many redirects a pull follows.
const maxRedirects = 5

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// publicRedirectsOnly is the redirect policy: at most maxRedirects, each to
// an http(s) URL whose host is, or resolves only to, public addresses.
func publicRedirectsOnly(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("feed: stopped after %d redirects", maxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: scheme %q", ErrPrivateRedirect, req.URL.Scheme)
	}
	host := req.URL.Hostname()
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		var err error
		if addrs, err = net.DefaultResolver.LookupNetIP(req.Context(), "ip", host); err != nil {
			return fmt.Errorf("feed redirect: %w", err)
		}
	}
	for _, a := range addrs {
		if !publicAddr(a) {
			return fmt.Errorf("%w: %s", ErrPrivateRedirect, host)
		}
	}
	return nil
}

func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && a.IsGlobalUnicast() && !a.IsPrivate() && !cgnat.Contains(a)
}
