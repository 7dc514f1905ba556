package server

import (
	"log/slog"
	"net/http"
	"time"
)

// Timeouts of the http.Server that HTTPServer builds. Request headers must
// arrive quickly (slowloris); bodies are bounded in size and read time by
// the handler (Options.MaxBodyBytes, BodyReadTimeout). There is no
// WriteTimeout: streams and blocking sends last as long as their task; the
// handler bounds each stream write instead (Options.StreamWriteTimeout).
const (
	ReadHeaderTimeout = 10 * time.Second
	IdleTimeout       = 2 * time.Minute
	MaxHeaderBytes    = 64 << 10
)

// HTTPServer wraps h in an http.Server with the timeouts above, logging
// the server's own errors (bad TLS, broken connections) to logger at Info.
// Every listener a2atop serves on (TCP for `serve`, the unix socket beside
// a task store) uses it, so they share one hardening.
func HTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelInfo),
	}
}
