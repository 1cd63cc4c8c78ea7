// wrong.go: what people send instead of a protobuf profile, written by the
// real code that writes it: the text forms of runtime/pprof (debug=1, 2),
// an execution trace, and what a net/http server answers on a wrong path
// (the /debug/pprof/ index page, Go's "404 page not found", a JSON error).
// Into DIR/wrong/; regress/sql/pprof_formats.sql checks that each is named.
package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	"path/filepath"
	rpprof "runtime/pprof"
	"runtime"
	"runtime/trace"
	"sync"
	"time"
)

func genWrong(out string) error {
	dir := filepath.Join(out, "wrong")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	runtime.SetMutexProfileFraction(1)
	runtime.SetBlockProfileRate(1)
	ch := make(chan struct{})
	started := make(chan struct{}, 4)
	for i := 0; i < 4; i++ {
		go parked(ch, func() { started <- struct{}{} })
	}
	for i := 0; i < 4; i++ {
		<-started
	}
	contend()
	allocBuffers()

	write := func(name string, f func(w io.Writer) error) error {
		file, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if err := f(file); err != nil {
			file.Close()
			return err
		}
		return file.Close()
	}
	lookup := func(profile string, debug int) func(w io.Writer) error {
		return func(w io.Writer) error { return rpprof.Lookup(profile).WriteTo(w, debug) }
	}
	for _, p := range []struct {
		name, profile string
		debug         int
	}{
		{"goroutine_debug1.txt", "goroutine", 1},
		{"goroutine_debug2.txt", "goroutine", 2},
		{"heap_debug1.txt", "heap", 1},
		{"mutex_debug1.txt", "mutex", 1},
		{"block_debug1.txt", "block", 1},
		{"threadcreate_debug1.txt", "threadcreate", 1},
	} {
		if err := write(p.name, lookup(p.profile, p.debug)); err != nil {
			return err
		}
	}
	if err := write("trace.out", func(w io.Writer) error {
		if err := trace.Start(w); err != nil {
			return err
		}
		contend()
		trace.Stop()
		return nil
	}); err != nil {
		return err
	}
	close(ch)

	// a server with net/http/pprof on /debug/pprof/, and an API that
	// answers JSON errors
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/api/profile", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]any{"error": "no profile for this service", "status": 404})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	plain := httptest.NewServer(http.NewServeMux()) // no pprof registered
	defer plain.Close()
	for _, g := range []struct{ name, url string }{
		{"pprof_index.html", srv.URL + "/debug/pprof/"},
		{"error.json", srv.URL + "/api/profile"},
		{"not_found.txt", plain.URL + "/debug/pprof/profile?seconds=1"},
	} {
		resp, err := http.Get(g.url)
		if err != nil {
			return err
		}
		if err := write(g.name, func(w io.Writer) error {
			_, err := io.Copy(w, resp.Body)
			return err
		}); err != nil {
			return err
		}
		resp.Body.Close()
	}
	return nil
}

// contend makes goroutines wait on a mutex and a channel, for the mutex and
// block profiles.
func contend() {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				mu.Lock()
				time.Sleep(100 * time.Microsecond)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
