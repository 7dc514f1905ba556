package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/internal/testkit/a2apeer"
)

// Shapes seen on A2A servers built on other frameworks than the official
// SDKs, replayed from testdata/wild.

// TestStreamWithRSPrefixAndNoKind: SSE data lines that start with U+001E
// and results without "kind" (inferred from their identifying fields) make
// a normal stream.
func TestStreamWithRSPrefixAndNoKind(t *testing.T) {
	for _, fixture := range []string{"v03-stream-rs-nokind.sse", "v03-stream-rs-message.sse"} {
		t.Run(fixture, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/wild/" + fixture)
			if err != nil {
				t.Fatal(err)
			}
			c, _ := badServer(t, "0.3", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = w.Write(raw)
			})
			s, err := c.Stream(testCtx(t), msg("x"))
			if err != nil {
				t.Fatal(err)
			}
			task, evs := drainStream(t, s)
			if strings.Contains(fixture, "message") {
				m, ok := evs[0].(*a2a.Message)
				if len(evs) != 1 || !ok || m.Text() != "hello without a task" {
					t.Fatalf("events %v", evs)
				}
				return
			}
			if len(evs) != 4 || task.Status.State != a2a.StateCompleted || artifactText(task, "answer") != "42" {
				t.Fatalf("%d events, task %+v", len(evs), task)
			}
			if len(task.History) != 1 || task.History[0].Text() != "thinking" {
				t.Errorf("history %+v", task.History)
			}
		})
	}
}

func TestListReplyWithoutSizes(t *testing.T) {
	raw, err := os.ReadFile("testdata/wild/v10-list-no-sizes.json")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := badServer(t, "1.0", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(raw)
	})
	page, err := c.List(testCtx(t), a2a.ListRequest{})
	if err != nil || len(page.Tasks) != 1 || page.Tasks[0].ID != "t1" || page.NextPageToken != "" {
		t.Fatalf("list: %v %+v", err, page)
	}
}

// TestSendsBlockingExplicitly: every send says whether to wait, in both
// dialects and both bindings, as a2a-go receives it: servers in the wild
// read a missing v0.3 blocking as "do not wait".
func TestSendsBlockingExplicitly(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	record := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "message:") || r.URL.Path == "/" && r.Method == http.MethodPost {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				if bytes.Contains(body, []byte("message")) && !bytes.Contains(body, []byte(`"tasks/`)) && !bytes.Contains(body, []byte(`Task"`)) {
					mu.Lock()
					bodies = append(bodies, string(body))
					mu.Unlock()
				}
			}
			h.ServeHTTP(w, r)
		})
	}
	peer := startPeerWith(t, a2apeer.Options{Wrap: record})
	want := map[string][2]string{ // mode → fragments for a blocking and a non-blocking send
		"1.0":      {`"returnImmediately":false`, `"returnImmediately":true`},
		"0.3":      {`"blocking":true`, `"blocking":false`},
		"1.0/rest": {`"returnImmediately":false`, `"returnImmediately":true`},
		"0.3/rest": {`"blocking":true`, `"blocking":false`},
	}
	for _, mode := range dialects {
		t.Run(mode, func(t *testing.T) {
			c := dial(t, peer.URL(), mode)
			for i, wait := range []bool{true, false} {
				mu.Lock()
				bodies = nil
				mu.Unlock()
				req := msg("echo blocking")
				req.Config.ReturnImmediately = !wait
				if _, err := c.Send(testCtx(t), req); err != nil {
					t.Fatal(err)
				}
				s, err := c.Stream(testCtx(t), msg("echo stream"))
				if err != nil {
					t.Fatal(err)
				}
				drainStream(t, s)
				mu.Lock()
				got := append([]string(nil), bodies...)
				mu.Unlock()
				if len(got) != 2 || !strings.Contains(got[0], want[mode][i]) || !strings.Contains(got[1], want[mode][0]) {
					t.Errorf("wait=%v: bodies %q, want %s then %s", wait, got, want[mode][i], want[mode][0])
				}
			}
		})
	}
}

// TestDiscoveryInTheWild: a card URL ending in .json is the card; no card
// found says to pass the card's URL; a card a2atop cannot speak is still
// returned with what it offers; a card whose interface is not served gets
// an error naming the URL tried.
func TestDiscoveryInTheWild(t *testing.T) {
	card := `{"name":"wild","url":"SELF/agents/wild/rpc","protocolVersion":"0.3.0","preferredTransport":"JSONRPC"}`
	srv, _ := cardServer(t, "/.well-known/wild.json", card)
	d, err := Discover(testCtx(t), srv.URL+"/.well-known/wild.json", Options{})
	if err != nil || d.Card.Name != "wild" || d.Version != "0.3" || d.Endpoint != srv.URL+"/agents/wild/rpc" {
		t.Fatalf("card at a .json URL: %v %+v", err, d)
	}
	_, err = Discover(testCtx(t), srv.URL, Options{})
	wantErr(t, err, "no agent card found", "pass the card's own URL")

	grpc := `{"name":"grpc only","supportedInterfaces":[{"url":"grpc://SELF","protocolBinding":"GRPC","protocolVersion":"1.0"}]}`
	srv2, _ := cardServer(t, CardPath, grpc)
	d, err = Discover(testCtx(t), srv2.URL, Options{})
	var none *NoInterfaceError
	if !errors.As(err, &none) || d == nil || d.Card.Name != "grpc only" || len(none.Offered) != 1 {
		t.Fatalf("gRPC-only card: %v %+v", err, d)
	}
	wantErr(t, err, "GRPC v1.0 at grpc://")
	if _, err := New(testCtx(t), srv2.URL, Options{NoJournal: true}); !errors.As(err, &none) {
		t.Errorf("New on a gRPC-only card: %v", err)
	}

	// The card names interfaces nothing serves: each binding's error names
	// the URL tried and the card that named it.
	lying := `{"name":"liar","supportedInterfaces":[{"url":"SELF/rpc","protocolBinding":"JSONRPC","protocolVersion":"1.0"},{"url":"SELF/rest","protocolBinding":"HTTP+JSON","protocolVersion":"1.0"}]}`
	srv3, _ := cardServer(t, CardPath, lying)
	for _, b := range []string{"jsonrpc", "rest"} {
		c, err := New(testCtx(t), srv3.URL, Options{NoJournal: true, Binding: b})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Get(testCtx(t), a2a.GetRequest{ID: "t1"})
		tried := srv3.URL + "/rpc"
		if b == "rest" {
			tried = srv3.URL + "/rest/tasks/t1"
		}
		wantErr(t, err, tried, "404", "agent card at "+srv3.URL+CardPath, "nothing answers there")
	}
}

// TestRESTErrorBodiesAreTyped: google.rpc.Status bodies map onto a2a's
// typed errors, by ErrorInfo reason, else by status name.
func TestRESTErrorBodiesAreTyped(t *testing.T) {
	cases := []struct {
		body   string
		status int
		want   *a2a.Error
	}{
		{`{"error":{"code":404,"status":"NOT_FOUND","message":"task not found","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"TASK_NOT_FOUND","domain":"a2a-protocol.org"}]}}`, 404, a2a.ErrTaskNotFound},
		{`{"error":{"code":400,"status":"FAILED_PRECONDITION","message":"nope"}}`, 400, a2a.ErrNotCancelable},
		{`{"error":{"code":401,"status":"UNAUTHENTICATED","message":"who are you"}}`, 401, a2a.ErrUnauthenticated},
		{`{"error":{"code":400,"status":"INVALID_ARGUMENT","message":"bad"}}`, 400, a2a.ErrInvalidParams},
	}
	for _, tc := range cases {
		c, _ := badServer(t, "1.0/rest", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tc.status)
			_, _ = io.WriteString(w, tc.body)
		})
		_, err := c.Cancel(testCtx(t), "t1")
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.body, err, tc.want)
		}
		var perr *a2a.Error
		if errors.As(err, &perr) && !json.Valid(perr.Data) && perr.Data != nil {
			t.Errorf("data %q", perr.Data)
		}
	}
}

// TestWrapTransportSeesEveryRequest: authentication plugs in per client as
// a transport wrapper, and sees the card fetch, calls and streams of both
// bindings.
func TestWrapTransportSeesEveryRequest(t *testing.T) {
	var mu sync.Mutex
	paths := map[string]bool{}
	peer := startPeer(t)
	for _, mode := range []string{"1.0", "0.3/rest"} {
		o := fastOpts(mode)
		o.WrapTransport = func(next http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(r *http.Request) (*http.Response, error) {
				r = r.Clone(r.Context())
				r.Header.Set("Authorization", "Bearer t0ken")
				mu.Lock()
				paths[r.Method+" "+r.URL.Path] = true
				mu.Unlock()
				return next.RoundTrip(r)
			})
		}
		c, err := New(testCtx(t), peer.URL(), o)
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.Stream(testCtx(t), msg("echo wrapped"))
		if err != nil {
			t.Fatal(err)
		}
		drainStream(t, s)
	}
	for _, want := range []string{"GET " + CardPath, "POST /", "POST /rest03/v1/message:stream"} {
		if !paths[want] {
			t.Errorf("wrapper never saw %s (saw %v)", want, paths)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
