package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// The w* structs mirror the wire. One set serves both dialects: for decoding
// each struct has the union of both dialects' fields (they never clash), and
// for encoding the from* functions fill only the current dialect's fields,
// relying on omitempty. wPart is the decoding union of every part shape;
// the encoder writes the exact v10*Part and v03*Part structs instead.

type wPart struct {
	Kind     string          `json:"kind,omitempty"`
	Text     *string         `json:"text,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
	Metadata map[string]any  `json:"metadata,omitempty"`
	// v1.0 file fields
	Raw       []byte `json:"raw,omitempty"`
	URL       string `json:"url,omitempty"`
	Filename  string `json:"filename,omitempty"`
	MediaType string `json:"mediaType,omitempty"`
	// v0.3 file
	File *wFile `json:"file,omitempty"`
}

type wFile struct {
	Bytes    []byte `json:"bytes,omitempty"`
	URI      string `json:"uri,omitempty"`
	Name     string `json:"name,omitempty"`
	MimeType string `json:"mimeType,omitempty"`
	// Some v0.3 peers write mediaType inside the file object.
	MediaType string `json:"mediaType,omitempty"`
	// The v0.3 HTTP+JSON (proto JSON) spelling. fileWithBytes is base64 of
	// the base64 text, as the v0.3 SDKs write it (see decodeFileBytes).
	FileWithURI   string `json:"fileWithUri,omitempty"`
	FileWithBytes string `json:"fileWithBytes,omitempty"`
}

type wMessage[P any] struct {
	Kind             string         `json:"kind,omitempty"`
	MessageID        string         `json:"messageId"`
	Role             string         `json:"role,omitempty"`
	Parts            []P            `json:"parts"`
	TaskID           string         `json:"taskId,omitempty"`
	ContextID        string         `json:"contextId,omitempty"`
	Metadata         map[string]any `json:"metadata,omitempty"`
	ReferenceTaskIDs []string       `json:"referenceTaskIds,omitempty"`
	Extensions       []string       `json:"extensions,omitempty"`
	// Content is the v0.3 HTTP+JSON (proto JSON) name of parts; decoding
	// only (the encoders leave it nil).
	Content []P `json:"content,omitempty"`
}

type wStatus[P any] struct {
	State     string       `json:"state"`
	Message   *wMessage[P] `json:"message,omitempty"`
	Timestamp string       `json:"timestamp,omitempty"`
}

type wArtifact[P any] struct {
	ArtifactID  string         `json:"artifactId"`
	Name        string         `json:"name,omitempty"`
	Description string         `json:"description,omitempty"`
	Parts       []P            `json:"parts"`
	Metadata    map[string]any `json:"metadata,omitempty"`
	Extensions  []string       `json:"extensions,omitempty"`
}

type wTask[P any] struct {
	Kind      string         `json:"kind,omitempty"`
	ID        string         `json:"id"`
	ContextID string         `json:"contextId,omitempty"`
	Status    wStatus[P]     `json:"status"`
	History   []wMessage[P]  `json:"history,omitempty"`
	Artifacts []wArtifact[P] `json:"artifacts,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`
}

type wStatusUpdate[P any] struct {
	Kind      string         `json:"kind,omitempty"`
	TaskID    string         `json:"taskId"`
	ContextID string         `json:"contextId,omitempty"`
	Status    wStatus[P]     `json:"status"`
	Final     *bool          `json:"final,omitempty"` // v0.3 only; always written there
	Metadata  map[string]any `json:"metadata,omitempty"`
}

type wArtifactUpdate[P any] struct {
	Kind      string         `json:"kind,omitempty"`
	TaskID    string         `json:"taskId"`
	ContextID string         `json:"contextId,omitempty"`
	Artifact  wArtifact[P]   `json:"artifact"`
	Append    bool           `json:"append,omitempty"`
	LastChunk bool           `json:"lastChunk,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`
}

// Decoding instantiates the structs with wPart, the union of every part
// shape; encoding with any, holding the exact shape of each part (so
// encoding/json writes it directly, with no MarshalJSON to re-validate a
// large payload).
type (
	dMessage        = wMessage[wPart]
	dStatus         = wStatus[wPart]
	dArtifact       = wArtifact[wPart]
	dTask           = wTask[wPart]
	dStatusUpdate   = wStatusUpdate[wPart]
	dArtifactUpdate = wArtifactUpdate[wPart]

	eMessage        = wMessage[any]
	eStatus         = wStatus[any]
	eArtifact       = wArtifact[any]
	eTask           = wTask[any]
	eStatusUpdate   = wStatusUpdate[any]
	eArtifactUpdate = wArtifactUpdate[any]
)

// v10Event is the v1.0 stream-result wrapper, for encoding.
type v10Event struct {
	Task           *eTask           `json:"task,omitempty"`
	Message        *eMessage        `json:"message,omitempty"`
	StatusUpdate   *eStatusUpdate   `json:"statusUpdate,omitempty"`
	ArtifactUpdate *eArtifactUpdate `json:"artifactUpdate,omitempty"`
}

// wEvent decodes an event of either dialect in one pass: the v1.0 wrapper
// members and the union of the v0.3 kind-tagged objects' fields (no names
// clash between them).
type wEvent struct {
	// v1.0 wrapper
	Task           *dTask           `json:"task"`
	Message        *dMessage        `json:"message"`
	StatusUpdate   *dStatusUpdate   `json:"statusUpdate"`
	ArtifactUpdate *dArtifactUpdate `json:"artifactUpdate"`
	// v0.3 tagged object
	Kind             string         `json:"kind"`
	ID               string         `json:"id"`
	ContextID        string         `json:"contextId"`
	Status           *dStatus       `json:"status"`
	History          []dMessage     `json:"history"`
	Artifacts        []dArtifact    `json:"artifacts"`
	Metadata         map[string]any `json:"metadata"`
	MessageID        string         `json:"messageId"`
	Role             string         `json:"role"`
	Parts            []wPart        `json:"parts"`
	Content          []wPart        `json:"content"`
	TaskID           string         `json:"taskId"`
	ReferenceTaskIDs []string       `json:"referenceTaskIds"`
	Extensions       []string       `json:"extensions"`
	Final            *bool          `json:"final"`
	Artifact         *dArtifact     `json:"artifact"`
	Append           bool           `json:"append"`
	LastChunk        bool           `json:"lastChunk"`
}

func (w *wEvent) toEvent() (a2a.Event, error) {
	switch {
	case w.Task != nil:
		if w.Task.ID == "" {
			return nil, errTaskWithoutID
		}
		return toTask(w.Task), nil
	case w.Message != nil:
		m := toMessage(w.Message)
		return &m, nil
	case w.StatusUpdate != nil:
		return toStatusUpdate(w.StatusUpdate), nil
	case w.ArtifactUpdate != nil:
		return toArtifactUpdate(w.ArtifactUpdate), nil
	}
	kind := w.Kind
	if kind == "" {
		kind = w.inferKind()
	}
	switch kind {
	case "task":
		if w.ID == "" {
			// {"kind":"task"} alone: nothing names the task, and a task
			// without an id cannot be followed, stored or encoded again.
			return nil, errTaskWithoutID
		}
		t := dTask{ID: w.ID, ContextID: w.ContextID, History: w.History, Artifacts: w.Artifacts, Metadata: w.Metadata}
		if w.Status != nil {
			t.Status = *w.Status
		}
		return toTask(&t), nil
	case "message":
		m := dMessage{MessageID: w.MessageID, Role: w.Role, Parts: w.Parts, Content: w.Content, TaskID: w.TaskID, ContextID: w.ContextID,
			Metadata: w.Metadata, ReferenceTaskIDs: w.ReferenceTaskIDs, Extensions: w.Extensions}
		msg := toMessage(&m)
		return &msg, nil
	case "status-update":
		u := dStatusUpdate{TaskID: w.TaskID, ContextID: w.ContextID, Final: w.Final, Metadata: w.Metadata}
		if w.Status != nil {
			u.Status = *w.Status
		}
		return toStatusUpdate(&u), nil
	case "artifact-update":
		u := dArtifactUpdate{TaskID: w.TaskID, ContextID: w.ContextID, Append: w.Append, LastChunk: w.LastChunk, Metadata: w.Metadata}
		if w.Artifact != nil {
			u.Artifact = *w.Artifact
		}
		return toArtifactUpdate(&u), nil
	case "":
		return nil, fmt.Errorf("not a task, message, status update or artifact update")
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

// errTaskWithoutID: a result that claims to be a task but names none is
// not a valid Task object, whatever else it holds.
var errTaskWithoutID = errors.New("a task without an id")

// inferKind names a missing v0.3 kind from the fields present, and only
// when the object's identifying fields are there (servers in the wild leave
// kind out): id+status is a task, taskId+status a status update,
// taskId+artifact an artifact update, role (or messageId)+parts a message.
// Anything else stays unnamed and fails to decode.
func (w *wEvent) inferKind() string {
	switch {
	case w.ID != "" && w.Status != nil:
		return "task"
	case w.TaskID != "" && w.Artifact != nil:
		return "artifact-update"
	case w.TaskID != "" && w.Status != nil:
		return "status-update"
	case (w.Role != "" || w.MessageID != "") && (w.Parts != nil || w.Content != nil):
		return "message"
	}
	return ""
}

// ---- decoding: wire → model ----

func toTask(w *dTask) *a2a.Task {
	t := &a2a.Task{
		ID:        w.ID,
		ContextID: w.ContextID,
		Status:    toStatus(&w.Status),
		Metadata:  metadata(w.Metadata),
	}
	if len(w.History) > 0 {
		t.History = make([]a2a.Message, len(w.History))
		for i := range w.History {
			t.History[i] = toMessage(&w.History[i])
		}
	}
	if len(w.Artifacts) > 0 {
		t.Artifacts = make([]a2a.Artifact, len(w.Artifacts))
		for i := range w.Artifacts {
			t.Artifacts[i] = toArtifact(&w.Artifacts[i])
		}
	}
	return t
}

func toStatus(w *dStatus) a2a.TaskStatus {
	s := a2a.TaskStatus{State: parseState(w.State), Timestamp: parseTime(w.Timestamp)}
	if w.Message != nil {
		m := toMessage(w.Message)
		s.Message = &m
	}
	return s
}

func toMessage(w *dMessage) a2a.Message {
	parts := w.Parts
	if len(parts) == 0 {
		parts = w.Content
	}
	return a2a.Message{
		ID:               w.MessageID,
		Role:             parseRole(w.Role),
		Parts:            toParts(parts),
		TaskID:           w.TaskID,
		ContextID:        w.ContextID,
		Metadata:         metadata(w.Metadata),
		ReferenceTaskIDs: strs(w.ReferenceTaskIDs),
		Extensions:       strs(w.Extensions),
	}
}

func toArtifact(w *dArtifact) a2a.Artifact {
	return a2a.Artifact{
		ID:          w.ArtifactID,
		Name:        w.Name,
		Description: w.Description,
		Parts:       toParts(w.Parts),
		Metadata:    metadata(w.Metadata),
		Extensions:  strs(w.Extensions),
	}
}

func toStatusUpdate(w *dStatusUpdate) *a2a.StatusUpdateEvent {
	ev := &a2a.StatusUpdateEvent{
		TaskID:    w.TaskID,
		ContextID: w.ContextID,
		Status:    toStatus(&w.Status),
		Metadata:  metadata(w.Metadata),
	}
	if w.Final != nil {
		ev.Final = *w.Final
	} else {
		// v1.0 has no final: its stream ends after a terminal or
		// interrupted state.
		ev.Final = ev.Status.State.Terminal() || ev.Status.State.Interrupted()
	}
	return ev
}

func toArtifactUpdate(w *dArtifactUpdate) *a2a.ArtifactUpdateEvent {
	return &a2a.ArtifactUpdateEvent{
		TaskID:    w.TaskID,
		ContextID: w.ContextID,
		Artifact:  toArtifact(&w.Artifact),
		Append:    w.Append,
		LastChunk: w.LastChunk,
		Metadata:  metadata(w.Metadata),
	}
}

func toParts(ws []wPart) []a2a.Part {
	if len(ws) == 0 {
		return nil
	}
	out := make([]a2a.Part, len(ws))
	for i := range ws {
		out[i] = ws[i].toPart()
	}
	return out
}

func (w *wPart) toPart() a2a.Part {
	p := a2a.Part{Metadata: metadata(w.Metadata)}
	kind := w.Kind
	if kind != "text" && kind != "data" && kind != "file" {
		// v1.0 (or a v0.3 peer that left kind out): the member present decides.
		switch {
		case w.Text != nil:
			kind = "text"
		case w.Data != nil:
			kind = "data"
		case w.File != nil || w.Raw != nil || w.URL != "":
			kind = "file"
		default:
			kind = "text"
		}
	}
	switch kind {
	case "text":
		p.Kind = a2a.PartText
		if w.Text != nil {
			p.Text = *w.Text
		}
		p.MediaType = w.MediaType // v1.0 allows it on any part
	case "data":
		p.Kind = a2a.PartData
		p.Data = compact(w.Data)
		p.MediaType = w.MediaType
	case "file":
		p.Kind = a2a.PartFile
		f := &a2a.File{Name: w.Filename, MediaType: w.MediaType, Bytes: w.Raw, URI: w.URL}
		if w.File != nil {
			if w.File.Name != "" {
				f.Name = w.File.Name
			}
			if w.File.MimeType != "" {
				f.MediaType = w.File.MimeType
			} else if w.File.MediaType != "" {
				f.MediaType = w.File.MediaType
			}
			if w.File.Bytes != nil {
				f.Bytes = w.File.Bytes
			}
			if w.File.URI != "" {
				f.URI = w.File.URI
			}
			if w.File.FileWithURI != "" {
				f.URI = w.File.FileWithURI
			}
			if w.File.FileWithBytes != "" {
				f.Bytes = decodeFileBytes(w.File.FileWithBytes)
			}
		}
		if len(f.Bytes) == 0 {
			f.Bytes = nil
		}
		if f.Bytes != nil {
			// A file is given one way; inline bytes win over a URI.
			f.URI = ""
		}
		p.File = f
	}
	return p
}

// decodeFileBytes reads v0.3 HTTP+JSON's fileWithBytes. The v0.3 SDKs (Go
// and Python) put the JSON-RPC base64 text into the proto bytes field, so
// the wire holds base64 of base64; a peer that encodes once is read too.
// Text that is not base64 at all is kept as given rather than lost.
func decodeFileBytes(s string) []byte {
	outer, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return []byte(s)
	}
	if inner, err := base64.StdEncoding.DecodeString(string(outer)); err == nil && len(outer) > 0 {
		return inner
	}
	return outer
}

// compact returns JSON without insignificant space. Most servers send
// compact JSON already, so the copy is made only when there is space.
func compact(raw json.RawMessage) json.RawMessage {
	if string(raw) == "null" {
		return nil
	}
	if raw == nil || !bytes.ContainsAny(raw, " \t\r\n") {
		return raw
	}
	var buf bytes.Buffer
	buf.Grow(len(raw))
	if err := json.Compact(&buf, raw); err != nil {
		return raw // cannot happen: the decoder validated it
	}
	return buf.Bytes()
}

func metadata(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	return m
}

func strs(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// parseState recognises the exact spellings real servers send without
// allocating, and leaves the rest to the lenient a2a.ParseState.
func parseState(s string) a2a.TaskState {
	switch s {
	case "TASK_STATE_SUBMITTED", "submitted":
		return a2a.StateSubmitted
	case "TASK_STATE_WORKING", "working":
		return a2a.StateWorking
	case "TASK_STATE_COMPLETED", "completed":
		return a2a.StateCompleted
	case "TASK_STATE_INPUT_REQUIRED", "input-required":
		return a2a.StateInputRequired
	case "TASK_STATE_AUTH_REQUIRED", "auth-required":
		return a2a.StateAuthRequired
	case "TASK_STATE_FAILED", "failed":
		return a2a.StateFailed
	case "TASK_STATE_CANCELED", "canceled":
		return a2a.StateCanceled
	case "TASK_STATE_REJECTED", "rejected":
		return a2a.StateRejected
	}
	return a2a.ParseState(s)
}

func parseRole(s string) a2a.Role {
	if s == "" {
		return a2a.RoleUnspecified
	}
	return a2a.ParseRole(s)
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// ---- encoding: model → wire ----

func (c codec) kind(k string) string {
	if c.v10 {
		return ""
	}
	return k
}

func (c codec) state(s a2a.TaskState) string {
	s = parseState(string(s)) // a2a.ParseState, without its string work for the usual spellings
	if !c.v10 {
		return string(s)
	}
	switch s {
	case a2a.StateSubmitted:
		return "TASK_STATE_SUBMITTED"
	case a2a.StateWorking:
		return "TASK_STATE_WORKING"
	case a2a.StateInputRequired:
		return "TASK_STATE_INPUT_REQUIRED"
	case a2a.StateAuthRequired:
		return "TASK_STATE_AUTH_REQUIRED"
	case a2a.StateCompleted:
		return "TASK_STATE_COMPLETED"
	case a2a.StateFailed:
		return "TASK_STATE_FAILED"
	case a2a.StateCanceled:
		return "TASK_STATE_CANCELED"
	case a2a.StateRejected:
		return "TASK_STATE_REJECTED"
	}
	return "TASK_STATE_UNSPECIFIED"
}

func (c codec) role(r a2a.Role) string {
	switch r {
	case a2a.RoleUser:
		if c.v10 {
			return "ROLE_USER"
		}
		return "user"
	case a2a.RoleAgent:
		if c.v10 {
			return "ROLE_AGENT"
		}
		return "agent"
	}
	if c.v10 {
		return "ROLE_UNSPECIFIED"
	}
	return ""
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

func (c codec) fromTask(t *a2a.Task) *eTask {
	w := &eTask{
		Kind:      c.kind("task"),
		ID:        t.ID,
		ContextID: t.ContextID,
		Status:    c.fromStatus(&t.Status),
		Metadata:  t.Metadata,
	}
	if len(t.History) > 0 {
		w.History = make([]eMessage, len(t.History))
		for i := range t.History {
			w.History[i] = *c.fromMessage(&t.History[i])
		}
	}
	if len(t.Artifacts) > 0 {
		w.Artifacts = make([]eArtifact, len(t.Artifacts))
		for i := range t.Artifacts {
			w.Artifacts[i] = c.fromArtifact(&t.Artifacts[i])
		}
	}
	return w
}

func (c codec) fromStatus(s *a2a.TaskStatus) eStatus {
	w := eStatus{State: c.state(s.State), Timestamp: formatTime(s.Timestamp)}
	if s.Message != nil {
		w.Message = c.fromMessage(s.Message)
	}
	return w
}

func (c codec) fromMessage(m *a2a.Message) *eMessage {
	return &eMessage{
		Kind:             c.kind("message"),
		MessageID:        m.ID,
		Role:             c.role(m.Role),
		Parts:            c.fromParts(m.Parts),
		TaskID:           m.TaskID,
		ContextID:        m.ContextID,
		Metadata:         m.Metadata,
		ReferenceTaskIDs: m.ReferenceTaskIDs,
		Extensions:       m.Extensions,
	}
}

func (c codec) fromArtifact(a *a2a.Artifact) eArtifact {
	return eArtifact{
		ArtifactID:  a.ID,
		Name:        a.Name,
		Description: a.Description,
		Parts:       c.fromParts(a.Parts),
		Metadata:    a.Metadata,
		Extensions:  a.Extensions,
	}
}

func (c codec) fromStatusUpdate(ev *a2a.StatusUpdateEvent) *eStatusUpdate {
	w := &eStatusUpdate{
		Kind:      c.kind("status-update"),
		TaskID:    ev.TaskID,
		ContextID: ev.ContextID,
		Status:    c.fromStatus(&ev.Status),
		Metadata:  ev.Metadata,
	}
	if !c.v10 {
		final := ev.Final
		w.Final = &final
	}
	return w
}

func (c codec) fromArtifactUpdate(ev *a2a.ArtifactUpdateEvent) *eArtifactUpdate {
	return &eArtifactUpdate{
		Kind:      c.kind("artifact-update"),
		TaskID:    ev.TaskID,
		ContextID: ev.ContextID,
		Artifact:  c.fromArtifact(&ev.Artifact),
		Append:    ev.Append,
		LastChunk: ev.LastChunk,
		Metadata:  ev.Metadata,
	}
}

// fromParts returns each part in the exact shape of the codec's dialect,
// and always a non-nil slice: "parts" is required on the wire.
func (c codec) fromParts(ps []a2a.Part) []any {
	out := make([]any, len(ps))
	for i := range ps {
		out[i] = c.fromPart(&ps[i])
	}
	return out
}

func (c codec) fromPart(p *a2a.Part) any {
	switch p.Kind {
	case a2a.PartData:
		data := p.Data
		if data == nil {
			data = json.RawMessage("null")
		}
		if c.v10 {
			return &v10DataPart{Data: data, MediaType: p.MediaType, Metadata: p.Metadata}
		}
		return &v03DataPart{Kind: "data", Data: data, Metadata: p.Metadata}
	case a2a.PartFile:
		f := p.File
		if f == nil {
			f = &a2a.File{}
		}
		byURI := f.URI != "" && f.Bytes == nil
		switch {
		case c.v10 && byURI:
			return &v10URLPart{URL: f.URI, Filename: f.Name, MediaType: f.MediaType, Metadata: p.Metadata}
		case c.v10:
			return &v10RawPart{Raw: nonNil(f.Bytes), Filename: f.Name, MediaType: f.MediaType, Metadata: p.Metadata}
		case byURI:
			return &v03FilePart{Kind: "file", File: &v03FileURI{URI: f.URI, Name: f.Name, MimeType: f.MediaType}, Metadata: p.Metadata}
		default:
			return &v03FilePart{Kind: "file", File: &v03FileBytes{Bytes: nonNil(f.Bytes), Name: f.Name, MimeType: f.MediaType}, Metadata: p.Metadata}
		}
	}
	// Text, and any part of a kind we do not know, is written as text.
	if c.v10 {
		return &v10TextPart{Text: p.Text, MediaType: p.MediaType, Metadata: p.Metadata}
	}
	return &v03TextPart{Kind: "text", Text: p.Text, Metadata: p.Metadata}
}

// The exact per-dialect shapes of a part.
type (
	v10TextPart struct {
		Text      string         `json:"text"`
		MediaType string         `json:"mediaType,omitempty"`
		Metadata  map[string]any `json:"metadata,omitempty"`
	}
	v10DataPart struct {
		Data      json.RawMessage `json:"data"`
		MediaType string          `json:"mediaType,omitempty"`
		Metadata  map[string]any  `json:"metadata,omitempty"`
	}
	v10RawPart struct {
		Raw       []byte         `json:"raw"`
		Filename  string         `json:"filename,omitempty"`
		MediaType string         `json:"mediaType,omitempty"`
		Metadata  map[string]any `json:"metadata,omitempty"`
	}
	v10URLPart struct {
		URL       string         `json:"url"`
		Filename  string         `json:"filename,omitempty"`
		MediaType string         `json:"mediaType,omitempty"`
		Metadata  map[string]any `json:"metadata,omitempty"`
	}
	v03TextPart struct {
		Kind     string         `json:"kind"`
		Text     string         `json:"text"`
		Metadata map[string]any `json:"metadata,omitempty"`
	}
	v03DataPart struct {
		Kind     string          `json:"kind"`
		Data     json.RawMessage `json:"data"`
		Metadata map[string]any  `json:"metadata,omitempty"`
	}
	v03FilePart struct {
		Kind     string         `json:"kind"`
		File     any            `json:"file"`
		Metadata map[string]any `json:"metadata,omitempty"`
	}
	v03FileBytes struct {
		Bytes    []byte `json:"bytes"`
		Name     string `json:"name,omitempty"`
		MimeType string `json:"mimeType,omitempty"`
	}
	v03FileURI struct {
		URI      string `json:"uri"`
		Name     string `json:"name,omitempty"`
		MimeType string `json:"mimeType,omitempty"`
	}
)

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
