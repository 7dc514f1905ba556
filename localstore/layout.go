package localstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The file layout. Every top-level bucket below exists in every a2atop
// store; Open refuses a file whose meta bucket is missing.
//
//	meta      "app" → "a2atop"; "schema" → u64 version; "cursor" → u64, the
//	          highest global cursor ever committed (kept even when Sweep
//	          deletes the log entries, so that cursors are never reused).
//	tasks     taskID → record (bookkeeping header + encoded task), see record.go.
//	events    lp(taskID) seq8 → event (cursor, time, encoded event): a task's
//	          timeline is one contiguous key range.
//	log       cursor8 → lp(taskID) seq8: the global log, a reference into
//	          events. Sweep deletes a task's log entries with its events, so
//	          every log entry points at an existing event (Check verifies it).
//	index     four key families, value always empty:
//	            'u' time8 taskID                        every task
//	            's' lp(state) time8 taskID              by state
//	            'c' lp(contextID) time8 taskID          by context
//	            'x' lp(contextID) lp(state) time8 taskID by context and state
//	          time8 is the record's Updated time (orderedTime), so a family
//	          walked backwards is List's order: newest first, ties by id
//	          descending. Keys ascend with time so that new entries land at
//	          the end of their family (see fillPercent).
//	counts    'a' → tasks; 's' lp(state), 'c' lp(ctx), 'x' lp(ctx) lp(state)
//	          → tasks in that group (absent means 0: zero counters are deleted).
//	messages  'm' messageID → taskID; 't' lp(taskID) messageID → empty (the
//	          reverse entry lets Sweep delete a task's message ids without a scan).
//
// lp(s) is uvarint(len(s)) followed by s, which keeps composite keys
// unambiguous whatever bytes ids contain. Numbers in keys are big-endian so
// that byte order is numeric order.
var (
	bucketMeta     = []byte("meta")
	bucketTasks    = []byte("tasks")
	bucketEvents   = []byte("events")
	bucketLog      = []byte("log")
	bucketIndex    = []byte("index")
	bucketCounts   = []byte("counts")
	bucketMessages = []byte("messages")

	allBuckets = [][]byte{bucketMeta, bucketTasks, bucketEvents, bucketLog, bucketIndex, bucketCounts, bucketMessages}

	metaApp    = []byte("app")
	metaSchema = []byte("schema")
	metaCursor = []byte("cursor")

	appName = []byte("a2atop")
)

// schemaVersion is the layout this build writes and the newest it reads.
// Bump it (and teach Open to migrate) whenever the layout above changes.
const schemaVersion = 1

// Index and counter key families.
const (
	famAll          = 'u'
	famState        = 's'
	famContext      = 'c'
	famContextState = 'x'

	countAll = 'a'

	msgByID   = 'm'
	msgByTask = 't'
)

var errShortKey = errors.New("truncated key")

func appendLP(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// readLP reads an lp string from the front of b and returns it and the rest.
func readLP(b []byte) (string, []byte, error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return "", nil, errShortKey
	}
	end := w + int(n)
	return string(b[w:end]), b[end:], nil
}

func appendU64(dst []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(dst, v) }

// orderedTime maps a time onto a uint64 whose numeric order is time order;
// the zero time is the smallest. Times outside UnixNano's range (years
// 1678–2262) are clamped.
func orderedTime(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(unixNano(t)) ^ (1 << 63)
}

// timeFromOrdered inverts orderedTime (to the nanosecond, in UTC).
func timeFromOrdered(o uint64) time.Time {
	if o == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(o^(1<<63))).UTC()
}

func unixNano(t time.Time) int64 {
	minT := time.Unix(0, math.MinInt64+1)
	maxT := time.Unix(0, math.MaxInt64)
	switch {
	case t.Before(minT):
		return math.MinInt64 + 1
	case t.After(maxT):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// zeroTimeNanos marks the zero time in value encodings.
const zeroTimeNanos = math.MinInt64

func appendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(dst, zeroTimeNanos)
	}
	return binary.AppendVarint(dst, unixNano(t))
}

func readTime(b []byte) (time.Time, []byte, error) {
	n, w := binary.Varint(b)
	if w <= 0 {
		return time.Time{}, nil, errShortKey
	}
	if n == zeroTimeNanos {
		return time.Time{}, b[w:], nil
	}
	return time.Unix(0, n).UTC(), b[w:], nil
}

// indexEntry is what a task contributes to the index and the counters.
// Commit removes the entries of the old version and adds those of the new
// one; Sweep removes them.
type indexEntry struct {
	id        string
	state     string
	contextID string
	when      time.Time // Record.Updated, which List orders by
}

// same reports whether two entries have the same keys.
func (e indexEntry) same(o indexEntry) bool {
	return e.id == o.id && e.state == o.state && e.contextID == o.contextID && orderedTime(e.when) == orderedTime(o.when)
}

func (e indexEntry) tail(dst []byte) []byte {
	dst = appendU64(dst, orderedTime(e.when))
	return append(dst, e.id...)
}

// keys returns the entry's four index keys.
func (e indexEntry) keys() [4][]byte {
	return [4][]byte{
		e.tail([]byte{famAll}),
		e.tail(appendLP([]byte{famState}, e.state)),
		e.tail(appendLP([]byte{famContext}, e.contextID)),
		e.tail(appendLP(appendLP([]byte{famContextState}, e.contextID), e.state)),
	}
}

// counterKeys returns the counters the entry adds one to.
func (e indexEntry) counterKeys() [4][]byte {
	return [4][]byte{
		{countAll},
		appendLP([]byte{famState}, e.state),
		appendLP([]byte{famContext}, e.contextID),
		appendLP(appendLP([]byte{famContextState}, e.contextID), e.state),
	}
}

// indexPrefix is the key prefix of the family a query walks.
func indexPrefix(contextID, state string) []byte {
	switch {
	case contextID != "" && state != "":
		return appendLP(appendLP([]byte{famContextState}, contextID), state)
	case contextID != "":
		return appendLP([]byte{famContext}, contextID)
	case state != "":
		return appendLP([]byte{famState}, state)
	}
	return []byte{famAll}
}

// splitIndexTail parses the time8 taskID tail that follows a family prefix.
func splitIndexTail(tail []byte) (time.Time, string, error) {
	if len(tail) < 9 {
		return time.Time{}, "", errShortKey
	}
	return timeFromOrdered(binary.BigEndian.Uint64(tail)), string(tail[8:]), nil
}

func eventKey(taskID string, seq uint64) []byte {
	return appendU64(appendLP(make([]byte, 0, len(taskID)+10), taskID), seq)
}

func eventPrefix(taskID string) []byte { return appendLP(nil, taskID) }

func logKey(cursor uint64) []byte { return appendU64(make([]byte, 0, 8), cursor) }

func logValue(taskID string, seq uint64) []byte { return eventKey(taskID, seq) }

// splitEventKey parses lp(taskID) seq8.
func splitEventKey(k []byte) (string, uint64, error) {
	id, rest, err := readLP(k)
	if err != nil || len(rest) != 8 {
		return "", 0, errShortKey
	}
	return id, binary.BigEndian.Uint64(rest), nil
}

func messageKey(messageID string) []byte { return append([]byte{msgByID}, messageID...) }

func messageTaskPrefix(taskID string) []byte { return appendLP([]byte{msgByTask}, taskID) }

func messageTaskKey(taskID, messageID string) []byte {
	return append(messageTaskPrefix(taskID), messageID...)
}

func getU64(v []byte) (uint64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("counter of %d bytes, want 8", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// lastWithPrefix positions c on the last key with prefix p and returns it
// (nil if there is none).
func lastWithPrefix(c *bolt.Cursor, p []byte) []byte {
	var k []byte
	if end := prefixEnd(p); end == nil {
		k, _ = c.Last()
	} else if k, _ = c.Seek(end); k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if k != nil && !bytes.HasPrefix(k, p) {
		return nil
	}
	return k
}

// prefixEnd returns the smallest key greater than every key with prefix p,
// or nil when there is none (p is all 0xff).
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
