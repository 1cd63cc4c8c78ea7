package pgo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"sync"
)

// ErrAlreadyEmitted is returned by an emit function called a second time.
var ErrAlreadyEmitted = errors.New("pgo: profile already emitted")

// Capture starts CPU profiling of the process into memory. The returned emit
// function stops profiling and uploads the profile to the gateway under tag
// (see Upload), returning the upload's error.
//
// If Capture fails (an invalid tag, or CPU profiling already in use) it
// returns the error AND an emit function that returns the same error, so
// `defer emit(ctx)` is always safe. emit may be called with a nil context
// (context.Background() is used); calling it again returns ErrAlreadyEmitted
// without uploading twice.
func Capture(tag string, opts ...Option) (emit func(context.Context) error, err error) {
	cfg := newConfig(opts)
	if err := ValidateTag(tag); err != nil {
		return failedEmit(err), err
	}
	if _, err := cfg.endpoint(tag); err != nil {
		return failedEmit(err), err
	}
	buf := new(bytes.Buffer)
	if err := pprof.StartCPUProfile(buf); err != nil {
		err = fmt.Errorf("pgo: start CPU profile: %w", err)
		return failedEmit(err), err
	}

	var (
		mu   sync.Mutex
		done bool
	)
	return func(ctx context.Context) error {
		mu.Lock()
		if done {
			mu.Unlock()
			return ErrAlreadyEmitted
		}
		done = true
		mu.Unlock()

		pprof.StopCPUProfile()
		_, err := cfg.upload(ctx, tag, buf.Bytes())
		return err
	}, nil
}

// failedEmit returns an emit function that always returns err.
func failedEmit(err error) func(context.Context) error {
	return func(context.Context) error { return err }
}
