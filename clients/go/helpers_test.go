package pgo

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"
)

// None of the tests in this package runs in parallel: CPU profiling is
// process-global.

func TestMain(m *testing.M) {
	// The defaults come from the environment; keep the tests independent
	// of the caller's.
	os.Unsetenv(EnvGatewayURL)
	os.Unsetenv(EnvUploadToken)
	os.Exit(m.Run())
}

// request is what the fake gateway saw.
type request struct {
	Method string
	Path   string
	Query  map[string][]string
	Header http.Header
	Body   []byte
}

// fakeGateway stands in for pprof-gateway.
type fakeGateway struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
}

// newGateway starts a fake gateway; handle answers the n-th request (1-based).
func newGateway(t *testing.T, handle func(n int, w http.ResponseWriter, r *http.Request)) *fakeGateway {
	t.Helper()
	g := &fakeGateway{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		g.reqs = append(g.reqs, request{r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), body})
		n := len(g.reqs)
		g.mu.Unlock()
		handle(n, w, r)
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *fakeGateway) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.reqs)
}

func (g *fakeGateway) requests() []request {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]request(nil), g.reqs...)
}

// created answers like the gateway after a successful insert.
func created(w http.ResponseWriter, id int, tag string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"id": %d, "tag": %q, "samples": 456, "duration_seconds": 30.0, "pgo_usable": true, "problems": []}`, id, tag)
}

// failWith answers with the gateway's JSON error body.
func failWith(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"status": status, "error": msg})
}

// okGateway answers every request with 201.
func okGateway(t *testing.T) *fakeGateway {
	return newGateway(t, func(n int, w http.ResponseWriter, r *http.Request) { created(w, n, "svc") })
}

// testOpts points at g, silences logs and shortens the backoff.
func testOpts(g *fakeGateway, more ...Option) []Option {
	opts := []Option{WithGatewayURL(g.URL), WithLogger(nil), withBackoff(time.Millisecond, 20*time.Millisecond)}
	return append(opts, more...)
}

// checkGzipPprof checks that b is one gzip member holding what looks like a
// CPU profile as runtime/pprof writes it.
func checkGzipPprof(t *testing.T, b []byte) {
	t.Helper()
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("body is not gzip: starts with % x", b[:min(len(b), 8)])
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gzip header: %v", err)
	}
	zr.Multistream(false)
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gzip body: %v", err)
	}
	if len(raw) == 0 {
		t.Fatal("empty profile after gunzip")
	}
	for _, s := range []string{"samples", "count", "cpu", "nanoseconds"} {
		if !bytes.Contains(raw, []byte(s)) {
			t.Errorf("profile string table lacks %q: not a CPU profile?", s)
		}
	}
}

// burnCPU keeps a CPU busy for d so that profiles have samples.
func burnCPU(d time.Duration) {
	x := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := 0; i < 1e5; i++ {
			x += i * i
		}
	}
	sink = x
}

var sink int

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(timeout); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeProfile is a stand-in body for tests of the HTTP logic alone.
func fakeProfile(t *testing.T) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte("not really a profile"))
	zw.Close()
	return b.Bytes()
}
