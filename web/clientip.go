package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// DefaultTrustedProxies are the peers trusted when Config.TrustedProxies is empty: the
// machine itself, where a proxy in front usually runs.
var DefaultTrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}

// ParseTrustedProxies reads a comma-separated list of CIDRs (a bare address means just
// that address); "none" trusts no peer.
func ParseTrustedProxies(v string) ([]netip.Prefix, error) {
	out := []netip.Prefix{}
	if strings.TrimSpace(v) == "none" {
		return out, nil
	}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// peerAddr is the address of the TCP peer, or an invalid Addr.
func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// trusted reports whether a is one of the trusted proxies.
func (s *server) trusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// fromTrustedProxy reports whether the request's peer is a trusted proxy.
func (s *server) fromTrustedProxy(r *http.Request) bool { return s.trusted(peerAddr(r)) }

// clientIP is the address limits and logs use: the peer, or, when the peer is a trusted
// proxy, the nearest address in X-Forwarded-For that is not a trusted proxy. Reading from
// the right means a client's own X-Forwarded-For entries are never believed, whether the
// proxy overwrites the header (as it should) or appends to it.
func (s *server) clientIP(r *http.Request) string {
	peer := peerAddr(r)
	if !peer.IsValid() {
		return r.RemoteAddr
	}
	if !s.trusted(peer) {
		return peer.String()
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		client = a.Unmap()
		if !s.trusted(client) {
			break
		}
	}
	return client.String()
}
