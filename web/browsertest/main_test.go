package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"

	"github.com/presenced/presenced/internal/testenv"
	"github.com/presenced/presenced/internal/testproc"
)

var updateDocs = flag.Bool("update-docs", false, "also copy the screenshots to docs/screenshot-*.png")

// Set by TestMain.
var (
	serverBin  string          // the presenced binary, built once
	browserCtx context.Context // one headless Chromium for the whole package; nil without one
	noBrowser  string          // why there is no browser
)

// actionTimeout bounds every single wait or action, so a broken page fails
// one step quickly instead of hanging the suite.
const actionTimeout = 10 * time.Second

// httpClient keeps no idle connections, so none outlive the tests (goleak).
var httpClient = &http.Client{
	Timeout:   5 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true},
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	chromium := findChromium()
	if chromium == "" {
		noBrowser = "no Chromium: apt-get install chromium (/usr/bin/chromium), or set PRESENCE_CHROMIUM to a Chromium binary"
		return m.Run()
	}
	tmp, err := os.MkdirTemp("", "presenced-browsertest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "browsertest:", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	bin, removeBin, err := testproc.Build("github.com/presenced/presenced/cmd/presenced")
	if err != nil {
		fmt.Fprintln(os.Stderr, "browsertest:", err)
		return 1
	}
	defer removeBin()
	serverBin = bin

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(tmp, "chromium-profile")),
		chromedp.WindowSize(1280, 860),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		cancelBrowser()
		cancelAlloc()
		fmt.Fprintln(os.Stderr, "browsertest: start chromium:", err)
		return 1
	}
	browserCtx = ctx
	code := m.Run()
	cancelBrowser()
	cancelAlloc()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "browsertest: leaked goroutines:", err)
			code = 1
		}
	}
	return code
}

// findChromium returns $PRESENCE_CHROMIUM when set (and present), else
// Debian's /usr/bin/chromium, else the first Chromium on PATH.
func findChromium() string {
	if p := os.Getenv("PRESENCE_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return ""
		}
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// needBrowser skips the test without Chromium, or fails it under CI, where a
// skipped browser suite would pass unseen.
func needBrowser(t *testing.T) {
	t.Helper()
	if browserCtx != nil {
		return
	}
	testenv.Missing(t, noBrowser)
}

// server is one presenced process, restartable on the same address and
// data folder.
type server struct {
	URL  string
	t    *testing.T
	args []string
	proc *testproc.Proc // the running process; nil when stopped
}

// startServer runs presenced in dev mode on a free port with a fresh store and
// returns once /readyz answers 200. It stops the process when the test ends.
func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	return startServerArgs(t, append([]string{"-dev"}, extra...)...)
}

// startServerArgs is startServer without the implied -dev.
func startServerArgs(t *testing.T, extra ...string) *server {
	t.Helper()
	needBrowser(t)
	addr := testproc.FreeAddr(t)
	s := &server{
		URL:  "http://" + addr,
		t:    t,
		args: append([]string{"-addr", addr, "-data", t.TempDir(), "-admin-addr", ""}, extra...),
	}
	s.start()
	return s
}

// start starts the process and waits until it is ready.
func (s *server) start() {
	s.t.Helper()
	s.proc = testproc.Start(s.t, exec.Command(serverBin, s.args...))
	s.proc.WaitHTTP(s.t, s.URL+"/readyz", 10*time.Second)
}

// stop stops the process as an operator would, with SIGINT.
func (s *server) stop() {
	s.t.Helper()
	if !s.proc.Stop(os.Interrupt, 5*time.Second) {
		s.t.Errorf("presenced did not stop within 5 s of SIGINT")
	}
	s.proc = nil
}

// token mints a dev token for user.
func (s *server) token(t *testing.T, user string, admin bool) string {
	t.Helper()
	q := url.Values{"user": {user}}
	if admin {
		q.Set("admin", "1")
	}
	resp, err := httpClient.Get(s.URL + "/dev/token?" + q.Encode())
	if err != nil {
		t.Fatalf("dev token: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Token == "" {
		t.Fatalf("dev token for %s: HTTP %d, %v", user, resp.StatusCode, err)
	}
	return body.Token
}

// signIn opens the page signed in as user through /#token=.
func (s *server) signIn(t *testing.T, user string, admin bool) *tab {
	t.Helper()
	p := s.open(t, user, "/#token="+s.token(t, user, admin))
	p.waitVisible(`[data-self]`)
	return p
}

// tab is one page in its own browser context (its own storage and cookies),
// like a person on their own machine.
type tab struct {
	t       *testing.T
	name    string
	ctx     context.Context
	close   context.CancelFunc
	dialogs atomic.Int32 // alert/confirm/prompt dialogs the page opened
}

// open loads path in a new browser context at desktop size.
func (s *server) open(t *testing.T, name, path string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		exceptions []string
	)
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		for _, e := range exceptions {
			t.Errorf("%s: uncaught in the page: %s", name, e)
		}
	})
	if err := chromedp.Do(ctx); err != nil { // opens the tab; no timeout here
		t.Fatalf("%s: open tab: %v", name, err)
	}
	p := &tab{t: t, name: name, ctx: ctx, close: cancel}
	// Any dialog is a failure of escaping; dismiss it so the page goes on.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	wg.Go(func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			p.dialogs.Add(1)
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	})
	// Uncaught exceptions and unhandled rejections fail the test.
	console := chromedp.Console(ctx)
	wg.Go(func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() {
				mu.Lock()
				exceptions = append(exceptions, m.String())
				mu.Unlock()
			}
		}
	})
	// Reduced motion: screenshots show the end of transitions, not a frame
	// in the middle of one.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
	}); err != nil {
		t.Fatalf("%s: emulate reduced motion: %v", name, err)
	}
	p.do(chromedp.EmulateViewport(1280, 860), chromedp.Navigate(s.URL+path))
	return p
}

// do runs actions with the per-action timeout and fails the test on error.
func (p *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout*time.Duration(max(1, len(actions))))
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fail(err)
	}
}

func (p *tab) fail(err error) {
	p.t.Helper()
	shot := p.screenshot("fail-" + p.name)
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("timed out: %w", err)
	}
	p.t.Fatalf("%s: %v (screenshot: %s)", p.name, err, shot)
}

func (p *tab) waitVisible(sel string) {
	p.t.Helper()
	p.do(chromedp.WaitVisible(chromedp.CSS(sel)))
}

func (p *tab) waitGone(sel string) {
	p.t.Helper()
	p.do(chromedp.WaitNotPresent(chromedp.CSS(sel)))
}

func (p *tab) click(sel string) {
	p.t.Helper()
	p.do(chromedp.Click(chromedp.CSS(sel)))
}

// fill replaces the value of an input, typing like a person (input events).
func (p *tab) fill(sel, text string) {
	p.t.Helper()
	p.waitVisible(sel)
	// Not SetValue(sel, ""): chromedp v0.23 passes an empty string argument
	// as undefined, which sets the value "undefined".
	eval[bool](p, fmt.Sprintf(`(el => {
		el.value = '';
		el.dispatchEvent(new Event('input', {bubbles: true}));
		return true;
	})(document.querySelector(%s))`, js(sel)))
	p.do(chromedp.SendKeys(chromedp.CSS(sel), text))
}

// until waits for a JavaScript expression to be truthy and returns its value.
func until[T any](p *tab, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr,
		chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(actionTimeout)))
	if err != nil {
		p.fail(fmt.Errorf("waiting for %s: %w", expr, err))
	}
	return v
}

// eval evaluates a JavaScript expression once.
func eval[T any](p *tab, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.fail(fmt.Errorf("evaluate %s: %w", expr, err))
	}
	return v
}

// waitText waits until the text content of the first match of sel is want.
func (p *tab) waitText(sel, want string) {
	p.t.Helper()
	until[bool](p, fmt.Sprintf(`document.querySelector(%s)?.textContent === %s`, js(sel), js(want)))
}

// js quotes a Go string as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// screenshot saves the viewport as artifacts/<name>.png and returns the path.
// It is best effort: a failing test still fails for its own reason.
func (p *tab) screenshot(name string) string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return "none: " + err.Error()
	}
	if err := os.MkdirAll("artifacts", 0o755); err != nil {
		return "none: " + err.Error()
	}
	path := filepath.Join("artifacts", name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return "none: " + err.Error()
	}
	return path
}

// cleanScreenshot is screenshot without the toasts, which come and go on
// their own clock.
func (p *tab) cleanScreenshot(name string) string {
	p.t.Helper()
	eval[bool](p, `(document.getElementById('toasts')?.replaceChildren(), true)`)
	return p.screenshot(name)
}

// docScreenshot saves a screenshot for the README: artifacts/<name>.png, and
// with -update-docs also docs/<name>.png.
func (p *tab) docScreenshot(name string) {
	p.t.Helper()
	path := p.cleanScreenshot(name)
	if !*updateDocs || strings.HasPrefix(path, "none") {
		return
	}
	buf, err := os.ReadFile(path)
	if err == nil {
		err = os.WriteFile(filepath.Join("..", "..", "docs", name+".png"), buf, 0o644)
	}
	if err != nil {
		p.t.Errorf("update docs screenshot: %v", err)
	}
}
