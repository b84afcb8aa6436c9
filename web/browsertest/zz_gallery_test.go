package browsertest

import (
	"testing"

	"github.com/chromedp/chromedp"
)

func TestGallery(t *testing.T) {
	s := startServer(t)
	login := s.open(t, "login", "/")
	login.waitVisible(`#dev-form`)
	alice := s.signIn(t, "alice", true)
	createStatus(alice, "In a meeting", "busy")
	createStatus(alice, "Focus time", "busy")
	bob := s.signIn(t, "bob", false)
	bob.click(`[data-self]`)
	bob.fill(`#status-text`, "Lunch")
	bob.screenshot("g-menu")
	alice.click(`[data-admin="new-status"]`)
	alice.fill(`[data-admin="status-name"]`, "Out sick")
	alice.screenshot("g-panel")
	alice.click(`#panel-cancel`)
	alice.do(chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	alice.screenshot("g-phone-admin")
	login.screenshot("g-login")
	alice.do(chromedp.EmulateViewport(1280, 860))
	alice.screenshot("g-admin")
}
