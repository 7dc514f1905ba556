package wire

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/a2atop/a2atop/a2a"
)

// The v1.0 encoders write tasks, messages and stream events by hand: the
// bytes json.Marshal writes for the e* structs (same member order, same
// omitempty, same escaping), without reflection and without building the
// e* values first. Every send encodes its task for the reply, and the
// stores encode the task and each event again (the memory store when it
// freezes a task, bbolt and PostgreSQL on every commit); through
// encoding/json that was about a tenth of a send's CPU. What is unusual
// (a metadata map, a data or file part, a string that needs escapes) is
// handed to json.Marshal for that value alone, so the output stays
// json.Marshal's by construction; TestAppendMatchesMarshal compares the
// two on generated and recorded objects. v0.3 keeps the reflective path.

// appendTask appends the v1.0 JSON of t (eTask).
func (c codec) appendTask(b []byte, t *a2a.Task) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendString(b, t.ID)
	b = appendOptString(b, `,"contextId":`, t.ContextID)
	b = append(b, `,"status":`...)
	b, err := c.appendStatus(b, &t.Status)
	if err != nil {
		return nil, err
	}
	if len(t.History) > 0 {
		b = append(b, `,"history":[`...)
		for i := range t.History {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = c.appendMessage(b, &t.History[i]); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	if len(t.Artifacts) > 0 {
		b = append(b, `,"artifacts":[`...)
		for i := range t.Artifacts {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = c.appendArtifact(b, &t.Artifacts[i]); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	if b, err = appendMetadata(b, t.Metadata); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendStatus appends a task status (eStatus).
func (c codec) appendStatus(b []byte, s *a2a.TaskStatus) ([]byte, error) {
	b = append(b, `{"state":`...)
	b = appendString(b, c.state(s.State))
	if s.Message != nil {
		b = append(b, `,"message":`...)
		var err error
		if b, err = c.appendMessage(b, s.Message); err != nil {
			return nil, err
		}
	}
	if !s.Timestamp.IsZero() {
		// RFC 3339 text is digits, '-', ':', '.', 'T', 'Z' and '+': no
		// escapes, as formatTime's string would need none.
		b = append(b, `,"timestamp":"`...)
		b = s.Timestamp.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	return append(b, '}'), nil
}

// appendMessage appends a message (eMessage).
func (c codec) appendMessage(b []byte, m *a2a.Message) ([]byte, error) {
	b = append(b, `{"messageId":`...)
	b = appendString(b, m.ID)
	b = appendOptString(b, `,"role":`, c.role(m.Role))
	b = append(b, `,"parts":`...)
	b, err := c.appendParts(b, m.Parts)
	if err != nil {
		return nil, err
	}
	b = appendOptString(b, `,"taskId":`, m.TaskID)
	b = appendOptString(b, `,"contextId":`, m.ContextID)
	if b, err = appendMetadata(b, m.Metadata); err != nil {
		return nil, err
	}
	b = appendStrings(b, `,"referenceTaskIds":`, m.ReferenceTaskIDs)
	b = appendStrings(b, `,"extensions":`, m.Extensions)
	return append(b, '}'), nil
}

// appendArtifact appends an artifact (eArtifact).
func (c codec) appendArtifact(b []byte, a *a2a.Artifact) ([]byte, error) {
	b = append(b, `{"artifactId":`...)
	b = appendString(b, a.ID)
	b = appendOptString(b, `,"name":`, a.Name)
	b = appendOptString(b, `,"description":`, a.Description)
	b = append(b, `,"parts":`...)
	b, err := c.appendParts(b, a.Parts)
	if err != nil {
		return nil, err
	}
	if b, err = appendMetadata(b, a.Metadata); err != nil {
		return nil, err
	}
	b = appendStrings(b, `,"extensions":`, a.Extensions)
	return append(b, '}'), nil
}

// appendParts appends parts (fromParts): always an array, "parts" is
// required on the wire.
func (c codec) appendParts(b []byte, ps []a2a.Part) ([]byte, error) {
	b = append(b, '[')
	for i := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = c.appendPart(b, &ps[i]); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendPart appends a part in fromPart's shape: text (and any kind
// fromPart writes as text) by hand, data and file parts through
// json.Marshal (their raw JSON is re-compacted and escaped there).
func (c codec) appendPart(b []byte, p *a2a.Part) ([]byte, error) {
	if p.Kind == a2a.PartData || p.Kind == a2a.PartFile {
		return appendMarshal(b, c.fromPart(p))
	}
	b = append(b, `{"text":`...)
	b = appendString(b, p.Text)
	b = appendOptString(b, `,"mediaType":`, p.MediaType)
	b, err := appendMetadata(b, p.Metadata)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendStatusUpdate appends a status update (eStatusUpdate; v1.0 has no
// final).
func (c codec) appendStatusUpdate(b []byte, ev *a2a.StatusUpdateEvent) ([]byte, error) {
	b = append(b, `{"taskId":`...)
	b = appendString(b, ev.TaskID)
	b = appendOptString(b, `,"contextId":`, ev.ContextID)
	b = append(b, `,"status":`...)
	b, err := c.appendStatus(b, &ev.Status)
	if err != nil {
		return nil, err
	}
	if b, err = appendMetadata(b, ev.Metadata); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendArtifactUpdate appends an artifact update (eArtifactUpdate).
func (c codec) appendArtifactUpdate(b []byte, ev *a2a.ArtifactUpdateEvent) ([]byte, error) {
	b = append(b, `{"taskId":`...)
	b = appendString(b, ev.TaskID)
	b = appendOptString(b, `,"contextId":`, ev.ContextID)
	b = append(b, `,"artifact":`...)
	b, err := c.appendArtifact(b, &ev.Artifact)
	if err != nil {
		return nil, err
	}
	if ev.Append {
		b = append(b, `,"append":true`...)
	}
	if ev.LastChunk {
		b = append(b, `,"lastChunk":true`...)
	}
	if b, err = appendMetadata(b, ev.Metadata); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendEvent appends the v1.0 stream-result wrapper of ev (v10Event).
// ok is false for what it does not handle (a nil or unknown event), which
// the caller leaves to fromEvent and its errors.
func (c codec) appendEvent(b []byte, ev a2a.Event) (out []byte, ok bool, err error) {
	switch ev := ev.(type) {
	case *a2a.Task:
		if ev != nil {
			out, err = c.appendTask(append(b, `{"task":`...), ev)
			return closeWrapper(out, err)
		}
	case *a2a.Message:
		if ev != nil {
			out, err = c.appendMessage(append(b, `{"message":`...), ev)
			return closeWrapper(out, err)
		}
	case *a2a.StatusUpdateEvent:
		if ev != nil {
			out, err = c.appendStatusUpdate(append(b, `{"statusUpdate":`...), ev)
			return closeWrapper(out, err)
		}
	case *a2a.ArtifactUpdateEvent:
		if ev != nil {
			out, err = c.appendArtifactUpdate(append(b, `{"artifactUpdate":`...), ev)
			return closeWrapper(out, err)
		}
	}
	return nil, false, nil
}

func closeWrapper(b []byte, err error) ([]byte, bool, error) {
	if err != nil {
		return nil, true, err
	}
	return append(b, '}'), true, nil
}

// appendResultHead appends a JSON-RPC result's members up to the result
// value (rpcResult); false when the id is one json.Marshal would rewrite
// (space, HTML characters, non-ASCII) or reject, which the caller leaves
// to the reflective path.
func appendResultHead(b []byte, id json.RawMessage) ([]byte, bool) {
	for _, ch := range id {
		if ch <= ' ' || ch >= utf8.RuneSelf || ch == '<' || ch == '>' || ch == '&' {
			return nil, false
		}
	}
	if !json.Valid(id) {
		return nil, false
	}
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, id...)
	return append(b, `,"result":`...), true
}

// appendOptString appends member (`,"name":`) and s unless s is empty
// (omitempty).
func appendOptString(b []byte, member, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(append(b, member...), s)
}

// appendStrings appends member and ss unless ss is empty (omitempty).
func appendStrings(b []byte, member string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	b = append(b, member...)
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendMetadata appends a metadata member unless m is empty
// (omitempty), through json.Marshal: it sorts the keys and walks values
// of any type.
func appendMetadata(b []byte, m map[string]any) ([]byte, error) {
	if len(m) == 0 {
		return b, nil
	}
	return appendMarshal(append(b, `,"metadata":`...), m)
}

func appendMarshal(b []byte, v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, raw...), nil
}

// appendString appends s as a JSON string the way json.Marshal does. A
// string of printable ASCII other than '"', '\\', '<', '>' and '&', and
// valid UTF-8 beyond it except U+2028 and U+2029, is written as is;
// anything else (escapes, invalid UTF-8) is left to json.Marshal.
func appendString(b []byte, s string) []byte {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch >= utf8.RuneSelf:
			ascii = false
		case ch < ' ', ch == '"', ch == '\\', ch == '<', ch == '>', ch == '&':
			return appendStringSlow(b, s)
		}
	}
	if !ascii && !plainUTF8(s) {
		return appendStringSlow(b, s)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// plainUTF8: s is valid UTF-8 without U+2028 or U+2029, which
// json.Marshal escapes.
func plainUTF8(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
			return false // RuneError: invalid, or a literal U+FFFD (rare)
		}
	}
	return true
}

func appendStringSlow(b []byte, s string) []byte {
	raw, _ := json.Marshal(s) // a string always encodes
	return append(b, raw...)
}

// AppendTaskV10 appends the v1.0 JSON of t to dst, as V10().EncodeTask
// writes it, for callers that frame or prefix it (the stores) and would
// otherwise copy it.
func AppendTaskV10(dst []byte, t *a2a.Task) ([]byte, error) {
	if t == nil {
		return nil, fmt.Errorf("wire: encode task: nil")
	}
	return codec{v10: true}.appendTask(dst, t)
}

// AppendEventV10 appends the v1.0 stream-result wrapper of ev to dst, as
// V10().EncodeEvent writes it.
func AppendEventV10(dst []byte, ev a2a.Event) ([]byte, error) {
	c := codec{v10: true}
	if b, ok, err := c.appendEvent(dst, ev); ok {
		return b, err
	}
	b, err := c.EncodeEvent(ev) // what appendEvent leaves: nil or unknown events, errors
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}
