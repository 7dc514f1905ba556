package localstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/a2atop/a2atop/engine"
)

// A record value is a small binary header followed by the encoded task:
//
//	format byte (recordFormat)
//	created, updated   varint UnixNano (zeroTimeNanos for the zero time)
//	attempts, priority varint
//	lastSeq            uvarint
//	flags              byte (flagRunning, flagStopped)
//	state, contextID   lp strings, and the status time (varint): the index
//	                   entry (with updated), so that Commit and Sweep find the
//	                   old index keys without decoding the task
//	task               the rest, in the codec named by its first byte
//
// An event value is:
//
//	format byte (eventFormat)
//	cursor uvarint
//	time   varint UnixNano
//	event  the rest, in the codec named by its first byte
const (
	recordFormat = 1
	eventFormat  = 1

	flagRunning = 1 << 0
	flagStopped = 1 << 1
)

var errTrailing = errors.New("bad header")

// header is a record's bookkeeping and index entry, decoded without the task.
type header struct {
	created, updated time.Time
	attempts         int
	priority         engine.Priority
	lastSeq          uint64
	running          bool
	stopped          bool
	entry            indexEntry
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

func encodeRecord(r *engine.Record) ([]byte, error) {
	task, err := encodeTask(r.Task)
	if err != nil {
		return nil, fmt.Errorf("encode task %q: %w", r.Task.ID, err)
	}
	h := headerOf(r)
	b := make([]byte, 0, 64+len(h.entry.state)+len(h.entry.contextID)+len(task))
	b = append(b, recordFormat)
	b = appendTime(b, h.created)
	b = appendTime(b, h.updated)
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
	b = append(b, flags)
	b = appendLP(b, h.entry.state)
	b = appendLP(b, h.entry.contextID)
	b = appendTime(b, h.entry.when)
	return append(b, task...), nil
}

// decodeHeader parses a record's header and returns the encoded task after it.
// id is the key the record was stored under.
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
	if h.updated, b, err = readTime(b); err != nil {
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
	if len(b) == 0 {
		return h, nil, errTrailing
	}
	h.running = b[0]&flagRunning != 0
	h.stopped = b[0]&flagStopped != 0
	b = b[1:]
	h.attempts, h.priority = int(attempts), engine.Priority(prio)
	h.entry.id = id
	if h.entry.state, b, err = readLP(b); err != nil {
		return h, nil, err
	}
	if h.entry.contextID, b, err = readLP(b); err != nil {
		return h, nil, err
	}
	if h.entry.when, b, err = readTime(b); err != nil {
		return h, nil, err
	}
	return h, b, nil
}

// decodeRecord decodes a whole record; errors name the task.
func decodeRecord(id string, v []byte) (*engine.Record, error) {
	h, rest, err := decodeHeader(id, v)
	if err != nil {
		return nil, fmt.Errorf("corrupt record of task %q: %w", id, err)
	}
	task, err := decodeTask(rest)
	if err != nil {
		return nil, fmt.Errorf("corrupt record of task %q: %w", id, err)
	}
	if task.ID != id {
		return nil, fmt.Errorf("corrupt record of task %q: it holds task %q", id, task.ID)
	}
	return &engine.Record{
		Task:     task,
		Created:  h.created,
		Updated:  h.updated,
		Attempts: h.attempts,
		Priority: h.priority,
		LastSeq:  h.lastSeq,
		Running:  h.running,
		Stopped:  h.stopped,
	}, nil
}

func encodeEvent(ev engine.LoggedEvent) ([]byte, error) {
	body, err := encodeEventBody(ev.Event)
	if err != nil {
		return nil, fmt.Errorf("encode event %d of task %q: %w", ev.Seq, ev.TaskID, err)
	}
	b := make([]byte, 0, 24+len(body))
	b = append(b, eventFormat)
	b = binary.AppendUvarint(b, ev.Cursor)
	b = appendTime(b, ev.Time)
	return append(b, body...), nil
}

// decodeEventHeader returns an event value's cursor and the rest.
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

// decodeEvent decodes the event stored under the events key k.
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
	ev, err := decodeEventBody(rest)
	if err != nil {
		return fail(err)
	}
	return engine.LoggedEvent{TaskID: taskID, Seq: seq, Cursor: cursor, Time: when, Event: ev}, nil
}
