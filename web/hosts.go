package web

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
)

// hostCheck refuses requests whose Host header names a host the server
// does not go by, so that a page whose DNS name was rebound to this
// server's address (a DNS-rebinding attack: same origin to the browser,
// so the Origin check passes) cannot reach the socket or the page.
// Allowed: IP addresses (no name to rebind), localhost, the host of the
// listen address, and the hosts of the allowed origin patterns.
type hostCheck struct {
	names    map[string]bool
	patterns []string // path.Match patterns on the host
}

func newHostCheck(addr string, origins []string) hostCheck {
	hc := hostCheck{names: map[string]bool{"localhost": true}}
	if host, _, err := net.SplitHostPort(addr); err == nil && host != "" {
		hc.names[strings.ToLower(host)] = true
	}
	for _, p := range origins {
		p = strings.ToLower(strings.TrimSpace(p))
		if strings.Contains(p, "://") {
			// As websocket.AcceptOptions reads a pattern with a scheme:
			// against the whole origin; its host part is what counts here.
			if u, err := url.Parse(p); err == nil {
				p = u.Host
			}
		}
		if h, _, err := net.SplitHostPort(p); err == nil {
			p = h
		}
		if p != "" {
			hc.patterns = append(hc.patterns, p)
		}
	}
	return hc
}

// allows reports whether host (a Host header, with or without a port) is
// one this server goes by.
func (hc hostCheck) allows(host string) bool {
	name := hostName(host)
	if name == "" {
		return false
	}
	if _, err := netip.ParseAddr(name); err == nil || hc.names[name] {
		return true
	}
	for _, p := range hc.patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

func (hc hostCheck) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hc.allows(r.Host) {
			http.Error(w, "host "+r.Host+" is not one this server goes by: list it in -allowed-origins", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostName is the lower-case host of a Host header, without port or IPv6
// brackets.
func hostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
}

// isLoopbackHost reports whether a Host header names this machine.
func isLoopbackHost(host string) bool {
	name := hostName(host)
	if name == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(name)
	return err == nil && ip.Unmap().IsLoopback()
}

// loopbackOnly serves only requests addressed to a loopback host, for
// /dev/token: a dev server reached under any other name, rebound or not,
// mints nothing.
func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isLoopbackHost(r.Host) {
			http.Error(w, "/dev/token answers only requests to localhost or a loopback address", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
