package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pg-pprof/pg_pprof/examples/service/internal/score"
	"github.com/pg-pprof/pg_pprof/examples/service/internal/workload"
)

func TestEndpoints(t *testing.T) {
	srv := httptest.NewServer(newMux(score.NewScorer()))
	defer srv.Close()

	for _, tc := range []struct {
		method, path, body string
		status             int
		contains           string
	}{
		{"POST", "/v1/score", string(workload.Request(1, 50)), 200, `"digest":"`},
		{"POST", "/v1/score", `{"events":`, 400, "bad request"},
		{"GET", "/v1/score", "", 405, ""},
		{"GET", "/healthz", "", 200, "ok"},
		{"GET", "/debug/pprof/", "", 200, "profile"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.contains) {
			t.Errorf("%s %s: HTTP %d %.100q, want %d containing %q",
				tc.method, tc.path, resp.StatusCode, body, tc.status, tc.contains)
		}
	}
}

func TestReadSettings(t *testing.T) {
	t.Setenv("PGO_WINDOW", "")
	t.Setenv("PGO_PAUSE", "")
	s, err := readSettings()
	if err != nil || s.window != time.Minute || s.pause != 0 || s.tag != "example-service" {
		t.Errorf("defaults: %+v, %v", s, err)
	}
	for _, off := range []string{"0", "off"} {
		t.Setenv("PGO_WINDOW", off)
		if s, err := readSettings(); err != nil || s.window != 0 {
			t.Errorf("PGO_WINDOW=%s: %+v, %v", off, s, err)
		}
	}
	t.Setenv("PGO_WINDOW", "2s")
	t.Setenv("PGO_PAUSE", "500ms")
	if s, err := readSettings(); err != nil || s.window != 2*time.Second || s.pause != 500*time.Millisecond {
		t.Errorf("PGO_WINDOW=2s PGO_PAUSE=500ms: %+v, %v", s, err)
	}
	for _, bad := range []string{"-1s", "soon"} {
		t.Setenv("PGO_WINDOW", bad)
		if _, err := readSettings(); err == nil {
			t.Errorf("PGO_WINDOW=%s: no error", bad)
		}
	}
}
