package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/presenced/presenced/internal/testenv"
)

const (
	unitFile = "../../deploy/presenced.service"
	envFile  = "../../deploy/presenced.env"
)

// shutdownBudget is the longest the server takes to stop on SIGTERM: 4 s
// to close its sockets (web.Server.Serve), then up to 5 s of pending writes
// (hub.Run). The unit must wait longer before it kills.
const shutdownBudget = 9 * time.Second

// TestUnitVerifies runs systemd-analyze verify on the unit, with ExecStart
// pointed at the binary under test (verify checks that it exists).
func TestUnitVerifies(t *testing.T) {
	analyze := testenv.Binary(t, "systemd-analyze", "systemd")
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	const exec0 = "ExecStart=/usr/local/bin/presenced"
	if !strings.Contains(string(unit), exec0+"\n") {
		t.Fatalf("the unit does not start %s", exec0)
	}
	tmp := filepath.Join(t.TempDir(), "presenced.service")
	os.WriteFile(tmp, []byte(strings.Replace(string(unit), exec0, "ExecStart="+binary, 1)), 0o644)
	if out, err := exec.Command(analyze, "verify", tmp).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestUnitHardenedAndPatient(t *testing.T) {
	dirs := unitDirectives(t)
	for k, v := range map[string]string{
		"DynamicUser": "yes", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
		"StateDirectory": "presenced", "Restart": "on-failure", "KillSignal": "SIGTERM",
		"Environment": "PRESENCE_DATA=/var/lib/presenced",
	} {
		if dirs[k] != v {
			t.Errorf("%s=%q, want %q", k, dirs[k], v)
		}
	}
	if stop, err := time.ParseDuration(dirs["TimeoutStopSec"]); err != nil || stop <= shutdownBudget {
		t.Errorf("TimeoutStopSec=%q: want a duration above the server's own shutdown, %v", dirs["TimeoutStopSec"], shutdownBudget)
	}
	if files := dirs["LimitNOFILE"]; len(files) < 5 { // 10000 or more
		t.Errorf("LimitNOFILE=%q: want it raised well above 1024, one file per connection", files)
	}
}

// TestEnvExampleIsValid runs -check-config with the example environment
// file, as the unit would load it: refused until a secret is filled in,
// valid with one and a writable data folder.
func TestEnvExampleIsValid(t *testing.T) {
	f, err := os.Open(envFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := []string{"PRESENCE_DATA=" + t.TempDir()}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			env = append(env, l)
		}
	}
	if out, code := runCheckConfig(t, env); code != 1 || !strings.Contains(out, "one of -jwt-secret, -jwks-url or -dev is required") {
		t.Errorf("-check-config with %s as it is: exit %d, want 1 for the missing secret\n%s", envFile, code, out)
	}
	out, code := runCheckConfig(t, append(env, "PRESENCE_JWT_SECRET="+longSecret))
	if code != 0 || !strings.Contains(out, "configuration is valid") || strings.Contains(out, "warn") {
		t.Errorf("-check-config with %s: exit %d\n%s", envFile, code, out)
	}
}

// unitDirectives reads the unit's Key=Value lines (the last one wins).
func unitDirectives(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			dirs[k] = v
		}
	}
	return dirs
}
