package wire_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
)

func wild(tb testing.TB, name string) []byte {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "wild", name))
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// TestWildEventShapes: results without "kind" decode when their
// identifying fields are there, with unknown fields ignored; an object
// without them is an error, not a guess.
func TestWildEventShapes(t *testing.T) {
	for _, tc := range []struct {
		file string
		want string // %T of the event, "" for an error
	}{
		{"event-task-nokind.json", "*a2a.Task"},
		{"event-status-nokind.json", "*a2a.StatusUpdateEvent"},
		{"event-artifact-nokind.json", "*a2a.ArtifactUpdateEvent"},
		{"event-message-nokind.json", "*a2a.Message"},
		{"event-bad-kind-task-without-id.json", ""},
	} {
		for _, c := range []wire.Codec{wire.V03(), wire.V10()} {
			ev, err := c.DecodeEvent(wild(t, tc.file))
			got := ""
			if err == nil {
				got = reflect.TypeOf(ev).String()
			}
			if got != tc.want {
				t.Errorf("%s (v%s): %s, %v; want %q", tc.file, c.Version(), got, err, tc.want)
			}
		}
	}
}

func TestRESTRequests(t *testing.T) {
	hl := 2
	send := &a2a.SendRequest{Message: a2a.Message{ID: "m", Role: a2a.RoleUser, Parts: []a2a.Part{
		a2a.TextPart("hi"), {Kind: a2a.PartData, Data: json.RawMessage(`{"n":1}`)}, a2a.FileBytesPart("f.txt", "text/plain", []byte("hello\n"))}}}
	for _, tc := range []struct {
		r      wire.REST
		m      wire.Method
		params any
		method string
		path   string
		want   []string // fragments of the body or query
	}{
		{wire.RESTV10(), wire.MethodSend, send, "POST", "/message:send", []string{`"returnImmediately":false`, `"parts":[{"text":"hi"},{"data":{"n":1}}`}},
		{wire.RESTV03(), wire.MethodStream, send, "POST", "/v1/message:stream", []string{`"blocking":true`, `"role":"ROLE_USER"`, `"content":[{"text":"hi"},{"data":{"data":{"n":1}}},{"file":{"fileWithBytes":"YUdWc2JHOEs="`}},
		{wire.RESTV10(), wire.MethodGet, a2a.GetRequest{ID: "t/1", HistoryLength: &hl}, "GET", "/tasks/t%2F1", []string{"historyLength=2"}},
		{wire.RESTV10(), wire.MethodList, a2a.ListRequest{State: a2a.StateWorking, PageSize: 100, StatusTimestampAfter: mustTime("2026-11-24T02:09:03.5Z"), IncludeArtifacts: true}, "GET", "/tasks",
			[]string{"status=TASK_STATE_WORKING", "pageSize=100", "statusTimestampAfter=2026-11-24T02%3A09%3A03.5Z", "includeArtifacts=true"}},
		{wire.RESTV03(), wire.MethodList, a2a.ListRequest{State: a2a.StateCanceled}, "GET", "/v1/tasks", []string{"status=TASK_STATE_CANCELLED"}},
		{wire.RESTV10(), wire.MethodCancel, "t1", "POST", "/tasks/t1:cancel", nil},
		{wire.RESTV10(), wire.MethodSubscribe, "t1", "POST", "/tasks/t1:subscribe", nil},
		{wire.RESTV03(), wire.MethodSubscribe, "t1", "GET", "/v1/tasks/t1:subscribe", nil},
		{wire.RESTV10(), wire.MethodSend, &a2a.SendRequest{Tenant: "acme"}, "POST", "/acme/message:send", nil},
	} {
		req, err := tc.r.EncodeRequest(tc.m, tc.params)
		if err != nil {
			t.Errorf("v%s %v: %v", tc.r.Version(), tc.m, err)
			continue
		}
		all := string(req.Body) + " " + req.Query.Encode()
		if req.Method != tc.method || req.Path != tc.path {
			t.Errorf("v%s %v: %s %s, want %s %s", tc.r.Version(), tc.m, req.Method, req.Path, tc.method, tc.path)
		}
		for _, w := range tc.want {
			if !strings.Contains(all, w) {
				t.Errorf("v%s %v: %s lacks %s", tc.r.Version(), tc.m, all, w)
			}
		}
	}
	if _, err := wire.RESTV10().EncodeRequest(wire.MethodPushSet, nil); !errors.Is(err, a2a.ErrUnsupported) {
		t.Errorf("push config over REST: %v", err)
	}
}

func TestRESTResponses(t *testing.T) {
	got, err := wire.RESTV03().DecodeResponse(wire.MethodGet, wild(t, "rest-v03-task.json"))
	if err != nil {
		t.Fatal(err)
	}
	task := got.(*a2a.Task)
	want := &a2a.Task{ID: "t1", ContextID: "c1", Status: a2a.TaskStatus{State: a2a.StateCanceled, Timestamp: mustTime("2026-11-24T02:09:03Z"),
		Message: &a2a.Message{ID: "m1", Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart("stopped")}}},
		Artifacts: []a2a.Artifact{{ID: "a1", Name: "files", Parts: []a2a.Part{{Kind: a2a.PartData, Data: json.RawMessage(`{"n":1}`)},
			a2a.FileBytesPart("hello.txt", "text/plain", []byte("hello\n")), a2a.FileURIPart("", "application/pdf", "https://example.com/r.pdf")}}}}
	if !reflect.DeepEqual(task, want) {
		t.Errorf("v0.3 REST task:\n got %s\nwant %s", dump(task), dump(want))
	}
	_, err = wire.RESTV10().DecodeResponse(wire.MethodGet, wild(t, "rest-v10-error.json"))
	var perr *a2a.Error
	if !errors.Is(err, a2a.ErrTaskNotFound) || !errors.As(err, &perr) || perr.Message != "task not found: t1" || !strings.Contains(string(perr.Data), "TASK_NOT_FOUND") {
		t.Errorf("REST error: %v", err)
	}
	page, err := wire.RESTV10().DecodeResponse(wire.MethodList, wild(t, "rest-v10-list-no-sizes.json"))
	if err != nil || len(page.(*a2a.ListPage).Tasks) != 1 {
		t.Errorf("list without sizes: %v %+v", err, page)
	}
	if _, err := wire.RESTV10().DecodeResponse(wire.MethodList, []byte(`{"unrelated":1}`)); err == nil {
		t.Error("an object without tasks read as a list")
	}
	// Every code survives EncodeError → DecodeResponse.
	for _, e := range []*a2a.Error{a2a.ErrTaskNotFound, a2a.ErrNotCancelable, a2a.ErrUnsupported, a2a.ErrInvalidParams,
		a2a.ErrUnauthenticated, a2a.ErrUnauthorized, a2a.ErrVersionNotSupported, a2a.ErrInternal, a2a.ErrMethodNotFound} {
		status, body, err := wire.RESTV10().EncodeError(e)
		if err != nil || status < 400 {
			t.Fatalf("encode %v: %d %v", e, status, err)
		}
		_, err = wire.RESTV10().DecodeResponse(wire.MethodGet, body)
		if !errors.Is(err, e) {
			t.Errorf("%v came back as %v", e, err)
		}
	}
}

// FuzzDecodeREST: no HTTP+JSON body makes a decoder panic; what decodes is
// a result of the method's type or a typed error, and an event re-encoded
// (v1.0 REST bodies are v1.0 objects) decodes to the same event.
func FuzzDecodeREST(f *testing.F) {
	entries, _ := os.ReadDir(filepath.Join("testdata", "wild"))
	for _, e := range entries {
		f.Add(uint8(0), wild(f, e.Name()))
	}
	for _, r := range transcriptResults(f) {
		f.Add(uint8(1), r)
	}
	methods := []wire.Method{wire.MethodSend, wire.MethodStream, wire.MethodGet, wire.MethodList, wire.MethodCancel, wire.MethodSubscribe}
	f.Fuzz(func(t *testing.T, sel uint8, body []byte) {
		m := methods[int(sel/2)%len(methods)]
		r := wire.RESTV10()
		if sel%2 == 1 {
			r = wire.RESTV03()
		}
		res, err := r.DecodeResponse(m, body)
		if err != nil {
			return
		}
		switch v := res.(type) {
		case *a2a.SendResult, *a2a.Task, *a2a.ListPage:
		case a2a.Event:
			if r.Version() != a2a.Version10 {
				return
			}
			raw, err := wire.V10().EncodeEvent(v)
			if err != nil {
				t.Fatalf("encode %T: %v", v, err)
			}
			back, err := r.DecodeResponse(m, raw)
			if err != nil {
				t.Fatalf("re-decode %s: %v", raw, err)
			}
			again, _ := wire.V10().EncodeEvent(back.(a2a.Event))
			if string(again) != string(raw) {
				t.Fatalf("not a fixed point:\n%s\n%s", raw, again)
			}
		default:
			t.Fatalf("%v decoded to %T", m, res)
		}
	})
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}
