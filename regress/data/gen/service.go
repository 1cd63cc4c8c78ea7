// service.go: cpu_badutf8.pb.gz, the CPU profile of a real net/http service
// whose handler runs under pprof.Do(ctx, pprof.Labels("path", r.URL.Path), ...),
// as services do to split CPU by endpoint. Go strings are bytes: net/http
// decodes "/%ff" into r.URL.Path as the byte 0xff and "/a%00b" with a NUL, and
// runtime/pprof writes label values as they are, so one such request puts a
// string that is not UTF-8 into the service's profile. go tool pprof and
// go build -pgo read it; pg_pprof must store it.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime/pprof"
	"sync/atomic"
	"time"
)

// badPaths are the request paths of the fixture, as sent on the wire, and the
// label values they must produce (r.URL.Path, bytes as Go decodes them).
var badPaths = []struct{ request, label string }{
	{"/ok", "/ok"},
	{"/%ff", "/\xff"},              // not UTF-8
	{"/%fe", "/\xfe"},              // not UTF-8 either, shows the same as /%ff
	{"/a%00b", "/a\x00b"},          // a NUL, which SQL text cannot hold
	{"/caf%C3%A9", "/caf\u00e9"},   // valid, and in LATIN1
	{"/%E6%97%A5%E6%9C%AC", "/日本"}, // valid, not in LATIN1
}

// handleRequest is the handler's CPU work.
//
//go:noinline
func handleRequest(buf []byte) uint64 {
	return hashLoop(buf, 160)
}

// genBadUTF8: 2.5 s of two clients cycling through badPaths against an
// httptest server (a real loopback listener and net/http server).
func genBadUTF8(out string) error {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pprof.Do(r.Context(), pprof.Labels("path", r.URL.Path), func(context.Context) {
			buf := make([]byte, 64<<10)
			fmt.Fprintln(w, handleRequest(buf))
		})
	}))
	defer srv.Close()

	return captureCPU(filepath.Join(out, "cpu_badutf8.pb.gz"), 2500*time.Millisecond, 2,
		func(i int, stop *atomic.Bool) {
			for n := i; !stop.Load(); n++ {
				resp, err := srv.Client().Get(srv.URL + badPaths[n%len(badPaths)].request)
				if err != nil {
					fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					fatal(fmt.Errorf("GET %s: %s", badPaths[n%len(badPaths)].request, resp.Status))
				}
			}
		})
}
