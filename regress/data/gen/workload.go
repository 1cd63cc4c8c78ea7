// workload.go: the CPU-bound and allocating functions whose names must show up
// in the fixtures. Each hot function is //go:noinline so that it keeps its own
// frame (and its own name) in every sample; fib is recursive for "cum" tests.
package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
)

// sink defeats dead-code elimination of the workloads' results.
var sink atomic.Uint64

type record struct {
	Key   uint64   `json:"key"`
	Name  string   `json:"name"`
	Score float64  `json:"score"`
	Tags  []string `json:"tags"`
}

// xorshift is a tiny deterministic PRNG (no math/rand state shared between workers).
func xorshift(s *uint64) uint64 {
	x := *s
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	*s = x
	return x
}

//go:noinline
func hashLoop(buf []byte, rounds int) uint64 {
	var sum [32]byte
	for i := 0; i < rounds; i++ {
		sum = sha256.Sum256(buf)
		buf[i%len(buf)] ^= sum[0]
	}
	return uint64(sum[0]) | uint64(sum[1])<<8
}

//go:noinline
func sortLoop(seed uint64, n int) uint64 {
	recs := make([]record, n)
	for i := range recs {
		recs[i].Key = xorshift(&seed) % 1000
		recs[i].Score = float64(xorshift(&seed)%100000) / 7
	}
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].Key != recs[j].Key {
			return recs[i].Key < recs[j].Key
		}
		return recs[i].Score < recs[j].Score
	})
	return recs[0].Key + recs[n-1].Key
}

//go:noinline
func jsonLoop(seed uint64, n int) uint64 {
	recs := make([]record, n)
	for i := range recs {
		recs[i] = record{
			Key:   xorshift(&seed),
			Name:  "item-" + strconv.Itoa(i),
			Score: float64(i) * 1.25,
			Tags:  []string{"a", "bb", "ccc"},
		}
	}
	out, err := json.Marshal(recs)
	if err != nil {
		panic(err)
	}
	return uint64(len(out))
}

//go:noinline
func fib(n int) uint64 {
	if n < 2 {
		return uint64(n)
	}
	return fib(n-1) + fib(n-2)
}

//go:noinline
func buildStrings(n int) uint64 {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString("k")
		b.WriteString(strconv.Itoa(i))
		b.WriteByte('=')
		b.WriteString(strconv.FormatFloat(float64(i)/3, 'f', 3, 64))
		b.WriteByte(';')
	}
	return uint64(b.Len())
}

// Batch and interactive halves of the mix; the labelled fixture runs each half
// in its own goroutine under different pprof labels.

//go:noinline
func batchWork(seed uint64, buf []byte) uint64 {
	return hashLoop(buf, 48) + sortLoop(seed, 12000)
}

//go:noinline
func interactiveWork(seed uint64) uint64 {
	return jsonLoop(seed, 5000) + fib(28) + buildStrings(10000)
}

// worker runs the full mix until stop is set.
//
//go:noinline
func worker(stop *atomic.Bool, seed uint64) {
	buf := make([]byte, 64<<10)
	for !stop.Load() {
		sink.Add(batchWork(seed, buf) + interactiveWork(seed))
		seed++
	}
}

// ---- heap workload -------------------------------------------------------

// Live objects kept reachable until the heap profile has been written.
var (
	liveBuffers [][]byte
	liveMaps    []map[string]int
	liveStrings []string
	liveLarge   [][]byte
)

//go:noinline
func allocBuffers() {
	for i := 0; i < 2000; i++ {
		b := make([]byte, 64+i%512)
		if i%4 == 0 {
			liveBuffers = append(liveBuffers, b)
		}
	}
}

//go:noinline
func allocMaps() {
	for i := 0; i < 200; i++ {
		m := make(map[string]int)
		for j := 0; j < 50; j++ {
			m[strconv.Itoa(j)] = j
		}
		if i%2 == 0 {
			liveMaps = append(liveMaps, m)
		}
	}
}

//go:noinline
func allocStrings() {
	for i := 0; i < 3000; i++ {
		s := fmt.Sprintf("string-%d-%x", i, i*i)
		if i%3 == 0 {
			liveStrings = append(liveStrings, s)
		}
	}
}

//go:noinline
func allocLarge() {
	for i := 0; i < 8; i++ {
		b := make([]byte, 1<<20)
		if i < 2 {
			liveLarge = append(liveLarge, b)
		}
	}
}

// allocGarbage allocates only short-lived objects: it appears in alloc_* but
// not in inuse_* after the GC.
//
//go:noinline
func allocGarbage() {
	for i := 0; i < 5000; i++ {
		garbage = make([]byte, 128) // escapes; overwritten, so dead by the GC
	}
}

var garbage []byte

// ---- goroutine workload --------------------------------------------------

// parked blocks on ch until it is closed.
//
//go:noinline
func parked(ch <-chan struct{}, started func()) {
	started()
	<-ch
}
