package browsertest

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/presenced/presenced/internal/testenv"
)

// The client's TypeScript declarations compile, and the misuses in
// types-test.ts are type errors, with the TypeScript of the package's
// devDependencies (package-lock.json), installed once into the user's
// cache folder rather than into web/static.
func TestClientTypes(t *testing.T) {
	npm := testenv.Binary(t, "npm", "npm")
	static, _ := filepath.Abs(filepath.Join("..", "static"))
	lock, err := os.ReadFile(filepath.Join(static, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	sum := sha256.Sum256(lock)
	tools := filepath.Join(cache, "presenced", "tsc-"+hex.EncodeToString(sum[:8]))
	tsc := filepath.Join(tools, "node_modules", ".bin", "tsc")
	if _, err := os.Stat(tsc); err != nil {
		if err := os.MkdirAll(tools, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"package.json", "package-lock.json"} {
			b, err := os.ReadFile(filepath.Join(static, f))
			if err == nil {
				err = os.WriteFile(filepath.Join(tools, f), b, 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		install := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--prefer-offline")
		install.Dir = tools
		timer := time.AfterFunc(5*time.Minute, func() { install.Process.Kill() })
		out, err := install.CombinedOutput()
		timer.Stop()
		if err != nil {
			testenv.Missing(t, "npm ci of the client's devDependencies failed (offline?): "+err.Error()+"\n"+string(out))
		}
	}
	check := exec.Command(tsc, "--noEmit", "-p", filepath.Join(static, "tsconfig.json"))
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("tsc --noEmit: %v\n%s", err, out)
	}
}
