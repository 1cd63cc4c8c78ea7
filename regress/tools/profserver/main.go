// Command profserver stands in for many /debug/pprof endpoints in the
// pprof-worker tests (regress/t/3xx_scrape_*): every path answers with the
// same profile file after sleeping ?seconds=, as net/http/pprof's CPU
// profile endpoint takes that long; ?status=N answers N with a text body
// (and ?retry_after=S a Retry-After header).
//
//	profserver -profile FILE [-listen 127.0.0.1:0]
//
// It prints "listening ADDR" on stdout once it accepts connections, and
// one line "GET PATH?QUERY" per request it has answered completely.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	profile := flag.String("profile", "", "the profile every path answers with")
	flag.Parse()
	body, err := os.ReadFile(*profile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profserver:", err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profserver:", err)
		os.Exit(1)
	}
	var mu sync.Mutex // one line at a time on stdout
	handler := func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if s, err := strconv.ParseFloat(q.Get("seconds"), 64); err == nil && s > 0 {
			select {
			case <-time.After(time.Duration(s * float64(time.Second))):
			case <-r.Context().Done():
				return
			}
		}
		if ra := q.Get("retry_after"); ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		if st, err := strconv.Atoi(q.Get("status")); err == nil {
			http.Error(w, http.StatusText(st), st)
		} else {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(body)
		}
		mu.Lock()
		fmt.Printf("GET %s\n", r.URL.RequestURI())
		mu.Unlock()
	}
	fmt.Printf("listening %s\n", ln.Addr())
	if err := http.Serve(ln, http.HandlerFunc(handler)); err != nil {
		fmt.Fprintln(os.Stderr, "profserver:", err)
		os.Exit(1)
	}
}
