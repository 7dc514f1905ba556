package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// recorder is an HTTP server that remembers the Authorization and
// X-API-Key headers of each request, by path.
type recorder struct {
	mu   sync.Mutex
	seen map[string]http.Header
	srv  *httptest.Server
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{seen: map[string]http.Header{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.seen[req.URL.Path] = req.Header.Clone()
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) header(path, name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[path].Get(name)
}

func fetch(t *testing.T, rt http.RoundTripper, url string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestSessionBeforeAndAfterTheCard(t *testing.T) {
	agent, elsewhere := newRecorder(t), newRecorder(t)
	creds := Credentials{Bearer: "tok", APIKey: "key"}
	s, err := NewSession(context.Background(), agent.srv.URL, creds)
	if err != nil {
		t.Fatal(err)
	}
	rt := s.Wrap(http.DefaultTransport)
	// Before the card: the bearer token (needs no card); the API key has
	// no name yet.
	fetch(t, rt, agent.srv.URL+"/card")
	if agent.header("/card", "Authorization") != "Bearer tok" || agent.header("/card", "X-API-Key") != "" {
		t.Errorf("card fetch headers: %v", agent.seen["/card"])
	}
	// The card asks for the API key in a header: that, not the token.
	schemes := `{"key":{"apiKeySecurityScheme":{"location":"header","name":"X-API-Key"}}}`
	plan, err := s.Discovered(json.RawMessage(schemes), json.RawMessage(`[{"schemes":{"key":{"list":[]}}}]`), agent.srv.URL+"/rpc")
	if err != nil || plan.Scheme.Name != "key" {
		t.Fatalf("plan %+v, %v", plan, err)
	}
	fetch(t, rt, agent.srv.URL+"/rpc")
	if agent.header("/rpc", "X-API-Key") != "key" || agent.header("/rpc", "Authorization") != "" {
		t.Errorf("call headers: %v", agent.seen["/rpc"])
	}
	// Another host gets nothing, before or after.
	fetch(t, rt, elsewhere.srv.URL+"/x")
	if h := elsewhere.seen["/x"]; h.Get("Authorization") != "" || h.Get("X-API-Key") != "" {
		t.Errorf("credentials sent to another host: %v", h)
	}
}

func TestSessionAllowsTheCardsEndpointHost(t *testing.T) {
	cardHost, endpointHost := newRecorder(t), newRecorder(t)
	s, _ := NewSession(context.Background(), cardHost.srv.URL+"/.well-known/agent-card.json", Credentials{Bearer: "tok"})
	rt := s.Wrap(http.DefaultTransport)
	fetch(t, rt, endpointHost.srv.URL+"/before")
	if _, err := s.Discovered(nil, nil, endpointHost.srv.URL+"/a2a"); err != nil {
		t.Fatal(err)
	}
	fetch(t, rt, endpointHost.srv.URL+"/a2a")
	if endpointHost.header("/before", "Authorization") != "" {
		t.Error("the endpoint's host got the token before the card named it")
	}
	if endpointHost.header("/a2a", "Authorization") != "Bearer tok" {
		t.Error("the card's endpoint did not get the token")
	}
}

func TestSessionSchemeTheCardCannotServe(t *testing.T) {
	s, _ := NewSession(context.Background(), "https://agent.example", Credentials{ClientID: "id", ClientSecret: "s3cr3t-value"})
	s.Wrap(http.DefaultTransport)
	_, err := s.Discovered(json.RawMessage(`{"cc":{"type":"oauth2","flows":{"clientCredentials":{"tokenUrl":"http://idp.example/token"}}}}`), nil)
	if err == nil || !strings.Contains(err.Error(), "only over https") || strings.Contains(err.Error(), "s3cr3t-value") {
		t.Fatalf("plain-http token URL: %v", err)
	}
	_, err = s.Discovered(json.RawMessage(`{"cc":{"type":"oauth2","flows":{"authorizationCode":{}}}}`), nil)
	if err == nil || !strings.Contains(err.Error(), "--token-url") {
		t.Fatalf("no token URL: %v", err)
	}
}
