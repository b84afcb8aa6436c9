// Package testenv finds the real parts that tests drive (a Redis server,
// binaries such as redis-server or systemd-analyze) and, when one is
// missing, says in one line what to set or install. The test is then
// skipped, or fails under CI=true, where a skip would pass unseen.
//
// Every hint names the same Redis port, 6379, so a human can start one
// server and run every test against it; .ci/run picks a free port of its
// own and sets the variable.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RedisVar names the variable that points tests at a Redis server.
const RedisVar = "PRESENCE_TEST_REDIS"

// RedisHint is how to start a Redis server for the tests and point them
// at it.
const RedisHint = "redis-server --port 6379 --save '' --appendonly no --daemonize yes && " +
	RedisVar + "=redis://127.0.0.1:6379/0 go test ./..."

// CI reports whether the tests run under CI (CI=true), where nothing may
// be skipped for want of a part.
func CI() bool { return os.Getenv("CI") == "true" }

// Missing skips t with why, or fails it under CI.
func Missing(t testing.TB, why string) {
	t.Helper()
	if CI() {
		t.Fatal(why + " (CI=true: CI must provide it)")
		return
	}
	t.Skip(why)
}

// RedisURL returns the URL of the tests' Redis server, from RedisVar.
// Without one, t is skipped (or fails under CI) saying how to start one.
func RedisURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(RedisVar); u != "" {
		return u
	}
	Missing(t, RedisVar+" is not set; to run the Redis tests: "+RedisHint)
	return ""
}

// Binary returns the path of the program name on PATH. Without it, t is
// skipped (or fails under CI) saying which Debian package provides it.
func Binary(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not on PATH; apt-get install "+pkg+" to run this test")
	}
	return p
}
