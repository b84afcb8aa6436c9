package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram layout: values below subCount are exact; above, each power of
// two is split into subCount buckets, so a bucket is within 1/64 (1.6%) of
// its values.
const (
	subBits  = 6
	subCount = 1 << subBits
	nBuckets = (64 - subBits + 1) * subCount
)

// histogram counts durations in log-linear buckets, in constant memory
// whatever the number of samples. Record is safe for concurrent use and
// lock-free; reads while recording see a recent, not atomic, state.
type histogram struct {
	counts [nBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64 // nanoseconds
	min    atomic.Uint64 // nanoseconds + 1; 0: none yet
	max    atomic.Uint64 // nanoseconds
}

func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1 // v>>shift is in [subCount, 2*subCount)
	return (shift+1)*subCount + int(v>>shift) - subCount
}

// bucketRange is the smallest and largest value of bucket i.
func bucketRange(i int) (lo, hi uint64) {
	if i < subCount {
		return uint64(i), uint64(i)
	}
	shift := i/subCount - 1
	m := uint64(i%subCount + subCount)
	return m << shift, (m+1)<<shift - 1
}

// record adds one sample; a negative duration counts as 0.
func (h *histogram) record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketOf(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		old := h.min.Load()
		if old != 0 && old <= v+1 || h.min.CompareAndSwap(old, v+1) {
			break
		}
	}
	for {
		old := h.max.Load()
		if old >= v || h.max.CompareAndSwap(old, v) {
			break
		}
	}
}

// count is the number of samples.
func (h *histogram) count() uint64 { return h.n.Load() }

// quantile returns the q-quantile (0 < q <= 1) of the samples: the middle
// of the bucket holding the sample of rank ceil(q*n), kept within the
// smallest and largest sample. It is 0 without samples.
func (h *histogram) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q * float64(n))
	if float64(rank) < q*float64(n) {
		rank++
	}
	rank = min(max(rank, 1), n)
	lo, hi := h.min.Load()-1, h.max.Load()
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			a, b := bucketRange(i)
			v := a + (b-a)/2
			return time.Duration(min(max(v, lo), hi))
		}
	}
	return time.Duration(hi)
}

// mean is the average sample, 0 without samples.
func (h *histogram) mean() time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / n)
}

// maximum is the largest sample, 0 without samples.
func (h *histogram) maximum() time.Duration { return time.Duration(h.max.Load()) }

// latencySummary is a histogram as the load summary prints it.
type latencySummary struct {
	Samples uint64  `json:"samples"`
	P50ms   float64 `json:"p50_ms"`
	P90ms   float64 `json:"p90_ms"`
	P99ms   float64 `json:"p99_ms"`
	MaxMS   float64 `json:"max_ms"`
	MeanMS  float64 `json:"mean_ms"`
}

func (h *histogram) summary() latencySummary {
	return latencySummary{
		Samples: h.count(),
		P50ms:   ms(h.quantile(0.50)),
		P90ms:   ms(h.quantile(0.90)),
		P99ms:   ms(h.quantile(0.99)),
		MaxMS:   ms(h.maximum()),
		MeanMS:  ms(h.mean()),
	}
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Round(time.Microsecond)) / 1e6 }
