package client

import (
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/a2atop/a2atop/a2a"
)

func TestChooseInterface(t *testing.T) {
	v10 := a2a.AgentInterface{URL: "https://a/v1", ProtocolBinding: "JSONRPC", ProtocolVersion: "1.0"}
	v03 := a2a.AgentInterface{URL: "https://a/v03", ProtocolBinding: "JSONRPC", ProtocolVersion: "0.3"}
	grpc := a2a.AgentInterface{URL: "grpc://a", ProtocolBinding: "GRPC", ProtocolVersion: "1.0"}
	cases := []struct {
		name       string
		card       a2a.AgentCard
		force      string
		url, ver   string
		reasonPart string
	}{
		{"v1.0 first", a2a.AgentCard{Interfaces: []a2a.AgentInterface{v10, v03}}, "", "https://a/v1", "1.0", "first JSONRPC interface in supportedInterfaces"},
		{"v1.0 preferred over an earlier v0.3", a2a.AgentCard{Interfaces: []a2a.AgentInterface{grpc, v03, v10}}, "", "https://a/v1", "1.0", "entry 3 of 3"},
		{"forced 0.3", a2a.AgentCard{Interfaces: []a2a.AgentInterface{v10, v03}}, "0.3", "https://a/v03", "0.3", "forced"},
		{"v0.3 card", a2a.AgentCard{URL: "https://a/old", ProtocolVersion: "0.3.0", PreferredTransport: "JSONRPC"}, "", "https://a/old", "0.3", "the card's url"},
		{"v0.3 card, grpc preferred", a2a.AgentCard{URL: "grpc://a", PreferredTransport: "GRPC", AdditionalInterfaces: []a2a.AgentInterface{{URL: "https://a/rpc", ProtocolBinding: "JSONRPC"}}}, "", "https://a/rpc", "0.3", "additionalInterfaces"},
		{"relative url", a2a.AgentCard{Interfaces: []a2a.AgentInterface{{URL: "/rpc", ProtocolBinding: "JSONRPC", ProtocolVersion: "1.0"}}}, "", "https://agent.example/rpc", "1.0", "first"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := chooseInterface(&tc.card, "https://agent.example/.well-known/agent-card.json", tc.force)
			if err != nil {
				t.Fatal(err)
			}
			if d.Endpoint != tc.url || d.Version != tc.ver || !strings.Contains(d.Reason, tc.reasonPart) {
				t.Errorf("got %s v%s (%s), want %s v%s with %q", d.Endpoint, d.Version, d.Reason, tc.url, tc.ver, tc.reasonPart)
			}
		})
	}
	if _, err := chooseInterface(&a2a.AgentCard{Interfaces: []a2a.AgentInterface{grpc}}, "https://a/", ""); err == nil || !strings.Contains(err.Error(), "the card offers GRPC v1.0 at grpc://a") {
		t.Errorf("gRPC-only card: %v", err)
	}
}

// cardServer serves body at path, 404 elsewhere, and records the paths asked.
func cardServer(t *testing.T, path, body string) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.Path)
		mu.Unlock()
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, strings.ReplaceAll(body, "SELF", "http://"+r.Host))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), asked...)
	}
}

func TestDiscoverFallbacks(t *testing.T) {
	card := `{"name":"old agent","url":"SELF/rpc","protocolVersion":"0.2.5","skills":[]}`
	srv, asked := cardServer(t, "/.well-known/agent.json", card)
	d, err := Discover(testCtx(t), srv.URL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Card.Name != "old agent" || d.Version != "0.3" || d.Endpoint != srv.URL+"/rpc" {
		t.Errorf("legacy card: %+v", d)
	}
	if got := asked(); len(got) != 2 || got[0] != CardPath {
		t.Errorf("asked %v", got)
	}

	// An agent under a path: its card is looked for under the path first.
	srv2, _ := cardServer(t, "/agents/x/.well-known/agent-card.json", `{"name":"nested","supportedInterfaces":[{"url":"SELF/agents/x","protocolBinding":"JSONRPC","protocolVersion":"1.0"}]}`)
	d, err = Discover(testCtx(t), srv2.URL+"/agents/x", Options{})
	if err != nil || d.Card.Name != "nested" || d.Version != "1.0" {
		t.Fatalf("nested card: %v %+v", err, d)
	}

	// No card at all: an error naming what was tried, unless forced.
	srv3, _ := cardServer(t, "/nothing", "")
	_, err = Discover(testCtx(t), srv3.URL, Options{})
	wantErr(t, err, "no agent card found", "404")
	d, err = Discover(testCtx(t), srv3.URL+"/rpc", Options{Protocol: "1.0"})
	if err != nil || d.Endpoint != srv3.URL+"/rpc" || !strings.Contains(d.Reason, "no agent card") {
		t.Fatalf("forced without card: %v %+v", err, d)
	}
	if _, err := Discover(testCtx(t), srv3.URL, Options{Protocol: "2.0"}); err == nil {
		t.Error("protocol 2.0 accepted")
	}
}

func TestTLSRootsAndInsecure(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"name":"tls agent","supportedInterfaces":[{"url":"`+"https://"+r.Host+`/","protocolBinding":"JSONRPC","protocolVersion":"1.0"}]}`)
	}))
	defer srv.Close()

	_, err := Discover(testCtx(t), srv.URL, Options{})
	wantErr(t, err, srv.URL, "certificate")

	pemFile := filepath.Join(t.TempDir(), "ca.pem")
	cert := srv.Certificate()
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if d, err := Discover(testCtx(t), srv.URL, Options{CACertFile: pemFile}); err != nil || d.Card.Name != "tls agent" {
		t.Fatalf("with --ca-cert: %v", err)
	}
	if d, err := Discover(testCtx(t), srv.URL, Options{Insecure: true}); err != nil || d.Card.Name != "tls agent" {
		t.Fatalf("with --insecure: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.pem")
	_ = os.WriteFile(empty, []byte("not a cert"), 0o600)
	if _, err := Discover(testCtx(t), srv.URL, Options{CACertFile: empty}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("bad CA file: %v", err)
	}
}
