package hub

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/rs/zerolog"

	"github.com/presenced/presenced/internal/testlog"
)

// logLines returns the JSON log lines in buf whose message contains msg.
func logLines(t *testing.T, buf *testlog.Buffer, msg string) []map[string]any {
	t.Helper()
	var found []map[string]any
	for _, rec := range buf.Lines(t) {
		if m, _ := rec["message"].(string); strings.Contains(m, msg) {
			found = append(found, rec)
		}
	}
	return found
}

// TestOperatorLogs: an operator reads, one line each, the limit warning,
// the trip (what did it, the count, the limit), the count back under the
// limit, and the admin who turned presence on again.
func TestOperatorLogs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf testlog.Buffer
		h := New(Config{Store: newMemStore(), Limit: 10, Log: zerolog.New(&buf)})
		defer run(t, h)()
		for id := ConnID(1); id <= 11; id++ {
			h.Connect(ConnInfo{ID: id, User: fmt.Sprint("u", id), Admin: id == 1}, &sink{})
		}
		h.Disconnect(11)
		h.Disconnect(10)
		h.Do(1, "on", AdminService{Enabled: true})
		synctest.Wait()

		checks := []struct {
			msg  string
			want map[string]any
		}{
			{"connections at 80% of the limit", map[string]any{"level": "warn", "connections": 8.0, "limit": 10.0}},
			{"connections at 95% of the limit", map[string]any{"level": "warn", "connections": 10.0, "limit": 10.0}},
			{"presence service disabled: the workspace went over its connection limit",
				map[string]any{"level": "warn", "by": "connection_limit", "connections": 11.0, "limit": 10.0, "reason": "connection_limit"}},
			{"connections back under the limit", map[string]any{"level": "info", "connections": 9.0, "limit": 10.0}},
			{"presence service enabled by an admin", map[string]any{"level": "info", "by": "admin:u1", "connections": 9.0, "service": "enabled"}},
		}
		for _, c := range checks {
			lines := logLines(t, &buf, c.msg)
			if len(lines) != 1 {
				t.Errorf("%d lines say %q, want 1; log:\n%s", len(lines), c.msg, buf.String())
				continue
			}
			for k, v := range c.want {
				if lines[0][k] != v {
					t.Errorf("%q: %s = %v, want %v", c.msg, k, lines[0][k], v)
				}
			}
		}
	})
}
