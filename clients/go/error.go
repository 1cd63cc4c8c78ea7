package pgo

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// ErrTooLarge is wrapped by the error of an upload larger than the
// gateway's --max-body (see WithMaxBody) whose connection broke while it
// was being sent: the gateway most likely answered 413 and closed. Such an
// upload is not retried; errors.Is(err, ErrTooLarge) tells it apart.
var ErrTooLarge = errors.New("pgo: profile probably larger than the gateway accepts")

// Error is an error answer of the gateway (an HTTP status >= 400, or an
// unexpected non-2xx status). It is returned as *Error by Upload, by the emit
// function of Capture, and logged by Run.
type Error struct {
	// Status is the HTTP status code of the answer.
	Status int
	// Message is the gateway's "error" field, e.g. "invalid pprof profile";
	// the HTTP status text when the body carried no JSON error.
	Message string
	// Detail is the gateway's optional "detail" field.
	Detail string
	// SQLState is the optional PostgreSQL SQLSTATE behind the error, e.g. "22P03".
	SQLState string
	// RetryAfter is the delay asked for by a Retry-After header; 0 when absent.
	RetryAfter time.Duration
}

// Error formats e as, for example,
// "pgo: gateway: HTTP 400: invalid pprof profile: truncated varint (SQLSTATE 22P03)".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pgo: gateway: HTTP %d", e.Status)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.SQLState != "" {
		b.WriteString(" (SQLSTATE ")
		b.WriteString(e.SQLState)
		b.WriteString(")")
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Temporary reports whether the same upload may succeed later: true for
// 408 Request Timeout, 429 Too Many Requests and every 5xx status. Such
// errors are retried; the others are permanent.
func (e *Error) Temporary() bool {
	return e.Status == http.StatusRequestTimeout ||
		e.Status == http.StatusTooManyRequests ||
		e.Status >= 500
}

// errorBody is the JSON error body of the gateway.
type errorBody struct {
	Status   int    `json:"status"`
	Error    string `json:"error"`
	Detail   string `json:"detail"`
	SQLState string `json:"sqlstate"`
}

// maxErrorTextLen bounds the part of a non-JSON error body kept in Message.
const maxErrorTextLen = 200

// newError builds the *Error of a non-2xx answer from its status, headers
// and (already bounded) body.
func newError(status int, h http.Header, body []byte) *Error {
	e := &Error{Status: status, RetryAfter: parseRetryAfter(h.Get("Retry-After"), time.Now())}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error != "" {
		e.Message, e.Detail, e.SQLState = eb.Error, eb.Detail, eb.SQLState
		return e
	}
	// Not the gateway's JSON (a proxy or load balancer answered?): keep a
	// short, printable excerpt of the body, else the status text.
	if text := printable(body, maxErrorTextLen); text != "" {
		e.Message = text
	} else {
		e.Message = http.StatusText(status)
	}
	return e
}

// printable returns the first max bytes of b with whitespace runs collapsed,
// or "" if b is not plain text.
func printable(b []byte, max int) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > max {
		s = s[:max] + "..."
	}
	for _, r := range s {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return ""
		}
	}
	return s
}

// parseRetryAfter decodes a Retry-After header: delay-seconds or an
// HTTP-date. It returns 0 for an absent, malformed or past value.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
