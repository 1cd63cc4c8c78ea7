package pgo

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var hexKey = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestUploadSuccess(t *testing.T) {
	g := newGateway(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"id": 123, "tag": "svc", "samples": 456, "duration_seconds": 30.0,
			"pgo_usable": false, "problems": ["no samples"]}`))
	})
	body := fakeProfile(t)
	res, err := Upload(context.Background(), "svc", body, testOpts(g,
		WithToken("s3cret"),
		WithMode("batch"),
		WithVersion("1.2.3"),
		WithLabels(map[string]string{"region": "eu-west", "odd": "a b&c=d"}),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{ID: 123, Tag: "svc", Samples: 456, DurationSeconds: 30, PGOUsable: false, Problems: []string{"no samples"}}
	if res.ID != want.ID || res.Tag != want.Tag || res.Samples != want.Samples ||
		res.DurationSeconds != want.DurationSeconds || res.PGOUsable != want.PGOUsable ||
		len(res.Problems) != 1 || res.Problems[0] != "no samples" {
		t.Errorf("result = %+v, want %+v", *res, want)
	}

	reqs := g.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/profile/svc" {
		t.Errorf("request = %s %s, want POST /profile/svc", r.Method, r.Path)
	}
	if string(r.Body) != string(body) {
		t.Errorf("body differs from the profile")
	}
	for h, want := range map[string]string{
		"Content-Type":  "application/octet-stream",
		"Authorization": "Bearer s3cret",
		"User-Agent":    "pg_pprof-go/" + Version,
	} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	if k := r.Header.Get("Idempotency-Key"); !hexKey.MatchString(k) {
		t.Errorf("Idempotency-Key = %q, want 32 hex digits", k)
	}
	for k, want := range map[string]string{
		"mode": "batch", "version": "1.2.3", "go": runtime.Version(),
		"region": "eu-west", "odd": "a b&c=d",
	} {
		if got := r.Query[k]; len(got) != 1 || got[0] != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if len(r.Query) != 5 {
		t.Errorf("labels = %v, want exactly 5", r.Query)
	}
}

func TestUploadNoTokenNoAuthorization(t *testing.T) {
	g := okGateway(t)
	if _, err := Upload(nil, "svc", fakeProfile(t), testOpts(g)...); err != nil { //nolint:staticcheck // nil ctx is allowed
		t.Fatal(err)
	}
	if h := g.requests()[0].Header; h.Get("Authorization") != "" {
		t.Errorf("Authorization sent without a token: %q", h.Get("Authorization"))
	}
}

func TestUploadDefaultsFromEnvironment(t *testing.T) {
	g := okGateway(t)
	t.Setenv(EnvGatewayURL, g.URL)
	t.Setenv(EnvUploadToken, "from-env")
	if _, err := Upload(context.Background(), "svc", fakeProfile(t), WithLogger(nil)); err != nil {
		t.Fatal(err)
	}
	if got := g.requests()[0].Header.Get("Authorization"); got != "Bearer from-env" {
		t.Errorf("Authorization = %q, want the token from %s", got, EnvUploadToken)
	}
}

func TestUploadLabelsRemovable(t *testing.T) {
	g := okGateway(t)
	_, err := Upload(context.Background(), "svc", fakeProfile(t), testOpts(g,
		WithVersion(""), WithLabels(map[string]string{"go": "", "host": "h1"}))...)
	if err != nil {
		t.Fatal(err)
	}
	q := g.requests()[0].Query
	if len(q) != 1 || q["host"][0] != "h1" {
		t.Errorf("labels = %v, want only host=h1", q)
	}
}

func TestUploadGatewayPathPrefix(t *testing.T) {
	g := okGateway(t)
	if _, err := Upload(context.Background(), "svc", fakeProfile(t), testOpts(g, WithGatewayURL(g.URL+"/pgo/"))...); err != nil {
		t.Fatal(err)
	}
	if p := g.requests()[0].Path; p != "/pgo/profile/svc" {
		t.Errorf("path = %q, want /pgo/profile/svc", p)
	}
}

func TestUploadPermanentError(t *testing.T) {
	g := newGateway(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"status": 400, "error": "invalid pprof profile", "detail": "truncated varint at offset 7", "sqlstate": "22P03"}`))
	})
	_, err := Upload(context.Background(), "svc", fakeProfile(t), testOpts(g)...)
	var ge *Error
	if !errors.As(err, &ge) {
		t.Fatalf("err = %v (%T), want *Error", err, err)
	}
	if ge.Status != 400 || ge.Message != "invalid pprof profile" || ge.Detail != "truncated varint at offset 7" || ge.SQLState != "22P03" {
		t.Errorf("error fields = %+v", *ge)
	}
	if ge.Temporary() {
		t.Error("400 reported as temporary")
	}
	if want := "pgo: gateway: HTTP 400: invalid pprof profile: truncated varint at offset 7 (SQLSTATE 22P03)"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if n := g.count(); n != 1 {
		t.Errorf("%d requests, want 1 (no retry of a 400)", n)
	}
}

func TestUploadRetryPolicyByStatus(t *testing.T) {
	for _, tc := range []struct {
		status   int
		attempts int
	}{
		{400, 1}, {401, 1}, {403, 1}, {404, 1}, {409, 1}, {413, 1}, {415, 1}, {422, 1},
		{408, 3}, {429, 3}, {500, 3}, {502, 3}, {503, 3}, {504, 3},
	} {
		g := newGateway(t, func(n int, w http.ResponseWriter, r *http.Request) { failWith(w, tc.status, "nope") })
		_, err := Upload(context.Background(), "svc", fakeProfile(t), testOpts(g, WithRetries(2))...)
		var ge *Error
		if !errors.As(err, &ge) || ge.Status != tc.status {
			t.Errorf("status %d: err = %v, want *Error with that status", tc.status, err)
		}
		if n := g.count(); n != tc.attempts {
			t.Errorf("status %d: %d attempts, want %d", tc.status, n, tc.attempts)
		}
		keys := map[string]bool{}
		for _, r := range g.requests() {
			keys[r.Header.Get("Idempotency-Key")] = true
		}
		if len(keys) != 1 {
			t.Errorf("status %d: %d distinct Idempotency-Keys over the retries, want 1", tc.status, len(keys))
		}
	}
}

func TestUploadRetryAfter(t *testing.T) {
	g := newGateway(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			failWith(w, http.StatusServiceUnavailable, "database unavailable")
			return
		}
		created(w, 7, "svc")
	})
	start := time.Now()
	res, err := Upload(context.Background(), "svc", fakeProfile(t), testOpts(g)...)
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != 7 {
		t.Errorf("id = %d, want 7", res.ID)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("retried after %s, before the Retry-After of 1s", d)
	}
	reqs := g.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	if a, b := reqs[0].Header.Get("Idempotency-Key"), reqs[1].Header.Get("Idempotency-Key"); a != b || a == "" {
		t.Errorf("Idempotency-Key changed on retry: %q then %q", a, b)
	}
	if string(reqs[0].Body) != string(reqs[1].Body) || len(reqs[1].Body) == 0 {
		t.Error("retry did not resend the same body")
	}
}

func TestUploadRetryAfterBeyondTimeoutGivesUp(t *testing.T) {
	g := newGateway(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "60")
		failWith(w, http.StatusTooManyRequests, "slow down")
	})
	start := time.Now()
	_, err := Upload(context.Background(), "svc", fakeProfile(t), testOpts(g, WithTimeout(2*time.Second))...)
	var ge *Error
	if !errors.As(err, &ge) || ge.Status != 429 || ge.RetryAfter != time.Minute {
		t.Fatalf("err = %v, want *Error 429 with RetryAfter 1m", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %s; should give up at once when Retry-After exceeds the timeout", d)
	}
	if n := g.count(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestUploadTimeout(t *testing.T) {
	g := newGateway(t, func(n int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	start := time.Now()
	_, err := Upload(context.Background(), "svc", fakeProfile(t), testOpts(g, WithTimeout(300*time.Millisecond))...)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 2*time.Second {
		t.Errorf("returned after %s, want about 300ms", d)
	}
	if n := g.count(); n != 1 {
		t.Errorf("%d requests, want 1 (the time was up)", n)
	}
}

func TestUploadTimeoutDuringBackoff(t *testing.T) {
	g := newGateway(t, func(n int, w http.ResponseWriter, r *http.Request) { failWith(w, 500, "boom") })
	_, err := Upload(context.Background(), "svc", fakeProfile(t), testOpts(g,
		WithTimeout(400*time.Millisecond), WithRetries(1000), withBackoff(50*time.Millisecond, 50*time.Millisecond))...)
	var ge *Error
	if !errors.As(err, &ge) || ge.Status != 500 {
		t.Fatalf("err = %v, want the last *Error (500)", err)
	}
	if n := g.count(); n < 2 || n > 100 {
		t.Errorf("%d attempts in 400ms with ~25ms backoff", n)
	}
}

func TestUploadCallerCancel(t *testing.T) {
	g := newGateway(t, func(n int, w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := Upload(ctx, "svc", fakeProfile(t), testOpts(g)...)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := g.count(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestUploadRetriesNetworkError(t *testing.T) {
	g := newGateway(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 { // lose the answer: close the connection without one
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		created(w, 9, "svc")
	})
	res, err := Upload(context.Background(), "svc", fakeProfile(t), testOpts(g)...)
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != 9 {
		t.Errorf("id = %d, want 9", res.ID)
	}
	reqs := g.requests()
	if len(reqs) < 2 {
		t.Fatalf("%d requests, want a retry", len(reqs))
	}
	for _, r := range reqs[1:] {
		if r.Header.Get("Idempotency-Key") != reqs[0].Header.Get("Idempotency-Key") {
			t.Error("Idempotency-Key changed on retry")
		}
	}
}

func TestUploadConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = Upload(context.Background(), "svc", []byte{1}, WithGatewayURL("http://"+addr), WithRetries(2),
		withBackoff(time.Millisecond, time.Millisecond), WithLogger(nil))
	if err == nil || !strings.Contains(err.Error(), "pgo: upload svc") {
		t.Fatalf("err = %v, want a network error", err)
	}
}

func TestUploadBadAnswers(t *testing.T) {
	g := newGateway(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1:
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte("<html>ok</html>"))
		default:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte("<html>\n  <body>Forbidden by proxy</body>\n</html>"))
		}
	})
	_, err := Upload(context.Background(), "svc", fakeProfile(t), testOpts(g)...)
	if err == nil || !strings.Contains(err.Error(), "accepted the profile") {
		t.Errorf("201 with a non-JSON body: err = %v", err)
	}
	_, err = Upload(context.Background(), "svc", fakeProfile(t), testOpts(g)...)
	var ge *Error
	if !errors.As(err, &ge) || ge.Status != 403 || ge.Message != "<html> <body>Forbidden by proxy</body> </html>" {
		t.Errorf("403 with HTML: err = %#v", err)
	}
	if n := g.count(); n != 2 {
		t.Errorf("%d requests, want 2 (neither retried)", n)
	}
}

func TestUploadRejectsBeforeSending(t *testing.T) {
	g := okGateway(t)
	for name, tc := range map[string]struct {
		tag  string
		body []byte
		opts []Option
	}{
		"bad tag":      {"a/b", []byte{1}, nil},
		"empty body":   {"svc", nil, nil},
		"no scheme":    {"svc", []byte{1}, []Option{WithGatewayURL("localhost:8080")}},
		"ftp scheme":   {"svc", []byte{1}, []Option{WithGatewayURL("ftp://host")}},
		"unparseable":  {"svc", []byte{1}, []Option{WithGatewayURL("http://[::1")}},
		"missing host": {"svc", []byte{1}, []Option{WithGatewayURL("http://")}},
	} {
		if _, err := Upload(context.Background(), tc.tag, tc.body, testOpts(g, tc.opts...)...); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if n := g.count(); n != 0 {
		t.Errorf("%d requests sent for invalid input", n)
	}
}

func TestBackoffFullJitter(t *testing.T) {
	c := newConfig([]Option{withBackoff(100*time.Millisecond, time.Second)})
	for attempt, ceil := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		ceil *= time.Millisecond
		for i := 0; i < 200; i++ {
			if d := c.backoff(attempt, errors.New("x")); d < 0 || d >= ceil {
				t.Fatalf("attempt %d: backoff %s outside [0, %s)", attempt, d, ceil)
			}
		}
	}
	if d := c.backoff(100, errors.New("x")); d < 0 || d >= time.Second {
		t.Errorf("attempt 100: backoff %s outside [0, 1s)", d)
	}
	if d := c.backoff(0, &Error{Status: 503, RetryAfter: 3 * time.Second}); d != 3*time.Second {
		t.Errorf("Retry-After not honoured: %s", d)
	}
}

// resetServer accepts connections, reads each request's headers and a
// little of its body, then resets the connection (SO_LINGER 0), as a
// gateway closing after an early 413 may look to a client still sending.
// It returns its URL and the number of connections it took.
func resetServer(t *testing.T) (string, func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	n := 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			n++
			mu.Unlock()
			br := bufio.NewReader(c)
			for {
				line, err := br.ReadString('\n')
				if err != nil || line == "\r\n" {
					break
				}
			}
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return "http://" + ln.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return n }
}

func TestUploadResetAfterLargeBodyIsTooLarge(t *testing.T) {
	url, conns := resetServer(t)
	_, err := Upload(context.Background(), "svc", make([]byte, 4<<20), WithGatewayURL(url), WithMaxBody(1<<20),
		WithRetries(3), WithTimeout(20*time.Second), WithLogger(nil), withBackoff(time.Millisecond, time.Millisecond))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if n := conns(); n != 1 {
		t.Errorf("%d attempts, want 1 (no retry of a profile over the limit)", n)
	}
}

func TestUploadResetAfterSmallBodyIsRetried(t *testing.T) {
	url, conns := resetServer(t)
	_, err := Upload(context.Background(), "svc", make([]byte, 4<<10), WithGatewayURL(url), WithMaxBody(1<<20),
		WithRetries(2), WithTimeout(20*time.Second), WithLogger(nil), withBackoff(time.Millisecond, time.Millisecond))
	if err == nil || errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want a network error that is not ErrTooLarge", err)
	}
	if n := conns(); n != 3 {
		t.Errorf("%d attempts, want 3 (a broken connection under the limit is retried)", n)
	}
}
