package browsertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/presenced/presenced/internal/wstest"
	"github.com/presenced/presenced/web"
)

// clientSecret is the -jwt-secret of the client tests; the page mints its
// own short-lived tokens with it (WebCrypto), as an app's token endpoint
// would.
const clientSecret = "browser-client-test-secret"

// harness is the page side of the client tests: presence-client.js as an
// integrator imports it, a getToken that mints a fresh token of h.ttl
// seconds (or returns h.fixed), a WebSocket that counts connections, and
// counters of the client's events. %s is the client's extra options.
const harness = `(async () => {
	const enc = new TextEncoder();
	const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
	const h = window.h = {
		secret: %q, user: 'alice', ttl: 60, fixed: null,
		tokens: 0, sockets: 0, welcomes: 0, refreshes: 0, closes: [], errors: [], presence: {},
		async mint(ttl = h.ttl, secret = h.secret) {
			const now = Math.floor(Date.now() / 1000);
			const head = b64(enc.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));
			const body = b64(enc.encode(JSON.stringify({ sub: h.user, iat: now, exp: now + ttl, jti: crypto.randomUUID() })));
			const key = await crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
			return head + '.' + body + '.' + b64(await crypto.subtle.sign('HMAC', key, enc.encode(head + '.' + body)));
		},
	};
	const { PresenceClient } = await import('/presence-client.js');
	class CountingWebSocket extends WebSocket {
		constructor(...args) { super(...args); h.sockets++; }
	}
	const c = h.client = new PresenceClient({
		getToken: async () => { h.tokens++; return h.fixed ?? h.mint(); },
		WebSocket: CountingWebSocket,
		trackActivity: false,
		...%s,
	});
	c.on('welcome', () => h.welcomes++);
	c.on('refresh', () => h.refreshes++);
	c.on('close', (e) => h.closes.push(e));
	c.on('error', (e) => h.errors.push(e.code + ': ' + e.message));
	c.on('presence', ({ users }) => users.forEach((u) => { h.presence[u.id] = u.status; }));
	return true;
})()`

// clientPage starts a server with -jwt-secret (no dev mode) and a page
// whose client has the given extra options (a JS object literal). ttl is
// the lifetime of the tokens it mints, in seconds.
func clientPage(t *testing.T, ttl int, opts string) (*server, *tab) {
	t.Helper()
	s := startServerArgs(t, "-jwt-secret", clientSecret)
	p := s.open(t, "client", "/") // the page's own module graph; it waits at its sign-in form
	p.waitVisible(`#token-form`)
	evalAwait[bool](p, fmt.Sprintf(harness, clientSecret, opts))
	eval[bool](p, fmt.Sprintf(`(h.ttl = %d, true)`, ttl))
	return s, p
}

// evalAwait evaluates an expression and waits for its promise.
func evalAwait[T any](p *tab, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.fail(fmt.Errorf("evaluate %s: %w", expr, err))
	}
	return v
}

// A client whose tokens live 4 s keeps one socket open across several of
// them: it refreshes a little before each exp (1.5 s, to leave a loaded
// machine time), the hub answers result, and nothing closes.
func TestClientRefreshesBeforeExp(t *testing.T) {
	_, p := clientPage(t, 4, `{refreshMarginMs: 1500}`)
	evalAwait[bool](p, `h.client.connect().then(() => true)`)
	until[bool](p, `h.refreshes >= 2`) // two token lifetimes
	if got := eval[string](p, `JSON.stringify({s: h.sockets, c: h.closes, e: h.errors})`); got != `{"s":1,"c":[],"e":[]}` {
		t.Errorf("after two refreshes: %s, want one socket, no close, no error", got)
	}

	// The default margin, a fifth of a 6 s lifetime: refreshed at 4.8 s
	// of it, before the hub would close.
	_, p = clientPage(t, 6, `{}`)
	evalAwait[bool](p, `h.client.connect().then(() => true)`)
	until[bool](p, `h.refreshes >= 1`)
	if got := eval[string](p, `JSON.stringify({s: h.sockets, c: h.closes})`); got != `{"s":1,"c":[]}` {
		t.Errorf("after a refresh at the default margin: %s", got)
	}
}

// When the hub closes at exp with 4001 (here the client is told to refresh
// only after exp), the client gets a new token and reconnects with it,
// restoring its subscriptions.
func TestClientNewTokenAfter4001(t *testing.T) {
	s, p := clientPage(t, 2, `{refreshMarginMs: -60000}`)
	evalAwait[bool](p, `h.client.connect().then(() => h.client.subscribe({users: ['bob']})).then(() => true)`)
	until[bool](p, `h.welcomes === 2`)
	close := eval[map[string]any](p, `h.closes[0]`)
	if close["code"] != float64(4001) || close["reason"] != "token expired" || close["reconnectInMs"] == nil {
		t.Errorf("close = %v, want 4001 token expired with a reconnect", close)
	}
	if n := eval[int](p, `h.tokens`); n != 2 {
		t.Errorf("%d tokens fetched, want 2 (one per connect)", n)
	}
	bob := bobOnline(t, s)
	bob.OK(map[string]any{"type": "set_status", "status": "busy"})
	until[bool](p, `h.presence.bob === 'busy'`)
}

// bobOnline signs bob in from Go.
func bobOnline(t *testing.T, s *server) *wstest.Client {
	t.Helper()
	tok, err := web.Mint([]byte(clientSecret), "bob", "", false, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return wstest.Connect(t, "ws"+s.URL[len("http"):]+"/ws", tok, actionTimeout)
}

// A client never loops with a dead token: after a 4001 it gives up when
// getToken returns the refused token again, or an expired one; and when
// every new token is refused at hello it stops after three tries.
func TestClientGivesUpOnDeadToken(t *testing.T) {
	t.Run("same token", func(t *testing.T) {
		_, p := clientPage(t, 2, `{refreshMarginMs: -60000}`)
		evalAwait[bool](p, `h.mint().then((tok) => { h.fixed = tok; return h.client.connect(); }).then(() => true)`)
		until[bool](p, `h.closes.some((c) => c.reconnectInMs === null)`)
		// It asked for a new token, got the refused one, and opened no socket.
		if got := eval[string](p, `JSON.stringify({t: h.tokens, s: h.sockets, w: h.welcomes, last: h.closes.at(-1).code})`); got != `{"t":2,"s":1,"w":1,"last":4001}` {
			t.Errorf("gave up with %s, want two getToken calls, one socket and a last close 4001", got)
		}
	})
	t.Run("refused at hello", func(t *testing.T) {
		_, p := clientPage(t, 60, `{}`)
		err := evalAwait[string](p, `(h.secret = 'not the server secret', h.client.connect().then(() => 'connected', (e) => e.code))`)
		if err != "unauthorized" {
			t.Errorf("connect() ended with %q, want unauthorized", err)
		}
		if n := eval[int](p, `h.sockets`); n != 3 {
			t.Errorf("%d sockets opened with refused tokens, want 3", n)
		}
	})
}

// With the server gone the client retries with full-jitter exponential
// backoff (each delay random within its doubling ceiling); once the server
// is back it reconnects and its subscriptions are restored.
func TestClientBackoffAndRestore(t *testing.T) {
	s, p := clientPage(t, 600, `{backoffMinMs: 100, backoffMaxMs: 400}`)
	evalAwait[bool](p, `h.client.connect().then(() => h.client.subscribe({users: ['bob']})).then(() => true)`)
	s.stop()
	until[bool](p, `h.closes.length >= 6`)
	delays := eval[[]float64](p, `h.closes.slice(0, 6).map((c) => c.reconnectInMs)`)
	jittered := false
	for i, d := range delays {
		ceiling := min(400, 100*float64(int(1)<<i))
		if d < 0 || d > ceiling {
			t.Errorf("delay %d is %v ms, outside [0, %v]", i, d, ceiling)
		}
		if d < ceiling*0.99 {
			jittered = true
		}
	}
	if !jittered {
		t.Errorf("delays %v are all at their ceilings: no jitter", delays)
	}
	s.start()
	until[bool](p, `h.welcomes === 2`)
	bob := bobOnline(t, s)
	bob.OK(map[string]any{"type": "set_status", "status": "away"})
	until[bool](p, `h.presence.bob === 'away'`)
}
