package wire_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
)

// The fuzz targets check that no input makes a decoder panic, and that what
// a decoder accepts is stable: encoding it and decoding again reaches a
// fixed point after one pass (the first pass may normalise: compact JSON,
// canonical states, defaults), so nothing is silently mangled twice.
// Seeds are the recorded transcripts.

func codecFor(v10 bool) wire.Codec {
	if v10 {
		return wire.V10()
	}
	return wire.V03()
}

// transcriptResults returns the "result" member of every recorded response.
func transcriptResults(tb testing.TB) [][]byte {
	var out [][]byte
	for _, ex := range loadTranscripts(tb) {
		for _, body := range responseBodies(ex) {
			var env struct {
				Result json.RawMessage `json:"result"`
			}
			if json.Unmarshal(body, &env) == nil && env.Result != nil {
				out = append(out, env.Result)
			}
		}
	}
	return out
}

func FuzzDecodeEvent(f *testing.F) {
	for _, r := range transcriptResults(f) {
		f.Add(true, r)
		f.Add(false, r)
	}
	// Shapes seen on servers in the wild: no kind, extra fields.
	for _, name := range []string{"event-task-nokind.json", "event-status-nokind.json", "event-artifact-nokind.json",
		"event-message-nokind.json", "event-bad-kind-task-without-id.json"} {
		f.Add(false, wild(f, name))
	}
	f.Fuzz(func(t *testing.T, v10 bool, data []byte) {
		c := codecFor(v10)
		ev, err := c.DecodeEvent(data)
		if err != nil {
			return
		}
		if ev == nil {
			t.Fatal("nil event without an error")
		}
		first, err := c.EncodeEvent(ev)
		if err != nil {
			t.Fatalf("encode a decoded %T: %v", ev, err)
		}
		back, err := c.DecodeEvent(first)
		if err != nil {
			t.Fatalf("decode our own %s: %v", first, err)
		}
		second, err := c.EncodeEvent(back)
		if err != nil || !bytes.Equal(first, second) {
			t.Fatalf("not stable:\n%s\n%s (%v)", first, second, err)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	for _, ex := range loadTranscripts(f) {
		if ex.Body == nil {
			continue
		}
		call := decodeCall(ex)
		m := wire.MethodGet
		if call.err == nil {
			m = call.req.Method
		}
		for _, body := range responseBodies(ex) {
			f.Add(ex.Dialect() == "1.0", uint8(m), body)
		}
	}
	f.Fuzz(func(t *testing.T, v10 bool, method uint8, data []byte) {
		c := codecFor(v10)
		m := wire.Method(method % 12)
		v, err := c.DecodeResponse(m, data)
		if err != nil {
			if e, ok := err.(*a2a.Error); ok {
				// A JSON-RPC error must survive a round trip.
				b, err := c.EncodeError(json.RawMessage("1"), e)
				if err != nil {
					t.Fatalf("encode error %#v: %v", e, err)
				}
				if _, err := c.DecodeResponse(m, b); err == nil {
					t.Fatalf("error %s decoded as a result", b)
				}
			}
			return
		}
		first, err := c.EncodeResult(json.RawMessage("1"), m, v)
		if err != nil {
			t.Fatalf("encode a decoded %s result %T: %v", m, v, err)
		}
		back, err := c.DecodeResponse(m, first)
		if err != nil {
			t.Fatalf("decode our own %s: %v", first, err)
		}
		second, err := c.EncodeResult(json.RawMessage("1"), m, back)
		if err != nil || !bytes.Equal(first, second) {
			t.Fatalf("not stable:\n%s\n%s (%v)", first, second, err)
		}
	})
}

func FuzzDecodeRequest(f *testing.F) {
	for _, ex := range loadTranscripts(f) {
		if ex.Body != nil {
			f.Add(ex.Dialect() == "1.0", ex.Body)
		}
	}
	f.Fuzz(func(t *testing.T, v10 bool, data []byte) {
		c := codecFor(v10)
		req, err := c.DecodeRequest(data)
		if req == nil || req.ID == nil {
			t.Fatalf("no request (or no id) returned: %v", err)
		}
		if err != nil {
			if _, ok := err.(*a2a.Error); !ok {
				t.Fatalf("error is %T, want *a2a.Error: %v", err, err)
			}
			return
		}
		first, err := c.EncodeRequest(req.ID, req.Method, req.Params)
		if err != nil {
			t.Fatalf("encode a decoded %s request: %v", req.Name, err)
		}
		back, err := c.DecodeRequest(first)
		if err != nil {
			t.Fatalf("decode our own %s: %v", first, err)
		}
		second, err := c.EncodeRequest(back.ID, back.Method, back.Params)
		if err != nil || !bytes.Equal(first, second) {
			t.Fatalf("not stable:\n%s\n%s (%v)", first, second, err)
		}
		if _, anyReq, err := wire.DecodeRequestAny(data); err != nil || anyReq.Method != req.Method {
			t.Fatalf("DecodeRequestAny disagrees: %v", err)
		}
	})
}

func FuzzDecodeCard(f *testing.F) {
	for _, ex := range loadTranscripts(f) {
		if ex.Body == nil && len(ex.RespBody) > 0 {
			f.Add(true, ex.RespBody)
			f.Add(false, ex.RespBody)
		}
	}
	f.Fuzz(func(t *testing.T, v10 bool, data []byte) {
		c := codecFor(v10)
		card, err := c.DecodeCard(data)
		if err != nil {
			return
		}
		first, err := c.EncodeCard(card)
		if err != nil {
			t.Fatalf("encode a decoded card: %v", err)
		}
		back, err := c.DecodeCard(first)
		if err != nil {
			t.Fatalf("decode our own %s: %v", first, err)
		}
		second, err := c.EncodeCard(back)
		if err != nil || !bytes.Equal(first, second) {
			t.Fatalf("not stable:\n%s\n%s (%v)", first, second, err)
		}
		card.AllInterfaces()
	})
}

// FuzzApply decodes newline-separated events and folds them. Apply may
// refuse an event, but must never panic or modify the task it was given.
func FuzzApply(f *testing.F) {
	for _, ex := range loadTranscripts(f) {
		if !ex.Streaming() {
			continue
		}
		var lines [][]byte
		for _, body := range ex.Events {
			var env struct {
				Result json.RawMessage `json:"result"`
			}
			if json.Unmarshal(body, &env) == nil && env.Result != nil {
				lines = append(lines, env.Result)
			}
		}
		f.Add(ex.Dialect() == "1.0", bytes.Join(lines, []byte("\n")))
	}
	f.Fuzz(func(t *testing.T, v10 bool, data []byte) {
		c := codecFor(v10)
		var task *a2a.Task
		var events []a2a.Event
		for _, line := range bytes.Split(data, []byte("\n")) {
			ev, err := c.DecodeEvent(line)
			if err != nil {
				continue
			}
			events = append(events, ev)
			var before []byte
			if task != nil {
				if before, err = c.EncodeTask(task); err != nil {
					t.Fatalf("encode task: %v", err)
				}
			}
			next, err := a2a.Apply(task, ev)
			if task != nil {
				after, _ := c.EncodeTask(task)
				if !bytes.Equal(before, after) {
					t.Fatalf("Apply modified its input:\n%s\n%s", before, after)
				}
			}
			if err != nil {
				continue
			}
			task = next
		}
		// Fold stops at the first refused event; it must agree with the
		// loop above up to there.
		folded, err := a2a.Fold(nil, events...)
		if err == nil && !reflect.DeepEqual(folded, task) {
			t.Fatalf("Fold and Apply disagree:\n%s\n%s", dump(folded), dump(task))
		}
	})
}
