// Command loadgen drives a fixed load at the example service: concurrent
// POST /v1/score requests with generated bodies, for a duration or a number
// of requests. It fails when a request fails or none completed.
//
//	go run ./loadgen -url http://localhost:8081 -duration 60s
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pg-pprof/pg_pprof/examples/service/internal/workload"
)

func main() {
	url := flag.String("url", "http://localhost:8081", "base URL of the service")
	duration := flag.Duration("duration", 30*time.Second, "how long to send requests (0: until -requests or interrupted)")
	requests := flag.Int64("requests", 0, "stop after this many requests (0: no limit)")
	concurrency := flag.Int("c", 4, "concurrent requests")
	events := flag.Int("events", 200, "events per request")
	bodies := flag.Int("bodies", 16, "number of different request bodies")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}

	reqs := workload.Requests(*bodies, *events)
	target := *url + "/v1/score"
	var claimed, done, failed atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for w := range *concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ctx.Err() == nil; i += *concurrency {
				if *requests > 0 && claimed.Add(1) > *requests {
					return
				}
				if err := post(ctx, target, reqs[i%len(reqs)]); err != nil {
					if ctx.Err() != nil {
						return // stopped mid-request: not a failure
					}
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	n := done.Load()
	elapsed := time.Since(start)
	fmt.Printf("loadgen: %d requests in %.1f s (%.0f/s), %d failed\n",
		n, elapsed.Seconds(), float64(n)/elapsed.Seconds(), failed.Load())
	if failed.Load() > 0 {
		fmt.Fprintf(os.Stderr, "loadgen: first error: %v\n", firstErr.Load())
		os.Exit(1)
	}
	if n == 0 {
		fmt.Fprintln(os.Stderr, "loadgen: no request completed")
		os.Exit(1)
	}
}

// post sends one request and checks for a 200 answer.
func post(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: HTTP %d", url, resp.StatusCode)
	}
	return nil
}
