// Package taskcodec is how a2atop's stores encode a task or an event: A2A
// v1.0 JSON (package wire) behind a one-byte codec tag, so that a later
// build can change codecs and still read what an earlier one wrote. The
// bbolt store and the PostgreSQL store both keep these bytes (bytea rather
// than jsonb there: the database never looks inside, and jsonb would
// reorder keys and cost a parse per write).
//
// The v1.0 JSON keeps every field of the model except
// StatusUpdateEvent.Final, which v1.0 derives from the state.
package taskcodec

import (
	"errors"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
)

// V10 is the tag of the A2A v1.0 JSON codec.
const V10 = 'w'

var v10 = wire.V10()

// Initial capacities of an encoded task and event: an echo task is about
// 700 bytes of JSON, its events 150 to 400. The JSON is appended after
// the tag, not copied behind it.
const (
	taskCap  = 1024
	eventCap = 512
)

// EncodeTask encodes a task with its codec tag.
func EncodeTask(t *a2a.Task) ([]byte, error) {
	return wire.AppendTaskV10(append(make([]byte, 0, taskCap), V10), t)
}

// DecodeTask decodes what EncodeTask wrote.
func DecodeTask(b []byte) (*a2a.Task, error) {
	if len(b) == 0 || b[0] != V10 {
		return nil, errors.New("unknown task codec")
	}
	t, err := v10.DecodeTask(b[1:])
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, errors.New("decode task: null")
	}
	return t, nil
}

// EncodeEvent encodes an event (the v1.0 stream-result wrapper) with its
// codec tag.
func EncodeEvent(ev a2a.Event) ([]byte, error) {
	if ev == nil {
		return nil, errors.New("nil event")
	}
	return wire.AppendEventV10(append(make([]byte, 0, eventCap), V10), ev)
}

// DecodeEvent decodes what EncodeEvent wrote.
func DecodeEvent(b []byte) (a2a.Event, error) {
	if len(b) == 0 || b[0] != V10 {
		return nil, errors.New("unknown event codec")
	}
	ev, err := v10.DecodeEvent(b[1:])
	if err != nil {
		return nil, err
	}
	if ev == nil {
		return nil, errors.New("decode event: null")
	}
	return ev, nil
}
