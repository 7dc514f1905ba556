package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/a2atop/a2atop/internal/localshare"
	"github.com/a2atop/a2atop/server"
	"github.com/spf13/cobra"
)

// serveShutdownGrace is how long in-flight unary requests (a blocking
// send) get to finish after SIGINT/SIGTERM before they are cut.
const serveShutdownGrace = 5 * time.Second

// serveCommand publishes the local engine as an A2A server until
// SIGINT/SIGTERM. Its target is always local: a remote agent named in
// $A2ATOP_URL for the other commands does not apply.
func (c *cli) serveCommand(status *int) *cobra.Command {
	cmd := &cobra.Command{Use: "serve [flags]", Short: "publish the local engine as an A2A server (JSON-RPC + SSE, both dialects)"}
	fs := cmd.Flags()
	tf := addTargetFlags(fs, localKind)
	var o serveOptions
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen on `HOST:PORT`; an address other than loopback needs a token (--token-file) or --insecure-no-auth")
	fs.StringVar(&o.tokenFile, "token-file", "", "require the token in `FILE` as \"Authorization: Bearer T\" on every endpoint but the agent card (default $A2ATOP_SERVE_TOKEN, else $A2ATOP_TOKEN)")
	fs.StringVar(&o.token, "token", "", "require `T` as the bearer token (shows in ps: prefer --token-file or $A2ATOP_SERVE_TOKEN)")
	fs.BoolVar(&o.insecure, "insecure-no-auth", false, "allow a non-loopback --addr without a token: anyone who can reach it can run tasks")
	fs.StringVar(&o.publicURL, "public-url", "", "JSON-RPC `URL` the agent card advertises (default: the URL the card was fetched on)")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "log one line per request to stderr")
	cmd.RunE = c.action(status, func(ctx context.Context, args []string) (int, error) {
		if len(args) > 0 {
			return 0, usageErr("serve: unexpected argument %q (see `a2atop serve --help`)", clean(args[0], 80))
		}
		t, err := tf.resolve("", c.getenv)
		if err != nil {
			return 0, err
		}
		return c.serve(ctx, t, o)
	})
	return cmd
}

type serveOptions struct {
	addr, token, tokenFile, publicURL string
	insecure, verbose                 bool
}

// serveToken is the token serve requires: --token-file, --token (with a
// warning: every user of the machine sees it in ps), $A2ATOP_SERVE_TOKEN,
// then $A2ATOP_TOKEN (kept so that a server protected with it stays so;
// the remote commands send it as their bearer token).
func (c *cli) serveToken(o serveOptions) (string, error) {
	if o.tokenFile != "" && o.token != "" {
		return "", usageErr("serve: give the token once: --token-file or --token")
	}
	if o.token != "" {
		fmt.Fprintln(c.stderr, "a2atop: warning: --token shows in ps to every user of this machine; use --token-file FILE or $A2ATOP_SERVE_TOKEN")
		return strings.TrimSpace(o.token), nil
	}
	if o.tokenFile != "" {
		tok, err := secretFrom("--token-file", o.tokenFile, "", c.getenv)
		if err != nil {
			return "", usageErr("serve: %v", err)
		}
		return tok, nil
	}
	return firstNonEmpty(strings.TrimSpace(c.getenv("A2ATOP_SERVE_TOKEN")), strings.TrimSpace(c.getenv("A2ATOP_TOKEN"))), nil
}

func (c *cli) serve(ctx context.Context, t target, o serveOptions) (int, error) {
	tok, err := c.serveToken(o)
	if err != nil {
		return 0, err
	}
	o.token = tok
	c.secrets = append(c.secrets, tok)
	loopback, err := isLoopbackAddr(o.addr)
	if err != nil {
		return 0, usageErr("serve: --addr %q: %v", clean(o.addr, 80), err)
	}
	if !loopback && t.local.agent == "exec" && o.token == "" {
		return 0, usageErr("serve: --agent exec runs shell commands: on %s (not loopback) it needs a token (--token-file FILE or $A2ATOP_SERVE_TOKEN)", clean(o.addr, 80))
	}
	if !loopback && o.token == "" && !o.insecure {
		return 0, usageErr("serve: %s is not a loopback address: give a token (--token-file FILE or $A2ATOP_SERVE_TOKEN), or --insecure-no-auth to serve it unauthenticated", clean(o.addr, 80))
	}

	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level}))

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return 0, fmt.Errorf("serve: listen: %w", err)
	}
	// On a store another a2atop holds, serve publishes that process's
	// engine through its socket (and hosts it itself if that one leaves).
	op, err := c.openTarget(ctx, t, openHooks{})
	if err != nil {
		_ = ln.Close()
		return 0, err
	}
	svc, closeService, loc := op.svc, op.close, op.local
	agent := orDemo(t.local.agent)
	if loc != nil {
		if r := loc.Role(); r.Kind == localshare.Client {
			agent = orDemo(r.Agent)
			fmt.Fprintf(c.stderr, "a2atop: %s is in use by a2atop pid %d: serving its engine through %s\n", loc.Path(), r.PID, r.Socket)
		}
	}
	srv := server.New(svc, server.Options{Logger: logger, Token: o.token, PublicURL: o.publicURL})
	hs := server.HTTPServer(srv, logger)
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()

	base := "http://" + ln.Addr().String()
	auth := "no auth"
	if o.token != "" {
		auth = "bearer token required"
	}
	fmt.Fprintf(c.stderr, "a2atop: serving the %s agent at %s/ (%s; card %s%s, watch feed %s%s); Ctrl-C stops\n",
		agent, base, auth, base, server.CardPath, base, server.WatchPath)

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		runErr = fmt.Errorf("serve: %w", err)
	}
	// Streams first (they never end on their own), then in-flight requests
	// get a grace period, then the engine and its store close.
	_ = srv.Close()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), serveShutdownGrace)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		_ = hs.Close()
		fmt.Fprintf(c.stderr, "a2atop: requests still running after %s were cut off\n", serveShutdownGrace)
	}
	if err := closeService(); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("closing the task store: %w", err))
	}
	if runErr != nil {
		return 0, runErr
	}
	fmt.Fprintln(c.stderr, "a2atop: stopped")
	return exitOK, nil
}

// isLoopbackAddr reports whether a listen address binds loopback only.
// An empty host listens on every interface.
func isLoopbackAddr(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	if host == "localhost" {
		return true, nil
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback(), nil
}
