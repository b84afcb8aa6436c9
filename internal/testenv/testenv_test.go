package testenv

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// recorder is a testing.TB that records a skip or a failure instead of
// ending the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()          {}
func (r *recorder) Skip(args ...any) { r.skipped = args[0].(string) }
func (r *recorder) Fatal(args ...any) {
	r.failed = args[0].(string)
}

func TestMissingRedisSkipsWithOneLineOutsideCI(t *testing.T) {
	t.Setenv(RedisVar, "")
	t.Setenv("CI", "")
	r := &recorder{TB: t}
	RedisURL(r)
	if r.failed != "" || r.skipped == "" {
		t.Fatalf("skipped %q, failed %q: want a skip", r.skipped, r.failed)
	}
	for _, want := range []string{RedisVar, "redis://127.0.0.1:6379/0", "redis-server --port 6379"} {
		if !strings.Contains(r.skipped, want) {
			t.Errorf("skip message %q does not say %q", r.skipped, want)
		}
	}
	if strings.Contains(r.skipped, "\n") {
		t.Errorf("skip message %q is more than one line", r.skipped)
	}
}

func TestMissingPartsFailUnderCI(t *testing.T) {
	t.Setenv(RedisVar, "")
	t.Setenv("CI", "true")
	r := &recorder{TB: t}
	RedisURL(r)
	if r.skipped != "" || !strings.Contains(r.failed, RedisVar) {
		t.Errorf("skipped %q, failed %q: want a failure naming %s", r.skipped, r.failed, RedisVar)
	}
	r = &recorder{TB: t}
	Binary(r, "no-such-binary-presenced", "no-such-package")
	if r.skipped != "" || !strings.Contains(r.failed, "apt-get install no-such-package") {
		t.Errorf("skipped %q, failed %q: want a failure naming the package", r.skipped, r.failed)
	}
}

func TestRedisURLFromEnvironment(t *testing.T) {
	t.Setenv(RedisVar, "redis://127.0.0.1:6379/3")
	if got := RedisURL(t); got != "redis://127.0.0.1:6379/3" {
		t.Errorf("RedisURL = %q", got)
	}
}

// TestOneRedisPortInHints keeps the humans' docs on one port: a reader who
// started Redis as one page says must not be told another port elsewhere.
func TestOneRedisPortInHints(t *testing.T) {
	root := filepath.Join("..", "..")
	files, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	deploy, _ := filepath.Glob(filepath.Join(root, "deploy", "*"))
	files = append(append(files, filepath.Join(root, "README.md")), deploy...)
	port := regexp.MustCompile(`(?:redis://(?:127\.0\.0\.1|localhost)|redis-server --port|redis-cli -p) ?:?(\d+)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range port.FindAllStringSubmatch(string(b), -1) {
			if m[1] != "6379" {
				t.Errorf("%s: %q: hints use port 6379", f, m[0])
			}
		}
	}
	if len(files) < 3 {
		t.Errorf("found only %v: is the test in internal/testenv?", files)
	}
}
