package localstore

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Bodies (a record's task and inline events, a spilled event) are DEFLATE
// streams (compress/flate, DefaultCompression) with a preset dictionary of the v1.0
// JSON an a2atop task is made of: field names, enum spellings, the event
// wrappers. A small value then compresses although it is too short to
// repeat itself, and the events of a record share the ids and texts the
// task already holds (the window spans the whole body). Measured on an
// echo task (the task and its four events, 2.0 KB of JSON): 264 bytes;
// 480 at BestSpeed, which makes almost no use of a dictionary, and 446
// without the dictionary.
//
// The dictionary is part of the file format: never change it. A better one
// needs a new body format byte (see bodyDeflate1).
const bodyDeflate1 = 'z'

// deflateDict1 is bodyDeflate1's dictionary. DEFLATE finds matches up to
// 32 KiB back, and the most frequent strings belong at the end (nearest).
var deflateDict1 = []byte(`{"kind":"message","extensions":[],"referenceTaskIds":[],"metadata":{"priority":"high"},` +
	`"file":{"name":"","mediaType":"application/json","uri":"https://","bytes":""},"data":{},` +
	`"append":false,"lastChunk":true,"final":true,"description":"",` +
	`TASK_STATE_INPUT_REQUIRED","TASK_STATE_AUTH_REQUIRED","TASK_STATE_FAILED","TASK_STATE_CANCELED","TASK_STATE_REJECTED","TASK_STATE_UNKNOWN",` +
	`{"message":{"messageId":"","role":"ROLE_AGENT","parts":[{"text":""}],"contextId":"","taskId":""}}` +
	`{"task":{"id":"","contextId":"","status":{"state":"TASK_STATE_SUBMITTED","timestamp":"2026-01-01T00:00:00.000000000Z"},` +
	`"history":[{"messageId":"","role":"ROLE_USER","parts":[{"text":"echo "}],"taskId":"","contextId":""}]}}` +
	`{"artifactUpdate":{"taskId":"","contextId":"","artifact":{"artifactId":"","name":"echo","parts":[{"text":""}]},"lastChunk":true}}` +
	`{"statusUpdate":{"taskId":"","contextId":"","status":{"state":"TASK_STATE_WORKING","timestamp":"2026-01-01T00:00:00.000000000Z"}}}` +
	`{"statusUpdate":{"taskId":"","contextId":"","status":{"state":"TASK_STATE_COMPLETED","message":{"messageId":"","role":"ROLE_AGENT","parts":[{"text":""}],"taskId":"","contextId":""},"timestamp":"2026-`)

var (
	deflaters = sync.Pool{New: func() any {
		w, err := flate.NewWriterDict(nil, flate.DefaultCompression, deflateDict1)
		if err != nil {
			panic(err) // only for an invalid level
		}
		return w
	}}
	inflaters = sync.Pool{New: func() any { return flate.NewReaderDict(bytes.NewReader(nil), deflateDict1) }}
)

// appendDeflated appends bodyDeflate1 and raw compressed to dst.
func appendDeflated(dst, raw []byte) []byte {
	buf := bytes.NewBuffer(append(dst, bodyDeflate1))
	w := deflaters.Get().(*flate.Writer)
	w.Reset(buf)
	_, _ = w.Write(raw) // a bytes.Buffer does not fail
	_ = w.Close()
	deflaters.Put(w)
	return buf.Bytes()
}

// maxInflated bounds what one stored body may expand to, so that a damaged
// or hostile file cannot make a read allocate without end.
const maxInflated = 64 << 20

// inflate returns the body stored by appendDeflated.
func inflate(b []byte) ([]byte, error) {
	if len(b) == 0 || b[0] != bodyDeflate1 {
		return nil, errors.New("unknown body format")
	}
	r := inflaters.Get().(io.ReadCloser)
	defer inflaters.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(b[1:]), deflateDict1); err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(r, maxInflated+1))
	if err != nil {
		return nil, fmt.Errorf("inflate body: %w", err)
	}
	if len(out) > maxInflated {
		return nil, errors.New("inflate body: too large")
	}
	return out, nil
}
