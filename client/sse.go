package client

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/r3labs/sse/v2"
)

// sseEvent is one framed server-sent event.
type sseEvent struct {
	// IsError: the event's type is "error" (the JS SDK's error events).
	IsError bool
	Data    []byte // data lines joined by '\n'; valid until the next read
	// ID is the event's own id field and HasID whether it had one. A2A's
	// streams cannot resume from ids; a2atop's Watch feed can.
	ID    string
	HasID bool
}

// eventReader frames an SSE body with r3labs/sse's EventStreamReader (its
// default 64 KiB cap raised to max) and splits each event into fields.
type eventReader struct {
	r   *sse.EventStreamReader
	max int
	buf []byte // reused to join multi-line data
	// lastID is the SSE "last event ID": the newest id field read, also
	// from events without data, which the spec lets a server send to move
	// a client's resume point without an event.
	lastID string
	// skipped counts events without data (keep-alives) read so far.
	skipped int

	// dropCut discards a last event the body ended in the middle of (no
	// blank line after it), as the SSE spec says, where the scanner would
	// hand it over as if complete. The Watch feed and task streams set it:
	// a cut "id:" line would move lastID past an event never received, and
	// a cut event is a drop to recover from, not a malformed event.
	dropCut bool
	src     *untilNewline
	rest    [][]byte // events left in the scanner after the body ended
	restErr error    // and the error after them
}

func newEventReader(body io.Reader, max int) *eventReader {
	src := &untilNewline{r: body}
	return &eventReader{r: sse.NewEventStreamReader(src, max), max: max, src: src}
}

// readRaw is the scanner's next event block, less a cut last one when
// dropCut is set.
func (r *eventReader) readRaw() ([]byte, error) {
	if len(r.rest) > 0 {
		raw := r.rest[0]
		r.rest = r.rest[1:]
		return raw, nil
	}
	if r.restErr != nil {
		return nil, r.restErr
	}
	raw, err := r.r.ReadEvent()
	if err != nil || !r.dropCut || r.src.err == nil {
		return raw, err
	}
	// The body has ended, so the scanner holds all that is left: take it
	// out to see which block is the last, and drop that one if the body
	// stopped before its blank line. This happens once per connection.
	r.rest = append(r.rest, bytes.Clone(raw))
	for {
		more, err := r.r.ReadEvent()
		if err != nil {
			r.restErr = err
			break
		}
		r.rest = append(r.rest, bytes.Clone(more))
	}
	if !r.src.endsBlank() {
		r.rest = r.rest[:len(r.rest)-1]
	}
	return r.readRaw()
}

// untilNewline hands the SSE scanner bigger reads. The scanner searches its
// whole buffer for a blank line after every Read, so a multi-MiB event read
// in network-sized pieces costs time quadratic in its size. An event can
// only end at a newline, so reading on until one arrives (or the scanner's
// space is full) loses no latency and makes that search rare.
//
// It also remembers the first error and the last bytes it passed on, so
// that eventReader can tell whether the body ended on an event boundary.
type untilNewline struct {
	r    io.Reader
	err  error
	tail []byte // the last (up to 3) bytes passed on
}

// endsBlank reports whether the bytes passed on end with a blank line, as
// the scanner recognises one: \n\n, \r\r or \n\r\n.
func (u *untilNewline) endsBlank() bool {
	t := u.tail
	return bytes.HasSuffix(t, []byte("\n\n")) || bytes.HasSuffix(t, []byte("\r\r")) || bytes.HasSuffix(t, []byte("\n\r\n"))
}

func (u *untilNewline) keepTail(b []byte) {
	if len(b) >= 3 {
		u.tail = append(u.tail[:0], b[len(b)-3:]...)
		return
	}
	u.tail = append(u.tail, b...)
	if len(u.tail) > 3 {
		u.tail = u.tail[len(u.tail)-3:]
	}
}

func (u *untilNewline) Read(p []byte) (int, error) {
	n := 0
	defer func() { u.keepTail(p[:n]) }()
	for n < len(p) {
		m, err := u.r.Read(p[n:])
		n += m
		if err != nil {
			if u.err == nil {
				u.err = err
			}
			return n, err
		}
		if bytes.IndexByte(p[n-m:n], '\n') >= 0 || bytes.IndexByte(p[n-m:n], '\r') >= 0 {
			return n, nil
		}
	}
	return n, nil
}

// errEventTooLarge reports an event beyond the reader's cap: a broken or
// hostile server, not a drop.
var errEventTooLarge = errors.New("server-sent event too large")

// next returns the next event with data, skipping comments and events that
// carry none (keep-alives). It returns io.EOF at the end of the body.
func (r *eventReader) next() (sseEvent, error) {
	for {
		raw, err := r.readRaw()
		if err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				return sseEvent{}, fmt.Errorf("%w: an event exceeded %d bytes without ending", errEventTooLarge, r.max)
			}
			return sseEvent{}, err
		}
		ev, ok := r.parse(raw)
		if ok {
			return ev, nil
		}
		r.skipped++
	}
}

// parse splits one event block into its fields (the SSE field grammar:
// "name: value" or "name:value", a leading colon is a comment, a line
// without a colon is a field with an empty value). ok is false when the
// event has no data.
func (r *eventReader) parse(raw []byte) (ev sseEvent, ok bool) {
	r.buf = r.buf[:0]
	lines := 0
	for len(raw) > 0 {
		var line []byte
		i := bytes.IndexAny(raw, "\r\n")
		if i < 0 {
			line, raw = raw, nil
		} else {
			line = raw[:i]
			if raw[i] == '\r' && i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			raw = raw[i+1:]
		}
		if len(line) == 0 || line[0] == ':' {
			continue
		}
		name, value := line, []byte(nil)
		if c := bytes.IndexByte(line, ':'); c >= 0 {
			name, value = line[:c], line[c+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(name) {
		case "data":
			if lines > 0 {
				r.buf = append(r.buf, '\n')
			}
			r.buf = append(r.buf, value...)
			lines++
		case "event":
			ev.IsError = string(value) == "error"
		case "id":
			// The spec ignores an id holding NUL.
			if bytes.IndexByte(value, 0) < 0 {
				ev.ID, ev.HasID = string(value), true
				r.lastID = ev.ID
			}
		}
	}
	if lines == 0 {
		return ev, false
	}
	// Data is the reader's own buffer, reused: valid until the next read,
	// which is all the caller needs (it decodes the event at once).
	ev.Data = r.buf
	return ev, true
}
