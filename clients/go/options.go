package pgo

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"
)

// Defaults of the options.
const (
	DefaultGatewayURL  = "http://localhost:8080"
	DefaultTimeout     = 30 * time.Second
	DefaultRetries     = 4
	DefaultWindow      = 60 * time.Second
	DefaultMaxInFlight = 2
	// DefaultMaxBody is the gateway's default --max-body.
	DefaultMaxBody = 32 << 20
)

// Environment variables read when the corresponding option is not given.
const (
	EnvGatewayURL  = "PGO_GATEWAY_URL"
	EnvUploadToken = "PGO_UPLOAD_TOKEN"
)

// Backoff between retries: full jitter, uniform in [0, min(backoffMax,
// backoffBase*2^attempt)).
const (
	defaultBackoffBase = 500 * time.Millisecond
	defaultBackoffMax  = 10 * time.Second
)

// An Option configures Capture, Run or Upload.
type Option func(*config)

// config is the resolved configuration of one Capture, Run or Upload call.
type config struct {
	gatewayURL  string
	token       string
	labels      map[string]string
	timeout     time.Duration
	client      *http.Client
	retries     int
	window      time.Duration
	pause       time.Duration
	logger      *slog.Logger
	maxInFlight int
	maxBody     int64

	backoffBase time.Duration
	backoffMax  time.Duration
	hooks       *testHooks
}

// newConfig returns the defaults (read from the environment now) with opts
// applied in order.
func newConfig(opts []Option) *config {
	c := &config{
		gatewayURL:  os.Getenv(EnvGatewayURL),
		token:       os.Getenv(EnvUploadToken),
		labels:      map[string]string{"go": runtime.Version()},
		timeout:     DefaultTimeout,
		client:      http.DefaultClient,
		retries:     DefaultRetries,
		window:      DefaultWindow,
		logger:      slog.Default(),
		maxInFlight: DefaultMaxInFlight,
		maxBody:     DefaultMaxBody,
		backoffBase: defaultBackoffBase,
		backoffMax:  defaultBackoffMax,
	}
	if c.gatewayURL == "" {
		c.gatewayURL = DefaultGatewayURL
	}
	if v := mainVersion(); v != "" {
		c.labels["version"] = v
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

// WithGatewayURL sets the base URL of the gateway, e.g. "http://pgo:8080"
// (a path prefix is kept: "https://host/pgo" posts to
// https://host/pgo/profile/<tag>). Default: $PGO_GATEWAY_URL, else
// http://localhost:8080.
func WithGatewayURL(u string) Option {
	return func(c *config) { c.gatewayURL = u }
}

// WithToken sets the bearer token sent as "Authorization: Bearer <token>".
// Default: $PGO_UPLOAD_TOKEN. An empty token sends no Authorization header.
func WithToken(token string) Option {
	return func(c *config) { c.token = token }
}

// WithLabels adds labels, sent as query parameters of the upload. They are
// merged with the labels set so far; a label with an empty value is removed
// (use it to drop a default label such as "go" or "version").
func WithLabels(labels map[string]string) Option {
	return func(c *config) {
		for k, v := range labels {
			c.setLabel(k, v)
		}
	}
}

// WithMode sets the label "mode", the service's mode of operation.
func WithMode(mode string) Option {
	return func(c *config) { c.setLabel("mode", mode) }
}

// WithVersion sets the label "version". Default: the main module's version
// from debug.ReadBuildInfo (or its VCS revision for a "(devel)" build).
func WithVersion(version string) Option {
	return func(c *config) { c.setLabel("version", version) }
}

// WithTimeout bounds each upload as a whole, retries and waits included.
// Default 30 s; d <= 0 leaves only the caller's context as a bound.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// WithHTTPClient sets the HTTP client used for uploads. Default:
// http.DefaultClient. A nil client restores the default.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) {
		if hc == nil {
			hc = http.DefaultClient
		}
		c.client = hc
	}
}

// WithMaxBody tells the client the gateway's --max-body, in bytes (default
// DefaultMaxBody, the gateway's default). When the connection breaks while
// a larger profile is being sent, the gateway's 413 was probably lost on
// the way: the upload fails at once with ErrTooLarge instead of being
// retried. n <= 0 restores the default.
func WithMaxBody(n int64) Option {
	return func(c *config) {
		if n <= 0 {
			n = DefaultMaxBody
		}
		c.maxBody = n
	}
}

// WithRetries sets how many times a failed upload is retried after the
// first attempt (retryable failures only). Default 4; n < 0 counts as 0.
func WithRetries(n int) Option {
	return func(c *config) {
		if n < 0 {
			n = 0
		}
		c.retries = n
	}
}

// WithWindow sets the length of each profiling window of Run. Default 60 s.
func WithWindow(d time.Duration) Option {
	return func(c *config) { c.window = d }
}

// WithPause sets the pause between two profiling windows of Run, during
// which the program is not profiled. Default 0 (back-to-back windows).
func WithPause(d time.Duration) Option {
	return func(c *config) { c.pause = d }
}

// WithLogger sets the logger of Run's background work (failed or dropped
// uploads, skipped windows). Default: slog.Default(). A nil logger discards
// the messages.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			l = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.Level(1 << 20)}))
		}
		c.logger = l
	}
}

// WithMaxInFlight bounds the uploads Run keeps in flight. When a window
// ends with n uploads still in flight (a slow or failing gateway), the oldest
// is cancelled and dropped with a log message. Default 2.
func WithMaxInFlight(n int) Option {
	return func(c *config) { c.maxInFlight = n }
}

// withBackoff sets the backoff base and cap (tests).
func withBackoff(base, max time.Duration) Option {
	return func(c *config) { c.backoffBase, c.backoffMax = base, max }
}

// withHooks installs test instrumentation.
func withHooks(h *testHooks) Option {
	return func(c *config) { c.hooks = h }
}

func (c *config) setLabel(k, v string) {
	if k == "" {
		return
	}
	if v == "" {
		delete(c.labels, k)
		return
	}
	c.labels[k] = v
}

// endpoint returns the upload URL for tag: {gateway}/profile/{tag}?{labels}.
func (c *config) endpoint(tag string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(c.gatewayURL))
	if err != nil {
		return "", fmt.Errorf("pgo: gateway URL %q: %w", c.gatewayURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("pgo: gateway URL %q: want http://host[:port] or https://host[:port]", c.gatewayURL)
	}
	u = u.JoinPath("profile", tag)
	q := url.Values{}
	for k, v := range c.labels {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode() // sorted by key: deterministic
	u.Fragment = ""
	return u.String(), nil
}

// checkRun validates the options that only Run uses.
func (c *config) checkRun() error {
	if c.window <= 0 {
		return fmt.Errorf("pgo: window must be positive, got %s", c.window)
	}
	if c.pause < 0 {
		return fmt.Errorf("pgo: pause must not be negative, got %s", c.pause)
	}
	if c.maxInFlight < 1 {
		return fmt.Errorf("pgo: max uploads in flight must be at least 1, got %d", c.maxInFlight)
	}
	return nil
}
