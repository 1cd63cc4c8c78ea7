// Package pgo sends CPU profiles of a Go program to a pg_pprof gateway
// (pprof-gateway), which stores them in PostgreSQL and serves the merged
// default.pgo that `go build -pgo=auto` consumes.
//
// The package uses only the standard library.
//
// # One profile per process run
//
// Capture starts CPU profiling; the returned emit function stops it and
// uploads the profile. It suits batch jobs and short-lived containers:
//
//	func main() {
//		emit, err := pgo.Capture("billing-batch", pgo.WithMode("nightly"))
//		if err != nil {
//			log.Printf("pgo: %v", err) // emit still safe to call: it returns err
//		}
//		defer func() {
//			if err := emit(context.Background()); err != nil {
//				log.Printf("pgo: %v", err)
//			}
//		}()
//		// ... the work to profile ...
//	}
//
// # Continuous profiling of a long-lived service
//
// Run profiles consecutive windows of equal length and uploads each finished
// window in the background, retrying with backoff, never blocking profiling:
//
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	go pgo.Run(ctx, "checkout", pgo.WithWindow(time.Minute), pgo.WithMode("api"))
//
// # Configuration
//
// The gateway address and the upload token default to the environment
// variables PGO_GATEWAY_URL (else http://localhost:8080) and PGO_UPLOAD_TOKEN.
// Every upload carries the labels go (runtime.Version()) and version (the main
// module's version from debug.ReadBuildInfo), plus those set with WithLabels,
// WithMode and WithVersion; they are sent as query parameters.
//
// # Errors
//
// A gateway error is returned as *Error. 4xx answers other than 408 and 429
// are permanent; 408, 429, 5xx and network errors are retried (see
// WithRetries) with exponential backoff and full jitter, honouring
// Retry-After, within the per-upload timeout (see WithTimeout). Every retry
// of one upload carries the same Idempotency-Key header. One network error
// is not retried: a connection that breaks while a profile larger than the
// gateway's --max-body (see WithMaxBody) is being sent most likely lost the
// gateway's 413; the error wraps ErrTooLarge.
//
// CPU profiling is process-wide in Go: while Capture or Run is profiling,
// pprof.StartCPUProfile (and so /debug/pprof/profile) fails, and the other
// way round.
package pgo
