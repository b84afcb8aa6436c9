package browsertest

import (
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/presenced/presenced/web"
)

// Two people on their own machines see each other's status change live: bob
// picks Busy with the keyboard on a phone-sized screen, alice (signed in
// through the dev form) sees it; bob's text and Away follow; bob leaves and
// alice sees him offline with a last-seen time.
func TestTwoUsersSeeEachOther(t *testing.T) {
	s := startServer(t)

	alice := s.open(t, "alice", "/")
	alice.waitVisible(`#dev-form`)
	alice.fill(`#dev-user`, "alice")
	alice.click(`#dev-form button[type="submit"]`)
	alice.waitVisible(`[data-self][data-status="online"]`)
	alice.waitText(`#self-name`, "alice")

	bob := s.signIn(t, "bob", false)
	bob.do(chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	alice.waitVisible(`[data-user="bob"] [data-status="online"]`)
	bob.waitVisible(`[data-user="alice"] [data-status="online"]`)
	if eval[bool](bob, `document.querySelector('[data-admin="service-toggle"]')?.offsetParent != null`) {
		t.Error("bob is no admin but sees the console")
	}

	// The status menu by keyboard: Enter opens it on the current choice
	// (Online); two steps down is Busy.
	bob.do(chromedp.Focus(chromedp.CSS(`[data-self]`)), chromedp.KeyEvent(kb.Enter))
	bob.waitVisible(`[data-status-option="online"]:focus`)
	bob.do(chromedp.KeyEvent(kb.ArrowDown + kb.ArrowDown))
	bob.waitVisible(`[data-status-option="busy"]:focus`)
	bob.do(chromedp.KeyEvent(kb.Enter))
	bob.waitVisible(`[data-self][data-status="busy"]`)
	alice.waitVisible(`[data-user="bob"] [data-status="busy"]`)
	alice.waitText(`[data-user="bob"] .status-label`, "Busy")

	// A status text goes with the presence picked next.
	bob.click(`[data-self]`)
	bob.fill(`#status-text`, "Back at 2")
	bob.click(`[data-status-option="away"]`)
	alice.waitVisible(`[data-user="bob"] [data-status="away"]`)
	alice.waitText(`[data-user="bob"] [data-status-text]`, "Back at 2")
	if w := eval[int](bob, `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("bob's page is %d px wide at a 375 px viewport: it scrolls sideways", w)
	}
	bob.cleanScreenshot("phone")

	bob.close()
	alice.waitVisible(`[data-user="bob"] [data-status="offline"]`)
	until[bool](alice, `/^Last seen/.test(document.querySelector('[data-user="bob"] .last-seen').textContent)`)
}

// The page rides out a server restart: it says it is reconnecting, comes back
// by itself (backoff, a fresh hello) and subscribes again, so changes made
// after the restart still reach it.
func TestReconnectsAfterRestart(t *testing.T) {
	s := startServer(t, "-jwt-secret", "browsertest-secret-0123456789abcdef")
	alice := s.signIn(t, "alice", false)
	bob := s.signIn(t, "bob", false)
	alice.waitVisible(`[data-user="bob"] [data-status="online"]`)

	s.stop()
	alice.waitVisible(`[data-banner="connection"]`)
	alice.waitVisible(`#conn-state[data-state="reconnecting"]`)
	s.start()

	alice.waitGone(`[data-banner="connection"]:not([hidden])`)
	bob.waitVisible(`#conn-state[data-state="open"]`)
	bob.click(`[data-self]`)
	bob.click(`[data-status-option="busy"]`)
	alice.waitVisible(`[data-user="bob"] [data-status="busy"]`)
}

// A refused token lands on the sign-in form with the reason, not in a
// reconnect loop.
func TestBadTokenShowsSignIn(t *testing.T) {
	s := startServer(t)
	p := s.open(t, "mallory", "/#token=not-a-jwt")
	p.waitVisible(`#signin-error`)
	until[bool](p, `/Sign-in failed/.test(document.querySelector('#signin-error').textContent)`)
	p.waitVisible(`#dev-form`)
	if h := eval[string](p, `location.hash`); h != "" {
		t.Errorf("the token stays in the address bar: %q", h)
	}
}

// Without -dev there is no /dev/token: the page asks for a token, and one
// pasted into the form signs in, with the display name from its claims.
func TestPastedTokenWithoutDevMode(t *testing.T) {
	const secret = "browsertest-secret-0123456789abcdef"
	s := startServerArgs(t, "-jwt-secret", secret)
	token, err := web.Mint([]byte(secret), "zoe", "Zoë Quinn", false, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p := s.open(t, "zoe", "/")
	p.waitVisible(`#token-form`)
	if eval[bool](p, `document.querySelector('#dev-form').offsetParent !== null`) {
		t.Error("the dev form shows without -dev")
	}
	p.do(chromedp.SetValue(chromedp.CSS(`#token-input`), token))
	p.click(`#token-form button[type="submit"]`)
	p.waitVisible(`[data-self][data-status="online"]`)
	p.waitText(`#self-name`, "Zoë Quinn")
	p.waitText(`[data-user="zoe"] .name`, "Zoë Quinn")
	p.waitText(`#self-avatar .initials`, "ZQ")
}

// A page left alone for the idle limit reads Away to others, and the first
// input on it brings it back at once (the client sends activity when coming
// back from idle, without waiting for its throttle). The idle limit is at
// least a minute, so bob's page lives through it in virtual time.
//
// The heartbeat is 30 s: the page pings when it has heard nothing for three
// heartbeats, and at 10 s that is 30 s into the 61 s of virtual time. Its
// pong comes back in real time, and virtual time may skip past the ping's
// 20 s timeout first: the page then drops the socket, and its reconnect,
// with virtual time paused at the end of the budget, never says hello.
func TestIdleAndBack(t *testing.T) {
	s := startServer(t, "-idle-limit", "1m", "-heartbeat", "30s")
	alice := s.signIn(t, "alice", false)
	bob := s.signIn(t, "bob", false)
	alice.waitVisible(`[data-user="bob"] [data-status="online"]`)
	budget := 61_000.0 // ms: past the idle limit
	if _, err := chromedp.Call(bob.ctx, emulation.SetVirtualTimePolicy, emulation.SetVirtualTimePolicyParams{
		Policy: emulation.VirtualTimePolicyAdvance, Budget: &budget,
	}); err != nil {
		t.Fatalf("virtual time: %v", err)
	}
	alice.waitVisible(`[data-user="bob"] [data-status="away"]`)
	bob.waitVisible(`[data-self][data-status="away"]`)

	bob.do(chromedp.MouseEvent(chromedp.MouseMoved, 600, 400), chromedp.MouseEvent(chromedp.MouseMoved, 640, 420))
	alice.waitVisible(`[data-user="bob"] [data-status="online"]`)
}
