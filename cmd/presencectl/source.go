package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// perSource is how many connections load puts on one loopback source
// address by default: about half of Linux's default ephemeral port range
// (32768-60999), since each bound socket takes a port of its own.
const perSource = 15000

// maxSources bounds a -source-ips list, against typos like 127.0.0.2-127.1.0.0.
const maxSources = 4096

// parseSourceIPs parses -source-ips: addresses and ranges ("A-B", both
// ends included) separated by commas. It returns them in order.
func parseSourceIPs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := netip.ParseAddr(strings.TrimSpace(lo))
		if err != nil {
			return nil, fmt.Errorf("source address %q: %w", lo, err)
		}
		last := first
		if isRange {
			if last, err = netip.ParseAddr(strings.TrimSpace(hi)); err != nil {
				return nil, fmt.Errorf("source address %q: %w", hi, err)
			}
			if first.BitLen() != last.BitLen() || last.Less(first) {
				return nil, fmt.Errorf("source range %q: the end comes before the start", part)
			}
		}
		for a := first; ; a = a.Next() {
			if len(out) == maxSources {
				return nil, fmt.Errorf("more than %d source addresses", maxSources)
			}
			out = append(out, a)
			if a == last {
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no source address")
	}
	return out, nil
}

// autoSourceIPs is the default for a loopback target: one address per
// perSource connections, from 127.0.0.2 on.
func autoSourceIPs(n int) []netip.Addr {
	k := max(1, (n+perSource-1)/perSource)
	out := make([]netip.Addr, 0, k)
	a := netip.AddrFrom4([4]byte{127, 0, 0, 2})
	for range k {
		out = append(out, a)
		a = a.Next()
	}
	return out
}

// isLoopbackHost reports whether host (no port) is a loopback address or
// localhost.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.IsLoopback()
}

// newTransport returns an HTTP transport whose connections leave from src
// (any address when src is the zero Addr). It never uses a proxy, so it
// reaches exactly the address it is given, and keeps small buffers, since
// an upgraded connection holds on to them.
func newTransport(src netip.Addr) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if src.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	return &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     30 * time.Second,
		ReadBufferSize:      2 << 10,
		WriteBufferSize:     2 << 10,
	}
}
