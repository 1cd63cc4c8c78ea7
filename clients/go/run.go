package pgo

import (
	"bytes"
	"context"
	"runtime/pprof"
	"time"
)

// Run profiles the process continuously until ctx is cancelled: it records
// CPU profiles of consecutive windows of equal length (WithWindow, default
// 60 s) separated by WithPause (default 0), and uploads each finished window
// under tag in a background goroutine (see Upload for retries).
//
// Run never blocks profiling on the network: at most WithMaxInFlight uploads
// (default 2) are in flight; when a window ends with the bound reached, the
// oldest upload is cancelled and dropped with a log message (WithLogger).
// Failed uploads are logged, never returned. When CPU profiling is in use by
// someone else, the window is skipped and the next one tried.
//
// When ctx is cancelled Run stops profiling at once. The partial last window
// is uploaded if it lasted at least half a window, else discarded. Run then
// waits for the uploads in flight (each bounded by WithTimeout) and returns
// ctx.Err(). Invalid arguments (tag, window, pause, gateway URL) are
// reported at once, before any profiling.
//
// Typical use: go pgo.Run(ctx, "svc", pgo.WithWindow(time.Minute)).
func Run(ctx context.Context, tag string, opts ...Option) error {
	if ctx == nil {
		ctx = context.Background()
	}
	cfg := newConfig(opts)
	if err := ValidateTag(tag); err != nil {
		return err
	}
	if err := cfg.checkRun(); err != nil {
		return err
	}
	if _, err := cfg.endpoint(tag); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	up := newUploader(ctx, cfg, tag)
	grace := cfg.timeout
	if grace <= 0 {
		grace = DefaultTimeout
	}
	defer up.wait(grace)

	log := cfg.logger
	busy := false       // profiling was in use by someone else last time
	var finished []byte // the last finished window, not yet submitted
	for {
		// Start the next window first, then hand the previous one over,
		// so that submitting never delays profiling.
		buf := new(bytes.Buffer)
		start := time.Now()
		profiling := true
		if err := pprof.StartCPUProfile(buf); err != nil {
			profiling = false
			if !busy {
				log.Info("pgo: CPU profiling is in use, skipping windows until it is free",
					"tag", tag, "error", err)
			}
			busy = true
			if h := cfg.hooks; h != nil {
				h.skipped.Add(1)
			}
		} else {
			if h := cfg.hooks; h != nil {
				h.started.Add(1)
			}
			if busy {
				busy = false
				log.Info("pgo: CPU profiling is free again, resuming", "tag", tag)
			}
		}
		timer := time.NewTimer(cfg.window)
		if finished != nil {
			up.submit(finished)
			finished = nil
		}

		select {
		case <-ctx.Done():
			timer.Stop()
			if profiling {
				elapsed := time.Since(start)
				pprof.StopCPUProfile()
				if 2*elapsed >= cfg.window {
					up.submit(buf.Bytes())
				} else {
					log.Debug("pgo: discarding the partial last window", "tag", tag,
						"elapsed", elapsed.Round(time.Millisecond), "window", cfg.window)
				}
			}
			return ctx.Err()
		case <-timer.C:
		}
		if profiling {
			pprof.StopCPUProfile()
			finished = buf.Bytes()
			if h := cfg.hooks; h != nil {
				h.windows.Add(1)
			}
		}

		if cfg.pause > 0 {
			if finished != nil {
				up.submit(finished)
				finished = nil
			}
			t := time.NewTimer(cfg.pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
	}
}
