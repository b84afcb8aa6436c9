package main

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestBucketsAreContiguous(t *testing.T) {
	prevHi := uint64(0)
	for i := 1; i < nBuckets; i++ {
		lo, hi := bucketRange(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, prevHi+1)
		}
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d = [%d, %d], but bucketOf gives %d and %d", i, lo, hi, bucketOf(lo), bucketOf(hi))
		}
		if lo >= subCount && float64(hi-lo)/float64(lo) > 1.0/subCount {
			t.Fatalf("bucket %d = [%d, %d] is wider than 1/%d", i, lo, hi, subCount)
		}
		prevHi = hi
		if hi == math.MaxUint64 {
			break
		}
	}
	if bucketOf(math.MaxInt64) >= nBuckets {
		t.Fatalf("bucketOf(MaxInt64) = %d, past %d buckets", bucketOf(math.MaxInt64), nBuckets)
	}
}

func TestQuantiles(t *testing.T) {
	tests := []struct {
		name    string
		samples []time.Duration
		q       float64
		want    time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", []time.Duration{1234567}, 0.99, 1234567},
		{"one p50", []time.Duration{42 * time.Millisecond}, 0.5, 42 * time.Millisecond},
		{"small exact", []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.5, 5},
		{"small p90", []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, 9},
		{"small p100", []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 1, 10},
		{"negative is zero", []time.Duration{-5}, 0.5, 0},
		{"two modes p50", append(repeat(time.Millisecond, 90), repeat(time.Second, 10)...), 0.5, time.Millisecond},
		{"two modes p99", append(repeat(time.Millisecond, 90), repeat(time.Second, 10)...), 0.99, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h histogram
			for _, d := range tt.samples {
				h.record(d)
			}
			if got := h.quantile(tt.q); !near(got, tt.want, 0.016) {
				t.Errorf("quantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestQuantilesUniform(t *testing.T) {
	var h histogram
	// 1..100000 µs, shuffled, recorded from several goroutines.
	vals := make([]time.Duration, 100000)
	for i := range vals {
		vals[i] = time.Duration(i+1) * time.Microsecond
	}
	rand.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < len(vals); i += 8 {
				h.record(vals[i])
			}
		})
	}
	wg.Wait()
	if h.count() != 100000 {
		t.Fatalf("count = %d", h.count())
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := time.Duration(q*100000) * time.Microsecond
		if got := h.quantile(q); !near(got, want, 0.016) {
			t.Errorf("quantile(%v) = %v, want %v within 1.6%%", q, got, want)
		}
	}
	if h.maximum() != 100*time.Millisecond {
		t.Errorf("max = %v", h.maximum())
	}
	if !near(h.mean(), 50000500*time.Nanosecond, 0.001) {
		t.Errorf("mean = %v", h.mean())
	}
	s := h.summary()
	if s.Samples != 100000 || s.P50ms < 49 || s.P50ms > 51 || s.P99ms < 97 || s.P99ms > 101 || s.MaxMS != 100 {
		t.Errorf("summary = %+v", s)
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func near(got, want time.Duration, rel float64) bool {
	return math.Abs(float64(got-want)) <= rel*float64(want)
}
