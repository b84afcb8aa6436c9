package web

import (
	"strings"
	"testing"

	"github.com/presenced/presenced/web/wire"
)

// TestRepliesInCommandOrder sends commands in one burst that are answered
// in different places: by the connection (ping, a frame that does not
// decode), by the hub at once (query, set_status) and by the hub after a
// store write (admin.settings, admin.service). The replies come back in
// the order of the commands, repeated and missing ids included.
func TestRepliesInCommandOrder(t *testing.T) {
	n := startNode(t, options{})
	c := n.connect(t, "root", true)
	frames := []string{
		`{"type":"admin.settings","id":"1","idle_limit_s":600}`,
		`{"type":"ping","id":"2"}`,
		`{"type":"query","id":"3","users":["alice"]}`,
		`{"type":"admin.service","id":"4","enabled":false}`,
		`{"type":"ping","id":"5"}`,
		`{"type":"nope","id":"6"}`,
		`{"type":"set_status","id":"7","status":"busy"}`,
		`{"type":"admin.settings","id":"8","idle_limit_s":60}`,
		`{"type":"ping","id":"8"}`,
		`{"type":"admin.service","enabled":true}`,
		`{"type":"ping"}`,
	}
	for range 3 {
		for _, f := range frames {
			c.SendRaw([]byte(f))
		}
		var got []string
		for range frames {
			f := c.NextAny(func(f wire.Frame) bool {
				return f.Type == wire.TypeResult || f.Type == wire.TypeError || f.Type == wire.TypePong
			})
			got = append(got, f.Type+":"+f.ID)
		}
		want := "result:1 pong:2 result:3 result:4 pong:5 error:6 result:7 result:8 pong:8 result: pong:"
		if strings.Join(got, " ") != want {
			t.Fatalf("replies %v\nwant    %s", got, want)
		}
	}
}
