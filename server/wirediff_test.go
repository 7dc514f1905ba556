package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/internal/testkit/a2apeer"
	"github.com/a2atop/a2atop/server"
)

// TestWireDifferential sends the same raw requests to our server and to the
// a2a-go SDK server (a2apeer in demo mode) and compares what comes back
// on the wire, below what any client library smooths over: HTTP status,
// content type, JSON-RPC ids, error codes and ErrorInfo data, the result's
// shape, and for streams each event's shape, state, v0.3 final flag and
// SSE id line. Documented differences are listed in wireDifferences.
func TestWireDifferential(t *testing.T) {
	t.Parallel()
	ours := startServer(t, server.Options{}).URL + "/"
	peer := a2apeer.Start(t, a2apeer.Options{Demo: true, Step: 5 * time.Millisecond}).URL()

	v10 := http.Header{"A2A-Version": {"1.0"}}
	msg03 := func(id, text string) string {
		return fmt.Sprintf(`{"kind":"message","messageId":%q,"role":"user","parts":[{"kind":"text","text":%q}]}`, id, text)
	}
	msg10 := func(id, text string) string {
		return fmt.Sprintf(`{"messageId":%q,"role":"ROLE_USER","parts":[{"text":%q}]}`, id, text)
	}
	cases := []struct {
		name, contentType string
		header            http.Header
		body              string
	}{
		{"v1.0 send", "application/json", v10, `{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":` + msg10("w1", "echo hi") + `}}`},
		{"v0.3 send", "application/json", nil, `{"jsonrpc":"2.0","id":"a","method":"message/send","params":{"message":` + msg03("w2", "echo hi") + `}}`},
		{"v1.0 send reply", "application/json", v10, `{"jsonrpc":"2.0","id":2,"method":"SendMessage","params":{"message":` + msg10("w3", "hello") + `}}`},
		{"v0.3 send reply", "application/json", nil, `{"jsonrpc":"2.0","id":2,"method":"message/send","params":{"message":` + msg03("w4", "hello") + `}}`},
		{"v1.0 stream ask", "application/json", v10, `{"jsonrpc":"2.0","id":3,"method":"SendStreamingMessage","params":{"message":` + msg10("w5", "ask") + `}}`},
		{"v0.3 stream ask", "application/json", nil, `{"jsonrpc":"2.0","id":3,"method":"message/stream","params":{"message":` + msg03("w6", "ask") + `}}`},
		{"v1.0 stream slow", "application/json", v10, `{"jsonrpc":"2.0","id":4,"method":"SendStreamingMessage","params":{"message":` + msg10("w7", "slow 1") + `}}`},
		{"v0.3 stream slow", "application/json", nil, `{"jsonrpc":"2.0","id":4,"method":"message/stream","params":{"message":` + msg03("w8", "slow 1") + `}}`},
		{"v1.0 get unknown", "application/json", v10, `{"jsonrpc":"2.0","id":5,"method":"GetTask","params":{"id":"nope"}}`},
		{"v0.3 get unknown", "application/json", nil, `{"jsonrpc":"2.0","id":5,"method":"tasks/get","params":{"id":"nope"}}`},
		{"v1.0 cancel unknown", "application/json", v10, `{"jsonrpc":"2.0","id":6,"method":"CancelTask","params":{"id":"nope"}}`},
		{"v0.3 cancel unknown", "application/json", nil, `{"jsonrpc":"2.0","id":6,"method":"tasks/cancel","params":{"id":"nope"}}`},
		{"v1.0 subscribe unknown", "application/json", v10, `{"jsonrpc":"2.0","id":7,"method":"SubscribeToTask","params":{"id":"nope"}}`},
		{"v0.3 resubscribe unknown", "application/json", nil, `{"jsonrpc":"2.0","id":7,"method":"tasks/resubscribe","params":{"id":"nope"}}`},
		{"v1.0 stream to unknown task", "application/json", v10, `{"jsonrpc":"2.0","id":8,"method":"SendStreamingMessage","params":{"message":{"messageId":"w9","taskId":"nope","role":"ROLE_USER","parts":[{"text":"x"}]}}}`},
		{"v1.0 list", "application/json", v10, `{"jsonrpc":"2.0","id":9,"method":"ListTasks","params":{"pageSize":1}}`},
		{"v0.3 list", "application/json", nil, `{"jsonrpc":"2.0","id":9,"method":"tasks/list","params":{}}`},
		{"v1.0 method without A2A-Version", "application/json", nil, `{"jsonrpc":"2.0","id":10,"method":"GetTask","params":{"id":"nope"}}`},
		{"unsupported A2A-Version", "application/json", http.Header{"A2A-Version": {"9.9"}}, `{"jsonrpc":"2.0","id":11,"method":"GetTask","params":{"id":"nope"}}`},
		{"unknown method", "application/json", v10, `{"jsonrpc":"2.0","id":12,"method":"FrobTask","params":{}}`},
		{"malformed JSON", "application/json", v10, `{"jsonrpc":"2.0","id":13,`},
		{"not JSON-RPC 2.0", "application/json", v10, `{"jsonrpc":"1.0","id":14,"method":"GetTask","params":{"id":"nope"}}`},
		{"wrong param type", "application/json", v10, `{"jsonrpc":"2.0","id":15,"method":"GetTask","params":{"id":15}}`},
		{"batch", "application/json", v10, `[{"jsonrpc":"2.0","id":16,"method":"GetTask","params":{"id":"nope"}}]`},
		{"wrong content type", "text/plain", v10, `{"jsonrpc":"2.0","id":17,"method":"GetTask","params":{"id":"nope"}}`},
		{"v1.0 extended card", "application/json", v10, `{"jsonrpc":"2.0","id":19,"method":"GetExtendedAgentCard","params":{}}`},
		{"v0.3 extended card", "application/json", nil, `{"jsonrpc":"2.0","id":19,"method":"agent/getAuthenticatedExtendedCard","params":{}}`},
		{"push config", "application/json", v10, `{"jsonrpc":"2.0","id":18,"method":"GetTaskPushNotificationConfig","params":{"taskId":"nope","id":"c"}}`},
	}
	for _, tc := range cases {
		o := wireSummary(t, ours, tc.contentType, tc.header, tc.body)
		s := wireSummary(t, peer, tc.contentType, tc.header, tc.body)
		kd, known := wireDifferences[tc.name]
		switch {
		case known && (o != kd.ours || s != kd.sdk):
			t.Errorf("%s: documented difference (%s) changed:\n  ours: %s\n  want: %s\n  sdk:  %s\n  want: %s", tc.name, kd.why, o, kd.ours, s, kd.sdk)
		case !known && o != s:
			t.Errorf("%s differs:\n  ours: %s\n  sdk:  %s", tc.name, o, s)
		default:
			t.Logf("%s: %s", tc.name, o)
		}
	}
}

// wireDifferences: where our server's wire answer differs from a2a-go's,
// and why ours stays.
var wireDifferences = map[string]knownDifference{
	"v1.0 send reply": {
		ours: `http=200 ct=application/json id=2 result={message:{contextId,messageId,parts,role}}`,
		sdk:  `http=200 ct=application/json id=2 result={message:{messageId,parts,role}}`,
		why:  "the engine files a reply under a context like any task, and says which; contextId is optional on a Message",
	},
	"v0.3 send reply": {
		ours: `http=200 ct=application/json id=2 result={contextId,kind:message,messageId,parts,role}`,
		sdk:  `http=200 ct=application/json id=2 result={kind:message,messageId,parts,role}`,
		why:  "as for v1.0: the reply names its context",
	},
	"v0.3 get unknown": {
		ours: `http=200 ct=application/json id=5 error -32001`,
		sdk:  `http=200 ct=text/plain id=5 error -32001 +ErrorInfo`,
		why:  v03ErrorWhy,
	},
	"v0.3 cancel unknown": {
		ours: `http=200 ct=application/json id=6 error -32001`,
		sdk:  `http=200 ct=text/plain id=6 error -32001 +ErrorInfo`,
		why:  v03ErrorWhy,
	},
	"v0.3 list": {
		ours: `http=200 ct=application/json id=9 error -32601`,
		sdk:  `http=200 ct=text/plain id=9 error -32601 +ErrorInfo`,
		why:  v03ErrorWhy,
	},
	"v0.3 resubscribe unknown": {
		ours: `http=200 ct=text/event-stream events=[id+error -32001]`,
		sdk:  `http=200 ct=text/event-stream events=[id+error -32001 +ErrorInfo]`,
		why:  "google.rpc.ErrorInfo data is v1.0's; v0.3 errors carry none",
	},
	"v1.0 extended card": {
		ours: `http=200 ct=application/json id=19 error -32004 +ErrorInfo`,
		sdk:  `http=200 ct=application/json id=19 error -32007 +ErrorInfo`,
		why: "neither card declares an extended card: v1.0 answers that with UnsupportedOperationError (-32004) and keeps " +
			"ExtendedAgentCardNotConfigured (-32007) for an agent that declares one it lacks",
	},
	"v0.3 extended card": {
		ours: `http=200 ct=application/json id=19 error -32007`,
		sdk:  `http=200 ct=text/plain id=19 error -32007 +ErrorInfo`,
		why:  v03ErrorWhy,
	},
	"v1.0 method without A2A-Version": {
		ours: `http=200 ct=application/json id=10 error -32601 +ErrorInfo`,
		sdk:  `http=200 ct=application/json id=10 error -32001 +ErrorInfo`,
		why: "the spec reads a request without A2A-Version as v0.3, where GetTask does not exist (the message says which header to send); " +
			"a2a-go's v1.0 handler ignores the header",
	},
	"unsupported A2A-Version": {
		ours: `http=200 ct=application/json id=11 error -32009 +ErrorInfo`,
		sdk:  `http=200 ct=application/json id=11 error -32001 +ErrorInfo`,
		why:  "the spec answers a version the server does not speak with VersionNotSupportedError (-32009); a2a-go ignores the header",
	},
	"batch": {
		ours: `http=200 ct=application/json id=null error -32600 +ErrorInfo`,
		sdk:  `http=200 ct=application/json id=null error -32602 +ErrorInfo`,
		why:  "a batch is a valid JSON-RPC 2.0 shape that A2A servers do not serve: an invalid request (-32600), not invalid params",
	},
	"wrong content type": {
		ours: `http=200 ct=application/json id=17 error -32005 +ErrorInfo`,
		sdk:  `http=200 ct=application/json id=17 error -32001 +ErrorInfo`,
		why:  "JSON-RPC over HTTP is application/json: ours refuses text/plain with ContentTypeNotSupported (-32005, as the JS SDK does); a2a-go ignores the header",
	},
}

const v03ErrorWhy = "a JSON-RPC error is JSON: ours says application/json where a2a-go says text/plain for v0.3 errors; " +
	"google.rpc.ErrorInfo data is v1.0's, v0.3 errors carry none"

// wireSummary posts body and describes the answer without ids, times or
// texts that legitimately differ.
func wireSummary(t *testing.T, url, contentType string, header http.Header, body string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post %s: %v", url, err)
	}
	defer resp.Body.Close()
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	out := fmt.Sprintf("http=%d ct=%s", resp.StatusCode, ct)
	if ct == "text/event-stream" {
		var evs []string
		err := readSSELenient(resp.Body, func(id, data string) {
			e := describeRPC(data, true)
			if id != "" {
				e = "id+" + e
			}
			evs = append(evs, e)
		})
		if err != nil {
			evs = append(evs, "read error: "+err.Error())
		}
		return out + " events=[" + strings.Join(evs, ", ") + "]"
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return out + " " + describeRPC(string(raw), false)
}

// describeRPC sums up one JSON-RPC response: its id (unless in a stream),
// the error code and whether v1.0 ErrorInfo data came with it, or the
// result's shape: its keys (the v1.0 wrapper or the v0.3 kind), with the
// task state and v0.3 final flag.
func describeRPC(data string, inStream bool) string {
	var r struct {
		ID     json.RawMessage `json:"id"`
		Result map[string]any  `json:"result"`
		Error  *struct {
			Code int             `json:"code"`
			Data json.RawMessage `json:"data"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		return fmt.Sprintf("not JSON-RPC (%.40q)", data)
	}
	out := ""
	if !inStream {
		out = "id=" + string(r.ID) + " "
	}
	if r.Error != nil {
		out += fmt.Sprintf("error %d", r.Error.Code)
		if strings.Contains(string(r.Error.Data), "ErrorInfo") {
			out += " +ErrorInfo"
		}
		return out
	}
	if inStream {
		return shape(r.Result)
	}
	return out + "result=" + shape(r.Result)
}

// shape lists an object's keys; a v1.0 wrapper shows its inner object's
// keys, a v0.3 object its kind; the state and final flag are shown.
func shape(obj map[string]any) string {
	keys := make([]string, 0, len(obj))
	for k, v := range obj {
		switch k {
		case "kind":
			keys = append(keys, fmt.Sprintf("kind:%v", v))
		case "task", "message", "statusUpdate", "artifactUpdate":
			inner, _ := v.(map[string]any)
			keys = append(keys, k+":"+shape(inner))
		case "status":
			st, _ := v.(map[string]any)
			keys = append(keys, fmt.Sprintf("status:%v", st["state"]))
		case "final":
			keys = append(keys, fmt.Sprintf("final:%v", v))
		case "tasks":
			list, _ := v.([]any)
			keys = append(keys, fmt.Sprintf("tasks:%d", len(list)))
		case "history", "artifacts", "artifact", "metadata", "timestamp", "append", "lastChunk":
			// contents differ with the agent's wording and timing
		default:
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return "{" + strings.Join(keys, ",") + "}"
}

// readSSELenient reads SSE events with or without a space after the
// field's colon.
func readSSELenient(body io.Reader, fn func(id, data string)) error {
	r := bufio.NewReaderSize(body, 1<<16)
	var id, data string
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch {
		case line == "":
			if data != "" {
				fn(id, data)
			}
			id, data = "", ""
		case field == "id":
			id = value
		case field == "data":
			data += value
		}
	}
}
