package wire_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
)

func TestForVersion(t *testing.T) {
	for in, want := range map[string]string{"1.0": "1.0", "1": "1.0", "v1.0": "1.0", " 0.3 ": "0.3", "0.3.0": "0.3"} {
		c, err := wire.ForVersion(in)
		if err != nil || c.Version() != want {
			t.Errorf("ForVersion(%q) = %v, %v; want %s", in, c, err, want)
		}
	}
	for _, in := range []string{"", "2.0", "0.2", "junk"} {
		if _, err := wire.ForVersion(in); !errors.Is(err, a2a.ErrVersionNotSupported) {
			t.Errorf("ForVersion(%q) error = %v, want ErrVersionNotSupported", in, err)
		}
	}
}

func TestMethodNames(t *testing.T) {
	v10 := map[wire.Method]string{
		wire.MethodSend: "SendMessage", wire.MethodStream: "SendStreamingMessage", wire.MethodGet: "GetTask",
		wire.MethodList: "ListTasks", wire.MethodCancel: "CancelTask", wire.MethodSubscribe: "SubscribeToTask",
		wire.MethodGetExtendedCard: "GetExtendedAgentCard", wire.MethodPushSet: "CreateTaskPushNotificationConfig",
		wire.MethodPushGet: "GetTaskPushNotificationConfig", wire.MethodPushList: "ListTaskPushNotificationConfigs",
		wire.MethodPushDelete: "DeleteTaskPushNotificationConfig",
	}
	v03 := map[wire.Method]string{
		wire.MethodSend: "message/send", wire.MethodStream: "message/stream", wire.MethodGet: "tasks/get",
		wire.MethodCancel: "tasks/cancel", wire.MethodSubscribe: "tasks/resubscribe",
		wire.MethodGetExtendedCard: "agent/getAuthenticatedExtendedCard", wire.MethodPushSet: "tasks/pushNotificationConfig/set",
		wire.MethodPushGet: "tasks/pushNotificationConfig/get", wire.MethodPushList: "tasks/pushNotificationConfig/list",
		wire.MethodPushDelete: "tasks/pushNotificationConfig/delete",
	}
	for _, tc := range []struct {
		c     wire.Codec
		names map[wire.Method]string
	}{{wire.V10(), v10}, {wire.V03(), v03}} {
		for m, name := range tc.names {
			if got, ok := tc.c.MethodName(m); !ok || got != name {
				t.Errorf("v%s MethodName(%v) = %q, %v; want %q", tc.c.Version(), m, got, ok, name)
			}
			if got, ok := tc.c.ParseMethod(name); !ok || got != m {
				t.Errorf("v%s ParseMethod(%q) = %v, %v", tc.c.Version(), name, got, ok)
			}
			if d := wire.DialectOf(name); d.Version() != tc.c.Version() {
				t.Errorf("DialectOf(%q) = %s", name, d.Version())
			}
		}
	}
	if _, ok := wire.V03().MethodName(wire.MethodList); ok {
		t.Error("v0.3 has no ListTasks")
	}
	if _, ok := wire.V03().ParseMethod("GetTask"); ok {
		t.Error("v0.3 must not accept a v1.0 name")
	}
	if wire.DialectOf("no/such").Version() != "0.3" || wire.DialectOf("NoSuch").Version() != "1.0" {
		t.Error("DialectOf falls back on the name's shape")
	}
	if !wire.MethodStream.Streaming() || !wire.MethodSubscribe.Streaming() || wire.MethodSend.Streaming() {
		t.Error("Streaming is wrong")
	}
	if _, err := wire.V03().EncodeRequest(1, wire.MethodList, a2a.ListRequest{}); !errors.Is(err, a2a.ErrUnsupported) {
		t.Errorf("v0.3 ListTasks request: %v, want ErrUnsupported", err)
	}
}

var ts = time.Date(2026, 11, 24, 2, 9, 3, 510621480, time.UTC)

func sampleTask() *a2a.Task {
	data, _ := a2a.DataPart(map[string]any{"n": 1})
	data.MediaType = "application/json"
	return &a2a.Task{
		ID: "t1", ContextID: "c1",
		Status: a2a.TaskStatus{State: a2a.StateInputRequired, Timestamp: ts,
			Message: &a2a.Message{ID: "m2", Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart("which date?")}, TaskID: "t1", ContextID: "c1"}},
		History: []a2a.Message{{ID: "m1", Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("ask")}}},
		Artifacts: []a2a.Artifact{{ID: "a1", Name: "files", Parts: []a2a.Part{
			data,
			a2a.FileBytesPart("hello.txt", "text/plain", []byte("hello\n")),
			a2a.FileURIPart("report.pdf", "application/pdf", "https://example.com/report.pdf"),
		}}},
		Metadata: map[string]any{"k": "v"},
	}
}

// TestEncodeExactShapes pins each dialect's exact output.
func TestEncodeExactShapes(t *testing.T) {
	v10, err := wire.V10().EncodeTask(sampleTask())
	if err != nil {
		t.Fatal(err)
	}
	wantV10 := `{"id":"t1","contextId":"c1","status":{"state":"TASK_STATE_INPUT_REQUIRED","message":{"messageId":"m2","role":"ROLE_AGENT","parts":[{"text":"which date?"}],"taskId":"t1","contextId":"c1"},"timestamp":"2026-11-24T02:09:03.51062148Z"},"history":[{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"ask"}]}],"artifacts":[{"artifactId":"a1","name":"files","parts":[{"data":{"n":1},"mediaType":"application/json"},{"raw":"aGVsbG8K","filename":"hello.txt","mediaType":"text/plain"},{"url":"https://example.com/report.pdf","filename":"report.pdf","mediaType":"application/pdf"}]}],"metadata":{"k":"v"}}`
	if string(v10) != wantV10 {
		t.Errorf("v1.0 task:\n got %s\nwant %s", v10, wantV10)
	}
	v03, err := wire.V03().EncodeTask(sampleTask())
	if err != nil {
		t.Fatal(err)
	}
	wantV03 := `{"kind":"task","id":"t1","contextId":"c1","status":{"state":"input-required","message":{"kind":"message","messageId":"m2","role":"agent","parts":[{"kind":"text","text":"which date?"}],"taskId":"t1","contextId":"c1"},"timestamp":"2026-11-24T02:09:03.51062148Z"},"history":[{"kind":"message","messageId":"m1","role":"user","parts":[{"kind":"text","text":"ask"}]}],"artifacts":[{"artifactId":"a1","name":"files","parts":[{"kind":"data","data":{"n":1}},{"kind":"file","file":{"bytes":"aGVsbG8K","name":"hello.txt","mimeType":"text/plain"}},{"kind":"file","file":{"uri":"https://example.com/report.pdf","name":"report.pdf","mimeType":"application/pdf"}}]}],"metadata":{"k":"v"}}`
	if string(v03) != wantV03 {
		t.Errorf("v0.3 task:\n got %s\nwant %s", v03, wantV03)
	}

	st := &a2a.StatusUpdateEvent{TaskID: "t1", ContextID: "c1", Status: a2a.TaskStatus{State: a2a.StateWorking}}
	for _, tc := range []struct {
		c    wire.Codec
		ev   a2a.Event
		want string
	}{
		{wire.V10(), st, `{"statusUpdate":{"taskId":"t1","contextId":"c1","status":{"state":"TASK_STATE_WORKING"}}}`},
		{wire.V03(), st, `{"kind":"status-update","taskId":"t1","contextId":"c1","status":{"state":"working"},"final":false}`},
		{wire.V03(), &a2a.StatusUpdateEvent{TaskID: "t1", Status: a2a.TaskStatus{State: a2a.StateCanceled}, Final: true},
			`{"kind":"status-update","taskId":"t1","status":{"state":"canceled"},"final":true}`},
		{wire.V10(), &a2a.ArtifactUpdateEvent{TaskID: "t1", Artifact: a2a.Artifact{ID: "a", Parts: []a2a.Part{a2a.TextPart("x")}}, Append: true, LastChunk: true},
			`{"artifactUpdate":{"taskId":"t1","artifact":{"artifactId":"a","parts":[{"text":"x"}]},"append":true,"lastChunk":true}}`},
		{wire.V03(), &a2a.ArtifactUpdateEvent{TaskID: "t1", Artifact: a2a.Artifact{ID: "a", Parts: []a2a.Part{a2a.TextPart("")}}},
			`{"kind":"artifact-update","taskId":"t1","artifact":{"artifactId":"a","parts":[{"kind":"text","text":""}]}}`},
		{wire.V10(), &a2a.Message{ID: "m", Role: a2a.RoleAgent}, `{"message":{"messageId":"m","role":"ROLE_AGENT","parts":[]}}`},
		{wire.V10(), &a2a.Message{ID: "m", Role: a2a.RoleUser, Parts: []a2a.Part{{Kind: a2a.PartText, Text: "# hi", MediaType: "text/markdown", Metadata: map[string]any{"a": "b"}}}},
			`{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"# hi","mediaType":"text/markdown","metadata":{"a":"b"}}]}}`},
		{wire.V03(), &a2a.Message{ID: "m", Role: a2a.RoleAgent}, `{"kind":"message","messageId":"m","role":"agent","parts":[]}`},
		{wire.V10(), &a2a.Task{ID: "t", Status: a2a.TaskStatus{State: a2a.StateUnknown}}, `{"task":{"id":"t","status":{"state":"TASK_STATE_UNSPECIFIED"}}}`},
	} {
		got, err := tc.c.EncodeEvent(tc.ev)
		if err != nil || string(got) != tc.want {
			t.Errorf("v%s %T:\n got %s (%v)\nwant %s", tc.c.Version(), tc.ev, got, err, tc.want)
		}
		back, err := tc.c.DecodeEvent(got)
		if err != nil {
			t.Errorf("decode %s: %v", got, err)
			continue
		}
		again, _ := tc.c.EncodeEvent(back)
		if string(again) != tc.want {
			t.Errorf("v%s re-encode changed %s to %s", tc.c.Version(), tc.want, again)
		}
	}
	for _, c := range []wire.Codec{wire.V10(), wire.V03()} {
		b, _ := c.EncodeTask(sampleTask())
		back, err := c.DecodeTask(b)
		want := sampleTask()
		if c.Version() == "0.3" {
			want.Artifacts[0].Parts[0].MediaType = "" // v0.3 data parts carry no media type
		}
		if err != nil || !reflect.DeepEqual(back, want) {
			t.Errorf("v%s task round trip: %v\n got %s\nwant %s", c.Version(), err, dump(back), dump(want))
		}
	}
}

func TestDecodeLenient(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want a2a.Event
	}{
		{"cancelled, no kind, no timestamp, unknown fields",
			`{"taskId":"t","status":{"state":"cancelled","extra":1},"final":true,"future":{"x":[1]}}`,
			&a2a.StatusUpdateEvent{TaskID: "t", Status: a2a.TaskStatus{State: a2a.StateCanceled}, Final: true}},
		{"unknown state", `{"statusUpdate":{"taskId":"t","status":{"state":"TASK_STATE_DREAMING"}}}`,
			&a2a.StatusUpdateEvent{TaskID: "t", Status: a2a.TaskStatus{State: a2a.StateUnknown}}},
		{"v1.0 final derived from state", `{"statusUpdate":{"taskId":"t","status":{"state":"TASK_STATE_AUTH_REQUIRED","timestamp":"bad"}}}`,
			&a2a.StatusUpdateEvent{TaskID: "t", Status: a2a.TaskStatus{State: a2a.StateAuthRequired}, Final: true}},
		{"mixed case, v1.0 spelling in v0.3", `{"kind":"task","id":"t","status":{"state":"Task_State_Completed"}}`,
			&a2a.Task{ID: "t", Status: a2a.TaskStatus{State: a2a.StateCompleted}}},
		{"message without kind, part without kind, pretty data compacted",
			`{"messageId":"m","role":"user","parts":[{"text":"hi"},{"data": { "a" : [1, 2] }}]}`,
			&a2a.Message{ID: "m", Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("hi"), {Kind: a2a.PartData, Data: json.RawMessage(`{"a":[1,2]}`)}}}},
		{"artifact update without kind", `{"taskId":"t","artifact":{"artifactId":"a","parts":[{"kind":"file","file":{"uri":"u","mediaType":"x/y"}}]},"append":true}`,
			&a2a.ArtifactUpdateEvent{TaskID: "t", Append: true, Artifact: a2a.Artifact{ID: "a", Parts: []a2a.Part{a2a.FileURIPart("", "x/y", "u")}}}},
		{"empty collections read as nil", `{"task":{"id":"t","status":{"state":"TASK_STATE_WORKING"},"history":[],"artifacts":[],"metadata":{}}}`,
			&a2a.Task{ID: "t", Status: a2a.TaskStatus{State: a2a.StateWorking}}},
	} {
		for _, c := range []wire.Codec{wire.V10(), wire.V03()} {
			got, err := c.DecodeEvent([]byte(tc.in))
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s (v%s): %v\n got %s\nwant %s", tc.name, c.Version(), err, dump(got), dump(tc.want))
			}
		}
	}
	for _, bad := range []string{``, `null`, `{}`, `[]`, `{"kind":"weird"}`, `{"task":1}`, `"x"`} {
		if ev, err := wire.V10().DecodeEvent([]byte(bad)); err == nil {
			t.Errorf("DecodeEvent(%q) = %#v, want an error", bad, ev)
		}
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	for _, tc := range []struct {
		body   string
		code   int
		wantID string
	}{
		{`{"jsonrpc":"2.0","id":4,"method":`, a2a.CodeParseError, "null"},
		{`[1,2]`, a2a.CodeInvalidRequest, "null"},
		{`{"jsonrpc":"2.0","id":13,"method":5}`, a2a.CodeInvalidRequest, "13"},
		{`{"jsonrpc":"2.0","id":14,"method":"GetTask","params":{"id":"x","historyLength":"all"}}`, a2a.CodeInvalidParams, "14"},
		{`{"jsonrpc":"1.0","id":5,"method":"GetTask","params":{"id":"x"}}`, a2a.CodeInvalidRequest, "5"},
		{`{"jsonrpc":"2.0","id":{"a":1},"method":"GetTask"}`, a2a.CodeInvalidRequest, "null"},
		{`{"jsonrpc":"2.0","id":"s","params":{}}`, a2a.CodeInvalidRequest, `"s"`},
		{`{"jsonrpc":"2.0","id":6,"method":"NoSuchMethod","params":{}}`, a2a.CodeMethodNotFound, "6"},
		{`{"jsonrpc":"2.0","id":7,"method":"tasks/list","params":{}}`, a2a.CodeMethodNotFound, "7"},
		{`{"jsonrpc":"2.0","id":8,"method":"GetTask","params":{}}`, a2a.CodeInvalidParams, "8"},
		{`{"jsonrpc":"2.0","id":9,"method":"SendMessage"}`, a2a.CodeInvalidParams, "9"},
		{`{"jsonrpc":"2.0","id":10,"method":"message/send","params":{"message":"no"}}`, a2a.CodeInvalidParams, "10"},
		{`{"jsonrpc":"2.0","id":11,"method":"ListTasks","params":{"pageSize":1000}}`, a2a.CodeInvalidParams, "11"},
		{`{"jsonrpc":"2.0","id":12,"method":"CancelTask","params":{"id":""}}`, a2a.CodeInvalidParams, "12"},
	} {
		_, req, err := wire.DecodeRequestAny([]byte(tc.body))
		var e *a2a.Error
		if !errors.As(err, &e) || e.Code != tc.code {
			t.Errorf("%s: error %v, want code %d", tc.body, err, tc.code)
		}
		if req == nil || string(req.ID) != tc.wantID {
			t.Errorf("%s: id %s, want %s", tc.body, req.ID, tc.wantID)
		}
	}
	// The error is answered in the dialect the method name looks like.
	for body, want := range map[string]string{
		`{"jsonrpc":"2.0","id":1,"method":"tasks/list"}`:     "0.3",
		`{"jsonrpc":"2.0","id":1,"method":"no/such/method"}`: "0.3",
		`{"jsonrpc":"2.0","id":1,"method":"NoSuchMethod"}`:   "1.0",
		`{"jsonrpc":"2.0","id":1,"method":`:                  "1.0",
	} {
		if c, _, _ := wire.DecodeRequestAny([]byte(body)); c.Version() != want {
			t.Errorf("%s: answered in v%s, want v%s", body, c.Version(), want)
		}
	}
	if e, ok := decodeErr(wire.V03().EncodeError(nil, &a2a.Error{Code: a2a.CodeTaskNotFound})); !ok || e.Message != "task not found" {
		t.Errorf("an error without a message takes its code's name: %#v", e)
	}
}

func decodeErr(body []byte, err error) (*a2a.Error, bool) {
	if err != nil {
		return nil, false
	}
	_, err = wire.V03().DecodeResponse(wire.MethodGet, body)
	var e *a2a.Error
	return e, errors.As(err, &e)
}

func TestRequestsRoundTrip(t *testing.T) {
	hl := 3
	send := &a2a.SendRequest{
		Message: a2a.Message{ID: "m", Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("2026-12-01")}, TaskID: "t", ContextID: "c"},
		Config:  a2a.SendConfig{ReturnImmediately: true, HistoryLength: &hl, AcceptedOutputModes: []string{"text/plain"}},
	}
	list := a2a.ListRequest{ContextID: "c", State: a2a.StateCanceled, PageSize: 2, PageToken: "p", IncludeArtifacts: true,
		StatusTimestampAfter: ts, HistoryLength: &hl}
	for _, tc := range []struct {
		c      wire.Codec
		m      wire.Method
		params any
		want   string // a fragment the encoding must contain
	}{
		{wire.V10(), wire.MethodSend, send, `"configuration":{"acceptedOutputModes":["text/plain"],"historyLength":3,"returnImmediately":true}`},
		{wire.V03(), wire.MethodStream, send, `"configuration":{"acceptedOutputModes":["text/plain"],"historyLength":3,"blocking":false}`},
		{wire.V10(), wire.MethodGet, a2a.GetRequest{ID: "t", HistoryLength: &hl}, `"method":"GetTask","params":{"id":"t","historyLength":3}`},
		{wire.V10(), wire.MethodList, list, `"status":"TASK_STATE_CANCELED"`},
		{wire.V03(), wire.MethodCancel, "t", `"method":"tasks/cancel","params":{"id":"t"}`},
		{wire.V10(), wire.MethodSubscribe, "t", `"method":"SubscribeToTask","params":{"id":"t"}`},
		{wire.V10(), wire.MethodGetExtendedCard, nil, `{"jsonrpc":"2.0","id":1,"method":"GetExtendedAgentCard"}`},
		{wire.V03(), wire.MethodPushGet, json.RawMessage(`{"id":"t"}`), `"params":{"id":"t"}`},
	} {
		body, err := tc.c.EncodeRequest(1, tc.m, tc.params)
		if err != nil || !strings.Contains(string(body), tc.want) {
			t.Errorf("v%s %v: %s (%v), want it to contain %s", tc.c.Version(), tc.m, body, err, tc.want)
			continue
		}
		req, err := tc.c.DecodeRequest(body)
		if err != nil || req.Method != tc.m || string(req.ID) != "1" || !reflect.DeepEqual(req.Params, tc.params) {
			t.Errorf("v%s %v: decoded %#v, %v; want params %#v", tc.c.Version(), tc.m, req, err, tc.params)
		}
	}
	if _, err := wire.V10().EncodeRequest(1, wire.MethodGet, "t"); err == nil {
		t.Error("GetTask with a string param must be refused")
	}
}

func TestResultsByMethod(t *testing.T) {
	task := sampleTask()
	task.Artifacts[0].Parts[0].MediaType = "" // v0.3 data parts carry no media type
	id := json.RawMessage(`"r1"`)
	for _, tc := range []struct {
		c      wire.Codec
		m      wire.Method
		result any
		prefix string
	}{
		{wire.V10(), wire.MethodSend, &a2a.SendResult{Task: task}, `{"jsonrpc":"2.0","id":"r1","result":{"task":{"id":"t1"`},
		{wire.V03(), wire.MethodSend, &a2a.SendResult{Task: task}, `{"jsonrpc":"2.0","id":"r1","result":{"kind":"task","id":"t1"`},
		{wire.V10(), wire.MethodSend, &a2a.SendResult{Message: &a2a.Message{ID: "m", Role: a2a.RoleAgent}}, `{"jsonrpc":"2.0","id":"r1","result":{"message":{"messageId":"m"`},
		{wire.V10(), wire.MethodGet, task, `{"jsonrpc":"2.0","id":"r1","result":{"id":"t1"`},
		{wire.V10(), wire.MethodCancel, task, `{"jsonrpc":"2.0","id":"r1","result":{"id":"t1"`},
		{wire.V10(), wire.MethodList, &a2a.ListPage{Tasks: []*a2a.Task{task}, PageSize: 50, TotalSize: 1}, `{"jsonrpc":"2.0","id":"r1","result":{"tasks":[{"id":"t1"`},
		{wire.V10(), wire.MethodGetExtendedCard, &a2a.AgentCard{Name: "x", Interfaces: []a2a.AgentInterface{{URL: "u", ProtocolBinding: "JSONRPC", ProtocolVersion: "1.0"}}}, `{"jsonrpc":"2.0","id":"r1","result":{"name":"x"`},
		{wire.V03(), wire.MethodPushList, json.RawMessage(`[]`), `{"jsonrpc":"2.0","id":"r1","result":[]}`},
	} {
		body, err := tc.c.EncodeResult(id, tc.m, tc.result)
		if err != nil || !strings.HasPrefix(string(body), tc.prefix) {
			t.Errorf("v%s %v: %s (%v), want prefix %s", tc.c.Version(), tc.m, body, err, tc.prefix)
			continue
		}
		got, err := tc.c.DecodeResponse(tc.m, body)
		if err != nil || !reflect.DeepEqual(got, tc.result) {
			t.Errorf("v%s %v: decoded %s, %v\nwant %s", tc.c.Version(), tc.m, dump(got), err, dump(tc.result))
		}
	}
	if b, err := wire.V10().EncodeResult(id, wire.MethodList, &a2a.ListPage{}); err != nil ||
		string(b) != `{"jsonrpc":"2.0","id":"r1","result":{"tasks":[],"nextPageToken":"","pageSize":0,"totalSize":0}}` {
		t.Errorf("empty list page: %s %v", b, err)
	}
	if _, err := wire.V10().EncodeResult(id, wire.MethodGet, &a2a.SendResult{}); err == nil {
		t.Error("a wrong result type must be refused")
	}
}

func TestErrors(t *testing.T) {
	body, err := wire.V10().EncodeError(json.RawMessage(`3`), a2a.NewError(a2a.ErrTaskNotFound, "failed to get task: task not found"))
	want := `{"jsonrpc":"2.0","id":3,"error":{"code":-32001,"message":"failed to get task: task not found","data":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"TASK_NOT_FOUND","domain":"a2a-protocol.org"}]}}`
	if err != nil || string(body) != want {
		t.Errorf("v1.0 error:\n got %s\nwant %s", body, want)
	}
	body, _ = wire.V03().EncodeError(nil, a2a.ErrNotCancelable)
	if want := `{"jsonrpc":"2.0","id":null,"error":{"code":-32002,"message":"task cannot be canceled"}}`; string(body) != want {
		t.Errorf("v0.3 error:\n got %s\nwant %s", body, want)
	}
	for _, tc := range []struct {
		body string
		is   error
	}{
		{`{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"task not found: no active execution"}}`, a2a.ErrTaskNotFound},
		{`{"jsonrpc":"2.0","id":1,"error":{"code":-32002,"message":"x"}}`, a2a.ErrNotCancelable},
		{`{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"method not found"}}`, a2a.ErrMethodNotFound},
		{`{"jsonrpc":"2.0","id":1,"error":{"code":-31401,"message":"unauthenticated"}}`, a2a.ErrUnauthenticated},
		{`{"jsonrpc":"2.0","id":1,"error":{"code":-32004}}`, a2a.ErrUnsupported},
	} {
		_, err := wire.V03().DecodeResponse(wire.MethodSubscribe, []byte(tc.body))
		var e *a2a.Error
		if !errors.Is(err, tc.is) || !errors.As(err, &e) || e.Message == "" {
			t.Errorf("%s: %v, want %v", tc.body, err, tc.is)
		}
	}
	if _, err := wire.V10().DecodeResponse(wire.MethodGet, []byte(`{"jsonrpc":"2.0","id":1}`)); err == nil {
		t.Error("a response without result or error must fail")
	}
}

func TestCardShapes(t *testing.T) {
	card := &a2a.AgentCard{
		Name: "n", Description: "d", Version: "1",
		Capabilities:         a2a.AgentCapabilities{Streaming: true},
		Interfaces:           []a2a.AgentInterface{{URL: "http://h/", ProtocolBinding: "JSONRPC", ProtocolVersion: "1.0"}},
		URL:                  "http://h/v03",
		ProtocolVersion:      "0.3",
		PreferredTransport:   "JSONRPC",
		AdditionalInterfaces: []a2a.AgentInterface{{URL: "http://h/grpc", ProtocolBinding: "GRPC"}},
		SupportsExtendedCard: true,
	}
	v10, _ := wire.V10().EncodeCard(card)
	want := `{"name":"n","description":"d","version":"1","capabilities":{"streaming":true,"extendedAgentCard":true},"skills":[],"defaultInputModes":[],"defaultOutputModes":[],"supportedInterfaces":[{"url":"http://h/","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],"url":"http://h/v03","protocolVersion":"0.3","preferredTransport":"JSONRPC","additionalInterfaces":[{"url":"http://h/grpc","transport":"GRPC"}]}`
	if string(v10) != want {
		t.Errorf("dual card:\n got %s\nwant %s", v10, want)
	}
	v03, _ := wire.V03().EncodeCard(card)
	want = `{"name":"n","description":"d","version":"1","capabilities":{"streaming":true},"skills":[],"defaultInputModes":[],"defaultOutputModes":[],"url":"http://h/v03","protocolVersion":"0.3","preferredTransport":"JSONRPC","additionalInterfaces":[{"url":"http://h/grpc","transport":"GRPC"}],"supportsAuthenticatedExtendedCard":true}`
	if string(v03) != want {
		t.Errorf("v0.3 card:\n got %s\nwant %s", v03, want)
	}
	// A v1.0-only card written as v0.3 takes its first interface as url.
	only := &a2a.AgentCard{Name: "n", Interfaces: card.Interfaces}
	b, _ := wire.V03().EncodeCard(only)
	back, _ := wire.V03().DecodeCard(b)
	if back.URL != "http://h/" || back.ProtocolVersion != "0.3" || back.PreferredTransport != "JSONRPC" {
		t.Errorf("v0.3 card from a v1.0 card: %s", b)
	}
}
