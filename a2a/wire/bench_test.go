package wire_test

import (
	"encoding/json"
	"strings"
	"testing"

	sdklegacy "github.com/a2aproject/a2a-go/a2a"
	sdk "github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2acompat/a2av0"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
)

// The benchmarks decode one SSE event's data (a full JSON-RPC response) the
// way a client does, with our codec and with the a2a-go v2.4.0 SDK's own
// client path: its JSON-RPC envelope with a json.RawMessage result, then
// a2a.StreamResponse (v1.0), or the legacy v0.3 event plus a2av0.ToV1Event
// (v0.3), as a2av0's JSON-RPC client does. That legacy event type lives in
// the v0.3 module github.com/a2aproject/a2a-go, which a2av0 itself imports:
// the module is in the build of every test that runs an a2a-go peer
// (internal/testkit/a2apeer), so go.mod would list it (as indirect) even
// without this import. The SDK's envelope is private; sdkEnvelope is the same shape
// except that its id is raw JSON (the SDK's is a string, which cannot hold
// the numeric ids of these transcripts).

type sdkEnvelope struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data,omitempty"`
	} `json:"error,omitempty"`
}

func sdkDecodeV10(data []byte) (sdk.Event, error) {
	var env sdkEnvelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, err
	}
	var sr sdk.StreamResponse
	if err := json.Unmarshal(env.Result, &sr); err != nil {
		return nil, err
	}
	return sr.Event, nil
}

func sdkDecodeV03(data []byte) (sdk.Event, error) {
	var env sdkEnvelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, err
	}
	ev, err := sdklegacy.UnmarshalEventJSON(env.Result)
	if err != nil {
		return nil, err
	}
	return a2av0.ToV1Event(ev)
}

// recordedEvent returns the data of the first SSE event in a transcript
// file that contains substr.
func recordedEvent(tb testing.TB, file, substr string) []byte {
	tb.Helper()
	for _, ex := range loadTranscripts(tb) {
		if ex.File != file {
			continue
		}
		for _, data := range ex.Events {
			if strings.Contains(string(data), substr) {
				return data
			}
		}
	}
	tb.Fatalf("no event with %q in %s", substr, file)
	return nil
}

// The status updates are the first "step 1/3" of a recorded 'slow' stream:
// a working state with an agent message, as a2a-go sends it.
func statusV10(tb testing.TB) []byte {
	return recordedEvent(tb, "go-v1.0-stream-slow.txt", "step 1/3")
}

func statusV03(tb testing.TB) []byte {
	return recordedEvent(tb, "go-v0.3-stream-slow.txt", "step 1/3")
}

// bigArtifactEvent is a 1 MiB text artifact chunk as a JSON-RPC stream
// response, written by our encoder (checked against a2a-go's shape by the
// transcript tests).
func bigArtifactEvent(tb testing.TB, c wire.Codec) []byte {
	tb.Helper()
	line := "The quick brown fox \"jumps\" over the lazy dog;\tline <%d> & more…\n"
	var sb strings.Builder
	for sb.Len() < 1<<20 {
		sb.WriteString(line)
	}
	ev := &a2a.ArtifactUpdateEvent{
		TaskID: "01a20b50-4f87-7a50-abe6-c85f95a580ec", ContextID: "01a20b50-4f87-7b88-a862-2e36a4fe9609",
		Artifact: a2a.Artifact{ID: "01a20b50-51e1-76a0-9804-cf11a847497a", Name: "big",
			Parts: []a2a.Part{a2a.TextPart(sb.String()[:1<<20])}},
		Append: true,
	}
	b, err := c.EncodeResult(json.RawMessage(`1`), wire.MethodStream, ev)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func benchOurs(b *testing.B, c wire.Codec, data []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := c.DecodeResponse(wire.MethodStream, data); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSDK(b *testing.B, decode func([]byte) (sdk.Event, error), data []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeStatusV10(b *testing.B) {
	data := statusV10(b)
	b.Run("ours", func(b *testing.B) { benchOurs(b, wire.V10(), data) })
	b.Run("sdk", func(b *testing.B) { benchSDK(b, sdkDecodeV10, data) })
}

func BenchmarkDecodeStatusV03(b *testing.B) {
	data := statusV03(b)
	b.Run("ours", func(b *testing.B) { benchOurs(b, wire.V03(), data) })
	b.Run("sdk", func(b *testing.B) { benchSDK(b, sdkDecodeV03, data) })
}

func BenchmarkDecodeArtifact1MiBV10(b *testing.B) {
	data := bigArtifactEvent(b, wire.V10())
	b.Run("ours", func(b *testing.B) { benchOurs(b, wire.V10(), data) })
	b.Run("sdk", func(b *testing.B) { benchSDK(b, sdkDecodeV10, data) })
}

func BenchmarkDecodeArtifact1MiBV03(b *testing.B) {
	data := bigArtifactEvent(b, wire.V03())
	b.Run("ours", func(b *testing.B) { benchOurs(b, wire.V03(), data) })
	b.Run("sdk", func(b *testing.B) { benchSDK(b, sdkDecodeV03, data) })
}

// TestBenchInputsDecodeAlike makes sure both sides of each benchmark read
// the same event: same kind, same text.
func TestBenchInputsDecodeAlike(t *testing.T) {
	cases := []struct {
		name string
		c    wire.Codec
		sdk  func([]byte) (sdk.Event, error)
		data []byte
	}{
		{"status v1.0", wire.V10(), sdkDecodeV10, statusV10(t)},
		{"status v0.3", wire.V03(), sdkDecodeV03, statusV03(t)},
		{"artifact v1.0", wire.V10(), sdkDecodeV10, bigArtifactEvent(t, wire.V10())},
		{"artifact v0.3", wire.V03(), sdkDecodeV03, bigArtifactEvent(t, wire.V03())},
	}
	for _, tc := range cases {
		ours, err := tc.c.DecodeResponse(wire.MethodStream, tc.data)
		if err != nil {
			t.Fatalf("%s: ours: %v", tc.name, err)
		}
		theirs, err := tc.sdk(tc.data)
		if err != nil {
			t.Fatalf("%s: sdk: %v", tc.name, err)
		}
		switch o := ours.(type) {
		case *a2a.StatusUpdateEvent:
			s, ok := theirs.(*sdk.TaskStatusUpdateEvent)
			if !ok || string(s.TaskID) != o.TaskID || s.Status.Message.Parts[0].Text() != o.Status.Message.Text() {
				t.Errorf("%s: decoders disagree: %#v vs %#v", tc.name, o, theirs)
			}
		case *a2a.ArtifactUpdateEvent:
			s, ok := theirs.(*sdk.TaskArtifactUpdateEvent)
			if !ok || string(s.TaskID) != o.TaskID || s.Artifact.Parts[0].Text() != a2a.PartsText(o.Artifact.Parts) || len(a2a.PartsText(o.Artifact.Parts)) != 1<<20 {
				t.Errorf("%s: decoders disagree", tc.name)
			}
		default:
			t.Errorf("%s: got %T", tc.name, ours)
		}
	}
}
