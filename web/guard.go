package web

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Reasons a connection is refused at accept, as counted in
// presence_connections_refused_total and in the abuse log.
const (
	refusedCapacity  = "capacity"   // the budget of connections is spent
	refusedPending   = "pending"    // the share kept for signed-out connections is spent
	refusedPerSource = "per_source" // this address holds too many signed-out connections
)

// guard keeps one budget of connections (file descriptors) for every kind
// the server holds: keep-alive HTTP, WebSockets still in their hello, and
// signed-in WebSockets. Connections not yet signed in (pending) may take at
// most half of it, so that however many an attacker opens, half the budget
// stays for users who authenticate; and each source address may hold only
// a few of them. When a pending connection would be refused, an idle
// keep-alive HTTP connection is closed to make room instead, if there is
// one: a keep-alive is a convenience, a new user is not.
//
// The counts change in Accept (admit), in signedIn and in Close (release),
// under mu; no lock is held while a connection is closed.
type guard struct {
	max        int // budget of all connections; 0: none
	maxPending int // of which pending; 0: none
	perSource  int // pending ones from one address; 0: none
	refused    func(reason string, src netip.Addr)
	idleClosed func()

	mu       sync.Mutex
	open     int
	pending  int
	bySource map[netip.Addr]int
	idle     map[*guardedConn]struct{} // keep-alive HTTP connections between requests

	refusals sync.WaitGroup // goroutines answering refused connections
	answers  chan struct{}  // bounds them
}

// maxRefusalAnswers bounds the refused connections answered with a 503 at
// once; past it a refused connection is closed without a word, so that a
// flood of them costs no more than their file descriptors for an instant.
const maxRefusalAnswers = 32

func newGuard(max, perSource int, refused func(reason string, src netip.Addr), idleClosed func()) *guard {
	return &guard{
		max:        max,
		maxPending: max - max/2,
		perSource:  perSource,
		refused:    refused,
		idleClosed: idleClosed,
		bySource:   make(map[netip.Addr]int),
		idle:       make(map[*guardedConn]struct{}),
		answers:    make(chan struct{}, maxRefusalAnswers),
	}
}

// underPressure reports whether the budget is three quarters spent, or the
// pending share half spent: then hellos get a shorter deadline and idle
// keep-alive connections are closed.
func (g *guard) underPressure() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pressureLocked()
}

func (g *guard) pressureLocked() bool {
	return (g.max > 0 && g.open >= g.max-g.max/4) || (g.maxPending > 0 && g.pending >= g.maxPending/2)
}

// refusalLocked says why a new pending connection from src cannot be
// admitted, or "".
func (g *guard) refusalLocked(src netip.Addr) string {
	switch {
	case g.max > 0 && g.open >= g.max:
		return refusedCapacity
	case g.maxPending > 0 && g.pending >= g.maxPending:
		return refusedPending
	case g.perSource > 0 && g.bySource[src] >= g.perSource:
		return refusedPerSource
	}
	return ""
}

// admit counts nc in, or says why not. To admit it, it may close an idle
// keep-alive connection.
func (g *guard) admit(nc net.Conn) (*guardedConn, string) {
	src := sourceOf(nc.RemoteAddr())
	for {
		g.mu.Lock()
		reason := g.refusalLocked(src)
		if reason == "" {
			g.open++
			g.pending++
			g.bySource[src]++
			g.mu.Unlock()
			return &guardedConn{Conn: nc, g: g, src: src}, ""
		}
		var victim *guardedConn
		if reason != refusedPerSource {
			for c := range g.idle {
				victim = c
				break
			}
			delete(g.idle, victim)
		}
		g.mu.Unlock()
		if victim == nil {
			return nil, reason
		}
		g.idleClosed()
		victim.Close()
	}
}

// state follows net/http's view of a connection: an idle keep-alive
// connection may be closed to make room, and is closed at once under
// pressure.
func (g *guard) state(nc net.Conn, st http.ConnState) {
	c, ok := nc.(*guardedConn)
	if !ok {
		return
	}
	g.mu.Lock()
	if st != http.StateIdle {
		delete(g.idle, c)
		g.mu.Unlock()
		return
	}
	if !g.pressureLocked() {
		g.idle[c] = struct{}{}
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	g.idleClosed()
	c.Close()
}

// refuse answers a refused connection with a 503 and closes it, in the
// background; past maxRefusalAnswers at once it just closes it.
func (g *guard) refuse(nc net.Conn, reason string) {
	g.refused(reason, sourceOf(nc.RemoteAddr()))
	select {
	case g.answers <- struct{}{}:
	default:
		nc.Close()
		return
	}
	g.refusals.Go(func() {
		defer func() { <-g.answers }()
		answerRefused(nc, reason)
	})
}

// answerRefused reads the request (closing a socket with unread data would
// reset it before the client reads the answer), writes a 503 and closes,
// within a second in all.
func answerRefused(nc net.Conn, reason string) {
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(time.Second))
	var buf [4096]byte
	nc.Read(buf[:])
	msg := "this node is at its connection capacity; try another node or later\n"
	if reason == refusedPerSource {
		msg = "too many connections from your address are not signed in yet; try again later\n"
	}
	io.WriteString(nc, "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\nContent-Length: "+strconv.Itoa(len(msg))+"\r\n\r\n"+msg)
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.CloseWrite()
		nc.Read(buf[:]) // until the client closes, or the deadline
	}
}

// wait joins the goroutines answering refusals.
func (g *guard) wait() { g.refusals.Wait() }

// sourceOf is the address a connection comes from, without its port.
func sourceOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap.Addr()
}

// guardedConn is a connection the guard counts until it is closed.
type guardedConn struct {
	net.Conn
	g    *guard
	src  netip.Addr
	once sync.Once

	mu       sync.Mutex
	signedIn bool
}

// markSignedIn moves c from the pending connections to the signed-in ones.
func (c *guardedConn) markSignedIn() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.signedIn {
		return
	}
	c.signedIn = true
	c.g.mu.Lock()
	c.g.leavePendingLocked(c.src)
	c.g.mu.Unlock()
}

func (g *guard) leavePendingLocked(src netip.Addr) {
	g.pending--
	if g.bySource[src]--; g.bySource[src] <= 0 {
		delete(g.bySource, src)
	}
}

// Close closes the connection and gives its place back, once.
func (c *guardedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.mu.Lock()
		signedIn := c.signedIn
		c.signedIn = true // a late markSignedIn changes nothing
		c.mu.Unlock()
		g := c.g
		g.mu.Lock()
		g.open--
		if !signedIn {
			g.leavePendingLocked(c.src)
		}
		delete(g.idle, c)
		g.mu.Unlock()
	})
	return err
}

// guardedListener is a net.Listener whose connections the guard admits.
type guardedListener struct {
	net.Listener
	g *guard
}

func (l guardedListener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		c, reason := l.g.admit(nc)
		if c != nil {
			return c, nil
		}
		l.g.refuse(nc, reason)
	}
}

// connKey finds a request's guardedConn in its context.
type connKey struct{}

func withConn(ctx context.Context, nc net.Conn) context.Context {
	if c, ok := nc.(*guardedConn); ok {
		return context.WithValue(ctx, connKey{}, c)
	}
	return ctx
}

// guardedConnOf is the counted connection r came on, or nil when the
// server was not started with Serve.
func guardedConnOf(r *http.Request) *guardedConn {
	c, _ := r.Context().Value(connKey{}).(*guardedConn)
	return c
}

// SignedIn tells the server that the request r came on belongs to a caller
// who authenticated (the HTTP API, after a good token): its connection
// leaves the share and the per-source cap kept for connections not signed
// in yet, as a WebSocket's does after its hello. A backend holding many
// keep-alive connections to the API is then bounded by the whole budget
// only. It does nothing for a request the server did not accept itself.
func SignedIn(r *http.Request) {
	if c := guardedConnOf(r); c != nil {
		c.markSignedIn()
	}
}
