// Package browsertest drives the bundled page (web/static) in real Chromium
// against a real presenced process: two people watching each other's status,
// the admin console, the connection limit, and escaping of status names.
//
// The tests build ./cmd/presenced once, start it per test on a free port with
// -dev and a fresh data folder, and open pages in separate browser contexts of
// one headless Chromium ($PRESENCE_CHROMIUM, else /usr/bin/chromium, else
// chromium on PATH). Without Chromium they skip, except under CI=true, where
// they fail. They wait on DOM conditions, never on sleeps, and leave
// screenshots in artifacts/ (run with -update-docs to refresh
// docs/screenshot-*.png as well).
package browsertest
