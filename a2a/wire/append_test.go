package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// TestAppendMatchesMarshal: the hand-written v1.0 encoders (append.go)
// write exactly what json.Marshal writes for the e* values, for generated
// objects with every optional member on and off and strings that need
// every kind of escape, and fail where it fails.
func TestAppendMatchesMarshal(t *testing.T) {
	c := codec{v10: true}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		g := &gen{rng: rng}
		task := g.task()
		checkSame(t, fmt.Sprintf("task %d", i), task)
		for _, ev := range g.events(task) {
			checkSame(t, fmt.Sprintf("event %d %T", i, ev), ev)
		}
		msg := g.message()
		got, gerr := c.EncodeMessage(msg)
		want, werr := json.Marshal(c.fromMessage(msg))
		same(t, fmt.Sprintf("message %d", i), got, gerr, want, werr)
	}
}

// TestAppendResultMatchesMarshal: EncodeResult by hand equals the
// reflective rpcResult, for each method it handles and for ids it takes
// as they are or leaves to json.Marshal.
func TestAppendResultMatchesMarshal(t *testing.T) {
	c := codec{v10: true}
	rng := rand.New(rand.NewPCG(3, 4))
	ids := []json.RawMessage{nil, json.RawMessage(`7`), json.RawMessage(`"a-1"`), json.RawMessage(`null`),
		json.RawMessage(`"<&>"`), json.RawMessage(`"a b"`), json.RawMessage(`-1.5e3`), json.RawMessage(`"\u00e9"`),
		json.RawMessage("\"é\""), json.RawMessage(`{`)}
	for i := range 500 {
		g := &gen{rng: rng}
		task := g.task()
		id := ids[i%len(ids)]
		cases := []struct {
			m      Method
			result any
		}{
			{MethodSend, &a2a.SendResult{Task: task}},
			{MethodSend, &a2a.SendResult{Message: g.message()}},
			{MethodSend, &a2a.SendResult{}},
			{MethodGet, task},
			{MethodCancel, task},
			{MethodGet, (*a2a.Task)(nil)},
		}
		for _, ev := range g.events(task) {
			cases = append(cases, struct {
				m      Method
				result any
			}{MethodStream, ev}, struct {
				m      Method
				result any
			}{MethodSubscribe, ev})
		}
		for _, tc := range cases {
			got, gerr := c.EncodeResult(id, tc.m, tc.result)
			want, werr := c.marshalResult(id, tc.m, tc.result)
			same(t, fmt.Sprintf("%d: %s %T id %s", i, tc.m, tc.result, id), got, gerr, want, werr)
		}
	}
}

func checkSame(t *testing.T, name string, ev a2a.Event) {
	t.Helper()
	c := codec{v10: true}
	got, gerr := c.EncodeEvent(ev)
	w, err := c.fromEvent(ev)
	if err != nil {
		t.Fatalf("%s: fromEvent: %v", name, err)
	}
	want, werr := json.Marshal(w)
	same(t, name, got, gerr, want, werr)
	appended, aerr := AppendEventV10([]byte("prefix"), ev)
	sameAppended(t, name+" (AppendEventV10)", appended, aerr, want, werr)
	if task, ok := ev.(*a2a.Task); ok {
		got, gerr := c.EncodeTask(task)
		want, werr := json.Marshal(c.fromTask(task))
		same(t, name+" (EncodeTask)", got, gerr, want, werr)
		appended, aerr := AppendTaskV10([]byte("prefix"), task)
		sameAppended(t, name+" (AppendTaskV10)", appended, aerr, want, werr)
	}
}

// sameAppended: got is "prefix" and then want, or both failed alike.
func sameAppended(t *testing.T, name string, got []byte, gerr error, want []byte, werr error) {
	t.Helper()
	if gerr == nil && werr == nil {
		var ok bool
		if got, ok = bytes.CutPrefix(got, []byte("prefix")); !ok {
			t.Fatalf("%s: the prefix is gone: %s", name, got)
		}
	}
	same(t, name, got, gerr, want, werr)
}

func same(t *testing.T, name string, got []byte, gerr error, want []byte, werr error) {
	t.Helper()
	if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
		t.Fatalf("%s: error %v, json.Marshal's %v", name, gerr, werr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\n got %s\nwant %s", name, got, want)
	}
}

// gen makes random model values: each optional member is set half the
// time, strings come from a set that covers json.Marshal's escapes.
type gen struct{ rng *rand.Rand }

var genStrings = []string{"", "a", "echo hi", "0194a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", `quote " and \ backslash`,
	"<b>&amp;</b>", "tab\there\nnewline\r", "\x00\x01\x1f\x7f", "héllo wörld", "日本語のテキスト", "emoji 🎉",
	"\u2028line\u2029para", "only \u2028 here", "only \u2029 here", "bad \xff\xfe utf8", "\ufffd literal", "ends in half \xe6\x97", "/slash/"}

func (g *gen) str() string { return genStrings[g.rng.IntN(len(genStrings))] }
func (g *gen) maybe() bool { return g.rng.IntN(2) == 0 }

func (g *gen) opt() string {
	if g.maybe() {
		return ""
	}
	return g.str()
}

func (g *gen) strs() []string {
	switch g.rng.IntN(3) {
	case 0:
		return nil
	case 1:
		return []string{}
	}
	out := make([]string, 1+g.rng.IntN(3))
	for i := range out {
		out[i] = g.str()
	}
	return out
}

func (g *gen) metadata() a2a.Metadata {
	switch g.rng.IntN(6) {
	case 0:
		return nil
	case 1:
		return a2a.Metadata{}
	case 2:
		return a2a.Metadata{"priority": "high", "n": 3, "nested": map[string]any{"z": []any{1.5, true, nil}, "a": g.str()}}
	case 3:
		return a2a.Metadata{g.str(): g.str()}
	case 4:
		if g.rng.IntN(20) == 0 {
			return a2a.Metadata{"nan": math.NaN()} // json.Marshal fails: so must we
		}
	}
	return a2a.Metadata{"k": g.str()}
}

func (g *gen) part() a2a.Part {
	p := a2a.Part{Metadata: g.metadata(), MediaType: g.opt()}
	switch g.rng.IntN(6) {
	case 0:
		p.Kind = a2a.PartData
		p.Data = []json.RawMessage{nil, json.RawMessage(`{"a": 1, "b": "<x>"}`), json.RawMessage(`[1,2]`), json.RawMessage(`"s"`)}[g.rng.IntN(4)]
	case 1:
		p.Kind = a2a.PartFile
		switch g.rng.IntN(4) {
		case 0:
			p.File = nil
		case 1:
			p.File = &a2a.File{Name: g.opt(), MediaType: g.opt(), URI: "https://example.com/" + g.str()}
		case 2:
			p.File = &a2a.File{Name: g.opt(), Bytes: []byte(g.str())}
		default:
			p.File = &a2a.File{Bytes: []byte{}, URI: g.opt()}
		}
	case 2:
		p.Kind = a2a.PartKind("weird") // written as text
		p.Text = g.str()
	default:
		p.Kind = a2a.PartText
		p.Text = g.str()
	}
	return p
}

func (g *gen) parts() []a2a.Part {
	n := g.rng.IntN(4)
	if n == 0 && g.maybe() {
		return nil
	}
	out := make([]a2a.Part, n)
	for i := range out {
		out[i] = g.part()
	}
	return out
}

func (g *gen) message() *a2a.Message {
	roles := []a2a.Role{a2a.RoleUser, a2a.RoleAgent, a2a.RoleUnspecified, a2a.Role("martian")}
	return &a2a.Message{ID: g.str(), Role: roles[g.rng.IntN(len(roles))], Parts: g.parts(), TaskID: g.opt(), ContextID: g.opt(),
		Metadata: g.metadata(), ReferenceTaskIDs: g.strs(), Extensions: g.strs()}
}

func (g *gen) artifact() a2a.Artifact {
	return a2a.Artifact{ID: g.str(), Name: g.opt(), Description: g.opt(), Parts: g.parts(), Metadata: g.metadata(), Extensions: g.strs()}
}

func (g *gen) status() a2a.TaskStatus {
	states := []a2a.TaskState{a2a.StateSubmitted, a2a.StateWorking, a2a.StateCompleted, a2a.StateFailed, a2a.StateCanceled,
		a2a.StateRejected, a2a.StateInputRequired, a2a.StateAuthRequired, "", "TASK_STATE_WORKING", "nonsense"}
	s := a2a.TaskStatus{State: states[g.rng.IntN(len(states))]}
	if g.maybe() {
		s.Message = g.message()
	}
	switch g.rng.IntN(4) {
	case 0:
		s.Timestamp = time.Date(2026, 12, 3, 4, 5, 6, g.rng.IntN(1e9), time.UTC)
	case 1:
		s.Timestamp = time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", -7*3600))
	case 2:
		s.Timestamp = time.Unix(int64(g.rng.Uint32()), 0)
	}
	return s
}

func (g *gen) task() *a2a.Task {
	t := &a2a.Task{ID: g.str(), ContextID: g.opt(), Status: g.status(), Metadata: g.metadata()}
	for range g.rng.IntN(3) {
		t.History = append(t.History, *g.message())
	}
	for range g.rng.IntN(3) {
		t.Artifacts = append(t.Artifacts, g.artifact())
	}
	if g.rng.IntN(5) == 0 {
		t.History, t.Artifacts = []a2a.Message{}, []a2a.Artifact{}
	}
	return t
}

func (g *gen) events(t *a2a.Task) []a2a.Event {
	return []a2a.Event{
		t,
		g.message(),
		&a2a.StatusUpdateEvent{TaskID: g.str(), ContextID: g.opt(), Status: g.status(), Final: g.maybe(), Metadata: g.metadata()},
		&a2a.ArtifactUpdateEvent{TaskID: g.str(), ContextID: g.opt(), Artifact: g.artifact(), Append: g.maybe(), LastChunk: g.maybe(),
			Metadata: g.metadata()},
	}
}

// TestAppendNilEvents: nil and unknown events fail as before.
func TestAppendNilEvents(t *testing.T) {
	c := codec{v10: true}
	for _, ev := range []a2a.Event{(*a2a.Task)(nil), (*a2a.Message)(nil), (*a2a.StatusUpdateEvent)(nil), (*a2a.ArtifactUpdateEvent)(nil), nil} {
		got, gerr := c.EncodeEvent(ev)
		_, werr := c.fromEvent(ev)
		if gerr == nil || werr == nil || gerr.Error() != werr.Error() || got != nil {
			t.Fatalf("%T: %s, %v; fromEvent: %v", ev, got, gerr, werr)
		}
		if got, aerr := AppendEventV10(nil, ev); aerr == nil || aerr.Error() != werr.Error() || got != nil {
			t.Fatalf("%T: AppendEventV10: %s, %v; fromEvent: %v", ev, got, aerr, werr)
		}
	}
}

// FuzzAppendMatchesMarshal: whatever an event decodes to, the v1.0
// encoders write what json.Marshal writes for it.
func FuzzAppendMatchesMarshal(f *testing.F) {
	f.Add([]byte(`{"task":{"id":"t","contextId":"c","status":{"state":"TASK_STATE_COMPLETED","timestamp":"2026-01-01T00:00:00Z"},"history":[{"messageId":"m","role":"ROLE_USER","parts":[{"text":"echo <hi>"}]}],"artifacts":[{"artifactId":"a","parts":[{"data":{"x": 1}},{"raw":"aGk=","filename":"f"},{"url":"u"}]}],"metadata":{"k":[1,"é"]}}}`))
	f.Add([]byte(`{"statusUpdate":{"taskId":"t","status":{"state":"TASK_STATE_WORKING","message":{"messageId":"m","role":"ROLE_AGENT","parts":[{"text":"\u2028"}],"referenceTaskIds":["r"],"extensions":["e"]}},"metadata":{"a":null}}}`))
	f.Add([]byte(`{"artifactUpdate":{"taskId":"t","artifact":{"artifactId":"a","name":"n","description":"d","parts":[{"text":"x","mediaType":"text/plain","metadata":{"m":1}}]},"append":true,"lastChunk":true}}`))
	f.Add([]byte(`{"kind":"message","messageId":"m","role":"user","parts":[{"kind":"file","file":{"bytes":"aGk=","mimeType":"x"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := codec{v10: true}
		ev, err := c.DecodeEvent(data)
		if err != nil {
			return
		}
		checkSame(t, "fuzzed", ev)
		got, gerr := c.EncodeResult(json.RawMessage(`1`), MethodStream, ev)
		want, werr := c.marshalResult(json.RawMessage(`1`), MethodStream, ev)
		same(t, "fuzzed result", got, gerr, want, werr)
	})
}

// BenchmarkEncodeEchoTask: an echo task as a send's reply writes it, by
// hand and through json.Marshal of the e* values.
func BenchmarkEncodeEchoTask(b *testing.B) {
	c := codec{v10: true}
	now := time.Date(2026, 12, 3, 4, 5, 6, 123456789, time.UTC)
	id, ctx := "019ae2b4-1c2d-7e4f-8a9b-0c1d2e3f4a5b", "019ae2b4-1c2d-7e4f-8a9b-0c1d2e3f4a5c"
	task := &a2a.Task{ID: id, ContextID: ctx,
		Status: a2a.TaskStatus{State: a2a.StateCompleted, Timestamp: now, Message: &a2a.Message{ID: "019ae2b4-1c2d-7e4f-8a9b-0c1d2e3f4a5d",
			Role: a2a.RoleAgent, Parts: []a2a.Part{a2a.TextPart("echoed")}, TaskID: id, ContextID: ctx}},
		History:   []a2a.Message{{ID: "bench-1", Role: a2a.RoleUser, Parts: []a2a.Part{a2a.TextPart("echo hi")}, TaskID: id, ContextID: ctx}},
		Artifacts: []a2a.Artifact{{ID: "019ae2b4-1c2d-7e4f-8a9b-0c1d2e3f4a5e", Name: "echo", Parts: []a2a.Part{a2a.TextPart("hi")}}}}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.EncodeResult(json.RawMessage(`1`), MethodSend, &a2a.SendResult{Task: task}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reflect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.marshalResult(json.RawMessage(`1`), MethodSend, &a2a.SendResult{Task: task}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// sameDecode: DecodeRequestAny answers body as the general path does.
func sameDecode(t *testing.T, body []byte) {
	t.Helper()
	c1, r1, e1 := DecodeRequestAny(body)
	c2, r2, e2 := decodeRequestGeneral(body)
	if c1.Version() != c2.Version() || !reflect.DeepEqual(r1, r2) || fmt.Sprint(e1) != fmt.Sprint(e2) {
		t.Fatalf("%s:\nfast    %s %+v %v\ngeneral %s %+v %v", body, c1.Version(), r1, e1, c2.Version(), r2, e2)
	}
}

var envelopeSeeds = []string{
	`{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"echo hi"}]}}}`,
	` { "jsonrpc" : "2.0" , "id" : "a-1" , "method" : "message/send" , "params" : {"message":{"messageId":"m","role":"user","parts":[{"kind":"text","text":"x}\"]"}]},"configuration":{"blocking":false}} } `,
	`{"params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[]}},"method":"SendStreamingMessage","id":null,"jsonrpc":"2.0"}`,
	`{"jsonrpc":"2.0","method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"n"}]}}}`,
	`{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":null}`,
	`{"jsonrpc":"2.0","id":1,"method":"SendMessage"}`,
	`{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"nobody","parts":[]}}}`,
	`{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[}}}`,
	`{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[]}}} x`,
	`{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[]}},"params":{}}`,
	`{"jsonrpc":"2.0","id":1,"Method":"GetTask","method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[]}}}`,
	`{"jsonrpc":"2.0","id":{"a":1},"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[]}}}`,
	`{"jsonrpc":"2.0","id":01,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[]}}}`,
	`{"jsonrpc":"2.0","id":"\u00e9","method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[]}}}`,
	`{"jsonrpc":"1.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[]}}}`,
	`{"jsonrpc":"2.0","id":1,"method":"Send\u004dessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[]}}}`,
	`{"jsonrpc":"2.0","id":1,"method":"GetExtendedAgentCard","params":{bad}}`,
	`{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"t"}}`,
	`{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":5}`,
	`{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":"x"}`,
	`{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"a"}]}},}`,
	`{"jsonrpc":"2.0","id":-1.5e3,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"a"}],"metadata":{"k":[1,{"z":null}]}}}}`,
	`[{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{}}]`, `{}`, ``, `{`, `{"jsonrpc":"2.0",}`, `{"id":1 "method":"SendMessage"}`,
}

// TestDecodeSendFastMatches: requests, good and bad, decode alike with
// and without the hand-read envelope.
func TestDecodeSendFastMatches(t *testing.T) {
	for _, body := range envelopeSeeds {
		sameDecode(t, []byte(body))
	}
	fast := 0
	for _, body := range envelopeSeeds[:4] {
		if _, _, ok := decodeSendFast([]byte(body)); ok {
			fast++
		}
	}
	if fast != 4 {
		t.Fatalf("%d of the 4 plain sends took the fast path", fast)
	}
}

func FuzzDecodeSendFast(f *testing.F) {
	for _, body := range envelopeSeeds {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) { sameDecode(t, body) })
}

// BenchmarkDecodeSend: the load generator's send, with the hand-read
// envelope and the general way.
func BenchmarkDecodeSend(b *testing.B) {
	body := []byte(`{"jsonrpc":"2.0","id":17,"method":"SendMessage","params":{"message":{"messageId":"5b8f0a4e-2c8d-4e61-a3f0-1d2e3c4b5a69","role":"ROLE_USER","parts":[{"text":"echo hi"}]}}}`)
	for _, tc := range []struct {
		name string
		fn   func([]byte) (Codec, *Request, error)
	}{{"fast", DecodeRequestAny}, {"general", decodeRequestGeneral}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := tc.fn(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
