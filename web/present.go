package web

import (
	"github.com/presenced/presenced/hub"
	"github.com/presenced/presenced/web/wire"
)

// The functions below are the socket's own conversions between the hub and
// the wire, for the HTTP API (web/api): both edges then read commands and
// show answers the same way, from one implementation.

// Command is the hub command of a decoded frame, as the socket runs it.
func Command(c wire.Command) hub.Command { return command(c) }

// Entries are es as the socket shows them.
func Entries(es []hub.Entry) []wire.Entry {
	bufs := make([]entryBuf, len(es))
	out := make([]wire.Entry, len(es))
	for i := range es {
		out[i] = bufs[i].entry(&es[i])
	}
	return out
}

// ResultOf is r as the socket's result frame carries it (without type, id
// and ok, which are the frame's), and false for a result it does not know.
func ResultOf(r hub.Result) (wire.Result, bool) {
	if es, ok := r.(hub.Entries); ok {
		users := Entries(es)
		return wire.Result{Users: &users}, true
	}
	w, ok := result("", r)
	w.Type, w.OK = "", false
	return w, ok
}
