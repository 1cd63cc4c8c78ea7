package pgo

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

func TestCaptureUploadsGzipPprof(t *testing.T) {
	g := okGateway(t)
	emit, err := Capture("svc", testOpts(g, WithMode("batch"), WithToken("tok"))...)
	if err != nil {
		t.Fatal(err)
	}
	burnCPU(200 * time.Millisecond)
	if err := emit(nil); err != nil { //nolint:staticcheck // a nil ctx is documented as allowed
		t.Fatal(err)
	}
	reqs := g.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Path != "/profile/svc" || r.Query["mode"][0] != "batch" {
		t.Errorf("request %s ? %v", r.Path, r.Query)
	}
	if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("headers %v", r.Header)
	}
	checkGzipPprof(t, r.Body)

	// Profiling was stopped: someone else may profile now.
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		t.Fatalf("CPU profiling still in use after emit: %v", err)
	}
	pprof.StopCPUProfile()
}

func TestEmitTwice(t *testing.T) {
	g := okGateway(t)
	emit, err := Capture("svc", testOpts(g)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := emit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := emit(context.Background()); !errors.Is(err, ErrAlreadyEmitted) {
		t.Errorf("second emit = %v, want ErrAlreadyEmitted", err)
	}
	if n := g.count(); n != 1 {
		t.Errorf("%d uploads, want 1", n)
	}
}

func TestEmitReturnsUploadError(t *testing.T) {
	g := newGateway(t, func(n int, w http.ResponseWriter, r *http.Request) { failWith(w, 413, "profile too large") })
	emit, err := Capture("svc", testOpts(g)...)
	if err != nil {
		t.Fatal(err)
	}
	err = emit(context.Background())
	var ge *Error
	if !errors.As(err, &ge) || ge.Status != 413 {
		t.Errorf("emit = %v, want *Error 413", err)
	}
}

func TestCaptureWhileProfilingBusy(t *testing.T) {
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		t.Fatal(err)
	}
	defer pprof.StopCPUProfile()
	g := okGateway(t)

	emit, err := Capture("svc", testOpts(g)...)
	if err == nil {
		t.Fatal("Capture succeeded while CPU profiling was in use")
	}
	if !strings.Contains(err.Error(), "already in use") {
		t.Errorf("err = %v, want the StartCPUProfile error", err)
	}
	if emit == nil {
		t.Fatal("emit is nil")
	}
	for i := 0; i < 2; i++ {
		if got := emit(nil); got != err { //nolint:staticcheck // nil ctx allowed
			t.Errorf("emit #%d = %v, want the Capture error %v", i+1, got, err)
		}
	}
	if n := g.count(); n != 0 {
		t.Errorf("%d uploads, want 0", n)
	}
}

func TestCaptureInvalidTag(t *testing.T) {
	g := okGateway(t)
	emit, err := Capture("no/slashes", testOpts(g)...)
	if !errors.Is(err, ErrInvalidTag) {
		t.Fatalf("err = %v, want ErrInvalidTag", err)
	}
	if got := emit(context.Background()); got != err {
		t.Errorf("emit = %v, want %v", got, err)
	}
	// No profiling was started.
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		t.Fatalf("CPU profiling in use after a failed Capture: %v", err)
	}
	pprof.StopCPUProfile()
	if n := g.count(); n != 0 {
		t.Errorf("%d requests, want 0", n)
	}
}
