package wire_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
)

// rpcCall is a request body read back from a transcript.
type rpcCall struct {
	codec wire.Codec
	req   *wire.Request
	err   error
}

func decodeCall(ex *exchange) rpcCall {
	c, req, err := wire.DecodeRequestAny(ex.Body)
	return rpcCall{codec: c, req: req, err: err}
}

// responseBodies returns the JSON-RPC responses of an exchange: its body or
// each SSE event's data.
func responseBodies(ex *exchange) [][]byte {
	if ex.Streaming() {
		return ex.Events
	}
	return [][]byte{ex.RespBody}
}

func TestTranscriptRequestsDecode(t *testing.T) {
	var decoded, rejected int
	for _, ex := range loadTranscripts(t) {
		if ex.Body == nil {
			continue
		}
		call := decodeCall(ex)
		if call.err != nil {
			rejected++
			// The server must have rejected it with the same code.
			var want *a2a.Error
			_, err := call.codec.DecodeResponse(wire.MethodGet, ex.RespBody)
			if !errors.As(err, &want) {
				t.Errorf("%s %q: we reject the request (%v) but the server answered %s", ex.File, ex.Title, call.err, ex.RespBody)
				continue
			}
			if !errors.Is(call.err, want) {
				t.Errorf("%s %q: we reject with %v, the server with %v", ex.File, ex.Title, call.err, want)
			}
			continue
		}
		decoded++
		if call.codec.Version() != ex.Dialect() {
			t.Errorf("%s %q: method %s picked dialect %s", ex.File, ex.Title, call.req.Name, call.codec.Version())
		}
		// Re-encode the request and decode it again: same method, id and params.
		body, err := call.codec.EncodeRequest(call.req.ID, call.req.Method, call.req.Params)
		if err != nil {
			t.Errorf("%s %q: re-encode request: %v", ex.File, ex.Title, err)
			continue
		}
		again, err := call.codec.DecodeRequest(body)
		if err != nil {
			t.Errorf("%s %q: decode re-encoded request %s: %v", ex.File, ex.Title, body, err)
			continue
		}
		if !reflect.DeepEqual(again, call.req) {
			t.Errorf("%s %q: request changed in a round trip:\n got %#v\nwant %#v", ex.File, ex.Title, again, call.req)
		}
	}
	t.Logf("%d requests decoded, %d rejected as the server did", decoded, rejected)
	if decoded < 80 {
		t.Errorf("only %d requests decoded", decoded)
	}
}

func TestTranscriptResponsesRoundTrip(t *testing.T) {
	var results, errs, cards int
	for _, ex := range loadTranscripts(t) {
		if ex.Body == nil {
			// Agent card GETs. Both codecs read the dual card the same way.
			card, err := wire.V10().DecodeCard(ex.RespBody)
			if strings.Contains(ex.URL, "agent-card.json") {
				if err != nil {
					t.Errorf("%s %q: decode card: %v", ex.File, ex.Title, err)
					continue
				}
				cards++
				checkCard(t, ex, card)
			}
			continue
		}
		call := decodeCall(ex)
		m := wire.MethodGet // errors decode the same for any method
		if call.err == nil {
			m = call.req.Method
		}
		for i, body := range responseBodies(ex) {
			v, err := call.codec.DecodeResponse(m, body)
			var rpcErr *a2a.Error
			if errors.As(err, &rpcErr) {
				errs++
				checkErrorRoundTrip(t, ex, call.codec, rpcErr)
				continue
			}
			if err != nil {
				t.Errorf("%s %q event %d: decode: %v\n%s", ex.File, ex.Title, i, err, body)
				continue
			}
			results++
			id := rawID(t, body)
			again, err := call.codec.EncodeResult(id, m, v)
			if err != nil {
				t.Errorf("%s %q event %d: re-encode: %v", ex.File, ex.Title, i, err)
				continue
			}
			v2, err := call.codec.DecodeResponse(m, again)
			if err != nil {
				t.Errorf("%s %q event %d: decode re-encoded: %v\n%s", ex.File, ex.Title, i, err, again)
				continue
			}
			if !reflect.DeepEqual(v, v2) {
				t.Errorf("%s %q event %d: changed in a round trip:\n got %s\nwant %s", ex.File, ex.Title, i, dump(v2), dump(v))
			}
			// Our encoding is the server's, member for member: a2a-go writes
			// each dialect exactly, so any difference is a shape we got wrong.
			if diff := jsonDiff(body, again); diff != "" {
				t.Errorf("%s %q event %d: our encoding differs from the server's: %s", ex.File, ex.Title, i, diff)
			}
			if string(rawID(t, again)) != string(id) {
				t.Errorf("%s %q: id %s came back as %s", ex.File, ex.Title, id, rawID(t, again))
			}
		}
	}
	t.Logf("%d results, %d errors, %d cards round-tripped", results, errs, cards)
	if results < 120 || errs < 20 || cards != 6 {
		t.Errorf("too few checked: %d results, %d errors, %d cards", results, errs, cards)
	}
}

func checkErrorRoundTrip(t *testing.T, ex *exchange, c wire.Codec, e *a2a.Error) {
	t.Helper()
	if e.Message == "" || e.Code == 0 {
		t.Errorf("%s %q: error lost its code or message: %#v", ex.File, ex.Title, e)
	}
	body, err := c.EncodeError(json.RawMessage(`7`), e)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DecodeResponse(wire.MethodSend, body)
	var back *a2a.Error
	if !errors.As(err, &back) || !reflect.DeepEqual(back, e) {
		t.Errorf("%s %q: error changed in a round trip: %#v → %#v", ex.File, ex.Title, e, back)
	}
}

func checkCard(t *testing.T, ex *exchange, card *a2a.AgentCard) {
	t.Helper()
	if card.Name != "go-peer" || len(card.Interfaces) != 2 || card.URL == "" || card.ProtocolVersion != "0.3" ||
		!card.Capabilities.Streaming || len(card.Skills) != 1 || len(card.Skills[0].Examples) != 6 {
		t.Errorf("%s %q: card read wrong: %s", ex.File, ex.Title, dump(card))
	}
	for _, c := range []wire.Codec{wire.V10(), wire.V03()} {
		again, err := c.DecodeCard(ex.RespBody)
		if err != nil || !reflect.DeepEqual(again, card) {
			t.Errorf("%s: v%s reads the card differently: %v", ex.File, c.Version(), err)
		}
	}
	// V10 writes the dual card: both shapes survive.
	b, err := wire.V10().EncodeCard(card)
	if err != nil {
		t.Fatal(err)
	}
	back, err := wire.V10().DecodeCard(b)
	if err != nil || !reflect.DeepEqual(back, card) {
		t.Errorf("%s: dual card changed in a round trip: %v\n got %s\nwant %s", ex.File, err, dump(back), dump(card))
	}
}

func rawID(t *testing.T, body []byte) json.RawMessage {
	t.Helper()
	var env struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("read id: %v", err)
	}
	return env.ID
}

func dump(v any) string {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// jsonDiff compares two JSON documents as trees and describes the first
// difference, or returns "".
func jsonDiff(a, b []byte) string {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		return err.Error()
	}
	if err := json.Unmarshal(b, &y); err != nil {
		return err.Error()
	}
	return treeDiff("$", x, y)
}

func treeDiff(path string, x, y any) string {
	switch xv := x.(type) {
	case map[string]any:
		yv, ok := y.(map[string]any)
		if !ok {
			return path + ": object vs " + dump(y)
		}
		for k := range xv {
			if _, ok := yv[k]; !ok {
				return path + "." + k + ": missing in ours"
			}
			if d := treeDiff(path+"."+k, xv[k], yv[k]); d != "" {
				return d
			}
		}
		for k := range yv {
			if _, ok := xv[k]; !ok {
				return path + "." + k + ": extra in ours"
			}
		}
		return ""
	case []any:
		yv, ok := y.([]any)
		if !ok || len(xv) != len(yv) {
			return path + ": array length differs"
		}
		for i := range xv {
			if d := treeDiff(fmt.Sprintf("%s[%d]", path, i), xv[i], yv[i]); d != "" {
				return d
			}
		}
		return ""
	}
	if !reflect.DeepEqual(x, y) {
		return fmt.Sprintf("%s: %v vs %v", path, x, y)
	}
	return ""
}
