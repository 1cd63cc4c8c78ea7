package pgo

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// dropWait bounds how long submit waits for a dropped (cancelled) upload to
// finish before starting the next one. Go's HTTP transport returns promptly
// on cancellation; the bound only guards against a client that does not.
const dropWait = time.Second

// uploader runs Run's uploads in background goroutines, at most
// cfg.maxInFlight at a time, dropping the oldest when a new one arrives.
type uploader struct {
	cfg  *config
	tag  string
	base context.Context // Run's context without its cancellation

	mu       sync.Mutex
	inflight []*job // oldest first
	wg       sync.WaitGroup
	seq      int
}

// job is one background upload.
type job struct {
	seq     int
	cancel  context.CancelFunc
	done    chan struct{}
	dropped atomic.Bool
}

func newUploader(ctx context.Context, cfg *config, tag string) *uploader {
	return &uploader{cfg: cfg, tag: tag, base: context.WithoutCancel(ctx)}
}

// submit uploads profile in the background. It never blocks for long: if
// the bound is reached, the oldest upload is cancelled and dropped.
func (u *uploader) submit(profile []byte) {
	u.mu.Lock()
	var dropped []*job
	for len(u.inflight) >= u.cfg.maxInFlight {
		old := u.inflight[0]
		u.inflight = u.inflight[1:]
		old.dropped.Store(true)
		old.cancel()
		dropped = append(dropped, old)
	}
	u.seq++
	ctx, cancel := context.WithCancel(u.base)
	j := &job{seq: u.seq, cancel: cancel, done: make(chan struct{})}
	u.inflight = append(u.inflight, j)
	u.wg.Add(1)
	u.mu.Unlock()

	for _, d := range dropped {
		u.cfg.logger.Warn("pgo: dropping the oldest in-flight profile upload",
			"tag", u.tag, "window", d.seq, "max_in_flight", u.cfg.maxInFlight)
		if h := u.cfg.hooks; h != nil {
			h.dropped.Add(1)
		}
	}
	// Keep the number of upload goroutines within the bound.
	if len(dropped) > 0 {
		t := time.NewTimer(dropWait)
		for _, d := range dropped {
			select {
			case <-d.done:
			case <-t.C:
			}
		}
		t.Stop()
	}

	go u.run(ctx, j, profile)
}

func (u *uploader) run(ctx context.Context, j *job, profile []byte) {
	h := u.cfg.hooks
	if h != nil {
		h.enter()
	}
	defer func() {
		if p := recover(); p != nil {
			u.cfg.logger.Error("pgo: profile upload panicked", "tag", u.tag, "window", j.seq, "panic", fmt.Sprint(p))
		}
		u.remove(j)
		j.cancel()
		if h != nil {
			h.leave()
		}
		close(j.done)
		u.wg.Done()
	}()

	start := time.Now()
	res, err := u.cfg.upload(ctx, u.tag, profile)
	switch {
	case j.dropped.Load():
		// Logged when dropped.
	case err != nil:
		u.cfg.logger.Warn("pgo: profile upload failed", "tag", u.tag, "window", j.seq,
			"bytes", len(profile), "elapsed", time.Since(start).Round(time.Millisecond), "error", err)
		if h != nil {
			h.failed.Add(1)
		}
	default:
		u.cfg.logger.Debug("pgo: profile uploaded", "tag", u.tag, "window", j.seq,
			"id", res.ID, "samples", res.Samples, "pgo_usable", res.PGOUsable)
		if h != nil {
			h.uploaded.Add(1)
		}
	}
}

func (u *uploader) remove(j *job) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, x := range u.inflight {
		if x == j {
			u.inflight = append(u.inflight[:i], u.inflight[i+1:]...)
			return
		}
	}
}

// wait waits for the uploads in flight, at most grace (if > 0), then
// cancels those still running and waits for them to return.
func (u *uploader) wait(grace time.Duration) {
	done := make(chan struct{})
	go func() {
		u.wg.Wait()
		close(done)
	}()
	if grace > 0 {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
	u.mu.Lock()
	for _, j := range u.inflight {
		j.cancel()
	}
	u.mu.Unlock()
	<-done
}

// testHooks instruments Run for tests.
type testHooks struct {
	live, maxLive    atomic.Int32 // upload goroutines
	uploaded, failed atomic.Int32
	dropped          atomic.Int32
	started          atomic.Int32 // windows whose profiling has started
	windows          atomic.Int32 // windows profiled to the end
	skipped          atomic.Int32 // windows skipped (profiling busy)
}

func (h *testHooks) enter() {
	n := h.live.Add(1)
	for {
		m := h.maxLive.Load()
		if n <= m || h.maxLive.CompareAndSwap(m, n) {
			return
		}
	}
}

func (h *testHooks) leave() { h.live.Add(-1) }
