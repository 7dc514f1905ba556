package server_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/internal/testkit"
	"github.com/a2atop/a2atop/server"
)

// testServer is our server on 127.0.0.1 in front of a real engine running
// the demo agent on a memory store.
type testServer struct {
	*httptest.Server
	eng *engine.Engine
	srv *server.Server
	log *testkit.Buffer
}

func startServer(t *testing.T, opts server.Options) *testServer {
	t.Helper()
	return startServerOn(t, opts, engine.Options{})
}

// startServerOn is startServer with engine options.
func startServerOn(t *testing.T, opts server.Options, engOpts engine.Options) *testServer {
	t.Helper()
	demo := agents.NewDemo()
	demo.StepInterval = 5 * time.Millisecond
	demo.TickInterval = 20 * time.Millisecond
	store := engine.NewMemoryStore()
	eng, err := engine.New(store, demo, engOpts)
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	logs := &testkit.Buffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	srv := server.New(eng, opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Close()
		ts.Close()
		if err := eng.Close(); err != nil {
			t.Errorf("engine close: %v", err)
		}
		_ = store.Close()
	})
	return &testServer{Server: ts, eng: eng, srv: srv, log: logs}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
