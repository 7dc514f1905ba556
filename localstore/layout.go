package localstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/a2atop/a2atop/a2a"
	bolt "go.etcd.io/bbolt"
)

// The file layout (schema 2). Every top-level bucket below exists in every
// a2atop store; Open refuses a file whose meta bucket is missing, and
// migrates a schema-1 file on open (migrate.go).
//
//	meta    "app" → "a2atop"; "schema" → u64 version; "cursor" → u64, the
//	        highest global cursor ever committed (kept even when Sweep
//	        deletes the log entries, so that cursors are never reused).
//	        The bucket is small enough for bbolt to keep inline in the root
//	        page, which every commit rewrites anyway: updating the cursor
//	        costs no page of its own.
//	tasks   id(taskID) → record: a header (bookkeeping, index entry,
//	        message ids, the metadata of the events kept inline) and one
//	        compressed body holding the task and the small events inline,
//	        see record.go. An echo task is this one value.
//	events  id(taskID) seq8 → event: only the events of tasks whose inline
//	        events outgrew inlineMaxBytes ("spilled" tasks, e.g. long
//	        streams); from then on all of that task's events live here.
//	log     cursor8 → id(taskID) uvarint(seq) uvarint(n): the global log, one
//	        entry per run of a commit's events whose cursors and seqs both
//	        step by one (an engine commit is one run), pointing at the
//	        task's events seq…seq+n-1. Sweep deletes a task's entries with
//	        it, so every entry points at stored events (Check verifies it).
//	index   every key family that carries no payload, value empty unless said:
//	          'u' time8 tailID(taskID)                every task
//	          's' state1 time8 tailID(taskID)         by state
//	          'c' id(contextID) time8 tailID(taskID)  by context (List filters the
//	              state itself when a query names both: schema 1's fourth
//	              family per context and state cost 60 bytes a task and its
//	              counter another 40 when every task has its own context,
//	              for a query that walks one context, usually small)
//	          '#' 'a' | 's' state1 | 'c' id(ctx)
//	              → uvarint count of tasks in that group (absent means 0:
//	              zero counters are deleted)
//	          'm' id(messageID) → id(taskID), for idempotent sends (the
//	              task's record lists its message ids, so that Sweep
//	              deletes them without a reverse entry)
//	        time8 is the record's Updated time (orderedTime), so a family
//	        walked backwards is List's order: newest first, ties by id
//	        descending (tailID keeps the ids' string order among UUIDs and
//	        among other ids; at the same nanosecond a UUID ranks below any
//	        other id, a difference from the memory store that only a store
//	        holding both kinds can show: the engine names every task with a
//	        UUID). Keys ascend with time so that new entries land at
//	        the end of their family (see fillPercent).
//
// id(s) is the compact, prefix-free encoding of an id (appendID): 0x00 and
// 16 bytes for a canonical lower-case UUID (what the engine and most
// clients make, 17 bytes instead of 36), else 0x01 then uvarint(len(s)) s.
// state1 is one byte, the state's place in a2a.States() plus one. Numbers in
// keys are big-endian so that byte order is numeric order.
//
// Why this shape (schema 1 had seven buckets, an index of message ids both
// ways, the task and each event as separate v1.0 JSON values and 8-byte
// counters): measured with BenchmarkEchoTaskBytes, an echo task (one commit:
// the task, four events, one message id) took 4,584 file bytes at 100k
// tasks and a durable commit wrote 31-45 pages. Each bucket a commit
// touches costs its own leaf and branch pages; each value costs a 16-byte
// leaf element and its key; the events repeat the task's ids and texts,
// which one compressed body shares (see record.go). Schema 2, same
// benchmark: 894 file bytes per echo task at 100k tasks (1,277 at 10k,
// where bbolt's growth step still weighs; 2,095 at 1k), and 15-24 pages
// per durable commit (1k-100k tasks). bbolt still makes two fdatasyncs
// per commit (pages, then meta page; strace: 623 for 301 commits); schema
// 3 replaces them with one on a redo log (redo.go).
var (
	bucketMeta   = []byte("meta")
	bucketTasks  = []byte("tasks")
	bucketEvents = []byte("events")
	bucketLog    = []byte("log")
	bucketIndex  = []byte("index")

	allBuckets = [][]byte{bucketMeta, bucketTasks, bucketEvents, bucketLog, bucketIndex}

	metaApp    = []byte("app")
	metaSchema = []byte("schema")
	metaCursor = []byte("cursor")
	// metaID (schema 3) is 16 random bytes made with the file. The meta
	// bucket is small enough for bbolt to keep inline in the root page, so
	// the id makes each file's root page its own (see fileMark).
	metaID = []byte("id")

	appName = []byte("a2atop")
)

// schemaVersion is the layout this build writes and the newest it reads.
// Bump it (and teach Open to migrate) whenever the layout above changes.
const schemaVersion = 3

// Key families of the index bucket.
const (
	famAll     = 'u'
	famState   = 's'
	famContext = 'c'
	famCount   = '#'
	famMessage = 'm'

	countAll = 'a'
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

// Reserved values of appendTimeDelta's varint.
const (
	deltaZeroTime = math.MinInt64     // the zero time
	deltaAbsolute = math.MinInt64 + 1 // appendTime follows
)

// appendTimeDelta appends t as its distance from base in nanoseconds (a
// few bytes for the times of one task, where appendTime takes nine), or
// absolutely when there is no sensible distance.
func appendTimeDelta(dst []byte, t, base time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(dst, deltaZeroTime)
	}
	if !base.IsZero() {
		tn, bn := unixNano(t), unixNano(base)
		d := tn - bn
		// No overflow, and not a reserved value.
		if (d > tn) == (bn < 0) && d > deltaAbsolute {
			return binary.AppendVarint(dst, d)
		}
	}
	return appendTime(binary.AppendVarint(dst, deltaAbsolute), t)
}

// readTimeDelta inverts appendTimeDelta.
func readTimeDelta(b []byte, base time.Time) (time.Time, []byte, error) {
	d, w := binary.Varint(b)
	if w <= 0 {
		return time.Time{}, nil, errShortKey
	}
	switch {
	case d == deltaZeroTime:
		return time.Time{}, b[w:], nil
	case d == deltaAbsolute:
		return readTime(b[w:])
	case base.IsZero():
		return time.Time{}, nil, errShortKey
	}
	return time.Unix(0, unixNano(base)+d).UTC(), b[w:], nil
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
	return appendTailID(dst, e.id)
}

// keys returns the entry's index keys.
func (e indexEntry) keys() [indexFamilies][]byte {
	return [indexFamilies][]byte{
		e.tail([]byte{famAll}),
		e.tail(stateKey([]byte{famState}, e.state)),
		e.tail(appendID([]byte{famContext}, e.contextID)),
	}
}

// counterKeys returns the counters the entry adds one to.
func (e indexEntry) counterKeys() [indexFamilies][]byte {
	return [indexFamilies][]byte{
		{famCount, countAll},
		stateKey([]byte{famCount, famState}, e.state),
		appendID([]byte{famCount, famContext}, e.contextID),
	}
}

// indexFamilies is the number of index keys (and counters) per task.
const indexFamilies = 3

// indexPrefix is the key prefix of the family a query walks; with both a
// context and a state, the context's (List filters the state).
func indexPrefix(contextID, state string) []byte {
	switch {
	case contextID != "":
		return appendID([]byte{famContext}, contextID)
	case state != "":
		return stateKey([]byte{famState}, state)
	}
	return []byte{famAll}
}

// counterKey is the counter of a query's context and state filters.
func counterKey(contextID, state string) []byte {
	if contextID == "" && state == "" {
		return []byte{famCount, countAll}
	}
	return append([]byte{famCount}, indexPrefix(contextID, state)...)
}

// stateCode is a state's one-byte code: its place in a2a.States() plus one.
// A state outside the list (Commit refuses them) gets 0.
func stateCode(state string) byte {
	for i, st := range a2a.States() {
		if string(st) == state {
			return byte(i + 1)
		}
	}
	return 0
}

// stateOfCode inverts stateCode.
func stateOfCode(c byte) (string, bool) {
	states := a2a.States()
	if c == 0 || int(c) > len(states) {
		return "", false
	}
	return string(states[c-1]), true
}

func stateKey(dst []byte, state string) []byte { return append(dst, stateCode(state)) }

// splitIndexTail parses the time8 tailID tail that follows a family prefix.
func splitIndexTail(tail []byte) (time.Time, string, error) {
	if len(tail) < 9 {
		return time.Time{}, "", errShortKey
	}
	id, err := readTailID(tail[8:])
	if err != nil {
		return time.Time{}, "", err
	}
	return timeFromOrdered(binary.BigEndian.Uint64(tail)), id, nil
}

// appendTailID appends the id that ends an index key: 0x00 and the 16
// bytes of a canonical UUID, else 0x01 and the id's bytes as they are (the
// key's end delimits them). Within each kind byte order is the ids' string
// order; a UUID ranks below any other id.
func appendTailID(dst []byte, id string) []byte {
	if u, ok := parseCanonicalUUID(id); ok {
		return append(append(dst, idUUID), u[:]...)
	}
	return append(append(dst, idString), id...)
}

func readTailID(b []byte) (string, error) {
	switch {
	case len(b) == 17 && b[0] == idUUID:
		return formatUUID(b[1:]), nil
	case len(b) > 1 && b[0] == idString:
		return string(b[1:]), nil
	}
	return "", errShortKey
}

// Id encodings (appendID).
const (
	idUUID   = 0
	idString = 1
)

// appendID appends the compact encoding of an id: a canonical lower-case
// UUID as its 16 bytes, anything else as an lp string.
func appendID(dst []byte, id string) []byte {
	if u, ok := parseCanonicalUUID(id); ok {
		dst = append(dst, idUUID)
		return append(dst, u[:]...)
	}
	return appendLP(append(dst, idString), id)
}

// readID reads an id written by appendID from the front of b.
func readID(b []byte) (string, []byte, error) {
	if len(b) == 0 {
		return "", nil, errShortKey
	}
	switch b[0] {
	case idUUID:
		if len(b) < 17 {
			return "", nil, errShortKey
		}
		return formatUUID(b[1:17]), b[17:], nil
	case idString:
		return readLP(b[1:])
	}
	return "", nil, errShortKey
}

func idKey(id string) []byte { return appendID(make([]byte, 0, 18), id) }

// parseCanonicalUUID parses xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx in lower
// case only, so that formatUUID gives back exactly the same string.
func parseCanonicalUUID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := lowerHex(s[i])
		lo, ok2 := lowerHex(s[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	return u, true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func formatUUID(b []byte) string {
	const hexDigits = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexDigits[c>>4], hexDigits[c&15])
	}
	return string(out)
}

func eventKey(taskID string, seq uint64) []byte {
	return appendU64(appendID(make([]byte, 0, 26), taskID), seq)
}

func eventPrefix(taskID string) []byte { return idKey(taskID) }

func logKey(cursor uint64) []byte { return appendU64(make([]byte, 0, 8), cursor) }

// logValue is a log entry's value: the run of n events of the task from seq.
func logValue(taskID string, seq uint64, n int) []byte {
	b := appendID(make([]byte, 0, 24), taskID)
	b = binary.AppendUvarint(b, seq)
	return binary.AppendUvarint(b, uint64(n))
}

// splitLogValue parses a log entry's value.
func splitLogValue(v []byte) (string, uint64, int, error) {
	id, rest, err := readID(v)
	if err != nil {
		return "", 0, 0, err
	}
	seq, w := binary.Uvarint(rest)
	if w <= 0 || seq == 0 {
		return "", 0, 0, errShortKey
	}
	n, w2 := binary.Uvarint(rest[w:])
	if w2 <= 0 || n == 0 || n > 1<<31 || w+w2 != len(rest) {
		return "", 0, 0, errShortKey
	}
	return id, seq, int(n), nil
}

// splitEventKey parses id(taskID) seq8.
func splitEventKey(k []byte) (string, uint64, error) {
	id, rest, err := readID(k)
	if err != nil || len(rest) != 8 {
		return "", 0, errShortKey
	}
	return id, binary.BigEndian.Uint64(rest), nil
}

func messageKey(messageID string) []byte { return appendID([]byte{famMessage}, messageID) }

func getU64(v []byte) (uint64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("counter of %d bytes, want 8", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// getCount reads an index counter (uvarint).
func getCount(v []byte) (uint64, error) {
	n, w := binary.Uvarint(v)
	if w <= 0 || w != len(v) {
		return 0, fmt.Errorf("counter of %d bytes is not a uvarint", len(v))
	}
	return n, nil
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
