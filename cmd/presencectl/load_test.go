package main

import (
	"sync/atomic"
	"testing"

	"github.com/presenced/presenced/web/wire"
)

// TestFinalServiceIsWhatConnectionsWereToldLast: the service went off
// while connections were connecting, and one connection's welcome (on)
// was recorded after the others' events (off). The end state is off: what
// the connections were each told last, not what was recorded last.
func TestFinalServiceIsWhatConnectionsWereToldLast(t *testing.T) {
	limit := 5
	reason := "connection_limit"
	off := &wire.Service{State: "disabled", Reason: &reason, Connections: 6, Limit: &limit}
	on := &wire.Service{State: "enabled", Connections: 1, Limit: &limit}
	l := &loader{conns: make([]atomic.Pointer[conn], 3)}
	for i, told := range []*wire.Service{off, off, on} {
		c := &conn{done: make(chan struct{})}
		c.service.Store(told)
		l.conns[i].Store(c)
	}
	l.seeService(off.State, off.Reason, off.Connections, off.Limit)
	l.seeService(on.State, on.Reason, on.Connections, on.Limit) // the late welcome
	f := l.finalService()
	if f == nil || f.State != "disabled" || f.Reason == nil || *f.Reason != reason || f.Connections != 6 {
		t.Fatalf("finalService = %+v, want disabled (connection_limit), 6 connections told", f)
	}

	// Once two of the three connections ended (say, closed by the server
	// without a service event), the one left open decides.
	for i := range 2 {
		close(l.conns[i].Load().done)
	}
	if f := l.finalService(); f == nil || f.State != "enabled" {
		t.Fatalf("finalService with only the enabled connection open = %+v, want enabled", f)
	}
}
