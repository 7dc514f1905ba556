package localstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/internal/taskcodec"
)

// A record value (schema 2) is a small uncompressed header, then one
// body (compressed unless the task is submitted or working, see appendBody):
//
//	format byte (recordFormat)
//	created            varint UnixNano (zeroTimeNanos for the zero time)
//	updated            appendTimeDelta from created
//	attempts, priority varint
//	lastSeq            uvarint
//	flags              byte (flagRunning, flagStopped, flagSpilled)
//	state1, id(contextID)   with updated, the index entry, so that Commit
//	                   and Sweep find the old index keys without inflating
//	                   the body
//	messages           uvarint count, then id(messageID) each: the message
//	                   ids this task owns in the index ('m'), for Sweep
//	inline             uvarint count, then per event uvarint seq, uvarint
//	                   cursor, time (appendTimeDelta from updated): the
//	                   events kept in the body
//	body               the rest: bodyDeflate1 of
//	                     uvarint len, the task (codec byte + v1.0 JSON)
//	                     per inline event: uvarint len, the event (same)
//
// The task comes first in the body so that Get and List inflate only until
// its end. Events stay inline while their JSON totals at most
// inlineMaxBytes; a commit that would exceed it moves them all to the
// events bucket and sets flagSpilled, and every later event of the task
// goes there too. Each commit rewrites the record, so inline events are
// rewritten with it: the limit keeps that cheap for long tasks.
//
// A spilled event value is:
//
//	format byte (eventFormat)
//	cursor uvarint
//	time   varint UnixNano
//	body   bodyDeflate1 of the event (codec byte + v1.0 JSON)
const (
	recordFormat = 2
	eventFormat  = 2

	flagRunning = 1 << 0
	flagStopped = 1 << 1
	flagSpilled = 1 << 2
)

// inlineMaxBytes bounds the JSON of a task's inline events: an echo task
// (four events, ~1.3 KB) stays one value; a long stream spills after a few
// commits instead of rewriting a growing record on each.
const inlineMaxBytes = 4096

var errTrailing = errors.New("bad header")

// header is a record's bookkeeping and index entry, decoded without the body.
type header struct {
	created, updated time.Time
	attempts         int
	priority         engine.Priority
	lastSeq          uint64
	running          bool
	stopped          bool
	spilled          bool
	entry            indexEntry
	messages         []string
	inline           []inlineMeta
}

// inlineMeta is what the header says of an inline event.
type inlineMeta struct {
	seq, cursor uint64
	time        time.Time
}

func headerOf(r *engine.Record) header {
	return header{
		created:  r.Created,
		updated:  r.Updated,
		attempts: r.Attempts,
		priority: r.Priority,
		lastSeq:  r.LastSeq,
		running:  r.Running,
		stopped:  r.Stopped,
		entry:    entryOf(r),
	}
}

// entryOf is the record's index entry: List orders by Record.Updated.
func entryOf(r *engine.Record) indexEntry {
	return indexEntry{id: r.Task.ID, state: string(r.Task.Status.State), contextID: r.Task.ContextID, when: r.Updated}
}

// encodeRecord encodes a record without inline events.
func encodeRecord(r *engine.Record) ([]byte, error) {
	task, err := taskcodec.EncodeTask(r.Task)
	if err != nil {
		return nil, fmt.Errorf("encode task %q: %w", r.Task.ID, err)
	}
	return encodeRecordValue(headerOf(r), task, nil), nil
}

// encodeRecordValue encodes h, with h.inline describing inline (the events'
// encoded bodies, in order).
func encodeRecordValue(h header, task []byte, inline [][]byte) []byte {
	size := len(task) + 10
	for _, ev := range inline {
		size += len(ev) + 5
	}
	raw := make([]byte, 0, size)
	raw = binary.AppendUvarint(raw, uint64(len(task)))
	raw = append(raw, task...)
	for _, ev := range inline {
		raw = binary.AppendUvarint(raw, uint64(len(ev)))
		raw = append(raw, ev...)
	}
	b := make([]byte, 0, 96+len(h.messages)*18+len(h.inline)*24+size/3)
	b = append(b, recordFormat)
	b = appendTime(b, h.created)
	b = appendTimeDelta(b, h.updated, h.created)
	b = binary.AppendVarint(b, int64(h.attempts))
	b = binary.AppendVarint(b, int64(h.priority))
	b = binary.AppendUvarint(b, h.lastSeq)
	var flags byte
	if h.running {
		flags |= flagRunning
	}
	if h.stopped {
		flags |= flagStopped
	}
	if h.spilled {
		flags |= flagSpilled
	}
	b = append(b, flags, stateCode(h.entry.state))
	b = appendID(b, h.entry.contextID)
	b = binary.AppendUvarint(b, uint64(len(h.messages)))
	for _, m := range h.messages {
		b = appendID(b, m)
	}
	b = binary.AppendUvarint(b, uint64(len(h.inline)))
	for _, e := range h.inline {
		b = binary.AppendUvarint(b, e.seq)
		b = binary.AppendUvarint(b, e.cursor)
		b = appendTimeDelta(b, e.time, h.updated)
	}
	return appendBody(b, raw, !a2a.TaskState(h.entry.state).Active())
}

// decodeHeader parses a record's header and returns the compressed body
// after it. id is the key the record was stored under.
func decodeHeader(id string, v []byte) (header, []byte, error) {
	var h header
	if len(v) == 0 || v[0] != recordFormat {
		return h, nil, errors.New("unknown record format")
	}
	b := v[1:]
	var err error
	if h.created, b, err = readTime(b); err != nil {
		return h, nil, err
	}
	if h.updated, b, err = readTimeDelta(b, h.created); err != nil {
		return h, nil, err
	}
	attempts, w := binary.Varint(b)
	if w <= 0 {
		return h, nil, errTrailing
	}
	b = b[w:]
	prio, w := binary.Varint(b)
	if w <= 0 {
		return h, nil, errTrailing
	}
	b = b[w:]
	if h.lastSeq, w = binary.Uvarint(b); w <= 0 {
		return h, nil, errTrailing
	}
	b = b[w:]
	if len(b) < 2 {
		return h, nil, errTrailing
	}
	h.running = b[0]&flagRunning != 0
	h.stopped = b[0]&flagStopped != 0
	h.spilled = b[0]&flagSpilled != 0
	state, ok := stateOfCode(b[1])
	if !ok {
		return h, nil, fmt.Errorf("unknown state code %d", b[1])
	}
	b = b[2:]
	h.attempts, h.priority = int(attempts), engine.Priority(prio)
	h.entry = indexEntry{id: id, state: state, when: h.updated}
	if h.entry.contextID, b, err = readID(b); err != nil {
		return h, nil, err
	}
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)) {
		return h, nil, errTrailing
	}
	b = b[w:]
	for range n {
		var m string
		if m, b, err = readID(b); err != nil {
			return h, nil, err
		}
		h.messages = append(h.messages, m)
	}
	if n, w = binary.Uvarint(b); w <= 0 || n > uint64(len(b)) {
		return h, nil, errTrailing
	}
	b = b[w:]
	for range n {
		var e inlineMeta
		if e.seq, w = binary.Uvarint(b); w <= 0 {
			return h, nil, errTrailing
		}
		b = b[w:]
		if e.cursor, w = binary.Uvarint(b); w <= 0 {
			return h, nil, errTrailing
		}
		b = b[w:]
		if e.time, b, err = readTimeDelta(b, h.updated); err != nil {
			return h, nil, err
		}
		h.inline = append(h.inline, e)
	}
	return h, b, nil
}

// splitBody splits an inflated body into the task and n inline events.
func splitBody(raw []byte, n int) ([]byte, [][]byte, error) {
	next := func() ([]byte, error) {
		l, w := binary.Uvarint(raw)
		if w <= 0 || l > uint64(len(raw)-w) {
			return nil, errors.New("truncated body")
		}
		part := raw[w : w+int(l)]
		raw = raw[w+int(l):]
		return part, nil
	}
	task, err := next()
	if err != nil {
		return nil, nil, err
	}
	events := make([][]byte, 0, n)
	for range n {
		ev, err := next()
		if err != nil {
			return nil, nil, err
		}
		events = append(events, ev)
	}
	if len(raw) != 0 {
		return nil, nil, errors.New("trailing bytes after the body")
	}
	return task, events, nil
}

// decoded is a record's header with its body inflated and split.
type decoded struct {
	header
	task   []byte
	events [][]byte // the inline events' bodies, as header.inline says
}

func decodeFull(id string, v []byte) (*decoded, error) {
	h, body, err := decodeHeader(id, v)
	if err != nil {
		return nil, err
	}
	raw, err := inflate(body)
	if err != nil {
		return nil, err
	}
	task, events, err := splitBody(raw, len(h.inline))
	if err != nil {
		return nil, err
	}
	return &decoded{header: h, task: task, events: events}, nil
}

// decodeRecord decodes a whole record; errors name the task.
func decodeRecord(id string, v []byte) (*engine.Record, error) {
	d, err := decodeFull(id, v)
	if err != nil {
		return nil, &engine.DamagedError{TaskID: id, Err: err}
	}
	task, err := taskcodec.DecodeTask(d.task)
	if err != nil {
		return nil, &engine.DamagedError{TaskID: id, Err: err}
	}
	if task.ID != id {
		return nil, &engine.DamagedError{TaskID: id, Err: fmt.Errorf("it holds task %q", task.ID)}
	}
	return &engine.Record{
		Task:     task,
		Created:  d.created,
		Updated:  d.updated,
		Attempts: d.attempts,
		Priority: d.priority,
		LastSeq:  d.lastSeq,
		Running:  d.running,
		Stopped:  d.stopped,
	}, nil
}

// inlineEvents decodes a record's inline events.
func (d *decoded) inlineEvents(id string) ([]engine.LoggedEvent, error) {
	out := make([]engine.LoggedEvent, 0, len(d.events))
	for i, body := range d.events {
		m := d.inline[i]
		ev, err := taskcodec.DecodeEvent(body)
		if err != nil {
			return nil, fmt.Errorf("corrupt event %d of task %q: %w", m.seq, id, err)
		}
		out = append(out, engine.LoggedEvent{TaskID: id, Seq: m.seq, Cursor: m.cursor, Time: m.time, Event: ev})
	}
	return out, nil
}

// encodeSpilledEvent encodes an event for the events bucket; body is its
// encoded event (codec byte + JSON).
func encodeSpilledEvent(cursor uint64, at time.Time, body []byte) []byte {
	b := make([]byte, 0, 24+len(body)/2)
	b = append(b, eventFormat)
	b = binary.AppendUvarint(b, cursor)
	b = appendTime(b, at)
	return appendDeflated(b, body)
}

// decodeEventHeader returns a spilled event value's cursor and the rest.
func decodeEventHeader(v []byte) (uint64, []byte, error) {
	if len(v) == 0 || v[0] != eventFormat {
		return 0, nil, errors.New("unknown event format")
	}
	cursor, w := binary.Uvarint(v[1:])
	if w <= 0 {
		return 0, nil, errTrailing
	}
	return cursor, v[1+w:], nil
}

// decodeEvent decodes the spilled event stored under the events key k.
func decodeEvent(k, v []byte) (engine.LoggedEvent, error) {
	taskID, seq, err := splitEventKey(k)
	if err != nil {
		return engine.LoggedEvent{}, fmt.Errorf("corrupt event key %x: %w", k, err)
	}
	fail := func(err error) (engine.LoggedEvent, error) {
		return engine.LoggedEvent{}, fmt.Errorf("corrupt event %d of task %q: %w", seq, taskID, err)
	}
	cursor, rest, err := decodeEventHeader(v)
	if err != nil {
		return fail(err)
	}
	when, rest, err := readTime(rest)
	if err != nil {
		return fail(err)
	}
	raw, err := inflate(rest)
	if err != nil {
		return fail(err)
	}
	ev, err := taskcodec.DecodeEvent(raw)
	if err != nil {
		return fail(err)
	}
	return engine.LoggedEvent{TaskID: taskID, Seq: seq, Cursor: cursor, Time: when, Event: ev}, nil
}
