package localstore

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/a2atop/a2atop/a2a"
)

// Tasks and events are stored in a codec named by the first byte of their
// encoding, so that a later build can change codecs and still read what an
// earlier one wrote.
const codecJSON = 'j' // codecJSON: encoding/json of the a2a types inside an envelope

// eventEnvelope holds exactly one event, tagged with its kind.
type eventEnvelope struct {
	Kind     string                   `json:"k"`
	Task     *a2a.Task                `json:"task,omitempty"`
	Message  *a2a.Message             `json:"message,omitempty"`
	Status   *a2a.StatusUpdateEvent   `json:"status,omitempty"`
	Artifact *a2a.ArtifactUpdateEvent `json:"artifact,omitempty"`
}

const (
	kindTask     = "task"
	kindMessage  = "message"
	kindStatus   = "status"
	kindArtifact = "artifact"
)

func encodeTask(t *a2a.Task) ([]byte, error) {
	body, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	return append([]byte{codecJSON}, body...), nil
}

func decodeTask(b []byte) (*a2a.Task, error) {
	if len(b) == 0 || b[0] != codecJSON {
		return nil, errors.New("unknown task codec")
	}
	var t *a2a.Task
	if err := json.Unmarshal(b[1:], &t); err != nil {
		return nil, fmt.Errorf("decode task: %w", err)
	}
	if t == nil {
		return nil, errors.New("decode task: null")
	}
	fixTask(t)
	return t, nil
}

func encodeEventBody(ev a2a.Event) ([]byte, error) {
	var env eventEnvelope
	switch ev := ev.(type) {
	case *a2a.Task:
		env = eventEnvelope{Kind: kindTask, Task: ev}
	case *a2a.Message:
		env = eventEnvelope{Kind: kindMessage, Message: ev}
	case *a2a.StatusUpdateEvent:
		env = eventEnvelope{Kind: kindStatus, Status: ev}
	case *a2a.ArtifactUpdateEvent:
		env = eventEnvelope{Kind: kindArtifact, Artifact: ev}
	default:
		return nil, fmt.Errorf("unknown event type %T", ev)
	}
	if isNilEvent(env) {
		return nil, errors.New("nil event")
	}
	body, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	return append([]byte{codecJSON}, body...), nil
}

func isNilEvent(env eventEnvelope) bool {
	return env.Task == nil && env.Message == nil && env.Status == nil && env.Artifact == nil
}

func decodeEventBody(b []byte) (a2a.Event, error) {
	if len(b) == 0 || b[0] != codecJSON {
		return nil, errors.New("unknown event codec")
	}
	var env eventEnvelope
	if err := json.Unmarshal(b[1:], &env); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	fixTask(env.Task)
	fixMessage(env.Message)
	if env.Status != nil {
		fixMessage(env.Status.Status.Message)
	}
	if env.Artifact != nil {
		fixParts(env.Artifact.Artifact.Parts)
	}
	switch {
	case env.Kind == kindTask && env.Task != nil:
		return env.Task, nil
	case env.Kind == kindMessage && env.Message != nil:
		return env.Message, nil
	case env.Kind == kindStatus && env.Status != nil:
		return env.Status, nil
	case env.Kind == kindArtifact && env.Artifact != nil:
		return env.Artifact, nil
	}
	return nil, fmt.Errorf("decode event: kind %q without its payload", env.Kind)
}

// encoding/json decodes an absent json.RawMessage (encoded as null) as the
// four bytes "null"; the a2a model means nil. These restore nil.
func fixTask(t *a2a.Task) {
	if t == nil {
		return
	}
	fixMessage(t.Status.Message)
	for i := range t.History {
		fixMessage(&t.History[i])
	}
	for i := range t.Artifacts {
		fixParts(t.Artifacts[i].Parts)
	}
}

func fixMessage(m *a2a.Message) {
	if m != nil {
		fixParts(m.Parts)
	}
}

func fixParts(parts []a2a.Part) {
	for i := range parts {
		if string(parts[i].Data) == "null" {
			parts[i].Data = nil
		}
	}
}
