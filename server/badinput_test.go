package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/testkit"
	"github.com/a2atop/a2atop/server"
)

type rpcReply struct {
	ID    json.RawMessage `json:"id"`
	Error *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
	Result json.RawMessage `json:"result"`
}

func post(t *testing.T, url, contentType string, header http.Header, body []byte) (*http.Response, rpcReply) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var r rpcReply
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("reply %q: %v", raw, err)
	}
	return resp, r
}

func TestBadInput(t *testing.T) {
	ts := startServer(t, server.Options{MaxBodyBytes: 4096})
	cases := []struct {
		name        string
		contentType string
		header      http.Header
		body        string
		wantCode    int
		wantID      string
		wantInfo    bool // v1.0 ErrorInfo data
	}{
		{"malformed JSON", "application/json", nil, `{"jsonrpc":"2.0","id":1,`, a2a.CodeParseError, "null", true},
		{"wrong content type", "text/plain", nil, `{"jsonrpc":"2.0","id":2,"method":"GetTask","params":{"id":"x"}}`, a2a.CodeContentTypeNotSupported, "2", true},
		{"no content type", "", nil, `{"jsonrpc":"2.0","id":2,"method":"tasks/get","params":{"id":"x"}}`, a2a.CodeContentTypeNotSupported, "2", false},
		{"unknown v1.0 method", "application/json", nil, `{"jsonrpc":"2.0","id":3,"method":"FrobTask","params":{}}`, a2a.CodeMethodNotFound, "3", true},
		{"unknown v0.3 method", "application/json", nil, `{"jsonrpc":"2.0","id":"s","method":"tasks/frob","params":{}}`, a2a.CodeMethodNotFound, `"s"`, false},
		{"no list in v0.3", "application/json", nil, `{"jsonrpc":"2.0","id":4,"method":"tasks/list","params":{}}`, a2a.CodeMethodNotFound, "4", false},
		{"wrong param type", "application/json", nil, `{"jsonrpc":"2.0","id":5,"method":"GetTask","params":{"id":5}}`, a2a.CodeInvalidParams, "5", true},
		{"send without message", "application/json", nil, `{"jsonrpc":"2.0","id":6,"method":"message/send","params":{"message":"hi"}}`, a2a.CodeInvalidParams, "6", false},
		{"batch", "application/json", nil, `[{"jsonrpc":"2.0","id":7,"method":"GetTask","params":{"id":"x"}}]`, a2a.CodeInvalidRequest, "null", true},
		{"not jsonrpc 2.0", "application/json", nil, `{"jsonrpc":"1.0","id":8,"method":"GetTask","params":{"id":"x"}}`, a2a.CodeInvalidRequest, "8", true},
		{"v1.0 method without A2A-Version (v0.3)", "application/json", nil, `{"jsonrpc":"2.0","id":13,"method":"GetTask","params":{"id":"x"}}`, a2a.CodeMethodNotFound, "13", true},
		{"v0.3 method with A2A-Version 1.0", "application/json", http.Header{"A2A-Version": {"1.0"}}, `{"jsonrpc":"2.0","id":14,"method":"tasks/get","params":{"id":"x"}}`, a2a.CodeMethodNotFound, "14", false},
		{"unsupported version", "application/json", http.Header{"A2A-Version": {"9.9"}}, `{"jsonrpc":"2.0","id":9,"method":"GetTask","params":{"id":"x"}}`, a2a.CodeVersionNotSupported, "9", true},
		{"unknown task", "application/json", http.Header{"A2A-Version": {"1.0"}}, `{"jsonrpc":"2.0","id":10,"method":"GetTask","params":{"id":"nope"}}`, a2a.CodeTaskNotFound, "10", true},
		{"push config", "application/json", nil, `{"jsonrpc":"2.0","id":11,"method":"tasks/pushNotificationConfig/get","params":{"id":"x"}}`, a2a.CodePushNotSupported, "11", false},
		{"body over the limit", "application/json", nil, `{"jsonrpc":"2.0","id":12,"method":"SendMessage","params":{"message":{"parts":[{"text":"` + strings.Repeat("x", 8192) + `"}]}}}`, a2a.CodeInvalidRequest, "null", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, r := post(t, ts.URL+"/", tc.contentType, tc.header, []byte(tc.body))
			if r.Error == nil {
				t.Fatalf("no error; result %s", r.Result)
			}
			if r.Error.Code != tc.wantCode || string(r.ID) != tc.wantID {
				t.Fatalf("got code %d id %s (%q), want %d id %s", r.Error.Code, r.ID, r.Error.Message, tc.wantCode, tc.wantID)
			}
			if r.Error.Message == "" {
				t.Fatalf("empty error message")
			}
			if hasInfo := strings.Contains(string(r.Error.Data), "google.rpc.ErrorInfo"); hasInfo != tc.wantInfo {
				t.Fatalf("ErrorInfo data %s, want present=%v", r.Error.Data, tc.wantInfo)
			}
			if resp.StatusCode >= 500 {
				t.Fatalf("HTTP %s", resp.Status)
			}
		})
	}
	// The server still works after all that.
	_, r := post(t, ts.URL+"/", "application/json", http.Header{"A2A-Version": {"1.0"}},
		[]byte(`{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"echo still here"}]}}}`))
	if r.Error != nil || !strings.Contains(string(r.Result), "still here") {
		t.Fatalf("send after bad input: %+v %s", r.Error, r.Result)
	}
}

func TestCardBothShapes(t *testing.T) {
	ts := startServer(t, server.Options{})
	for _, path := range []string{server.CardPath, server.LegacyCardPath} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var card struct {
			Name                string `json:"name"`
			URL                 string `json:"url"`
			ProtocolVersion     string `json:"protocolVersion"`
			PreferredTransport  string `json:"preferredTransport"`
			SupportedInterfaces []struct {
				URL, ProtocolBinding, ProtocolVersion string
			} `json:"supportedInterfaces"`
			Capabilities struct {
				Streaming  bool `json:"streaming"`
				Extensions []struct {
					URI    string          `json:"uri"`
					Params json.RawMessage `json:"params"`
				} `json:"extensions"`
			} `json:"capabilities"`
			Skills []struct{ ID string } `json:"skills"`
		}
		err = json.NewDecoder(resp.Body).Decode(&card)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		rpc := ts.URL + "/"
		if card.URL != rpc || card.ProtocolVersion != "0.3" || card.PreferredTransport != "JSONRPC" || !card.Capabilities.Streaming {
			t.Fatalf("%s: v0.3 fields %+v", path, card)
		}
		if len(card.SupportedInterfaces) != 2 || card.SupportedInterfaces[0].ProtocolVersion != "1.0" || card.SupportedInterfaces[1].ProtocolVersion != "0.3" || card.SupportedInterfaces[0].URL != rpc {
			t.Fatalf("%s: supportedInterfaces %+v", path, card.SupportedInterfaces)
		}
		if len(card.Skills) == 0 || card.Name == "" {
			t.Fatalf("%s: no name or skills", path)
		}
		found := false
		for _, e := range card.Capabilities.Extensions {
			if e.URI == server.WatchExtensionURI && strings.Contains(string(e.Params), `"/events"`) {
				found = true
			}
		}
		if !found {
			t.Fatalf("%s: no watch extension in %+v", path, card.Capabilities.Extensions)
		}
	}
}

func TestBearerToken(t *testing.T) {
	ts := startServer(t, server.Options{Token: "s3cret"})
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"x"}}`)
	for _, auth := range []string{"", "Bearer wrong", "s3cret", "Basic s3cret"} {
		h := http.Header{"A2A-Version": {"1.0"}}
		if auth != "" {
			h.Set("Authorization", auth)
		}
		resp, r := post(t, ts.URL+"/", "application/json", h, body)
		if resp.StatusCode != http.StatusUnauthorized || r.Error == nil || r.Error.Code != a2a.CodeUnauthenticated {
			t.Fatalf("auth %q: %s %+v", auth, resp.Status, r.Error)
		}
	}
	resp, r := post(t, ts.URL+"/", "application/json", http.Header{"Authorization": {"Bearer s3cret"}, "A2A-Version": {"1.0"}}, body)
	if resp.StatusCode != http.StatusOK || r.Error == nil || r.Error.Code != a2a.CodeTaskNotFound {
		t.Fatalf("with token: %s %+v", resp.Status, r.Error)
	}
	for path, want := range map[string]int{server.CardPath: 200, server.WatchPath: 401} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("GET %s without token: %s, want %d", path, resp.Status, want)
		}
	}
	w := openWatch(t, testCtx(t), ts.URL, "", http.Header{"Authorization": {"Bearer s3cret"}})
	w.Body.Close()
}

func TestStreamCap(t *testing.T) {
	ts := startServer(t, server.Options{MaxStreams: 1})
	ctx := testCtx(t)
	held := openWatch(t, ctx, ts.URL, "", nil)
	defer held.Body.Close()
	testkit.Eventually(t, "the first stream to hold its slot", func() bool { return ts.srv.OpenStreams() == 1 })

	resp, err := http.Get(ts.URL + server.WatchPath)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(msg), "too many concurrent streams") {
		t.Fatalf("second watch: %s %q", resp.Status, msg)
	}
	resp, r := post(t, ts.URL+"/", "application/json", nil, []byte(`{"jsonrpc":"2.0","id":1,"method":"message/stream","params":{"message":{"kind":"message","messageId":"m","role":"user","parts":[{"kind":"text","text":"echo x"}]}}}`))
	if resp.StatusCode != http.StatusServiceUnavailable || r.Error == nil || !strings.Contains(r.Error.Message, "too many concurrent streams") {
		t.Fatalf("stream past the cap: %s %+v", resp.Status, r.Error)
	}
	// Unary calls are not streams and still work.
	_, r = post(t, ts.URL+"/", "application/json", nil, []byte(`{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"kind":"message","messageId":"m2","role":"user","parts":[{"kind":"text","text":"echo y"}]}}}`))
	if r.Error != nil {
		t.Fatalf("send past the stream cap: %+v", r.Error)
	}
	held.Body.Close()
	testkit.Eventually(t, "the slot to be released", func() bool { return ts.srv.OpenStreams() == 0 })
}

// TestClientThatNeverReads: a stream whose client never reads does not stop
// the server from serving others, and Close still ends it.
func TestClientThatNeverReads(t *testing.T) {
	ts := startServer(t, server.Options{StreamWriteTimeout: 500 * time.Millisecond, KeepAlive: 10 * time.Millisecond})
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Ask for the whole feed, then never read a byte.
	if _, err := io.WriteString(conn, "GET "+server.WatchPath+"?cursor=0 HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the silent stream to open", func() bool { return ts.srv.OpenStreams() == 1 })
	ctx := testCtx(t)
	c := sdkClients(t, ts)["1.0"]
	for i := range 30 {
		if _, err := c.SendMessage(ctx, sdkSendEcho{}.req(i)); err != nil {
			t.Fatalf("send %d while a client does not read: %v", i, err)
		}
	}
	if err := ts.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if n := ts.srv.OpenStreams(); n != 0 {
		t.Fatalf("%d streams open after Close", n)
	}
}
