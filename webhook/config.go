package webhook

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Defaults of Config.
const (
	DefaultInterval     = time.Second
	DefaultQueue        = 100_000
	DefaultBatch        = 500
	DefaultTimeout      = 10 * time.Second
	DefaultMinBackoff   = time.Second
	DefaultMaxBackoff   = 5 * time.Minute
	DefaultRetryFor     = 24 * time.Hour
	DefaultFlushTimeout = 5 * time.Second
	DefaultLeaseTTL     = 6 * time.Second
)

// Secret lengths.
const (
	secretPrefix = "whsec_"
	// MinSecret is the length, in characters, of a secret that is not in
	// the whsec_ form: a key shorter than that is guessable.
	MinSecret = 32
	// MinKey is the length, in bytes, of the key a whsec_ secret decodes
	// to (Standard Webhooks generates 24 to 64).
	MinKey = 16
)

// Config configures a Sender. URL and Secret come from flags; the zero value
// of every other field means its default.
type Config struct {
	// URL receives the batches: http or https. Empty: webhooks are off.
	URL string
	// Secret signs them: whsec_<base64> (the key is the decoded part) or
	// any string of MinSecret characters or more (the key is its UTF-8
	// bytes).
	Secret string
	// Interval is how long the oldest queued event waits for others to
	// join its batch. Default: 1 s.
	Interval time.Duration
	// Queue bounds the queued events; past it the oldest are dropped.
	// Default: 100,000.
	Queue int

	// Batch is the most events in one batch; a full batch goes at once.
	// Default: 500.
	Batch int
	// Timeout bounds one attempt, response included. Default: 10 s.
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts of a
	// batch. Defaults: 1 s and 5 min.
	MinBackoff, MaxBackoff time.Duration
	// RetryFor is how long a batch is retried before it is dropped.
	// Default: 24 h.
	RetryFor time.Duration
	// FlushTimeout is how long Run goes on sending after its context ends.
	// Default: 5 s.
	FlushTimeout time.Duration

	// Lease elects the one node of a cluster that sends. Default: none,
	// this process always sends.
	Lease Lease
	// LeaseTTL is how long a taken lease lasts unrenewed; it is renewed,
	// and a standby node tries to take it, every LeaseTTL/3. Default: 6 s,
	// so a dead holder's lease is taken over within LeaseTTL + LeaseTTL/3
	// (8 s at the default). presenced sets it to 2/3 of -node-ttl, so that
	// a takeover comes within the node TTL with room to spare.
	LeaseTTL time.Duration

	// Registerer takes the metrics. Default: none (not registered).
	Registerer prometheus.Registerer
	// Log receives the sender's logs. Default: none.
	Log zerolog.Logger
	// Transport makes the requests. Default: a clone of
	// http.DefaultTransport. Redirects are never followed whatever it is.
	Transport http.RoundTripper
	// Clock tells the time and makes timers. Default: package time.
	Clock Clock
	// Rand returns a uniform number in [0, 1) for the backoff's jitter.
	// Default: math/rand/v2.
	Rand func() float64
}

// AddFlags defines -webhook-url, -webhook-secret, -webhook-interval and
// -webhook-queue on fs, writing into c.
func (c *Config) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "webhook-url", "", "where signed status-change batches go: an http or https URL (empty: webhooks off)")
	fs.StringVar(&c.Secret, "webhook-secret", "", "webhook signing secret: whsec_<base64> or 32+ characters")
	fs.DurationVar(&c.Interval, "webhook-interval", DefaultInterval, "how long a webhook event waits to be batched with others")
	fs.IntVar(&c.Queue, "webhook-queue", DefaultQueue, "webhook events queued at most; past it the oldest are dropped")
}

// Enabled reports whether webhooks are configured at all.
func (c *Config) Enabled() bool { return c.URL != "" || c.Secret != "" }

// Validate checks the URL, the secret, the interval and the queue bound.
func (c *Config) Validate() error {
	if c.URL == "" {
		return errors.New("-webhook-url is required with -webhook-secret")
	}
	u, err := url.Parse(c.URL)
	switch {
	case err != nil:
		return fmt.Errorf("-webhook-url: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("-webhook-url must be an http or https URL, not %q", c.URL)
	case u.Host == "":
		return fmt.Errorf("-webhook-url %q has no host", c.URL)
	case u.User != nil:
		return errors.New("-webhook-url must not carry a user or password: the signature authenticates the sender")
	}
	if _, err := Key(c.Secret); err != nil {
		return err
	}
	switch {
	case c.Interval < 0:
		return fmt.Errorf("-webhook-interval must not be negative, not %v", c.Interval)
	case c.Queue < 0:
		return fmt.Errorf("-webhook-queue must not be negative, not %d", c.Queue)
	}
	return nil
}

// Key is the HMAC key of secret: the base64-decoded rest of a whsec_
// secret, else the secret's UTF-8 bytes. A receiver verifies with it.
func Key(secret string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(secret, secretPrefix); ok {
		key, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, fmt.Errorf("-webhook-secret: the part after whsec_ is not base64: %w", err)
		}
		if len(key) < MinKey {
			return nil, fmt.Errorf("-webhook-secret: a whsec_ key must decode to %d bytes or more, not %d", MinKey, len(key))
		}
		return key, nil
	}
	switch n := utf8.RuneCountInString(secret); {
	case secret == "":
		return nil, errors.New("-webhook-secret is required with -webhook-url")
	case !utf8.ValidString(secret):
		return nil, errors.New("-webhook-secret is not valid UTF-8")
	case n < MinSecret:
		return nil, fmt.Errorf("-webhook-secret must be whsec_<base64> or %d characters or more, not %d", MinSecret, n)
	}
	return []byte(secret), nil
}

// withDefaults fills in the zero fields.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Interval, DefaultInterval)
	def(&c.Timeout, DefaultTimeout)
	def(&c.MinBackoff, DefaultMinBackoff)
	def(&c.MaxBackoff, DefaultMaxBackoff)
	def(&c.RetryFor, DefaultRetryFor)
	def(&c.FlushTimeout, DefaultFlushTimeout)
	def(&c.LeaseTTL, DefaultLeaseTTL)
	if c.Queue <= 0 {
		c.Queue = DefaultQueue
	}
	if c.Batch <= 0 {
		c.Batch = DefaultBatch
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = c.MinBackoff
	}
	if c.Transport == nil {
		c.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	return c
}
