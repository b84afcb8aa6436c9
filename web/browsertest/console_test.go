package browsertest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// createStatus creates a custom status through the console's side panel and
// returns its id, read from the new row.
func createStatus(p *tab, name, presence string) string {
	p.t.Helper()
	p.click(`[data-admin="new-status"]`)
	p.waitVisible(`#status-panel`)
	p.fill(`[data-admin="status-name"]`, name)
	p.click(fmt.Sprintf(`[data-admin="status-presence-%s"]`, presence))
	p.click(`[data-admin="status-save"]`)
	p.waitGone(`#status-panel:not([hidden])`)
	return until[string](p, fmt.Sprintf(
		`[...document.querySelectorAll('[data-custom]')].find(r => r.querySelector('.status-name').textContent === %s)?.dataset.custom`,
		js(name)))
}

// rowNames lists the names in the console's custom status list, in order.
func rowNames(p *tab) string {
	return eval[string](p, `[...document.querySelectorAll('[data-custom] .status-name')].map(n => n.textContent).join('|')`)
}

// An admin creates, searches, edits and deletes custom statuses in the
// console; a user picks one and everyone sees its name and presence follow the
// admin's edits, and its text go when it is deleted.
func TestAdminManagesCustomStatuses(t *testing.T) {
	s := startServer(t)
	alice := s.signIn(t, "alice", true)
	alice.waitVisible(`[data-admin="service-toggle"]`)
	alice.waitText(`#stat-limit`, "200")
	alice.waitText(`#stat-edition`, "free")

	meeting := createStatus(alice, "In a meeting", "busy")
	createStatus(alice, "Commuting", "away")
	createStatus(alice, "On vacation", "offline")
	alice.waitText(`#statuses-total`, "3 of 3 statuses")
	if got := rowNames(alice); got != "Commuting|In a meeting|On vacation" {
		t.Errorf("custom statuses listed as %q, want them by name", got)
	}

	// A duplicate name is refused in the panel, which stays open.
	alice.click(`[data-admin="new-status"]`)
	alice.fill(`[data-admin="status-name"]`, "in a MEETING")
	alice.click(`[data-admin="status-save"]`)
	alice.waitVisible(`#status-form-error`)
	alice.click(`#panel-cancel`)
	alice.waitGone(`#status-panel:not([hidden])`)

	alice.fill(`[data-admin="status-search"]`, "MEET")
	until[bool](alice, `document.querySelectorAll('[data-custom]').length === 1`)
	alice.waitVisible(fmt.Sprintf(`[data-custom=%q]`, meeting))
	alice.fill(`[data-admin="status-search"]`, "zzz")
	alice.waitVisible(`#statuses-empty`)
	alice.fill(`[data-admin="status-search"]`, "")
	until[bool](alice, `document.querySelectorAll('[data-custom]').length === 3`)

	// bob picks it from his menu, which learnt of it live.
	bob := s.signIn(t, "bob", false)
	bob.click(`[data-self]`)
	bob.click(fmt.Sprintf(`[data-custom-option=%q]`, meeting))
	bob.waitVisible(`[data-self][data-status="busy"]`)
	alice.waitVisible(`[data-user="bob"] [data-status="busy"]`)
	alice.waitText(`[data-user="bob"] [data-status-text]`, "In a meeting")

	// The admin renames it and makes it Away: bob, who holds it, follows.
	alice.click(fmt.Sprintf(`[data-custom=%q] button`, meeting))
	alice.waitVisible(`[data-admin="status-delete"]`)
	alice.fill(`[data-admin="status-name"]`, "In a call")
	alice.click(`[data-admin="status-presence-away"]`)
	alice.click(`[data-admin="status-save"]`)
	alice.waitGone(`#status-panel:not([hidden])`)
	alice.waitText(fmt.Sprintf(`[data-custom=%q] .status-name`, meeting), "In a call")
	alice.waitVisible(`[data-user="bob"] [data-status="away"]`)
	alice.waitText(`[data-user="bob"] [data-status-text]`, "In a call")
	bob.waitText(`#self-text`, "In a call")
	until[bool](bob, fmt.Sprintf(`document.querySelector('[data-custom-option=%q] .option-name')?.textContent === 'In a call'`, meeting))

	// carol is away by hand, to make the screenshots tell more.
	carol := s.signIn(t, "carol", false)
	carol.click(`[data-self]`)
	carol.click(`[data-status-option="busy"]`)
	alice.waitVisible(`[data-user="carol"] [data-status="busy"]`)
	bob.waitVisible(`[data-user="carol"] [data-status="busy"]`)
	alice.waitText(`#stat-connections`, "3")
	bob.do(chromedp.EmulateViewport(1120, 800))
	bob.click(`[data-self]`)
	bob.waitVisible(`#status-menu`)
	bob.docScreenshot("screenshot-workspace")
	bob.do(chromedp.KeyEvent(kb.Escape))
	bob.waitGone(`#status-menu:not([hidden])`)
	alice.docScreenshot("screenshot-console")

	// Deleting it: bob keeps his presence and loses the text.
	alice.click(fmt.Sprintf(`[data-custom=%q] button`, meeting))
	alice.click(`[data-admin="status-delete"]`)
	alice.waitGone(fmt.Sprintf(`[data-custom=%q]`, meeting))
	alice.waitText(`[data-user="bob"] [data-status-text]`, "")
	alice.waitVisible(`[data-user="bob"] [data-status="away"]`)
	bob.waitGone(fmt.Sprintf(`[data-custom-option=%q]`, meeting))
	if got := rowNames(alice); got != "Commuting|On vacation" {
		t.Errorf("after the delete the list is %q", got)
	}
}

// With -connection-limit 3, the fourth page trips the limit: every page shows
// every dot disabled, its own too, and the banner with the real limit. The
// admin's attempt to turn it back on is refused while 4 are connected, and
// works once two pages have gone.
func TestConnectionLimitDisablesPresence(t *testing.T) {
	s := startServer(t, "-connection-limit", "3")
	admin := s.signIn(t, "ann", true)
	pages := []*tab{admin}
	for _, u := range []string{"ben", "cat"} {
		pages = append(pages, s.signIn(t, u, false))
	}
	admin.waitVisible(`[data-user="cat"] [data-status="online"]`)
	if eval[bool](admin, `document.querySelector('[data-banner="presence-disabled"]').offsetParent !== null`) {
		t.Fatal("the banner shows before the limit tripped")
	}

	pages = append(pages, s.signIn(t, "dan", false))
	for _, p := range pages {
		p.waitVisible(`[data-banner="presence-disabled"]`)
		p.waitVisible(`[data-self][data-status="disabled"]`)
		until[bool](p, `(() => {
			const dots = [...document.querySelectorAll('[data-user] [data-status]')];
			return dots.length >= 1 && dots.every(d => d.dataset.status === 'disabled');
		})()`)
		banner := eval[string](p, `document.querySelector('[data-banner="presence-disabled"]').textContent`)
		if !strings.Contains(banner, "Presence is disabled: the workspace exceeded 3 connections") {
			t.Errorf("%s: banner says %q", p.name, banner)
		}
		if p.dialogs.Load() != 0 {
			t.Errorf("%s: a dialog opened", p.name)
		}
	}
	admin.waitVisible(`#banner-console`)
	if eval[bool](pages[1], `document.querySelector('#banner-console').offsetParent !== null`) {
		t.Error("a non-admin sees the button to the console")
	}
	admin.waitText(`#service-state`, "Off")
	admin.waitVisible(`[data-notice]`)
	admin.cleanScreenshot("limit-tripped")

	// Refused while 4 are connected.
	admin.click(`#banner-console`)
	admin.click(`[data-admin="service-toggle"]`)
	admin.waitVisible(`[data-admin="service-message"]`)
	until[bool](admin, `document.querySelector('[data-admin="service-message"]').dataset.code === 'over_limit'`)
	admin.waitText(`#service-state`, "Off")
	if eval[bool](admin, `document.querySelector('[data-admin="service-toggle"]').checked`) {
		t.Error("the switch shows on after the refusal")
	}

	// Two leave; now it turns on and everyone shows again.
	pages[2].close()
	pages[3].close()
	admin.waitText(`#stat-connections`, "2")
	admin.click(`[data-admin="service-toggle"]`)
	admin.waitText(`#service-state`, "On")
	for _, p := range pages[:2] {
		p.waitGone(`[data-banner="presence-disabled"]:not([hidden])`)
		p.waitVisible(`[data-self][data-status="online"]`)
		p.waitVisible(`[data-user="ann"] [data-status="online"]`)
		p.waitVisible(`[data-user="ben"] [data-status="online"]`)
		p.waitVisible(`[data-user="dan"] [data-status="offline"]`)
	}
}

// A custom status named like markup is shown as text everywhere: in the
// console, in the menu and in the member list; no element or dialog comes of
// it.
func TestStatusNamesAreText(t *testing.T) {
	const evil = `<img src=x onerror=alert(1)>`
	s := startServer(t)
	alice := s.signIn(t, "alice", true)
	id := createStatus(alice, evil, "busy")
	alice.waitText(fmt.Sprintf(`[data-custom=%q] .status-name`, id), evil)

	bob := s.signIn(t, "bob", false)
	bob.click(`[data-self]`)
	bob.waitText(fmt.Sprintf(`[data-custom-option=%q] .option-name`, id), evil)
	bob.click(fmt.Sprintf(`[data-custom-option=%q]`, id))
	alice.waitText(`[data-user="bob"] [data-status-text]`, evil)
	bob.waitText(`[data-user="bob"] [data-status-text]`, evil)
	bob.waitText(`#self-text`, evil)

	for _, p := range []*tab{alice, bob} {
		if n := eval[int](p, `document.querySelectorAll('img').length`); n != 0 {
			t.Errorf("%s: the page has %d img elements", p.name, n)
		}
		if p.dialogs.Load() != 0 {
			t.Errorf("%s: a dialog opened", p.name)
		}
	}
}

// The admin switches presence off and on: everyone sees "disabled by an
// administrator" with every dot disabled, then their statuses again.
func TestAdminSwitchesPresenceOff(t *testing.T) {
	s := startServer(t)
	alice := s.signIn(t, "alice", true)
	bob := s.signIn(t, "bob", false)
	bob.click(`[data-self]`)
	bob.click(`[data-status-option="busy"]`)
	alice.waitVisible(`[data-user="bob"] [data-status="busy"]`)

	alice.click(`[data-admin="service-toggle"]`)
	alice.waitText(`#service-state`, "Off")
	for _, p := range []*tab{alice, bob} {
		p.waitVisible(`[data-banner="presence-disabled"]`)
		p.waitText(`#banner-title`, "Presence is disabled by an administrator.")
		p.waitVisible(`[data-self][data-status="disabled"]`)
		p.waitVisible(`[data-user="bob"] [data-status="disabled"]`)
		p.waitVisible(`[data-user="alice"] [data-status="disabled"]`)
	}

	alice.click(`[data-admin="service-toggle"]`)
	alice.waitText(`#service-state`, "On")
	for _, p := range []*tab{alice, bob} {
		p.waitGone(`[data-banner="presence-disabled"]:not([hidden])`)
		p.waitVisible(`[data-user="bob"] [data-status="busy"]`)
		p.waitVisible(`[data-user="alice"] [data-status="online"]`)
	}
	bob.waitVisible(`[data-self][data-status="busy"]`)
}
