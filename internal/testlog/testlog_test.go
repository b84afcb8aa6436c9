package testlog

import (
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

func TestLinesFromManyGoroutines(t *testing.T) {
	var b Buffer
	log := zerolog.New(&b)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { log.Info().Int("i", i).Msg("hello") })
	}
	wg.Wait()
	lines := b.Lines(t)
	if len(lines) != 10 {
		t.Fatalf("%d lines, want 10:\n%s", len(lines), b.String())
	}
	seen := map[float64]bool{}
	for _, l := range lines {
		if l["message"] != "hello" {
			t.Errorf("line %v: message is not hello", l)
		}
		seen[l["i"].(float64)] = true
	}
	if len(seen) != 10 {
		t.Errorf("lines %v: want each i once", lines)
	}
}

func TestEmptyHasNoLines(t *testing.T) {
	var b Buffer
	if lines := b.Lines(t); len(lines) != 0 {
		t.Errorf("an empty log has lines %v", lines)
	}
}
