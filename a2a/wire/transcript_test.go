package wire_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// transcriptDir holds raw exchanges recorded from an a2a-go v2.4.0 server.
const transcriptDir = "../testdata/wire-a2a-go"

// exchange is one request and its response from a transcript.
type exchange struct {
	File  string
	Title string
	// Request
	HTTPMethod string
	URL        string
	Headers    map[string]string // request headers, canonical names as written
	Body       []byte            // request body (nil for a GET)
	// Response
	Status      string            // "HTTP/1.1 200 OK", empty when not recorded
	RespHeaders map[string]string // lower-case names
	RespBody    []byte            // a JSON body, when not SSE
	Events      [][]byte          // SSE data of each event, when SSE
}

// Streaming reports whether the response was an SSE stream.
func (e *exchange) Streaming() bool { return e.Events != nil }

// Dialect is the transcript's protocol version, from its file name.
func (e *exchange) Dialect() string {
	if strings.Contains(e.File, "-v1.0-") {
		return "1.0"
	}
	return "0.3"
}

var (
	timePrefix = regexp.MustCompile(`^\[\d\d:\d\d:\d\d\.\d+\] ?`)
	reqStamp   = regexp.MustCompile(`\s+(\[[\d:.]+\]|\(.*\))\s*$`)
	headerLine = regexp.MustCompile(`^[A-Za-z0-9-]+: `)
)

// loadTranscripts parses every transcript file.
func loadTranscripts(t testing.TB) []*exchange {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(transcriptDir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts in %s: %v", transcriptDir, err)
	}
	var all []*exchange
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		exs, err := parseTranscript(filepath.Base(f), raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		all = append(all, exs...)
	}
	return all
}

// parseTranscript splits a transcript into exchanges. A "###" line starts an
// exchange, ">>>" lines are its request, the lines up to "<<< end of
// response" its raw HTTP response. Exchanges without a request (titles that
// only announce a background stream) are dropped.
func parseTranscript(name string, raw []byte) ([]*exchange, error) {
	var (
		out    []*exchange
		cur    *exchange
		resp   []string
		inResp bool
	)
	finish := func() {
		if cur != nil && cur.HTTPMethod != "" {
			parseResponse(cur, resp)
			out = append(out, cur)
		}
		cur, resp, inResp = nil, nil, false
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		switch {
		case strings.HasPrefix(line, "###"):
			finish()
			cur = &exchange{File: name, Title: strings.TrimSpace(strings.TrimPrefix(line, "###")), Headers: map[string]string{}}
		case cur == nil:
			// file header comments
		case strings.HasPrefix(line, ">>> "):
			parseRequestLine(cur, strings.TrimPrefix(line, ">>> "))
		case strings.HasPrefix(line, "<<< end of response"):
			finish()
		default:
			if !inResp && line == "" {
				continue // the blank line between request and response
			}
			inResp = true
			resp = append(resp, timePrefix.ReplaceAllString(line, ""))
		}
	}
	finish()
	return out, sc.Err()
}

func parseRequestLine(ex *exchange, line string) {
	if ex.HTTPMethod == "" {
		if strings.HasPrefix(line, "curl ") {
			parseCurl(ex, line)
			return
		}
		line = reqStamp.ReplaceAllString(line, "")
		method, url, _ := strings.Cut(line, " ")
		ex.HTTPMethod, ex.URL = method, strings.TrimSpace(url)
		return
	}
	if headerLine.MatchString(line) && !strings.HasPrefix(line, "{") {
		k, v, _ := strings.Cut(line, ": ")
		ex.Headers[k] = v
		return
	}
	ex.Body = []byte(line)
}

// parseCurl reads a recorded curl command line (shell-quoted with
// backslashes): -X, -H and --data-binary, and the URL.
func parseCurl(ex *exchange, line string) {
	line = reqStamp.ReplaceAllString(line, "")
	args := shellSplit(line)[1:]
	ex.HTTPMethod = "GET"
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-X" && i+1 < len(args):
			i++
			ex.HTTPMethod = args[i]
		case a == "-H" && i+1 < len(args):
			i++
			k, v, _ := strings.Cut(args[i], ":")
			ex.Headers[k] = strings.TrimSpace(v)
		case (a == "--data-binary" || a == "-d" || a == "--data") && i+1 < len(args):
			i++
			ex.Body = []byte(args[i])
			if ex.HTTPMethod == "GET" {
				ex.HTTPMethod = "POST"
			}
		case !strings.HasPrefix(a, "-"):
			ex.URL = a
		}
	}
}

// shellSplit splits on unescaped spaces and removes backslash escapes and
// quotes, which is all the capture script's quoting uses.
func shellSplit(s string) []string {
	var out []string
	var cur strings.Builder
	inWord, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

// parseResponse reads the status line, headers and body; an SSE body is
// split into events (the data lines of each, joined by newlines).
func parseResponse(ex *exchange, lines []string) {
	ex.RespHeaders = map[string]string{}
	i := 0
	if len(lines) > 0 && strings.HasPrefix(lines[0], "HTTP/") {
		ex.Status = lines[0]
		for i = 1; i < len(lines) && lines[i] != ""; i++ {
			k, v, _ := strings.Cut(lines[i], ":")
			ex.RespHeaders[strings.ToLower(k)] = strings.TrimSpace(v)
		}
		i++ // the blank line
	}
	body := lines[min(i, len(lines)):]
	sse := strings.HasPrefix(ex.RespHeaders["content-type"], "text/event-stream")
	if !sse && ex.Status == "" {
		for _, l := range body {
			if strings.HasPrefix(l, "data:") {
				sse = true
				break
			}
		}
	}
	if !sse {
		ex.RespBody = bytes.TrimSpace([]byte(strings.Join(body, "\n")))
		return
	}
	ex.Events = [][]byte{}
	var data []string
	flush := func() {
		if data != nil {
			ex.Events = append(ex.Events, []byte(strings.Join(data, "\n")))
			data = nil
		}
	}
	for _, l := range body {
		switch {
		case l == "":
			flush()
		case strings.HasPrefix(l, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(l, "data:"), " "))
		}
	}
	flush()
}

func TestTranscriptParser(t *testing.T) {
	exs := loadTranscripts(t)
	var requests, bodies, events, streams int
	for _, ex := range exs {
		requests++
		if ex.Body != nil {
			bodies++
		}
		if ex.Streaming() {
			streams++
			events += len(ex.Events)
		} else if len(ex.RespBody) == 0 {
			t.Errorf("%s %q: no response body", ex.File, ex.Title)
		}
	}
	t.Logf("%d exchanges, %d request bodies, %d streams with %d events", requests, bodies, streams, events)
	// Counted by hand from the files: 109 "###" titles, two of which only
	// announce a background stream; 8 GETs have no body.
	if requests != 107 || bodies != 99 || streams != 22 || events != 94 {
		t.Errorf("parser found %d exchanges, %d bodies, %d streams, %d events; want 107, 99, 22, 94",
			requests, bodies, streams, events)
	}
}
