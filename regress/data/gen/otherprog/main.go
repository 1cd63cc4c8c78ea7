// Command otherprog writes cpu_b1.pb.gz: a CPU profile from a program that is
// NOT the main generator, so that its mappings, build ID and hot functions
// differ from the cpu_a* merge set (merge tests of unrelated profiles).
//
//	go run ./otherprog -out DIR
package main

import (
	"bytes"
	"compress/flate"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
)

var sink atomic.Uint64

//go:noinline
func crcLoop(buf []byte, rounds int) uint64 {
	var c uint32
	for i := 0; i < rounds; i++ {
		c = crc32.Update(c, crc32.IEEETable, buf)
		buf[i%len(buf)] ^= byte(c)
	}
	return uint64(c)
}

//go:noinline
func matMul(a, b, c []float64, n int) uint64 {
	for i := range a {
		a[i] = float64(i%7) + 0.5
		b[i] = float64(i%5) - 0.5
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for k := 0; k < n; k++ {
				s += a[i*n+k] * b[k*n+j]
			}
			c[i*n+j] = s
		}
	}
	return uint64(c[n*n-1])
}

//go:noinline
func primeSieve(composite []bool) uint64 {
	n := len(composite)
	clear(composite)
	count := uint64(0)
	for i := 2; i < n; i++ {
		if composite[i] {
			continue
		}
		count++
		for j := i * i; j < n; j += i {
			composite[j] = true
		}
	}
	return count
}

//go:noinline
func flateLoop(w *flate.Writer, out *bytes.Buffer, data []byte) uint64 {
	out.Reset()
	w.Reset(out)
	w.Write(data)
	w.Close()
	return uint64(out.Len())
}

//go:noinline
func otherWorker(stop *atomic.Bool) {
	buf := make([]byte, 64<<10)
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog 0123456789\n"), 2000)
	const n = 90
	a, b, c := make([]float64, n*n), make([]float64, n*n), make([]float64, n*n)
	composite := make([]bool, 300000)
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, flate.BestSpeed)
	// Buffers are reused so that the loop is CPU-bound, not GC-bound.
	for !stop.Load() {
		sink.Add(crcLoop(buf, 96) + matMul(a, b, c, n) + primeSieve(composite) + flateLoop(w, &out, text))
	}
}

func main() {
	out := flag.String("out", "", "directory to write cpu_b1.pb.gz into (required)")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: go run ./otherprog -out DIR")
		os.Exit(2)
	}
	if err := run(filepath.Join(*out, "cpu_b1.pb.gz"), 1500*time.Millisecond); err != nil {
		fmt.Fprintln(os.Stderr, "otherprog:", err)
		os.Exit(1)
	}
}

func run(path string, d time.Duration) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); otherWorker(&stop) }()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	pprof.StopCPUProfile()
	return f.Close()
}
