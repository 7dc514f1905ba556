package wire

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/a2atop/a2atop/a2a"
)

// Codec encodes and decodes one dialect of A2A JSON-RPC. Codecs are
// stateless values, safe for concurrent use.
type Codec interface {
	// Version is "1.0" or "0.3".
	Version() string

	EncodeTask(*a2a.Task) ([]byte, error)
	DecodeTask([]byte) (*a2a.Task, error)
	EncodeMessage(*a2a.Message) ([]byte, error)
	DecodeMessage([]byte) (*a2a.Message, error)
	// EncodeEvent and DecodeEvent handle one stream result: the v1.0
	// wrapper or the v0.3 kind-tagged object.
	EncodeEvent(a2a.Event) ([]byte, error)
	DecodeEvent([]byte) (a2a.Event, error)
	EncodeCard(*a2a.AgentCard) ([]byte, error)
	DecodeCard([]byte) (*a2a.AgentCard, error)

	// MethodName is the dialect's name for m, and false when the dialect
	// has no such method (v0.3 has no ListTasks).
	MethodName(m Method) (string, bool)
	// ParseMethod maps a method name of this dialect to its Method.
	ParseMethod(name string) (Method, bool)

	// EncodeRequest builds a JSON-RPC request. id is any JSON value
	// (json.RawMessage is used as is). See the package doc for params.
	EncodeRequest(id any, m Method, params any) ([]byte, error)
	// DecodeRequest parses a JSON-RPC request of this dialect. On error the
	// returned Request is still non-nil and carries the ID (JSON null when
	// unknown) so that a server can answer; the error is a *a2a.Error with
	// code -32700, -32600, -32601 or -32602.
	DecodeRequest(body []byte) (*Request, error)

	// EncodeResult builds the JSON-RPC response to a request for m. See the
	// package doc for the result type of each method.
	EncodeResult(id json.RawMessage, m Method, result any) ([]byte, error)
	// EncodeError builds a JSON-RPC error response.
	EncodeError(id json.RawMessage, e *a2a.Error) ([]byte, error)
	// DecodeResponse parses the response (or one SSE event's data) to a
	// request for m. A JSON-RPC error is returned as a *a2a.Error.
	DecodeResponse(m Method, body []byte) (any, error)
}

// V10 is the A2A v1.0 JSON-RPC dialect.
func V10() Codec { return codec{v10: true} }

// V03 is the A2A v0.3 JSON-RPC dialect.
func V03() Codec { return codec{v10: false} }

// ForVersion returns the codec for a protocol version: "1.0", "1" or "0.3"
// (surrounding space and a leading "v" are ignored).
func ForVersion(v string) (Codec, error) {
	switch strings.TrimPrefix(strings.TrimSpace(v), "v") {
	case "1.0", "1", "1.0.0", "1.0.1":
		return V10(), nil
	case "0.3", "0.3.0":
		return V03(), nil
	}
	return nil, fmt.Errorf("wire: protocol version %q: %w", v, a2a.ErrVersionNotSupported)
}

// codec implements both dialects; v10 selects the encoding. Decoding accepts
// either dialect's spellings in both.
type codec struct{ v10 bool }

func (c codec) Version() string {
	if c.v10 {
		return a2a.Version10
	}
	return a2a.Version03
}

func (c codec) EncodeTask(t *a2a.Task) ([]byte, error) {
	if t == nil {
		return nil, fmt.Errorf("wire: encode task: nil")
	}
	if c.v10 {
		return c.appendTask(make([]byte, 0, taskBufSize), t)
	}
	return json.Marshal(c.fromTask(t))
}

func (c codec) DecodeTask(b []byte) (*a2a.Task, error) {
	var w dTask
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("wire: decode task: %w", err)
	}
	return toTask(&w), nil
}

func (c codec) EncodeMessage(m *a2a.Message) ([]byte, error) {
	if m == nil {
		return nil, fmt.Errorf("wire: encode message: nil")
	}
	if c.v10 {
		return c.appendMessage(make([]byte, 0, eventBufSize), m)
	}
	return json.Marshal(c.fromMessage(m))
}

func (c codec) DecodeMessage(b []byte) (*a2a.Message, error) {
	var w dMessage
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("wire: decode message: %w", err)
	}
	m := toMessage(&w)
	return &m, nil
}

// Initial capacities of the buffers the v1.0 encoders append to: an echo
// task is about 700 bytes, one of its events 150 to 400.
const (
	taskBufSize  = 1024
	eventBufSize = 512
)

func (c codec) EncodeEvent(ev a2a.Event) ([]byte, error) {
	if c.v10 {
		if b, ok, err := c.appendEvent(make([]byte, 0, eventBufSize), ev); ok {
			return b, err
		}
	}
	w, err := c.fromEvent(ev)
	if err != nil {
		return nil, err
	}
	return json.Marshal(w)
}

// fromEvent returns the wire value of an event: the v1.0 wrapper or the
// v0.3 tagged object.
func (c codec) fromEvent(ev a2a.Event) (any, error) {
	if c.v10 {
		var w v10Event
		switch ev := ev.(type) {
		case *a2a.Task:
			if ev == nil {
				return nil, fmt.Errorf("wire: encode event: nil task")
			}
			w.Task = c.fromTask(ev)
		case *a2a.Message:
			if ev == nil {
				return nil, fmt.Errorf("wire: encode event: nil message")
			}
			w.Message = c.fromMessage(ev)
		case *a2a.StatusUpdateEvent:
			if ev == nil {
				return nil, fmt.Errorf("wire: encode event: nil status update")
			}
			w.StatusUpdate = c.fromStatusUpdate(ev)
		case *a2a.ArtifactUpdateEvent:
			if ev == nil {
				return nil, fmt.Errorf("wire: encode event: nil artifact update")
			}
			w.ArtifactUpdate = c.fromArtifactUpdate(ev)
		default:
			return nil, fmt.Errorf("wire: encode event: unsupported type %T", ev)
		}
		return &w, nil
	}
	switch ev := ev.(type) {
	case *a2a.Task:
		if ev == nil {
			return nil, fmt.Errorf("wire: encode event: nil task")
		}
		return c.fromTask(ev), nil
	case *a2a.Message:
		if ev == nil {
			return nil, fmt.Errorf("wire: encode event: nil message")
		}
		return c.fromMessage(ev), nil
	case *a2a.StatusUpdateEvent:
		if ev == nil {
			return nil, fmt.Errorf("wire: encode event: nil status update")
		}
		return c.fromStatusUpdate(ev), nil
	case *a2a.ArtifactUpdateEvent:
		if ev == nil {
			return nil, fmt.Errorf("wire: encode event: nil artifact update")
		}
		return c.fromArtifactUpdate(ev), nil
	}
	return nil, fmt.Errorf("wire: encode event: unsupported type %T", ev)
}

func (c codec) DecodeEvent(b []byte) (a2a.Event, error) {
	var w wEvent
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("wire: decode event: %w", err)
	}
	ev, err := w.toEvent()
	if err != nil {
		return nil, fmt.Errorf("wire: decode event: %w", err)
	}
	return ev, nil
}
