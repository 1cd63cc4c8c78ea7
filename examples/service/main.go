// Command service is an example Go HTTP service in the PGO loop of pg_pprof.
//
// It serves POST /v1/score (internal/score: the hot path), profiles itself
// continuously with the pg_pprof Go client (one CPU profile per window,
// uploaded to the gateway under its tag), and exposes net/http/pprof under
// /debug/pprof/ so that a scraper can pull profiles instead. Its Dockerfile
// fetches the merged profile of its tag from the gateway before `go build`.
//
// Environment:
//
//	LISTEN_ADDR      address to listen on (default ":8081"; port 0 picks a free one)
//	SERVICE_TAG      profile tag (default "example-service")
//	PGO_GATEWAY_URL  gateway base URL (read by the client; default http://localhost:8080)
//	PGO_UPLOAD_TOKEN bearer token for uploads (read by the client)
//	PGO_WINDOW       profile window (default 60s; "0" or "off": no continuous
//	                 profiling, e.g. when a scraper pulls /debug/pprof/profile,
//	                 which cannot run at the same time)
//	PGO_PAUSE        pause between windows (default 0)
//	PGO_MODE         label "mode" of the uploads (default "serve")
//	LOG_LEVEL        debug, info, warn or error (default info; debug logs each upload)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	pgo "github.com/pg-pprof/pg_pprof/clients/go"

	"github.com/pg-pprof/pg_pprof/examples/service/internal/score"
)

// maxBody bounds a request body.
const maxBody = 8 << 20

// settings is the configuration read from the environment.
type settings struct {
	listen string
	tag    string
	window time.Duration // 0: no continuous profiling
	pause  time.Duration
	mode   string
}

func main() {
	var level slog.Level
	if err := level.UnmarshalText([]byte(getenv("LOG_LEVEL", "info"))); err != nil {
		fmt.Fprintf(os.Stderr, "service: LOG_LEVEL: %v\n", err)
		os.Exit(2)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))

	s, err := readSettings()
	if err != nil {
		slog.Error("bad configuration", "error", err)
		os.Exit(2)
	}
	if err := run(s); err != nil {
		slog.Error("service failed", "error", err)
		os.Exit(1)
	}
}

// readSettings reads the configuration from the environment.
func readSettings() (settings, error) {
	s := settings{
		listen: getenv("LISTEN_ADDR", ":8081"),
		tag:    getenv("SERVICE_TAG", "example-service"),
		mode:   getenv("PGO_MODE", "serve"),
	}
	var err error
	if w := getenv("PGO_WINDOW", "60s"); w != "off" && w != "0" {
		if s.window, err = time.ParseDuration(w); err != nil || s.window <= 0 {
			return s, fmt.Errorf("PGO_WINDOW=%q: want a positive duration, 0 or off", w)
		}
	}
	if s.pause, err = time.ParseDuration(getenv("PGO_PAUSE", "0s")); err != nil || s.pause < 0 {
		return s, fmt.Errorf("PGO_PAUSE=%q: want a duration >= 0", os.Getenv("PGO_PAUSE"))
	}
	return s, nil
}

// run serves until SIGINT or SIGTERM, then drains requests and lets the
// client upload the last window.
func run(s settings) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", s.listen)
	if err != nil {
		return err
	}
	slog.Info("listening", "addr", ln.Addr().String(), "tag", s.tag, "pgo_window", s.window)
	srv := &http.Server{Handler: newMux(score.NewScorer()), ReadHeaderTimeout: 10 * time.Second}

	var wg sync.WaitGroup
	if s.window > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Profiling problems are logged by the client and never stop
			// the service; Run returns at once only for invalid settings.
			err := pgo.Run(ctx, s.tag, pgo.WithWindow(s.window), pgo.WithPause(s.pause), pgo.WithMode(s.mode))
			if err != nil && !errors.Is(err, context.Canceled) {
				slog.Error("continuous profiling disabled", "error", err)
			}
		}()
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		stop()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	slog.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	wg.Wait() // the client uploads the last window (if long enough)
	return err
}

// newMux routes the service's endpoints and net/http/pprof's.
func newMux(sc *score.Scorer) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/score", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			status := http.StatusBadRequest
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				status = http.StatusRequestEntityTooLarge
			}
			http.Error(w, err.Error(), status)
			return
		}
		out, err := sc.Handle(body)
		if errors.Is(err, score.ErrBadRequest) {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		} else if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(out)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
