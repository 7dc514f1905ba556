package server_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/server"
)

// BenchmarkServeSendEcho: one blocking v1.0 SendMessage "echo hi" at a
// time through Server.ServeHTTP, with no network in between, over the
// engine, the memory store and the demo agent wired as `a2atop serve`
// wires them. It isolates the CPU and the allocations a send costs in
// the paths every store shares (server/loadbench measures the same send
// over real connections):
//
//	go test -run '^$' -bench ServeSendEcho -benchmem ./server
func BenchmarkServeSendEcho(b *testing.B) {
	store := engine.NewMemoryStore()
	eng, err := engine.New(store, agents.NewDemo(), engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	srv := server.New(eng, server.Options{})
	b.Cleanup(func() { _ = srv.Close(); _ = eng.Close(); _ = store.Close() })
	const head = `{"jsonrpc":"2.0","id":`
	const mid = `,"method":"SendMessage","params":{"message":{"messageId":"`
	const tail = `","role":"ROLE_USER","parts":[{"text":"echo hi"}]}}}`
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		n := strconv.Itoa(i)
		body := head + n + mid + "bench-" + n + tail
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("A2A-Version", "1.0")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"TASK_STATE_COMPLETED"`)) {
			b.Fatalf("send %d: HTTP %d: %s", i, rec.Code, rec.Body.Bytes())
		}
	}
}
