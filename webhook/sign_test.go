package webhook_test

import (
	"strings"
	"testing"
	"time"

	"github.com/presenced/presenced/webhook"
)

// TestSignVector checks Sign against the test vector the Standard Webhooks
// libraries publish (libraries/go/webhook_test.go, TestWebhookSign).
func TestSignVector(t *testing.T) {
	key, err := webhook.Key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := webhook.Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestKey(t *testing.T) {
	key, err := webhook.Key(secret)
	if err != nil || string(key) != secret {
		t.Fatalf("Key(%q) = %q, %v; want the secret's bytes", secret, key, err)
	}
}

func TestConfigValidate(t *testing.T) {
	const url = "https://backend.example/hooks/presence"
	tests := []struct {
		name        string
		cfg         webhook.Config
		errContains string // "" for valid
	}{
		{"whsec", webhook.Config{URL: url, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, ""},
		{"long string", webhook.Config{URL: "http://127.0.0.1:9000/", Secret: secret}, ""},
		{"no url", webhook.Config{Secret: secret}, "-webhook-url is required"},
		{"no secret", webhook.Config{URL: url}, "-webhook-secret is required"},
		{"bad scheme", webhook.Config{URL: "ftp://backend.example/", Secret: secret}, "http or https"},
		{"no scheme", webhook.Config{URL: "backend.example:8080/hook", Secret: secret}, "http or https"},
		{"no host", webhook.Config{URL: "http:///hook", Secret: secret}, "no host"},
		{"user in url", webhook.Config{URL: "https://u:p@backend.example/", Secret: secret}, "user or password"},
		{"short secret", webhook.Config{URL: url, Secret: "too-short"}, "32 characters or more, not 9"},
		{"bad base64", webhook.Config{URL: url, Secret: "whsec_not*base64"}, "not base64"},
		{"short whsec key", webhook.Config{URL: url, Secret: "whsec_c2hvcnQ="}, "16 bytes or more, not 5"},
		{"negative queue", webhook.Config{URL: url, Secret: secret, Queue: -1}, "-webhook-queue"},
		{"negative interval", webhook.Config{URL: url, Secret: secret, Interval: -time.Second}, "-webhook-interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.errContains == "" && err != nil:
				t.Fatalf("Validate: %v, want nil", err)
			case tt.errContains != "" && (err == nil || !strings.Contains(err.Error(), tt.errContains)):
				t.Fatalf("Validate: %v, want an error containing %q", err, tt.errContains)
			}
		})
	}
	if (&webhook.Config{}).Enabled() {
		t.Error("the zero Config is Enabled")
	}
}
