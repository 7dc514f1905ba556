// Package server publishes any a2a.Service as an A2A server: the agent card,
// JSON-RPC over HTTP in both live dialects (v1.0 and v0.3, told apart by the
// method name) with SSE for the streaming methods, and a2atop's own Watch
// feed, a resumable SSE stream of every task's events.
package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
)

// WatchExtensionURI names the Watch feed in the agent card's extensions.
const WatchExtensionURI = a2a.WatchExtensionURI

// Paths the server answers on.
const (
	CardPath       = "/.well-known/agent-card.json"
	LegacyCardPath = "/.well-known/agent.json"
	WatchPath      = "/events"
	RPCPath        = "/"
)

// Defaults for Options.
const (
	DefaultMaxBodyBytes       = 16 << 20
	DefaultMaxStreams         = 256
	DefaultKeepAlive          = 15 * time.Second
	DefaultStreamWriteTimeout = 30 * time.Second
	DefaultBodyReadTimeout    = time.Minute
)

// Options configure a Server. The zero value works.
type Options struct {
	// Logger gets one line per request (Info) and server-side failures
	// (Warn). Default: discard.
	Logger *slog.Logger
	// MaxBodyBytes bounds a request body (default 16 MiB).
	MaxBodyBytes int64
	// MaxStreams caps concurrent SSE streams, JSON-RPC and Watch together
	// (default 256). Past it a request gets a clear error, not a queue.
	MaxStreams int
	// KeepAlive is the period of comment lines on quiet streams (default
	// 15 s), so proxies and clients see the connection is alive.
	KeepAlive time.Duration
	// StreamWriteTimeout bounds one write to a stream (default 30 s): a
	// client that stops reading is cut off instead of holding a slot.
	StreamWriteTimeout time.Duration
	// BodyReadTimeout bounds reading a request body (default 1 min), so a
	// client that trickles its body cannot hold a handler, whatever the
	// http.Server's ReadTimeout.
	BodyReadTimeout time.Duration
	// Token, when set, is required as "Authorization: Bearer <Token>" on
	// every endpoint except the agent card.
	Token string
	// PublicURL is the JSON-RPC URL the card advertises. Empty means the
	// URL the card request came in on (http://<Host>/).
	PublicURL string
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = DefaultMaxStreams
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = DefaultKeepAlive
	}
	if o.StreamWriteTimeout <= 0 {
		o.StreamWriteTimeout = DefaultStreamWriteTimeout
	}
	if o.BodyReadTimeout <= 0 {
		o.BodyReadTimeout = DefaultBodyReadTimeout
	}
}

// Server is an http.Handler serving one a2a.Service.
type Server struct {
	svc  a2a.Service
	opts Options
	log  *slog.Logger
	// streams is a semaphore of open SSE streams.
	streams chan struct{}
	// stop ends every open stream on Close; http.Server.Shutdown alone
	// would wait for them forever.
	stop   context.Context
	stopFn context.CancelFunc
	// mu orders stream starts against Close, so that no stream is added
	// to streamWG while Close waits on it.
	mu       sync.Mutex
	closed   bool
	streamWG sync.WaitGroup
	// busy throttles the warnings about busy refusals.
	busy busyLog
}

// busyLog logs refusals for want of capacity at most once per
// busyLogInterval, with the number refused since the last line: under
// overload a line per refusal would flood the log when it matters most.
type busyLog struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

const busyLogInterval = time.Minute

func (b *busyLog) note(log *slog.Logger, what string) {
	b.mu.Lock()
	now := time.Now()
	if !b.last.IsZero() && now.Sub(b.last) < busyLogInterval {
		b.skipped++
		b.mu.Unlock()
		return
	}
	skipped := b.skipped
	b.last, b.skipped = now, 0
	b.mu.Unlock()
	log.Warn(what+" (busy, retry later)", "refused_since_last_warning", skipped, "next_warning_after", busyLogInterval)
}

// New returns the server for svc.
func New(svc a2a.Service, opts Options) *Server {
	opts.setDefaults()
	stop, stopFn := context.WithCancel(context.Background())
	return &Server{
		svc:     svc,
		opts:    opts,
		log:     opts.Logger,
		streams: make(chan struct{}, opts.MaxStreams),
		stop:    stop,
		stopFn:  stopFn,
	}
}

// Close ends every open stream (their clients see the stream close) and
// waits for their handlers to return. Call it before or alongside
// http.Server.Shutdown. New streams are refused afterwards.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.stopFn()
	s.streamWG.Wait()
	return nil
}

// OpenStreams reports how many SSE streams are open now.
func (s *Server) OpenStreams() int { return len(s.streams) }

// acquireStream takes a stream slot; false when the cap is reached or the
// server is closing.
func (s *Server) acquireStream() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	select {
	case s.streams <- struct{}{}:
		s.streamWG.Add(1)
		return true
	default:
		return false
	}
}

func (s *Server) releaseStream() {
	<-s.streams
	s.streamWG.Done()
}

// streamContext is ctx, also ended by Close.
func (s *Server) streamContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stopAfter := context.AfterFunc(s.stop, cancel)
	return ctx, func() { stopAfter(); cancel() }
}

// statusRecorder remembers the status for the request log line, and
// carries what the handlers learn about the request for it (info): the
// handlers find it by unwrapping their ResponseWriter (infoFrom), which
// costs nothing, where a context value would copy the request.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	info   reqInfo
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and the deadlines.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// reqInfo collects what the log line says about a request.
type reqInfo struct {
	method  string
	dialect string
	errCode int
	events  int
}

// infoFrom returns the request info of the statusRecorder that w is or
// wraps; a throwaway one when there is none (the handler was called
// without ServeHTTP).
func infoFrom(w http.ResponseWriter) *reqInfo {
	for {
		switch rw := w.(type) {
		case *statusRecorder:
			return &rw.info
		case interface{ Unwrap() http.ResponseWriter }:
			w = rw.Unwrap()
		default:
			return &reqInfo{}
		}
	}
}

// ServeHTTP routes a request and logs one line about it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	s.route(rec, r)
	ri := &rec.info
	level := slog.LevelInfo
	if (rec.status >= 500 && ri.errCode != a2a.CodeServerBusy) || ri.errCode == a2a.CodeInternal {
		level = slog.LevelWarn
	}
	// `a2atop serve` logs at Warn unless asked for more: the attributes,
	// a handful of allocations, are only built for a line that is written.
	if !s.log.Enabled(r.Context(), level) {
		return
	}
	attrs := []any{
		"http_method", r.Method, "path", r.URL.Path, "status", rec.status,
		"bytes", rec.bytes, "duration", time.Since(start).Round(time.Microsecond), "remote", r.RemoteAddr,
	}
	if ri.method != "" {
		attrs = append(attrs, "rpc", ri.method, "dialect", ri.dialect)
	}
	if ri.errCode != 0 {
		attrs = append(attrs, "rpc_error", ri.errCode)
	}
	if ri.events > 0 {
		attrs = append(attrs, "events", ri.events)
	}
	s.log.Log(r.Context(), level, "request", attrs...)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case CardPath, LegacyCardPath:
		s.serveCard(w, r)
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="a2atop"`)
		s.writeHTTPError(w, r, http.StatusUnauthorized, a2a.NewError(a2a.ErrUnauthenticated, "unauthenticated: this server needs Authorization: Bearer <token>"))
		return
	}
	switch r.URL.Path {
	case RPCPath:
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			s.writeHTTPError(w, r, http.StatusMethodNotAllowed, a2a.NewError(a2a.ErrInvalidRequest, "invalid request: JSON-RPC needs POST"))
			return
		}
		s.serveRPC(w, r)
	case WatchPath:
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "the watch feed needs GET", http.StatusMethodNotAllowed)
			return
		}
		s.serveWatch(w, r)
	default:
		http.NotFound(w, r)
	}
}

// authorized checks the bearer token in constant time. The scheme name is
// case-insensitive (RFC 9110 §11.1: "bearer T" is as good as "Bearer T").
func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Token == "" {
		return true
	}
	scheme, got, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.opts.Token)) == 1
}

// writeHTTPError answers with a JSON-RPC error (id null) and an HTTP status,
// for failures before a request could be read.
func (s *Server) writeHTTPError(w http.ResponseWriter, r *http.Request, status int, e *a2a.Error) {
	infoFrom(w).errCode = e.Code
	body, err := wire.V10().EncodeError(nil, e)
	if err != nil {
		http.Error(w, e.Error(), status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// serveCard answers the agent card: the service's card with this server's
// interfaces in both shapes and the Watch feed as an extension.
func (s *Server) serveCard(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the agent card needs GET", http.StatusMethodNotAllowed)
		return
	}
	card, err := s.svc.Card(r.Context())
	if err != nil {
		s.log.Warn("agent card", "err", err)
		http.Error(w, "agent card unavailable", http.StatusInternalServerError)
		return
	}
	body, err := wire.V10().EncodeCard(s.publicCard(card, s.publicURL(r)))
	if err != nil {
		s.log.Warn("encode agent card", "err", err)
		http.Error(w, "agent card unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(body)
}

// publicURL is where clients reach the JSON-RPC endpoint.
func (s *Server) publicURL(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return s.opts.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + RPCPath
}

// publicCard fills the protocol fields of a copy of card: v1.0
// supportedInterfaces (1.0 first, then 0.3, same URL) and the v0.3
// top-level fields, so clients of either version find us.
func (s *Server) publicCard(in *a2a.AgentCard, url string) *a2a.AgentCard {
	card := *in
	card.Interfaces = []a2a.AgentInterface{
		{URL: url, ProtocolBinding: a2a.BindingJSONRPC, ProtocolVersion: a2a.Version10},
		{URL: url, ProtocolBinding: a2a.BindingJSONRPC, ProtocolVersion: a2a.Version03},
	}
	card.URL = url
	card.ProtocolVersion = a2a.Version03
	card.PreferredTransport = a2a.BindingJSONRPC
	card.AdditionalInterfaces = nil
	card.Capabilities.Streaming = true
	card.Capabilities.PushNotifications = false
	card.SupportsExtendedCard = false
	params, _ := json.Marshal(map[string]string{"path": WatchPath})
	exts := make([]a2a.AgentExtension, 0, len(in.Capabilities.Extensions)+1)
	for _, e := range in.Capabilities.Extensions {
		if e.URI != WatchExtensionURI {
			exts = append(exts, e)
		}
	}
	card.Capabilities.Extensions = append(exts, a2a.AgentExtension{
		URI:         WatchExtensionURI,
		Description: "GET " + WatchPath + ": SSE feed of every task's events (v1.0 StreamResponse JSON); id: is a cursor, Last-Event-ID or ?cursor= resumes after it, ?cursor=0 starts from the oldest kept event",
		Params:      params,
	})
	return &card
}
