package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/a2atop/a2atop/internal/testkit"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/server"
)

func sendBody(id, msgID, role, text string) []byte {
	idPart := ""
	if id != "" {
		idPart = `"id":` + id + `,`
	}
	return []byte(`{"jsonrpc":"2.0",` + idPart + `"method":"message/send","params":{"configuration":{"blocking":false},"message":{"kind":"message","messageId":"` +
		msgID + `","role":"` + role + `","parts":[{"kind":"text","text":"` + text + `"}]}}}`)
}

// TestStreamCapAnswersBusy: past MaxStreams a stream is refused with the
// busy error (not -32603), HTTP 503 and Retry-After, and however many are
// refused the log warns once.
func TestStreamCapAnswersBusy(t *testing.T) {
	ts := startServer(t, server.Options{MaxStreams: 1})
	held := openWatch(t, testCtx(t), ts.URL, "", nil)
	defer held.Body.Close()
	testkit.Eventually(t, "the first stream to hold its slot", func() bool { return ts.srv.OpenStreams() == 1 })
	for i := range 5 {
		resp, r := post(t, ts.URL+"/", "application/json", nil, []byte(`{"jsonrpc":"2.0","id":1,"method":"message/stream","params":{"message":{"kind":"message","messageId":"m`+string(rune('a'+i))+`","role":"user","parts":[{"kind":"text","text":"echo x"}]}}}`))
		if r.Error == nil || r.Error.Code != a2a.CodeServerBusy || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("stream past the cap: %s, Retry-After %q, %+v; want 503, Retry-After and %d", resp.Status, resp.Header.Get("Retry-After"), r.Error, a2a.CodeServerBusy)
		}
	}
	resp, err := http.Get(ts.URL + server.WatchPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("watch past the cap: %s, Retry-After %q", resp.Status, resp.Header.Get("Retry-After"))
	}
	logs := ts.log.String()
	if n := strings.Count(logs, "busy, retry later"); n != 1 {
		t.Fatalf("%d busy warnings for 6 refusals, want 1:\n%s", n, logs)
	}
	if strings.Contains(logs, "internal error") {
		t.Fatalf("a refusal was logged as an internal error:\n%s", logs)
	}
}

// TestQueueFullAnswersBusy: a send past the engine's MaxQueued gets the
// same busy answer.
func TestQueueFullAnswersBusy(t *testing.T) {
	ts := startServerOn(t, server.Options{}, engine.Options{MaxRunning: 1, MaxQueued: 1})
	for i, id := range []string{"f1", "f2"} {
		if _, r := post(t, ts.URL+"/", "application/json", nil, sendBody("1", id, "user", "forever")); r.Error != nil {
			t.Fatalf("send %d: %+v", i, r.Error)
		}
	}
	resp, r := post(t, ts.URL+"/", "application/json", nil, sendBody("1", "f3", "user", "forever"))
	if r.Error == nil || r.Error.Code != a2a.CodeServerBusy || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("send past the queue bound: %s, %+v", resp.Status, r.Error)
	}
	if !strings.Contains(r.Error.Message, "send again later") {
		t.Fatalf("busy message says nothing of what to do: %q", r.Error.Message)
	}
}

// TestBearerSchemeIsCaseInsensitive: RFC 9110 §11.1.
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	ts := startServer(t, server.Options{Token: "s3cret"})
	for _, auth := range []string{"Bearer s3cret", "bearer s3cret", "BEARER s3cret", "  bearer   s3cret "} {
		resp, r := post(t, ts.URL+"/", "application/json", http.Header{"Authorization": {auth}}, []byte(`{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":"nope"}}`))
		if resp.StatusCode == http.StatusUnauthorized || r.Error == nil || r.Error.Code != a2a.CodeTaskNotFound {
			t.Errorf("Authorization %q: %s %+v, want past auth (task not found)", auth, resp.Status, r.Error)
		}
	}
	for _, auth := range []string{"Basic s3cret", "bearer wrong", "bearers3cret", "s3cret"} {
		resp, _ := post(t, ts.URL+"/", "application/json", http.Header{"Authorization": {auth}}, []byte(`{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":"nope"}}`))
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %s, want 401", auth, resp.Status)
		}
	}
}

// TestMessageRoleMustBeValid: a role that is neither user nor agent, or
// none, is invalid params, and nothing is started.
func TestMessageRoleMustBeValid(t *testing.T) {
	ts := startServer(t, server.Options{})
	for _, role := range []string{"x", ""} {
		_, r := post(t, ts.URL+"/", "application/json", nil, sendBody("1", "role-"+role, role, "echo hi"))
		if r.Error == nil || r.Error.Code != a2a.CodeInvalidParams || !strings.Contains(r.Error.Message, "role") {
			t.Errorf("role %q: %+v, want invalid params naming the role", role, r.Error)
		}
	}
	if n := countTasks(t, ts); n != 0 {
		t.Fatalf("%d tasks started by refused messages", n)
	}
}

// TestNotificationGetsNoResponse: JSON-RPC 2.0 §4.1; the send is not run.
func TestNotificationGetsNoResponse(t *testing.T) {
	ts := startServer(t, server.Options{})
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/", bytes.NewReader(sendBody("", "notified", "user", "echo hi")))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("notification answered %s %q, want 204 and no body", resp.Status, body)
	}
	if n := countTasks(t, ts); n != 0 {
		t.Fatalf("a notification started %d tasks", n)
	}
	// "id": null is an id, not a notification: answered.
	_, r := post(t, ts.URL+"/", "application/json", nil, sendBody("null", "with-null-id", "user", "echo hi"))
	if r.Error != nil || len(r.Result) == 0 {
		t.Fatalf("id null: %+v", r.Error)
	}
}

// TestSameMessageIDOtherContentRefused: a reused messageId with another
// message is invalid params; the same message again is the same task.
func TestSameMessageIDOtherContentRefused(t *testing.T) {
	ts := startServer(t, server.Options{})
	_, first := post(t, ts.URL+"/", "application/json", nil, sendBody("1", "m-1", "user", "echo one"))
	_, again := post(t, ts.URL+"/", "application/json", nil, sendBody("2", "m-1", "user", "echo one"))
	if first.Error != nil || again.Error != nil || taskID(t, first.Result) != taskID(t, again.Result) {
		t.Fatalf("same message twice: %s / %s (%+v %+v), want one task", first.Result, again.Result, first.Error, again.Error)
	}
	_, other := post(t, ts.URL+"/", "application/json", nil, sendBody("3", "m-1", "user", "echo two"))
	if other.Error == nil || other.Error.Code != a2a.CodeInvalidParams || !strings.Contains(other.Error.Message, "messageId") {
		t.Fatalf("same id, other message: %s %+v, want invalid params", other.Result, other.Error)
	}
	if n := countTasks(t, ts); n != 1 {
		t.Fatalf("%d tasks, want 1", n)
	}
}

func taskID(t *testing.T, result json.RawMessage) string {
	t.Helper()
	var r struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(result, &r); err != nil || r.ID == "" {
		t.Fatalf("result %s: no task id (%v)", result, err)
	}
	return r.ID
}

func countTasks(t *testing.T, ts *testServer) int {
	t.Helper()
	page, err := ts.eng.List(context.Background(), a2a.ListRequest{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Tasks)
}
