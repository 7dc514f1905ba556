package client

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/a2atop/a2atop/a2a/wire"
)

// Options configure a Client. The zero value works: discovery picks the
// dialect, system TLS roots, sensible timeouts and a journal in the user's
// data directory.
type Options struct {
	// Protocol forces a dialect: "1.0" or "0.3". Empty lets the card decide.
	Protocol string
	// OwnPeer says the agent is a2atop's own (another a2atop's socket; an
	// a2atop serve is known by its card's Watch feed without it):
	// List then sends ListRequest's order (Reverse, ByCreated) as a2atop's
	// own ListTasks members instead of answering ErrUnsupported, and takes
	// the page only if the peer says it listed in that order. Never set
	// for a third-party agent.
	OwnPeer bool
	// Binding forces a protocol binding: "jsonrpc" or "rest" (HTTP+JSON;
	// the card's names JSONRPC and HTTP+JSON work too). Empty lets the card
	// decide; see Discover for the preference order.
	Binding string
	// Headers are sent with every request (card fetch included), e.g.
	// Authorization.
	Headers http.Header
	// CACertFile names a PEM file of extra root certificates, trusted in
	// addition to the system roots.
	CACertFile string
	// Insecure skips TLS certificate verification. The CLI warns about it.
	Insecure bool
	// CertFile and KeyFile are a PEM client certificate and its key,
	// presented to agents that ask for mutual TLS.
	CertFile, KeyFile string
	// Timeout bounds each unary request (card, GetTask, ListTasks,
	// CancelTask, non-blocking send); default 30s.
	Timeout time.Duration
	// SendTimeout bounds a blocking Send, which lasts as long as the task;
	// default 10 minutes.
	SendTimeout time.Duration
	// MaxEventSize bounds one SSE event; default 64 MiB.
	MaxEventSize int
	// MaxResponseSize bounds one unary response body; default 64 MiB.
	MaxResponseSize int64
	// Reconnect tunes how dropped streams come back.
	Reconnect ReconnectPolicy
	// Retry tunes how the first request of an operation is retried (see
	// RetryPolicyHelp for what is retried and why that is safe).
	Retry RetryPolicy
	// StreamIdle is how long a task stream (Stream, Subscribe, and their
	// resubscribes) may stay silent before the client counts the
	// connection as dead and reconnects as for a drop; default 45s, three
	// of a2atop serve's 15s keep-alives. The wait for a stream's response
	// headers is bounded by Timeout.
	StreamIdle time.Duration
	// OnConnState, when set, is called on every connection state change,
	// from the goroutine that caused it; it must not block.
	OnConnState func(ConnState)
	// JournalPath is the bbolt file Watch uses to remember tasks; default
	// <data dir>/a2atop/remote/<sha256(card url)[:16]>.db. NoJournal keeps
	// the journal in memory only.
	JournalPath string
	// Getenv is the environment the default journal path is read from
	// (XDG_DATA_HOME, HOME); default os.Getenv. A command line passes the
	// environment it was given.
	Getenv    func(string) string
	NoJournal bool
	// WatchInterval is how often Watch polls ListTasks (v1.0); default 2s.
	WatchInterval time.Duration
	// WatchIdleMax is the longest wait between two polls: each poll that
	// finds nothing new waits half as long again as the last, up to this;
	// default 4 × WatchInterval. A poll with news resets the wait.
	WatchIdleMax time.Duration
	// WatchOverlap is how long a newest status time must have been known
	// before polls trust it as their starting point (see watermark); until
	// then they list from WatchOverlap before it. Default 10s. Servers
	// stamp a status when the agent makes it but list it only once stored,
	// and under load that lag exceeds a second; repeats are dropped anyway.
	WatchOverlap time.Duration
	// NoWatchFeed makes Watch poll even when the agent card advertises
	// a2atop's Watch feed (a2a.WatchExtensionURI).
	NoWatchFeed bool
	// WatchFeedIdle is how long the Watch feed may stay silent before the
	// client counts the connection as dead and reconnects; default 45s,
	// three of a2atop serve's 15s keep-alives.
	WatchFeedIdle time.Duration
	// HTTPClient replaces the client built from the TLS options (tests,
	// proxies). Its Timeout should be zero: streams are long.
	HTTPClient *http.Client
	// WrapTransport, when set, wraps the HTTP transport every request of
	// this client goes through (card fetch, calls, streams, Watch feed):
	// the place for per-client authentication that must see each request,
	// such as an OAuth2 token source that refreshes before expiry, over
	// the TLS (and client certificate) setup the other options made.
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// OnDiscover, when set, is called once discovery has chosen the
	// interface, before any other request: the place to decide from the
	// card how to authenticate (see WrapTransport). An error fails New
	// (and Discover) with it.
	OnDiscover func(*Discovery) error
}

// ReconnectPolicy is exponential backoff with jitter for dropped streams.
type ReconnectPolicy struct {
	// Initial is the first wait; default 200ms. Each failure doubles it, up
	// to Max (default 10s); each wait is jittered by ±20%.
	Initial time.Duration
	Max     time.Duration
	// GiveUpAfter ends the stream with an error when the agent stayed
	// unreachable this long; default 2 minutes.
	GiveUpAfter time.Duration
	// PollInterval is the GetTask period when the agent cannot resubscribe;
	// default 1s.
	PollInterval time.Duration
}

const (
	defaultTimeout      = 30 * time.Second
	defaultSendTimeout  = 10 * time.Minute
	defaultMaxEvent     = 64 << 20
	defaultMaxResponse  = 64 << 20
	defaultInitialWait  = 200 * time.Millisecond
	defaultMaxWait      = 10 * time.Second
	defaultGiveUp       = 2 * time.Minute
	defaultPollInterval = time.Second
	defaultWatchPoll    = 2 * time.Second
	defaultFeedIdle     = 45 * time.Second
	defaultStreamIdle   = 45 * time.Second
	defaultRetries      = 4
	defaultRetryInitial = 250 * time.Millisecond
	defaultRetryMax     = 4 * time.Second
)

// normalized checks and canonicalises Protocol and Binding, then applies
// the defaults.
func (o Options) normalized() (Options, error) {
	o = o.withDefaults()
	if o.Protocol != "" {
		codec, err := wire.ForVersion(o.Protocol)
		if err != nil {
			return o, fmt.Errorf("--protocol %q: want 1.0 or 0.3", o.Protocol)
		}
		o.Protocol = codec.Version()
	}
	if o.Binding != "" {
		b, ok := parseBinding(o.Binding)
		if !ok {
			return o, fmt.Errorf("--binding %q: want jsonrpc or rest", o.Binding)
		}
		o.Binding = b
	}
	return o, nil
}

func (o Options) withDefaults() Options {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = defaultSendTimeout
	}
	if o.MaxEventSize <= 0 {
		o.MaxEventSize = defaultMaxEvent
	}
	if o.MaxResponseSize <= 0 {
		o.MaxResponseSize = defaultMaxResponse
	}
	r := &o.Reconnect
	if r.Initial <= 0 {
		r.Initial = defaultInitialWait
	}
	if r.Max <= 0 {
		r.Max = defaultMaxWait
	}
	if r.GiveUpAfter <= 0 {
		r.GiveUpAfter = defaultGiveUp
	}
	if r.PollInterval <= 0 {
		r.PollInterval = defaultPollInterval
	}
	if o.WatchOverlap <= 0 {
		o.WatchOverlap = 10 * time.Second
	}
	if o.WatchInterval <= 0 {
		o.WatchInterval = defaultWatchPoll
	}
	if o.WatchIdleMax < o.WatchInterval {
		o.WatchIdleMax = 4 * o.WatchInterval
	}
	if o.StreamIdle <= 0 {
		o.StreamIdle = defaultStreamIdle
	}
	if o.Retry.Attempts == 0 {
		o.Retry.Attempts = defaultRetries
	}
	if o.Retry.Initial <= 0 {
		o.Retry.Initial = defaultRetryInitial
	}
	if o.Retry.Max <= 0 {
		o.Retry.Max = defaultRetryMax
	}
	if o.WatchFeedIdle <= 0 {
		o.WatchFeedIdle = defaultFeedIdle
	}
	return o
}

// httpClient builds the HTTP client: system roots plus CACertFile, or no
// verification at all with Insecure. No overall timeout: streams are long,
// and every request carries its own deadline.
func (o Options) httpClient() (*http.Client, error) {
	if o.HTTPClient != nil {
		if o.WrapTransport == nil {
			return o.HTTPClient, nil
		}
		hc := *o.HTTPClient
		rt := hc.Transport
		if rt == nil {
			rt = http.DefaultTransport
		}
		hc.Transport = o.WrapTransport(rt)
		return &hc, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CACertFile != "" {
		pem, err := os.ReadFile(o.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("read CA certificates: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read CA certificates: no PEM certificate in %s", o.CACertFile)
		}
		tlsCfg.RootCAs = pool
	}
	if o.Insecure {
		tlsCfg.InsecureSkipVerify = true //nolint:gosec // the user asked for it, and the CLI warns
	}
	if o.CertFile != "" || o.KeyFile != "" {
		if o.CertFile == "" || o.KeyFile == "" {
			return nil, fmt.Errorf("mutual TLS needs both a certificate and its key (--cert and --key)")
		}
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s / %s: %w", o.CertFile, o.KeyFile, err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	tr.TLSClientConfig = tlsCfg
	var rt http.RoundTripper = tr
	if o.WrapTransport != nil {
		rt = o.WrapTransport(tr)
	}
	return &http.Client{Transport: rt}, nil
}

// ParseHeader parses one "Name: value" header as given on a command line.
func ParseHeader(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") {
		return "", "", fmt.Errorf("header %q: want 'Name: value'", s)
	}
	value = strings.TrimSpace(value)
	if strings.ContainsAny(value, "\r\n") {
		return "", "", fmt.Errorf("header %q: value must be one line", name)
	}
	return name, value, nil
}

// ParseHeaders parses "Name: value" headers, one per element, and lines of
// text such as the A2ATOP_HEADERS environment variable (newline-separated,
// blank lines ignored).
func ParseHeaders(lines ...string) (http.Header, error) {
	h := http.Header{}
	for _, block := range lines {
		for _, line := range strings.Split(block, "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			name, value, err := ParseHeader(strings.TrimRight(line, "\r"))
			if err != nil {
				return nil, err
			}
			h.Add(name, value)
		}
	}
	return h, nil
}
