package localstore

import (
	"errors"
	"fmt"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
)

// Tasks and events are stored in a codec named by the first byte of their
// encoding, so that a later build can change codecs and still read what an
// earlier one wrote.
//
// codecV10 is A2A v1.0 JSON (package wire): a Task object, and an event as
// the v1.0 stream-result wrapper. It keeps every field of the model except
// StatusUpdateEvent.Final, which v1.0 derives from the state.
const codecV10 = 'w'

var v10 = wire.V10()

func encodeTask(t *a2a.Task) ([]byte, error) {
	body, err := v10.EncodeTask(t)
	if err != nil {
		return nil, err
	}
	return append([]byte{codecV10}, body...), nil
}

func decodeTask(b []byte) (*a2a.Task, error) {
	if len(b) == 0 || b[0] != codecV10 {
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

func encodeEventBody(ev a2a.Event) ([]byte, error) {
	if ev == nil {
		return nil, errors.New("nil event")
	}
	body, err := v10.EncodeEvent(ev)
	if err != nil {
		return nil, err
	}
	return append([]byte{codecV10}, body...), nil
}

func decodeEventBody(b []byte) (a2a.Event, error) {
	if len(b) == 0 || b[0] != codecV10 {
		return nil, errors.New("unknown event codec")
	}
	ev, err := v10.DecodeEvent(b[1:])
	if err != nil {
		return nil, err
	}
	if ev == nil {
		return nil, fmt.Errorf("decode event: null")
	}
	return ev, nil
}
