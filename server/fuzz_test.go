package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a/wire"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/server"
)

// FuzzRPC posts arbitrary bodies: the server never panics, never answers
// 5xx, and every answer is a JSON-RPC response (or an SSE stream of them).
func FuzzRPC(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"echo hi"}]}}}`,
		`{"jsonrpc":"2.0","id":"a","method":"message/send","params":{"message":{"kind":"message","messageId":"m","role":"user","parts":[{"kind":"text","text":"ask"}]}}}`,
		`{"jsonrpc":"2.0","id":2,"method":"SendStreamingMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"slow 2"}]}}}`,
		`{"jsonrpc":"2.0","id":3,"method":"message/stream","params":{"message":{"kind":"message","messageId":"m","role":"user","parts":[{"kind":"data","data":{"a":1}}]}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"GetTask","params":{"id":"x","historyLength":2}}`,
		`{"jsonrpc":"2.0","id":5,"method":"ListTasks","params":{"pageSize":3,"status":"TASK_STATE_COMPLETED"}}`,
		`{"jsonrpc":"2.0","id":6,"method":"tasks/cancel","params":{"id":"x"}}`,
		`{"jsonrpc":"2.0","id":7,"method":"tasks/resubscribe","params":{"id":"x"}}`,
		`{"jsonrpc":"2.0","id":8,"method":"SubscribeToTask","params":{"id":"x"}}`,
		`[{"jsonrpc":"2.0","id":9,"method":"GetTask"}]`,
		`{"jsonrpc":"2.0","id":null,"method":"GetExtendedAgentCard"}`,
		`{`, ``, `null`, `"x"`, `{"jsonrpc":"2.0","id":{},"method":1}`,
	} {
		f.Add([]byte(seed))
	}
	demo := agents.NewDemo()
	demo.StepInterval = time.Millisecond
	demo.TickInterval = time.Millisecond
	store := engine.NewMemoryStore()
	eng, err := engine.New(store, demo, engine.Options{})
	if err != nil {
		f.Fatal(err)
	}
	srv := server.New(eng, server.Options{MaxBodyBytes: 1 << 16})
	f.Cleanup(func() { _ = srv.Close(); _ = eng.Close(); _ = store.Close() })

	f.Fuzz(func(t *testing.T, body []byte) {
		// Blocking sends and streams of tasks that never end are cut by
		// the request context, as a client going away would.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		// The header the method's dialect needs, so that v1.0 bodies reach
		// the dispatch instead of stopping at the version check.
		var probe struct {
			Method string `json:"method"`
		}
		if json.Unmarshal(body, &probe) == nil {
			req.Header.Set("A2A-Version", wire.DialectOf(probe.Method).Version())
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("HTTP %d for %q: %s", rec.Code, body, rec.Body.Bytes())
		}
		out := rec.Body.Bytes()
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/event-stream") {
			for _, line := range strings.Split(string(out), "\n") {
				if data, ok := strings.CutPrefix(line, "data: "); ok {
					checkResponse(t, body, []byte(data))
				}
			}
			return
		}
		checkResponse(t, body, out)
	})
}

func checkResponse(t *testing.T, body, out []byte) {
	t.Helper()
	var r struct {
		JSONRPC string          `json:"jsonrpc"`
		Result  json.RawMessage `json:"result"`
		Error   *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("answer to %q is not JSON: %q", body, out)
	}
	if r.JSONRPC != "2.0" || (r.Result == nil) == (r.Error == nil) {
		t.Fatalf("answer to %q is not a JSON-RPC response: %q", body, out)
	}
	if r.Error != nil && r.Error.Message == "" {
		t.Fatalf("error without a message for %q: %q", body, out)
	}
}
