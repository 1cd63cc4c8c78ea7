package pgo

import (
	"net/http"
	"testing"
	"time"
)

func TestErrorString(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{Status: 400, Message: "invalid pprof profile", Detail: "bad varint", SQLState: "22P03"},
			"pgo: gateway: HTTP 400: invalid pprof profile: bad varint (SQLSTATE 22P03)"},
		{Error{Status: 413, Message: "profile too large"}, "pgo: gateway: HTTP 413: profile too large"},
		{Error{Status: 503, Message: "Service Unavailable", RetryAfter: 5 * time.Second},
			"pgo: gateway: HTTP 503: Service Unavailable (retry after 5s)"},
		{Error{Status: 500}, "pgo: gateway: HTTP 500"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestNewError(t *testing.T) {
	h := http.Header{}
	e := newError(400, h, []byte(`{"status":400,"error":"invalid tag"}`))
	if e.Message != "invalid tag" || e.Detail != "" || e.SQLState != "" {
		t.Errorf("json without detail: %+v", *e)
	}
	e = newError(502, h, nil)
	if e.Message != "Bad Gateway" {
		t.Errorf("empty body: Message = %q, want the status text", e.Message)
	}
	e = newError(500, h, []byte{0x1f, 0x8b, 0x08, 0x00, 0xff})
	if e.Message != "Internal Server Error" {
		t.Errorf("binary body: Message = %q, want the status text", e.Message)
	}
	h.Set("Retry-After", "7")
	if e = newError(429, h, nil); e.RetryAfter != 7*time.Second {
		t.Errorf("RetryAfter = %s, want 7s", e.RetryAfter)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"-3":                            0,
		"12":                            12 * time.Second,
		" 2 ":                           2 * time.Second,
		"soon":                          0,
		"99999999999":                   24 * time.Hour,
		"Wed, 01 May 2024 12:00:30 GMT": 30 * time.Second,
		"Wed, 01 May 2024 11:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestTemporary(t *testing.T) {
	for status, want := range map[int]bool{
		400: false, 401: false, 404: false, 413: false, 415: false,
		408: true, 429: true, 500: true, 503: true, 599: true,
	} {
		if got := (&Error{Status: status}).Temporary(); got != want {
			t.Errorf("Temporary(%d) = %v, want %v", status, got, want)
		}
	}
}
