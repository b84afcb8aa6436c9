package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/presenced/presenced/internal/testproc"
	"github.com/presenced/presenced/internal/wstest"
	"github.com/presenced/presenced/web/wire"
)

// crashLoops is how many kill -9 rounds TestCrashLoop runs per store:
// a few by default, PRESENCE_CRASH_LOOPS for more (scripts/crashloop.sh).
func crashLoops(t *testing.T) int {
	if v := os.Getenv("PRESENCE_CRASH_LOOPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("PRESENCE_CRASH_LOOPS=%q: want a count", v)
		}
		return n
	}
	return 3
}

// TestCrashLoop kills presenced with SIGKILL the moment every write it
// acknowledged has been answered ok (statuses, a custom status pick,
// preferences, admin writes), restarts it on the same store and checks
// that each of them is there: "ok" means saved.
func TestCrashLoop(t *testing.T) {
	t.Run("bolt", func(t *testing.T) {
		dir := t.TempDir()
		crashLoop(t, "-data", dir)
	})
	t.Run("redis", func(t *testing.T) {
		// A killed node's connections leave the count once its key
		// expires: soon, so that many rounds do not trip the limit.
		crashLoop(t, "-redis", startRedisAOF(t), "-node-ttl", "1s")
	})
}

// writers is how many users set their status at once in a round, and
// statusWrites how many set_status each sends without waiting.
const (
	writers      = 4
	statusWrites = 25
)

func crashLoop(t *testing.T, store ...string) {
	args := append([]string{"-dev"}, store...)
	var want acked
	for round := range crashLoops(t) {
		proc, addr := start(t, args...)
		if round > 0 {
			want.check(t, addr, round)
		}
		want = writeAndAck(t, addr, round, want.created)
		proc.Stop(syscall.SIGKILL, 0) // right after the last ok
	}
	_, addr := start(t, args...)
	want.check(t, addr, crashLoops(t))
}

// acked is what one round's ok replies promised.
type acked struct {
	texts      map[string]string // writer -> last text
	statuses   map[string]string // writer -> last status
	created    wire.CustomStatus // the custom status an admin created
	picked     wire.CustomStatus // the one the picker picked: the last round's; none in the first
	prefsLimit int               // the prefs user's idle limit, in seconds
	workspace  int               // the workspace's idle limit, in seconds
}

// writeAndAck makes one round's writes and waits for their ok. The picker
// picks the custom status the previous round created: with Redis, a node's
// first resync (from the store, as it joins) may replace its catalog with
// one read a moment before a status created meanwhile, which is a matter
// for the cluster, not for what ok means.
func writeAndAck(t *testing.T, addr string, round int, pick wire.CustomStatus) acked {
	t.Helper()
	a := acked{texts: map[string]string{}, statuses: map[string]string{},
		picked: pick, prefsLimit: 60 + round, workspace: 600 + round}
	admin := connectAs(t, addr, "root", true)
	created := admin.OK(map[string]any{"type": "admin.statuses.create", "name": fmt.Sprintf("Crash %d", round), "presence": "busy"})
	a.created = *created.Status

	conns := map[string]*wstest.Client{"picker": connectAs(t, addr, "picker", false), "prefs": connectAs(t, addr, "prefs", false)}
	for i := range writers {
		u := "w" + strconv.Itoa(i)
		conns[u] = connectAs(t, addr, u, false)
	}
	// Everything goes out at once, then every reply is awaited: the kill
	// comes as soon as the last one is in.
	for i := range writers {
		u := "w" + strconv.Itoa(i)
		for j := range statusWrites {
			st := []string{"busy", "away", "online"}[j%3]
			text := fmt.Sprintf("round %d write %d", round, j)
			conns[u].Send(map[string]any{"type": "set_status", "id": strconv.Itoa(j), "status": st, "text": text})
			a.texts[u], a.statuses[u] = text, st
		}
	}
	if pick.ID != "" {
		conns["picker"].Send(map[string]any{"type": "set_custom_status", "id": "pick", "custom": pick.ID})
	}
	conns["prefs"].Send(map[string]any{"type": "set_prefs", "id": "prefs", "idle_limit_s": a.prefsLimit})
	admin.Send(map[string]any{"type": "admin.settings", "id": "settings", "idle_limit_s": a.workspace})

	var wg sync.WaitGroup
	for u, c := range conns {
		var ids []string
		switch u {
		case "prefs":
			ids = []string{"prefs"}
		case "picker":
			if pick.ID != "" {
				ids = []string{"pick"}
			}
		default:
			ids = nil
			for j := range statusWrites {
				ids = append(ids, strconv.Itoa(j))
			}
		}
		wg.Go(func() { awaitOK(t, c, ids...) })
	}
	awaitOK(t, admin, "settings")
	wg.Wait()
	return a
}

// awaitOK waits for an ok reply to each id.
func awaitOK(t *testing.T, c *wstest.Client, ids ...string) {
	for _, id := range ids {
		f := c.NextAny(func(f wire.Frame) bool { return f.ID == id && (f.Type == "result" || f.Type == "error") })
		if !f.OK {
			t.Errorf("%s: %+v, want ok", id, f)
		}
	}
}

// check connects as each user of a and compares what the server says
// with what it acknowledged before it was killed.
func (a acked) check(t *testing.T, addr string, round int) {
	t.Helper()
	for u, text := range a.texts {
		self := connectAs(t, addr, u, false).Welcome.Self
		if self.Text != text || self.Manual != a.statuses[u] {
			t.Errorf("after kill %d, %s is %s %q; acknowledged %s %q", round, u, self.Manual, self.Text, a.statuses[u], text)
		}
	}
	picker := connectAs(t, addr, "picker", false).Welcome
	if p := a.picked; p.ID != "" && (picker.Self.Custom == nil || *picker.Self.Custom != p.ID || picker.Self.Text != p.Name) {
		t.Errorf("after kill %d, picker holds %v %q; acknowledged %s %q", round, picker.Self.Custom, picker.Self.Text, p.ID, p.Name)
	}
	found := false
	for _, cs := range picker.Statuses {
		found = found || cs == a.created
	}
	if !found {
		t.Errorf("after kill %d, the catalog lacks the acknowledged custom status %+v", round, a.created)
	}
	if got := connectAs(t, addr, "prefs", false).Welcome.IdleLimitMS; got != int64(a.prefsLimit)*1000 {
		t.Errorf("after kill %d, prefs' idle limit is %d ms; acknowledged %d s", round, got, a.prefsLimit)
	}
	if got := connectAs(t, addr, "nobody", false).Welcome.IdleLimitMS; got != int64(a.workspace)*1000 {
		t.Errorf("after kill %d, the workspace idle limit is %d ms; acknowledged %d s", round, got, a.workspace)
	}
}

// connectAs signs in to a -dev server as user, with a token it mints.
func connectAs(t *testing.T, addr, user string, admin bool) *wstest.Client {
	t.Helper()
	return wstest.Connect(t, "ws://"+addr+"/ws", devToken(t, addr, user, admin), 10*time.Second)
}

// startRedisAOF starts a redis-server of the test's own that syncs its
// append-only file on every write, so that what Redis answered survives
// presenced's death (Redis itself is not killed here).
func startRedisAOF(t *testing.T) string {
	t.Helper()
	port := testproc.FreePort(t)
	testproc.StartRedis(t, port, t.TempDir(), "--appendonly", "yes", "--appendfsync", "always")
	return fmt.Sprintf("redis://127.0.0.1:%d/0", port)
}
