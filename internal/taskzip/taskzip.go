// Package taskzip compresses the v1.0 JSON of a2atop tasks and events:
// DEFLATE (compress/flate at DefaultCompression, or for inputs that fit
// its window with the dictionary the small compressor of small.go, which
// codes alike at a fraction of the CPU) with a preset dictionary of
// the JSON an a2atop task is made of (field names, enum spellings, the
// event wrappers). A small value then compresses although it is too short
// to repeat itself, and the events stored after a task share the ids and
// texts the task already holds (the window spans the whole input).
// Measured on an echo task (the task and its four events, 2.0 KB of
// JSON) when the dictionary was chosen: 264 bytes; 480 at BestSpeed, which
// makes almost no use of a dictionary, and 446 without the dictionary.
// TestEchoSize's echo task today: 217 bytes (224 with compress/flate).
//
// The bbolt store (localstore) writes these streams into its file and the
// memory store keeps finished tasks in them: the dictionary is part of a
// file format, never change it (a better one needs a new format byte in
// the stores that use it).
package taskzip

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"sync"
)

// dict1 is the dictionary. DEFLATE finds matches up to 32 KiB back, and
// the most frequent strings belong at the end (nearest).
var dict1 = []byte(`{"kind":"message","extensions":[],"referenceTaskIds":[],"metadata":{"priority":"high"},` +
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
		w, err := flate.NewWriterDict(nil, flate.DefaultCompression, dict1)
		if err != nil {
			panic(err) // only for an invalid level
		}
		return w
	}}
	inflaters = sync.Pool{New: func() any { return flate.NewReaderDict(bytes.NewReader(nil), dict1) }}
)

// Append appends raw, compressed, to dst: by the small compressor (see
// small.go) when raw fits the window with the dictionary, else by
// compress/flate.
func Append(dst, raw []byte) []byte {
	if len(raw) <= smallMax() {
		return appendSmall(dst, raw)
	}
	buf := bytes.NewBuffer(dst)
	w := deflaters.Get().(*flate.Writer)
	w.Reset(buf)
	_, _ = w.Write(raw) // a bytes.Buffer does not fail
	_ = w.Close()
	deflaters.Put(w)
	return buf.Bytes()
}

// AppendStored appends raw to dst as DEFLATE stored blocks: no
// compression, at the cost of a copy, and read back by Inflate like
// Append's output (a stored block needs no dictionary, and any DEFLATE
// stream is valid after one). For values about to be replaced, where
// compressing (about 20 us for an echo task, most of it resetting the
// compressor's tables) would be wasted.
func AppendStored(dst, raw []byte) []byte {
	const maxBlock = 1<<16 - 1
	for {
		n := min(len(raw), maxBlock)
		var final byte
		if n == len(raw) {
			final = 1
		}
		// BFINAL, BTYPE 00, the rest of the byte skipped; then LEN and
		// its complement NLEN, little-endian.
		dst = append(dst, final, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		dst = append(dst, raw[:n]...)
		raw = raw[n:]
		if final == 1 {
			return dst
		}
	}
}

// Inflate returns what Append compressed into b. It fails when that would
// exceed limit bytes, so that damaged or hostile input cannot make a read
// allocate without end.
func Inflate(b []byte, limit int) ([]byte, error) {
	r := inflaters.Get().(io.ReadCloser)
	defer inflaters.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(b), dict1); err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	if len(out) > limit {
		return nil, errors.New("inflate: too large")
	}
	return out, nil
}
