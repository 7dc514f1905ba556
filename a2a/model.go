// Package a2a is the protocol model every other package speaks: tasks,
// messages, parts, artifacts, stream events, agent cards, typed errors, the
// Service interface in the middle of a2atop, and the fold that turns a stream
// of events into a task. The wire codecs live in the subpackage a2a/wire.
//
// Ownership: values handed out by a Service (tasks, events) are shared,
// immutable snapshots. Readers must not modify them; call Clone for a copy
// that may be changed. This lets one event fan out to many readers without a
// deep copy per reader.
package a2a

import (
	"encoding/json"
	"time"
)

// Role says who wrote a message.
type Role string

const (
	RoleUnspecified Role = ""
	RoleUser        Role = "user"
	RoleAgent       Role = "agent"
)

// ParseRole accepts "user", "ROLE_USER" and the like in any case.
func ParseRole(s string) Role {
	switch s {
	case "user", "ROLE_USER", "USER", "User", "role_user":
		return RoleUser
	case "agent", "ROLE_AGENT", "AGENT", "Agent", "role_agent":
		return RoleAgent
	}
	return RoleUnspecified
}

// Metadata is free-form JSON attached to tasks, messages, parts and artifacts.
type Metadata = map[string]any

// PartKind says which of a Part's payloads is set.
type PartKind string

const (
	PartText PartKind = "text"
	PartData PartKind = "data"
	PartFile PartKind = "file"
)

// Part is one piece of a message or an artifact: text, JSON data, or a file
// given inline (Bytes) or by reference (URI).
type Part struct {
	Kind PartKind
	Text string
	// Data is any JSON value, kept as compact bytes so that numbers and key
	// order survive a round trip exactly.
	Data json.RawMessage
	File *File
	// MediaType applies to text and data parts in v1.0 (v0.3 has no such
	// field); files carry their own in File.
	MediaType string
	Metadata  Metadata
}

// File is a file part's payload. Exactly one of Bytes and URI is normally set.
type File struct {
	Name      string
	MediaType string
	Bytes     []byte
	URI       string
}

// TextPart returns a text part.
func TextPart(text string) Part { return Part{Kind: PartText, Text: text} }

// DataPart returns a data part holding v encoded as JSON.
func DataPart(v any) (Part, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return Part{}, err
	}
	return Part{Kind: PartData, Data: raw}, nil
}

// FileBytesPart returns a file part with inline content.
func FileBytesPart(name, mediaType string, content []byte) Part {
	return Part{Kind: PartFile, File: &File{Name: name, MediaType: mediaType, Bytes: content}}
}

// FileURIPart returns a file part that refers to content by URI.
func FileURIPart(name, mediaType, uri string) Part {
	return Part{Kind: PartFile, File: &File{Name: name, MediaType: mediaType, URI: uri}}
}

// Message is one turn of the conversation between a user and an agent.
type Message struct {
	ID               string // messageId
	Role             Role
	Parts            []Part
	TaskID           string
	ContextID        string
	Metadata         Metadata
	ReferenceTaskIDs []string
	Extensions       []string
}

// Text joins the message's text parts with newlines.
func (m *Message) Text() string {
	if m == nil {
		return ""
	}
	return PartsText(m.Parts)
}

// PartsText joins the text parts of parts with newlines.
func PartsText(parts []Part) string {
	var out []byte
	for _, p := range parts {
		if p.Kind != PartText {
			continue
		}
		if len(out) > 0 {
			out = append(out, '\n')
		}
		out = append(out, p.Text...)
	}
	return string(out)
}

// TaskStatus is a task's current state, with the agent's message about it.
type TaskStatus struct {
	State     TaskState
	Message   *Message
	Timestamp time.Time // zero when the server sent none
}

// Artifact is an output of a task.
type Artifact struct {
	ID          string // artifactId
	Name        string
	Description string
	Parts       []Part
	Metadata    Metadata
	Extensions  []string
}

// Task is a unit of work and everything known about it.
type Task struct {
	ID        string
	ContextID string
	Status    TaskStatus
	History   []Message
	Artifacts []Artifact
	Metadata  Metadata
}

// Clone returns a copy of t whose slices can be appended to and whose
// elements can be replaced without touching t. Parts, maps and byte slices
// inside the elements are shared: they are never modified in place.
func (t *Task) Clone() *Task {
	if t == nil {
		return nil
	}
	c := *t
	c.History = append([]Message(nil), t.History...)
	c.Artifacts = append([]Artifact(nil), t.Artifacts...)
	return &c
}

// Event is one item of a stream: *Task, *Message, *StatusUpdateEvent or
// *ArtifactUpdateEvent.
type Event interface {
	// TaskInfo names the task and context the event belongs to (empty for a
	// Message that is not part of a task).
	TaskInfo() (taskID, contextID string)
	isEvent()
}

// StatusUpdateEvent reports a new status of a task.
type StatusUpdateEvent struct {
	TaskID    string
	ContextID string
	Status    TaskStatus
	// Final is v0.3's end-of-stream marker. v1.0 ends streams by closing them;
	// its codec derives Final from the state.
	Final    bool
	Metadata Metadata
}

// ArtifactUpdateEvent delivers an artifact or a chunk of one.
type ArtifactUpdateEvent struct {
	TaskID    string
	ContextID string
	Artifact  Artifact
	// Append adds the parts to the artifact with the same ID instead of
	// replacing it.
	Append bool
	// LastChunk marks the final chunk of the artifact.
	LastChunk bool
	Metadata  Metadata
}

func (t *Task) TaskInfo() (string, string)                { return t.ID, t.ContextID }
func (m *Message) TaskInfo() (string, string)             { return m.TaskID, m.ContextID }
func (e *StatusUpdateEvent) TaskInfo() (string, string)   { return e.TaskID, e.ContextID }
func (e *ArtifactUpdateEvent) TaskInfo() (string, string) { return e.TaskID, e.ContextID }

func (*Task) isEvent()                {}
func (*Message) isEvent()             {}
func (*StatusUpdateEvent) isEvent()   {}
func (*ArtifactUpdateEvent) isEvent() {}
