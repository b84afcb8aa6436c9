package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/presenced/presenced/internal/testenv"
	"github.com/presenced/presenced/webhook"
)

// webhookKey and verifyWebhook are docs/webhooks.md's Go snippet, verbatim
// (TestDocsGoSnippet checks): what a receiver writes.

// webhookKey is the HMAC key of a -webhook-secret.
func webhookKey(secret string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		return base64.StdEncoding.DecodeString(rest)
	}
	return []byte(secret), nil
}

// verifyWebhook checks a request's signature and timestamp.
func verifyWebhook(key []byte, h http.Header, body []byte, now time.Time) error {
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if id == "" || err != nil {
		return errors.New("webhook: no webhook-id or webhook-timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("webhook: timestamp too far from now")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		version, b64, _ := strings.Cut(sig, ",")
		got, err := base64.StdEncoding.DecodeString(b64)
		if version == "v1" && err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("webhook: no valid signature")
}

// The Standard Webhooks test vector.
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = "1614265330"
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

// signedBatch is a batch a real Sender signed with secret, as the receiver
// got it.
func signedBatch(t *testing.T, secret string) post {
	r := newReceiver(t, nil)
	h := start(t, r.srv.URL, webhook.Config{Secret: secret})
	h.s.PresenceChanged(change("alice", "busy"))
	h.clock.AdvanceArmed(t)
	return r.next(t)
}

func TestVerifySnippetGo(t *testing.T) {
	key, err := webhookKey(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Webhook-Id": {vectorID}, "Webhook-Timestamp": {vectorTS},
		"Webhook-Signature": {"v1,bm90IGl0 " + vectorSig}}
	if err := verifyWebhook(key, h, []byte(vectorBody), time.Unix(1614265330, 0)); err != nil {
		t.Errorf("test vector: %v", err)
	}
	if err := verifyWebhook(key, h, []byte(vectorBody+" "), time.Unix(1614265330, 0)); err == nil {
		t.Error("a changed body verifies")
	}
	for _, s := range []string{secret, vectorSecret} {
		p := signedBatch(t, s)
		key, _ := webhookKey(s)
		// The fake clock's time, give or take the 5 min tolerance.
		if err := verifyWebhook(key, p.header, p.body, newFakeClock().now.Add(time.Minute)); err != nil {
			t.Errorf("secret %q: a batch presenced signed: %v", s, err)
		}
	}
}

// snippet is the first fenced block of lang in docs/webhooks.md.
func snippet(t *testing.T, lang string) string {
	b, err := os.ReadFile(filepath.Join("..", "docs", "webhooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "\n```"+lang+"\n")
	code, _, ok2 := strings.Cut(rest, "\n```\n")
	if !ok || !ok2 {
		t.Fatalf("docs/webhooks.md has no %s block", lang)
	}
	return code + "\n"
}

func TestDocsGoSnippet(t *testing.T) {
	self, err := os.ReadFile("verify_test.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(self), snippet(t, "go")) {
		t.Fatal("docs/webhooks.md's Go snippet is not verify_test.go's webhookKey and verifyWebhook")
	}
}

// TestVerifySnippetJS runs docs/webhooks.md's JavaScript snippet in Node.js
// on the test vector and on a batch presenced signed.
func TestVerifySnippetJS(t *testing.T) {
	node := testenv.Binary(t, "node", "nodejs")
	p := signedBatch(t, vectorSecret)
	cases := []map[string]any{
		{"secret": vectorSecret, "body": vectorBody, "now": 1614265330_000, "want": true,
			"headers": map[string]string{"webhook-id": vectorID, "webhook-timestamp": vectorTS, "webhook-signature": vectorSig}},
		{"secret": vectorSecret, "body": vectorBody + " ", "now": 1614265330_000, "want": false,
			"headers": map[string]string{"webhook-id": vectorID, "webhook-timestamp": vectorTS, "webhook-signature": vectorSig}},
		{"secret": vectorSecret, "body": vectorBody, "now": 1614265330_000 + 301_000, "want": false,
			"headers": map[string]string{"webhook-id": vectorID, "webhook-timestamp": vectorTS, "webhook-signature": vectorSig}},
		{"secret": vectorSecret, "body": string(p.body), "now": newFakeClock().now.UnixMilli(), "want": true,
			"headers": map[string]string{"webhook-id": p.header.Get("webhook-id"),
				"webhook-timestamp": p.header.Get("webhook-timestamp"), "webhook-signature": p.header.Get("webhook-signature")}},
	}
	js, _ := json.Marshal(cases)
	dir := t.TempDir()
	script := snippet(t, "js") + `
const cases = ` + string(js) + `;
let failed = 0;
for (const [i, c] of cases.entries()) {
  const got = verifyWebhook(webhookKey(c.secret), c.headers, Buffer.from(c.body, "utf8"), c.now);
  if (got !== c.want) { console.log("case", i, "got", got, "want", c.want); failed++; }
}
process.exit(failed ? 1 : 0);
`
	path := filepath.Join(dir, "verify.mjs")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, path).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
}
