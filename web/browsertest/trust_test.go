package browsertest

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Issue 11 in the page: a reload of another user's tab changes nothing on
// my screen, a status with "clear after" ends by itself, the history panel
// says why, and Sign out is offline at once.

// watchRow counts, in p's page, every change of user's dot and every new
// line of recent activity from now on.
func watchRow(p *tab, user string) {
	p.t.Helper()
	p.waitVisible(fmt.Sprintf(`[data-user=%q] [data-status]`, user))
	eval[bool](p, fmt.Sprintf(`(() => {
		window.__changes = [];
		const row = document.querySelector('[data-user=%[1]q]');
		const note = (what) => window.__changes.push(what);
		new MutationObserver(() => note('dot ' + row.querySelector('.dot').dataset.status))
			.observe(row.querySelector('.dot'), {attributes: true, attributeFilter: ['data-status']});
		new MutationObserver(() => {
			if (document.querySelector('[data-user=%[1]q]') !== row) note('row replaced');
		}).observe(document.querySelector('#member-list'), {childList: true});
		new MutationObserver(() => note('activity'))
			.observe(document.querySelector('#activity-list'), {childList: true});
		return true;
	})()`, user))
}

func changes(p *tab) []string {
	return eval[[]string](p, `window.__changes`)
}

func TestReloadOfAnotherTabChangesNothing(t *testing.T) {
	s := startServer(t, "-offline-grace", "2s")
	alice := s.signIn(t, "alice", false)
	bob := s.signIn(t, "bob", false)
	carol := s.signIn(t, "carol", false)
	alice.waitVisible(`[data-user="carol"] [data-status="online"]`)
	watchRow(alice, "bob")

	bob.do(chromedp.Reload())
	carol.close() // carol does not come back: her offline marks the grace's end
	bob.waitVisible(`[data-self][data-status="online"]`)
	bob.waitVisible(`#conn-state[data-state="open"]`)
	alice.waitVisible(`[data-user="carol"] [data-status="offline"]`)
	for _, c := range changes(alice) {
		if c != "activity" { // carol's "went offline"
			t.Errorf("bob's reload changed alice's screen: %s", c)
		}
	}
	if n := eval[int](alice, `window.__changes.filter(c => c === 'activity').length`); n != 1 {
		t.Errorf("%d lines of recent activity, want 1 (carol leaving): %v", n, changes(alice))
	}
	alice.waitVisible(`[data-user="bob"] [data-status="online"]`)
}

func TestClearAfterEndsByItself(t *testing.T) {
	s := startServer(t)
	alice := s.signIn(t, "alice", false)
	bob := s.signIn(t, "bob", false)
	alice.waitVisible(`[data-user="bob"] [data-status="online"]`)

	bob.click(`[data-self]`)
	bob.waitVisible(`select[data-status-duration]`)
	if got := eval[string](bob, `[...document.querySelectorAll('[data-status-duration] option')].map(o => o.textContent).join('|')`); got != "Never|30 minutes|1 hour|4 hours|Today|This week" {
		t.Errorf("clear after offers %q", got)
	}
	// A choice of 3 seconds, beside the page's own (all in seconds), so the
	// test need not wait half an hour.
	eval[bool](bob, `(() => {
		const sel = document.querySelector('[data-status-duration]');
		sel.append(new Option('3 seconds', '3'));
		sel.value = '3';
		return true;
	})()`)
	bob.fill(`#status-text`, "Lunch")
	bob.screenshot("clear-after")
	bob.click(`[data-status-option="busy"]`)
	alice.waitVisible(`[data-user="bob"][data-status-until] [data-status="busy"]`)
	until[bool](alice, `/^until \d/.test(document.querySelector('[data-user="bob"] .until').textContent)`)
	alice.screenshot("until")
	untilAttr := eval[string](alice, `document.querySelector('[data-user="bob"]').dataset.statusUntil`)
	at, err := time.Parse(time.RFC3339, untilAttr)
	if err != nil || at.Before(time.Now()) || at.After(time.Now().Add(5*time.Second)) {
		t.Errorf("data-status-until = %q (%v), want about 3 s from now", untilAttr, err)
	}

	alice.waitVisible(`[data-user="bob"]:not([data-status-until]) [data-status="online"]`)
	alice.waitText(`[data-user="bob"] [data-status-text]`, "")
	bob.waitVisible(`[data-self][data-status="online"]`)
}

func TestHistoryPanelShowsReasons(t *testing.T) {
	s := startServer(t)
	admin := s.signIn(t, "admin", true)
	bob := s.signIn(t, "bob", false)
	admin.waitVisible(`[data-user="bob"] [data-status="online"]`)
	bob.click(`[data-self]`)
	bob.click(`[data-status-option="busy"]`)
	admin.waitVisible(`[data-user="bob"] [data-status="busy"]`)

	admin.click(`[data-user="bob"]`)
	admin.waitVisible(`[data-admin="history"] [data-history-item][data-reason="manual"]`)
	admin.waitVisible(`[data-admin="history"] [data-history-item][data-reason="connect"]`)
	got := eval[string](admin, `[...document.querySelectorAll('[data-history-item]')].map(i => i.dataset.reason + '=' + i.querySelector('.history-what').textContent).join('|')`)
	if want := "manual=busy: set by hand|connect=came online: connected"; got != want {
		t.Errorf("history reads %q, want %q", got, want)
	}
	admin.screenshot("history")

	// Others' history is the admins' only: bob's page does not offer it.
	bob.click(`[data-user="bob"]`)
	if eval[bool](bob, `!document.querySelector('#history-panel').hidden`) {
		t.Error("a user who is not an admin opened a history panel")
	}
}

func TestSignOutIsOfflineAtOnce(t *testing.T) {
	s := startServer(t, "-offline-grace", "1m")
	alice := s.signIn(t, "alice", false)
	bob := s.signIn(t, "bob", false)
	alice.waitVisible(`[data-user="bob"] [data-status="online"]`)
	start := time.Now()
	bob.click(`[data-action="sign-out"]`)
	bob.waitVisible(`#signin`)
	alice.waitVisible(`[data-user="bob"] [data-status="offline"]`)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("bob read offline %v after signing out, want at once (bye), not after the grace", d)
	}
}

func TestCustomStatusDefaultDuration(t *testing.T) {
	s := startServer(t)
	admin := s.signIn(t, "admin", true)
	admin.click(`[data-admin="new-status"]`)
	admin.waitVisible(`#status-panel`)
	admin.fill(`[data-admin="status-name"]`, "In a meeting")
	admin.click(`[data-admin="status-presence-busy"]`)
	admin.fill(`[data-admin="status-duration"]`, "3600")
	admin.click(`[data-admin="status-save"]`)
	admin.waitGone(`#status-panel:not([hidden])`)
	id := until[string](admin, `document.querySelector('[data-custom]')?.dataset.custom`)
	until[bool](admin, `/clears after 1 h/.test(document.querySelector('[data-custom]').textContent)`)

	bob := s.signIn(t, "bob", false)
	bob.click(`[data-self]`)
	bob.click(fmt.Sprintf(`[data-custom-option=%q]`, id))
	admin.waitVisible(`[data-user="bob"][data-status-until] [data-status="busy"]`)
	at, err := time.Parse(time.RFC3339, eval[string](admin, `document.querySelector('[data-user="bob"]').dataset.statusUntil`))
	if err != nil || at.Before(time.Now().Add(59*time.Minute)) || at.After(time.Now().Add(61*time.Minute)) {
		t.Errorf("bob's status ends at %v (%v), want in an hour", at, err)
	}

	admin.click(fmt.Sprintf(`[data-custom=%q] .status-open`, id))
	admin.waitVisible(`#status-panel`)
	if v := eval[string](admin, `document.querySelector('[data-admin="status-duration"]').value`); v != "3600" {
		t.Errorf("the editor shows duration %q, want 3600", v)
	}
}

// The page's own choices: 30 minutes from now on the server's clock, and
// "Today" at the end of the day in the person's time zone.
func TestClearAfterPresets(t *testing.T) {
	s := startServer(t)
	alice := s.signIn(t, "alice", false)
	bob := s.signIn(t, "bob", false)
	alice.waitVisible(`[data-user="bob"] [data-status="online"]`)

	pickWith := func(duration, status string) time.Time {
		t.Helper()
		bob.click(`[data-self]`)
		bob.waitVisible(`select[data-status-duration]`)
		eval[bool](bob, fmt.Sprintf(`(() => {
			const sel = document.querySelector('[data-status-duration]');
			sel.selectedIndex = [...sel.options].findIndex(o => o.textContent === %s);
			return sel.selectedIndex >= 0;
		})()`, js(duration)))
		bob.click(fmt.Sprintf(`[data-status-option=%q]`, status))
		alice.waitVisible(fmt.Sprintf(`[data-user="bob"][data-status-until] [data-status=%q]`, status))
		at, err := time.Parse(time.RFC3339, eval[string](alice, `document.querySelector('[data-user="bob"]').dataset.statusUntil`))
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	if at := pickWith("30 minutes", "away"); at.Before(time.Now().Add(29*time.Minute)) || at.After(time.Now().Add(31*time.Minute)) {
		t.Errorf("30 minutes ends at %v", at)
	}
	pickWith("Today", "busy")
	if midnight := eval[bool](alice, `(() => {
		const d = new Date(document.querySelector('[data-user="bob"]').dataset.statusUntil);
		return d.getHours() === 0 && d.getMinutes() === 0 && d > new Date();
	})()`); !midnight {
		t.Errorf("Today ends at %s, want the next midnight", eval[string](alice, `document.querySelector('[data-user="bob"]').dataset.statusUntil`))
	}
}
