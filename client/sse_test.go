package client

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/a2atop/a2atop/a2a/wire"
)

func readAllEvents(t testing.TB, in string, max int) ([]sseEvent, error) {
	r := newEventReader(strings.NewReader(in), max)
	var out []sseEvent
	for {
		ev, err := r.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		ev.Data = bytes.Clone(ev.Data)
		out = append(out, ev)
	}
}

func TestEventReaderFraming(t *testing.T) {
	in := ": keep-alive\n\n" +
		"id: 1\ndata: {\"a\":1}\n\n" +
		"event: error\r\ndata:first\r\ndata: second\r\n\r\n" +
		"id: only-id\n\n" +
		"data\n\n" +
		"data: tail without blank line"
	evs, err := readAllEvents(t, in, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		data    string
		isError bool
	}{{`{"a":1}`, false}, {"first\nsecond", true}, {"", false}, {"tail without blank line", false}}
	if len(evs) != len(want) {
		t.Fatalf("got %d events: %+v", len(evs), evs)
	}
	for i, w := range want {
		if string(evs[i].Data) != w.data || evs[i].IsError != w.isError {
			t.Errorf("event %d: %q error=%v, want %q error=%v", i, evs[i].Data, evs[i].IsError, w.data, w.isError)
		}
	}
}

func TestEventReaderBoundsEvents(t *testing.T) {
	_, err := readAllEvents(t, "data: "+strings.Repeat("x", 2048), 1024)
	if !errors.Is(err, errEventTooLarge) {
		t.Fatalf("got %v, want errEventTooLarge", err)
	}
}

// FuzzEventStream feeds arbitrary bytes through the SSE framing and the
// v1.0 and v0.3 event decoders: never a panic, never an event above the cap,
// errors only of the expected kinds.
func FuzzEventStream(f *testing.F) {
	for _, seed := range []string{
		"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"task\":{\"id\":\"t\",\"contextId\":\"c\",\"status\":{\"state\":\"TASK_STATE_SUBMITTED\"}}}}\n\n",
		"id: x\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"kind\":\"status-update\",\"taskId\":\"t\",\"contextId\":\"c\",\"final\":true,\"status\":{\"state\":\"completed\"}}}\n\n",
		"event: error\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32001,\"message\":\"gone\"}}\n\n",
		": comment\r\n\r\ndata:\r\ndata:\r\n\r\n",
		"data: {\"result\":{\"artifactUpdate\":{\"artifact\":{\"parts\":[{\"raw\":\"!!\"}]}}}}\n\n",
		"\n\n\n\r\r",
	} {
		f.Add([]byte(seed))
	}
	const max = 4096
	f.Fuzz(func(t *testing.T, in []byte) {
		r := newEventReader(bytes.NewReader(in), max)
		for i := 0; i < 1000; i++ {
			ev, err := r.next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, errEventTooLarge) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				return
			}
			if len(ev.Data) > max {
				t.Fatalf("event of %d bytes passed a %d-byte cap", len(ev.Data), max)
			}
			for _, codec := range []wire.Codec{wire.V10(), wire.V03()} {
				res, err := codec.DecodeResponse(wire.MethodStream, ev.Data)
				if err == nil && res == nil {
					t.Fatalf("decode of %q gave neither a result nor an error", ev.Data)
				}
				if err != nil && !utf8.ValidString(err.Error()) && utf8.Valid(ev.Data) {
					t.Fatalf("error text is not UTF-8: %q", err)
				}
			}
		}
	})
}
