package presence

import (
	"testing"
)

var sinkStatus Status

// BenchmarkEffective runs the presence rule over every kind of input: it is
// called once per change the hub applies.
func BenchmarkEffective(b *testing.B) {
	inputs := []struct {
		manual Status
		conns  Conns
	}{
		{Online, Conns{}},
		{Online, Conns{Online: 1}},
		{Online, Conns{Away: 2}},
		{Busy, Conns{Online: 1}},
		{Offline, Conns{Away: 1}},
		{Away, Conns{Online: 3, Away: 1}},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		in := inputs[i%len(inputs)]
		sinkStatus = Effective(in.manual, in.conns)
	}
}

// BenchmarkEarliest is the deadline pick a connection timer makes.
