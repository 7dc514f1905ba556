package wire

import "encoding/json"

// Reading a send's envelope by hand. json.Unmarshal of the envelope
// validates the whole body, then walks it again to decode it, skipping
// the params a third time to copy them; decodeParams then validates and
// decodes the params once more. For the request every send makes, the
// common shape ({"jsonrpc", "id", "method", "params"} once each, plain
// strings) is read here in one light pass that only finds where the
// params are, and the params are left to decodeParams alone. Anything
// else, and any error from decoding (which may be one json.Unmarshal of
// the whole body would have reported differently), goes through
// readIncoming as before: this path only ever answers what that one would
// have answered.

// decodeSendFast decodes a SendMessage or SendStreamingMessage request
// (either dialect) of the common shape; ok is false when the caller must
// decode body the general way.
func decodeSendFast(body []byte) (c codec, req *Request, ok bool) {
	var in rpcIncoming
	if !scanEnvelope(body, &in) || in.Method == nil {
		return codec{}, nil, false
	}
	c = DialectOf(*in.Method).(codec)
	if m, known := c.ParseMethod(*in.Method); !known || (m != MethodSend && m != MethodStream) {
		// Other methods may not decode their params, whose validity the
		// general path checks with the body's.
		return codec{}, nil, false
	}
	req, err := c.decodeIncoming(&in)
	if err != nil {
		return codec{}, nil, false
	}
	return c, req, true
}

// envScanner walks a request body.
type envScanner struct {
	b []byte
	i int
}

// scanEnvelope fills in from body when body is an object whose members
// are "jsonrpc" and "method" (plain strings), "id" (a string, a number or
// null) and "params" (any value, not validated here), each at most once,
// with nothing after it: what json.Unmarshal would fill in for that body,
// provided the params are valid JSON.
func scanEnvelope(body []byte, in *rpcIncoming) bool {
	s := envScanner{b: body}
	s.space()
	if !s.eat('{') {
		return false
	}
	s.space()
	if s.eat('}') {
		return s.end()
	}
	var seen [4]bool
	for {
		key, ok := s.plainString()
		if !ok {
			return false
		}
		s.space()
		if !s.eat(':') {
			return false
		}
		s.space()
		var slot int
		switch key {
		case "jsonrpc":
			slot = 0
			if in.JSONRPC, ok = s.plainString(); !ok {
				return false
			}
		case "method":
			slot = 1
			m, ok := s.plainString()
			if !ok {
				return false
			}
			in.Method = &m
		case "id":
			slot = 2
			raw := s.value()
			if raw == nil || raw[0] == '{' || raw[0] == '[' || !json.Valid(raw) {
				return false
			}
			in.ID = append(json.RawMessage(nil), raw...)
		case "params":
			slot = 3
			if in.Params = s.value(); in.Params == nil {
				return false
			}
		default:
			return false // json.Unmarshal matches names without regard to case
		}
		if seen[slot] {
			return false // json.Unmarshal keeps the last; leave that to it
		}
		seen[slot] = true
		s.space()
		if s.eat(',') {
			s.space()
			continue
		}
		if s.eat('}') {
			return s.end()
		}
		return false
	}
}

// end: nothing but space is left.
func (s *envScanner) end() bool {
	s.space()
	return s.i == len(s.b)
}

func (s *envScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *envScanner) eat(ch byte) bool {
	if s.i < len(s.b) && s.b[s.i] == ch {
		s.i++
		return true
	}
	return false
}

// plainString reads a string of printable ASCII without escapes, which
// json.Unmarshal would decode to the same bytes.
func (s *envScanner) plainString() (string, bool) {
	if !s.eat('"') {
		return "", false
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch ch := s.b[s.i]; {
		case ch == '"':
			str := string(s.b[start:s.i])
			s.i++
			return str, true
		case ch < ' ' || ch > '~' || ch == '\\':
			return "", false
		}
	}
	return "", false
}

// value returns the extent of the value at s.i: a string, an object or
// an array by its brackets (strings and their escapes skipped), anything
// else up to the next ',', '}', ']' or space. It does not validate: nil
// only when the brackets or quotes do not close.
func (s *envScanner) value() []byte {
	start := s.i
	depth := 0
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			if !s.skipString() {
				return nil
			}
			if depth == 0 {
				return s.b[start:s.i]
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return s.nonEmpty(start)
			}
			depth--
			if depth == 0 {
				s.i++
				return s.b[start:s.i]
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return s.nonEmpty(start)
			}
		}
		s.i++
	}
	if depth > 0 {
		return nil
	}
	return s.nonEmpty(start)
}

func (s *envScanner) nonEmpty(start int) []byte {
	if s.i == start {
		return nil
	}
	return s.b[start:s.i]
}

// skipString moves past the string at s.i; false when it does not end.
func (s *envScanner) skipString() bool {
	for s.i++; s.i < len(s.b); s.i++ {
		switch s.b[s.i] {
		case '\\':
			s.i++
		case '"':
			s.i++
			return true
		}
	}
	return false
}
