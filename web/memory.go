package web

import (
	"context"
	"runtime/debug"
	"time"
)

// An idle node allocates next to nothing (a heartbeat round trip costs no
// memory), so after a burst of connects Go's collector would not run again
// until its periodic GC two minutes on, and the burst's garbage (the
// handshakes, hellos and subscribes) would be held in RSS until then.
// releaseAfterBursts collects it and returns it to the OS once the burst
// is over: one GC per burst, when the node is quiet.
const (
	burstConnects = 1000        // connects since the last release that make a burst
	burstQuiet    = time.Second // how long without a connect ends one
)

// releaseAfterBursts runs until ctx ends, calling release (debug.FreeOSMemory
// unless a test set it) once after each burst of connects.
func (s *Server) releaseAfterBursts(ctx context.Context) {
	release := s.release
	if release == nil {
		release = debug.FreeOSMemory
	}
	t := time.NewTicker(burstQuiet)
	defer t.Stop()
	var released, last int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := s.upgrades.Load()
		if n == last && n-released >= burstConnects {
			release()
			released = n
		}
		last = n
	}
}
