package pgo

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"
)

// startRun runs Run in a goroutine; the returned channel yields its result.
func startRun(ctx context.Context, tag string, opts ...Option) <-chan error {
	done := make(chan error, 1)
	go func() { done <- Run(ctx, tag, opts...) }()
	return done
}

// runResult waits at most d for Run to return.
func runResult(t *testing.T, done <-chan error, d time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("Run did not return within %s of cancellation", d)
		return nil
	}
}

// stopRun cancels Run, expects it to return context.Canceled within d and
// CPU profiling to be free again; returns how long Run took to return.
func stopRun(t *testing.T, cancel context.CancelFunc, done <-chan error, d time.Duration) time.Duration {
	t.Helper()
	cancel()
	start := time.Now()
	if err := runResult(t, done, d); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	took := time.Since(start)
	checkProfilingFree(t)
	return took
}

// checkProfilingFree fails if CPU profiling is still in use.
func checkProfilingFree(t *testing.T) {
	t.Helper()
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		t.Fatalf("CPU profiling still in use: %v", err)
	}
	pprof.StopCPUProfile()
}

func TestRunUploadsWindows(t *testing.T) {
	g := okGateway(t)
	h := &testHooks{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := startRun(ctx, "svc", testOpts(g, WithWindow(200*time.Millisecond), WithMode("api"), withHooks(h))...)

	stop := time.Now().Add(5 * time.Second)
	for g.count() < 2 && time.Now().Before(stop) {
		burnCPU(20 * time.Millisecond)
	}
	if g.count() < 2 {
		t.Fatalf("%d uploads after 5s of 200ms windows", g.count())
	}
	if d := stopRun(t, cancel, done, 2*time.Second); d > time.Second {
		t.Errorf("Run took %s to stop", d)
	}

	for i, r := range g.requests() {
		if r.Path != "/profile/svc" || r.Query["mode"][0] != "api" {
			t.Errorf("upload %d: %s ? %v", i, r.Path, r.Query)
		}
		checkGzipPprof(t, r.Body)
	}
	if h.failed.Load() != 0 || h.maxLive.Load() > 2 {
		t.Errorf("failed=%d maxLive=%d", h.failed.Load(), h.maxLive.Load())
	}
	if n := g.count(); int(h.uploaded.Load()) != n {
		t.Errorf("uploaded=%d but the gateway saw %d", h.uploaded.Load(), n)
	}
}

func TestRunWithPause(t *testing.T) {
	g := okGateway(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := startRun(ctx, "svc", testOpts(g, WithWindow(100*time.Millisecond), WithPause(100*time.Millisecond))...)
	waitFor(t, 5*time.Second, "2 uploads", func() bool { return g.count() >= 2 })
	stopRun(t, cancel, done, 2*time.Second)
}

func TestRunPartialLastWindow(t *testing.T) {
	// The window is long against scheduling delays on a loaded machine: the
	// sleep starts once the window has started, so "more than half" holds
	// by construction and "less than half" only fails if Run notices the
	// cancellation more than 1.95 s late.
	const window = 4 * time.Second
	for _, tc := range []struct {
		after   time.Duration
		uploads int
	}{
		{50 * time.Millisecond, 0},   // < half: discarded
		{2500 * time.Millisecond, 1}, // >= half: uploaded
	} {
		g := okGateway(t)
		h := &testHooks{}
		ctx, cancel := context.WithCancel(context.Background())
		done := startRun(ctx, "svc", testOpts(g, WithWindow(window), withHooks(h))...)
		waitFor(t, 5*time.Second, "the first window to start", func() bool { return h.started.Load() >= 1 })
		time.Sleep(tc.after)
		stopRun(t, cancel, done, 5*time.Second)
		// Run waits for its uploads before returning.
		if n := g.count(); n != tc.uploads {
			t.Errorf("cancelled after %s of a %s window: %d uploads, want %d", tc.after, window, n, tc.uploads)
		}
	}
}

func TestRunSkipsWindowsWhileProfilingBusy(t *testing.T) {
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		t.Fatal(err)
	}
	external := true
	defer func() {
		if external {
			pprof.StopCPUProfile()
		}
	}()
	g := okGateway(t)
	h := &testHooks{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := startRun(ctx, "svc", testOpts(g, WithWindow(100*time.Millisecond), withHooks(h))...)

	waitFor(t, 5*time.Second, "2 skipped windows", func() bool { return h.skipped.Load() >= 2 })
	if n := g.count(); n != 0 {
		t.Errorf("%d uploads while profiling was busy", n)
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned while busy: %v", err)
	default:
	}

	pprof.StopCPUProfile()
	external = false
	waitFor(t, 5*time.Second, "an upload after profiling became free", func() bool { return g.count() >= 1 })
	stopRun(t, cancel, done, 2*time.Second)
}

func TestRunFailingGatewayIsBounded(t *testing.T) {
	for _, tc := range []struct {
		name   string
		handle func(n int, w http.ResponseWriter, r *http.Request)
	}{
		{"hanging", func(n int, w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}},
		{"503", func(n int, w http.ResponseWriter, r *http.Request) {
			failWith(w, http.StatusServiceUnavailable, "database unavailable")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			g := newGateway(t, tc.handle)
			tr := &http.Transport{}
			h := &testHooks{}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := startRun(ctx, "svc", testOpts(g,
				WithWindow(50*time.Millisecond),
				WithTimeout(time.Second),
				WithRetries(1000),
				withBackoff(20*time.Millisecond, 100*time.Millisecond),
				WithHTTPClient(&http.Client{Transport: tr}),
				withHooks(h))...)

			// Profiling goes on at its pace whatever the gateway does.
			start := time.Now()
			// (Each window also costs ~150ms in pprof.StopCPUProfile.)
			waitFor(t, 5*time.Second, "6 windows", func() bool { return h.windows.Load() >= 6 })
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("6 windows of 50ms took %s: profiling blocked?", d)
			}
			stopRun(t, cancel, done, 3*time.Second)
			if m := h.maxLive.Load(); m > DefaultMaxInFlight {
				t.Errorf("%d uploads in flight at once, bound is %d", m, DefaultMaxInFlight)
			}
			if l := h.live.Load(); l != 0 {
				t.Errorf("%d upload goroutines still running after Run returned", l)
			}
			if h.dropped.Load() == 0 {
				t.Error("no upload was dropped although none could finish within a window")
			}
			if h.uploaded.Load() != 0 {
				t.Errorf("%d uploads succeeded against a failing gateway", h.uploaded.Load())
			}

			g.Close()
			tr.CloseIdleConnections()
			waitFor(t, 3*time.Second, "goroutines to wind down", func() bool {
				return runtime.NumGoroutine() <= before
			})
		})
	}
}

func TestRunRejectsBadArguments(t *testing.T) {
	g := okGateway(t)
	for name, tc := range map[string]struct {
		tag  string
		opts []Option
	}{
		"tag":         {"bad tag", nil},
		"window":      {"svc", []Option{WithWindow(0)}},
		"pause":       {"svc", []Option{WithPause(-time.Second)}},
		"max":         {"svc", []Option{WithMaxInFlight(0)}},
		"gateway URL": {"svc", []Option{WithGatewayURL("pgo:8080")}},
	} {
		done := startRun(context.Background(), tc.tag, testOpts(g, tc.opts...)...)
		if err := runResult(t, done, time.Second); err == nil || errors.Is(err, context.Canceled) {
			t.Errorf("%s: Run = %v, want a validation error", name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := runResult(t, startRun(ctx, "svc", testOpts(g)...), time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: Run = %v", err)
	}
	if n := g.count(); n != 0 {
		t.Errorf("%d requests", n)
	}
	checkProfilingFree(t)
}
