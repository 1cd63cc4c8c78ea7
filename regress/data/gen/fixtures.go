// fixtures.go: one function per fixture group. Each group runs in its own child
// process (see main.go) so that e.g. MemProfileRate=1 for the heap profile does
// not leak into the CPU profiles, and the merge set shares one process.
package main

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
)

// captureCPU writes a CPU profile of d seconds to path while run(stop) executes
// in n goroutines (goroutine i gets index i).
func captureCPU(path string, d time.Duration, n int, run func(i int, stop *atomic.Bool)) error {
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
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			run(i, &stop)
		}(i)
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	pprof.StopCPUProfile()
	return f.Close()
}

func mixWorkers(i int, stop *atomic.Bool) { worker(stop, uint64(i)*7919+1) }

// genCPU: cpu.pb.gz (3 s, 2 busy goroutines) and cpu.pb (the same, gunzipped).
func genCPU(out string) error {
	gz := filepath.Join(out, "cpu.pb.gz")
	if err := captureCPU(gz, 3*time.Second, 2, mixWorkers); err != nil {
		return err
	}
	return gunzipFile(gz, filepath.Join(out, "cpu.pb"))
}

// genLabels: cpu_labels.pb.gz, worker 1 under mode=batch, worker 2 under
// mode=interactive.
func genLabels(out string) error {
	return captureCPU(filepath.Join(out, "cpu_labels.pb.gz"), 2*time.Second, 2,
		func(i int, stop *atomic.Bool) {
			mode := []string{"batch", "interactive"}[i]
			labels := pprof.Labels("mode", mode, "worker", fmt.Sprint(i+1))
			pprof.Do(context.Background(), labels, func(context.Context) {
				buf := make([]byte, 64<<10)
				seed := uint64(i) + 1
				for !stop.Load() {
					if i == 0 {
						sink.Add(batchWork(seed, buf))
					} else {
						sink.Add(interactiveWork(seed))
					}
					seed++
				}
			})
		})
}

// genEmpty: cpu_empty.pb.gz, a CPU profile started and stopped with no work.
// Retried in the (unlikely) case a tick slipped in.
func genEmpty(out string) error {
	path := filepath.Join(out, "cpu_empty.pb.gz")
	for try := 0; try < 5; try++ {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return err
		}
		s, err := summarize(path)
		if err != nil {
			return err
		}
		if s.samples == 0 {
			return nil
		}
	}
	return fmt.Errorf("%s: could not get a CPU profile with 0 samples", path)
}

// genMerge: cpu_a1/a2/a3 (1.5 s each) and cpu_a_long (4 s) of the same
// workload, captured one after the other by this one process.
func genMerge(out string) error {
	for _, c := range []struct {
		name string
		d    time.Duration
	}{
		{"cpu_a1.pb.gz", 1500 * time.Millisecond},
		{"cpu_a2.pb.gz", 1500 * time.Millisecond},
		{"cpu_a3.pb.gz", 1500 * time.Millisecond},
		{"cpu_a_long.pb.gz", 4 * time.Second},
	} {
		if err := captureCPU(filepath.Join(out, c.name), c.d, 2, mixWorkers); err != nil {
			return err
		}
	}
	return nil
}

// genHeap: heap.pb.gz. main has set MemProfileRate=1 for this child.
func genHeap(out string) error {
	allocBuffers()
	allocMaps()
	allocStrings()
	allocLarge()
	allocGarbage()
	runtime.GC()
	f, err := os.Create(filepath.Join(out, "heap.pb.gz"))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		return err
	}
	runtime.KeepAlive(liveBuffers)
	runtime.KeepAlive(liveMaps)
	runtime.KeepAlive(liveStrings)
	runtime.KeepAlive(liveLarge)
	return f.Close()
}

// genGoroutine: goroutine.pb.gz with 10 goroutines parked in main.parked.
func genGoroutine(out string) error {
	const n = 10
	ch := make(chan struct{})
	var started sync.WaitGroup
	started.Add(n)
	for i := 0; i < n; i++ {
		go parked(ch, started.Done)
	}
	started.Wait()
	time.Sleep(50 * time.Millisecond) // let them reach the channel receive
	defer close(ch)
	f, err := os.Create(filepath.Join(out, "goroutine.pb.gz"))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.Lookup("goroutine").WriteTo(f, 0); err != nil {
		return err
	}
	return f.Close()
}

func gunzipFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		return err
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	if _, err := io.Copy(out, zr); err != nil {
		return err
	}
	if err := zr.Close(); err != nil {
		return err
	}
	return out.Close()
}
