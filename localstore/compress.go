package localstore

import (
	"errors"
	"fmt"

	"github.com/a2atop/a2atop/internal/taskzip"
)

// Bodies (a record's task and inline events, a spilled event) are
// taskzip streams: DEFLATE with a preset dictionary of the v1.0 JSON an
// a2atop task is made of (see package taskzip for the measured sizes).
//
// The dictionary is part of the file format: never change it. A better one
// needs a new body format byte (see bodyDeflate1).
const bodyDeflate1 = 'z'

// appendDeflated appends bodyDeflate1 and raw compressed to dst.
func appendDeflated(dst, raw []byte) []byte {
	return taskzip.Append(append(dst, bodyDeflate1), raw)
}

// appendBody appends raw as a body: compressed when deflate is set, else as
// DEFLATE stored blocks, which inflate reads the same way. A record of a
// submitted or working task is replaced by the task's next commit (a
// streamed echo task commits twice), so compressing it is mostly wasted:
// encodeRecordValue compresses only the records of tasks that are
// finished or wait on their user. Measured with BenchmarkCommitStreamed.
func appendBody(dst, raw []byte, deflate bool) []byte {
	if deflate {
		return appendDeflated(dst, raw)
	}
	return taskzip.AppendStored(append(dst, bodyDeflate1), raw)
}

// maxInflated bounds what one stored body may expand to, so that a damaged
// or hostile file cannot make a read allocate without end.
const maxInflated = 64 << 20

// inflate returns the body stored by appendDeflated.
func inflate(b []byte) ([]byte, error) {
	if len(b) == 0 || b[0] != bodyDeflate1 {
		return nil, errors.New("unknown body format")
	}
	out, err := taskzip.Inflate(b[1:], maxInflated)
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	return out, nil
}
