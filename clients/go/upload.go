package pgo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Result is the gateway's answer to a successful upload (HTTP 201).
type Result struct {
	// ID is the id of the stored row (pgo.profiles.id).
	ID int64 `json:"id"`
	// Tag is the tag the profile was stored under.
	Tag string `json:"tag"`
	// Samples is the number of samples in the profile.
	Samples int64 `json:"samples"`
	// DurationSeconds is the profile's duration.
	DurationSeconds float64 `json:"duration_seconds"`
	// PGOUsable reports whether a compiler can use the profile for PGO.
	PGOUsable bool `json:"pgo_usable"`
	// Problems lists what makes the profile less useful or unusable for PGO;
	// empty for a good profile.
	Problems []string `json:"problems"`
}

// maxResponseBytes bounds the response body read from the gateway.
const maxResponseBytes = 1 << 20

// Upload sends one profile (a pprof protobuf, gzipped as runtime/pprof
// writes it) to POST {gateway}/profile/{tag}. Capture and Run use it; call it
// directly to upload profiles obtained otherwise (e.g. scraped from
// /debug/pprof/profile).
//
// Retryable failures (network errors, 408, 429, 5xx) are retried up to
// WithRetries times with exponential backoff and full jitter, honouring
// Retry-After, all within WithTimeout; each retry carries the same
// Idempotency-Key. A gateway error is returned as *Error (possibly wrapped
// together with the context error when the time ran out). A nil ctx counts
// as context.Background().
func Upload(ctx context.Context, tag string, profile []byte, opts ...Option) (*Result, error) {
	return newConfig(opts).upload(ctx, tag, profile)
}

func (c *config) upload(ctx context.Context, tag string, profile []byte) (*Result, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ValidateTag(tag); err != nil {
		return nil, err
	}
	if len(profile) == 0 {
		return nil, errors.New("pgo: empty profile")
	}
	endpoint, err := c.endpoint(tag)
	if err != nil {
		return nil, err
	}
	key, err := newIdempotencyKey()
	if err != nil {
		return nil, err
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}

	var last *Error // the gateway's last answer, if any
	for attempt := 0; ; attempt++ {
		res, retry, err := c.try(ctx, endpoint, key, tag, profile)
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil && last != nil && !errors.As(err, new(*Error)) {
			// The time ran out during a retry: the gateway's last answer
			// says more than the interrupted request.
			return nil, fmt.Errorf("%w (gave up: %w)", last, ctx.Err())
		}
		errors.As(err, &last)
		if !retry || attempt >= c.retries {
			return nil, err
		}
		wait := c.backoff(attempt, err)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			// The next attempt could not start in time: give up now
			// rather than sleep into the deadline.
			return nil, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// try makes one attempt. retry reports whether a failure may be retried.
func (c *config) try(ctx context.Context, endpoint, key, tag string, profile []byte) (res *Result, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(profile))
	if err != nil {
		return nil, false, fmt.Errorf("pgo: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("User-Agent", userAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}

	resp, err := c.client.Do(req)
	if err != nil {
		if int64(len(profile)) > c.maxBody && brokenConnection(err) {
			// The gateway answers an upload over its limit with 413 and
			// closes; a client still sending may see the close, not the
			// answer. Sending it again cannot succeed.
			return nil, false, fmt.Errorf("pgo: upload %s: %w: the connection broke while %d bytes were being sent, "+
				"more than the gateway's limit of %d bytes (--max-body; see WithMaxBody), so its 413 answer was probably lost: %w",
				tag, ErrTooLarge, len(profile), c.maxBody, err)
		}
		// Retry network errors unless our own context ended.
		return nil, ctx.Err() == nil, fmt.Errorf("pgo: upload %s: %w", tag, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	// Drain a little more so the connection can be reused, then close.
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
	if err != nil {
		// The gateway may have stored the profile: a retry with the same
		// Idempotency-Key gets the stored result back.
		return nil, ctx.Err() == nil, fmt.Errorf("pgo: upload %s: reading the answer: %w", tag, err)
	}

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		var r Result
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, false, fmt.Errorf("pgo: upload %s: gateway accepted the profile (HTTP %d) but its answer is not the expected JSON: %w", tag, resp.StatusCode, err)
		}
		if r.Problems == nil {
			r.Problems = []string{}
		}
		return &r, false, nil
	}
	ge := newError(resp.StatusCode, resp.Header, body)
	return nil, ge.Temporary(), ge
}

// brokenConnection reports whether err is the peer closing or resetting the
// connection (rather than, say, a timeout or a refused connection).
func brokenConnection(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// backoff returns the wait before retry number attempt+1: the gateway's
// Retry-After when given, else full jitter over an exponential ceiling.
func (c *config) backoff(attempt int, err error) time.Duration {
	var ge *Error
	if errors.As(err, &ge) && ge.RetryAfter > 0 {
		return ge.RetryAfter
	}
	ceil := c.backoffMax
	if attempt < 30 {
		if d := c.backoffBase << attempt; d > 0 && d < ceil {
			ceil = d
		}
	}
	if ceil <= 0 {
		return 0
	}
	return mrand.N(ceil)
}

// newIdempotencyKey returns 128 random bits as 32 lowercase hex digits.
func newIdempotencyKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("pgo: idempotency key: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
