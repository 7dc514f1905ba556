package pgstore

import (
	"errors"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
)

// Tasks and events are stored as A2A v1.0 JSON (package wire) behind a
// one-byte codec tag, as localstore does, so that a later build can change
// codecs and still read what this one wrote. bytea rather than jsonb: the
// database never looks inside, and jsonb would reorder keys and cost a
// parse per write.
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

func encodeEvent(ev a2a.Event) ([]byte, error) {
	if ev == nil {
		return nil, errors.New("nil event")
	}
	body, err := v10.EncodeEvent(ev)
	if err != nil {
		return nil, err
	}
	return append([]byte{codecV10}, body...), nil
}

func decodeEvent(b []byte) (a2a.Event, error) {
	if len(b) == 0 || b[0] != codecV10 {
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
