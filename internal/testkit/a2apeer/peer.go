// Package a2apeer runs a real A2A agent for tests: the official a2a-go
// v2.4.0 SDK server, speaking JSON-RPC in both wire dialects at one URL,
// with a scripted executor. It is what a2atop's remote client, dashboard and
// server tests talk to instead of a protocol mock.
//
// The peer mirrors the one the shared wire fixtures were recorded from: one
// dual card at /.well-known/agent-card.json naming both interfaces at the
// same URL, and one JSON-RPC endpoint at "/" that routes each request by its
// method name (v0.3 methods contain a slash: "message/send"; v1.0 methods do
// not: "SendMessage") to a2a-go's v1.0 handler or its v0.3 compat handler.
// Both handlers share one request handler and task store, so a task created
// in one dialect is visible in the other.
//
// The same agent also speaks the HTTP+JSON (REST) binding, through a2a-go's
// own handlers: v1.0 (a2asrv.NewRESTHandler) under /rest and v0.3
// (a2av0.NewRESTHandler, whose paths start with /v1) under /rest03, sharing
// the task store too. Options.Bindings decides which bindings the card
// names, in order; by default it names JSON-RPC only.
//
// The executor understands these messages (first word is the command):
//
//	echo <text>  an artifact "echo" holding <text>, then completed
//	slow <n>     n working steps ("step i/n") Options.Step apart, then an
//	             artifact "slow-result" sent in n chunks, then completed
//	ask          input-required "What is the target date?"; the answer (a
//	             follow-up with the task id) completes the task with an
//	             artifact "answer": "Target date recorded: <answer>"
//	fail         failed: "go-peer: simulated failure (you asked for it)"
//	forever      a working "tick i" every Options.Step until canceled
//	data         three artifacts: JSON data, file bytes, file URL
//	big <bytes>  one text artifact of that many bytes (large SSE events)
//	burst <n>    n working status updates (no message) as fast as possible, then
//	             completed (for throughput benchmarks)
//	auth         auth-required "sign in", then (credentials "arriving" out of
//	             band Options.Step later) working and completed in the same
//	             execution: a2a-go keeps the stream open across auth-required
//	anything else a bare Message listing the commands (no task)
//
// With Options.Demo the executor instead plays a2atop's demo agent
// (engine/agents.Demo) on the commands both know (echo, slow, ask, fail,
// forever, data): the same status texts, artifact names, ids and texts, in
// the order a2atop's engine publishes them, so that a differential test
// compares the servers rather than two agents.
package a2apeer

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/v2/a2a"
	"github.com/a2aproject/a2a-go/v2/a2acompat/a2av0"
	"github.com/a2aproject/a2a-go/v2/a2asrv"
	"github.com/a2aproject/a2a-go/v2/a2asrv/taskstore"
)

// Question is what the ask command asks.
const Question = "What is the target date?"

// FailMessage is the status text of the fail command.
const FailMessage = "go-peer: simulated failure (you asked for it)"

// FileBytes is the content of the data command's inline file.
const FileBytes = "hello from go-peer\n"

// FileURL is the data command's file reference.
const FileURL = "https://example.com/report.pdf"

// Options tune a peer. The zero value is ready to use.
type Options struct {
	// Name is the agent's name on its card; default "go-peer".
	Name string
	// Step is the pause between the steps of slow and forever; default 20ms.
	Step time.Duration
	// Anonymous keeps a2a-go's default task store behaviour of answering
	// ListTasks with -31401 unauthenticated. By default every caller is the
	// user "testpeer", so ListTasks works.
	Anonymous bool
	// Wrap, when set, wraps the peer's whole HTTP handler (to add headers
	// checks, delays or faults in a test).
	Wrap func(http.Handler) http.Handler
	// Logger receives a2a-go's server logs; default: discarded.
	Logger *slog.Logger
	// Demo plays a2atop's demo agent instead of the go-peer script (see
	// the package doc). Step then paces slow steps and forever ticks.
	Demo bool
	// Bindings are the protocol bindings the card names, in preference
	// order ("JSONRPC", "HTTP+JSON"), each in v1.0 then v0.3; default
	// JSONRPC only. Every binding is served whatever the card says.
	Bindings []string
	// Auth, when set, requires credentials on everything but the card,
	// and declares them on it (see Auth).
	Auth *Auth
	// TLS, when set, serves https with it (a client certificate required
	// when it says so: mutual TLS); the card then declares a mutualTLS
	// scheme if ClientAuth requires one.
	TLS *tls.Config
}

// RESTPath is where the peer serves HTTP+JSON in a dialect: "rest" (v1.0)
// or "rest03" (v0.3), relative to URL.
func RESTPath(version string) string {
	if version == "0.3" {
		return "rest03"
	}
	return "rest"
}

// Peer is a running test agent. Its methods are safe for concurrent use.
type Peer struct {
	tb      testing.TB
	handler http.Handler
	store   *taskstore.InMemory

	mu   sync.Mutex
	addr string
	srv  *httptest.Server
	tls  *tls.Config // https when set
}

// Start serves a new peer on 127.0.0.1 and stops it when the test ends.
func Start(tb testing.TB, opts Options) *Peer {
	tb.Helper()
	if opts.Name == "" {
		opts.Name = "go-peer"
	}
	if opts.Step <= 0 {
		opts.Step = 20 * time.Millisecond
	}
	storeCfg := &taskstore.InMemoryStoreConfig{}
	if !opts.Anonymous {
		storeCfg.Authenticator = func(context.Context) (string, error) { return "testpeer", nil }
	}
	p := &Peer{tb: tb, store: taskstore.NewInMemory(storeCfg)}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("a2apeer: listen: %v", err)
	}
	p.addr = ln.Addr().String()
	p.tls = opts.TLS
	base := p.URL()

	card := &a2a.AgentCard{
		Name:                opts.Name,
		Description:         "Scripted A2A test agent (official a2a-go SDK). Commands: echo <text> | slow <n> | ask | fail | forever | data | big <bytes> | burst <n>",
		Version:             "0.1.0",
		SupportedInterfaces: cardInterfaces(base, opts.Bindings),
		DefaultInputModes:   []string{"text/plain"},
		DefaultOutputModes:  []string{"text/plain", "application/json"},
		Capabilities:        a2a.AgentCapabilities{Streaming: true},
		Skills: []a2a.AgentSkill{{
			ID:          "scripted",
			Name:        "Scripted behaviours",
			Description: "echo, slow, ask, fail, forever, data, big, burst",
			Tags:        []string{"test"},
			Examples:    []string{"echo hello", "slow 3", "ask", "fail", "forever", "data"},
		}},
	}

	if opts.Auth != nil {
		opts.Auth.declare(card)
	}
	if opts.TLS != nil && opts.TLS.ClientAuth == tls.RequireAndVerifyClientCert {
		if card.SecuritySchemes == nil {
			card.SecuritySchemes = a2a.NamedSecuritySchemes{}
		}
		card.SecuritySchemes["mtls"] = a2a.MutualTLSSecurityScheme{}
		card.SecurityRequirements = append(card.SecurityRequirements, a2a.SecurityRequirements{"mtls": nil})
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	requests := a2asrv.NewHandler(&executor{step: opts.Step, demo: opts.Demo}, a2asrv.WithTaskStore(p.store), a2asrv.WithLogger(opts.Logger))
	v10 := a2asrv.NewJSONRPCHandler(requests)
	v03 := a2av0.NewJSONRPCHandler(requests)
	mux := http.NewServeMux()
	mux.Handle(a2asrv.WellKnownAgentCardPath, a2asrv.NewAgentCardHandler(a2av0.NewStaticAgentCardProducer(card)))
	mux.Handle("/", dialectRouter(v10, v03))
	mux.Handle("/"+RESTPath("1.0")+"/", http.StripPrefix("/"+RESTPath("1.0"), a2asrv.NewRESTHandler(requests)))
	mux.Handle("/"+RESTPath("0.3")+"/", http.StripPrefix("/"+RESTPath("0.3"), a2av0.NewRESTHandler(requests)))
	p.handler = mux
	if opts.Auth != nil {
		p.handler = opts.Auth.guard(p.handler)
	}
	if opts.Wrap != nil {
		p.handler = opts.Wrap(p.handler)
	}

	p.serve(ln)
	tb.Cleanup(p.Close)
	return p
}

// cardInterfaces lists the card's interfaces for bindings, in order, each
// in v1.0 then v0.3.
func cardInterfaces(base string, bindings []string) []*a2a.AgentInterface {
	if len(bindings) == 0 {
		bindings = []string{string(a2a.TransportProtocolJSONRPC)}
	}
	var out []*a2a.AgentInterface
	for _, b := range bindings {
		for _, v := range []string{"1.0", "0.3"} {
			u := base
			if b == string(a2a.TransportProtocolHTTPJSON) {
				u = base + RESTPath(v)
			}
			out = append(out, &a2a.AgentInterface{URL: u, ProtocolBinding: a2a.TransportProtocol(b), ProtocolVersion: a2a.ProtocolVersion(v)})
		}
	}
	return out
}

// URL is the peer's base URL, "http://127.0.0.1:PORT/" (https with
// Options.TLS): the JSON-RPC
// endpoint, and the base for the agent card.
func (p *Peer) URL() string {
	if p.tls != nil {
		return "https://" + p.addr + "/"
	}
	return "http://" + p.addr + "/"
}

// Addr is the peer's host:port.
func (p *Peer) Addr() string { return p.addr }

// Close stops serving and cuts every open connection. Tasks stay in the
// store, so a later Restart serves them again. Safe to call more than once.
func (p *Peer) Close() {
	p.mu.Lock()
	srv := p.srv
	p.srv = nil
	p.mu.Unlock()
	if srv != nil {
		srv.CloseClientConnections()
		srv.Close()
	}
}

// Restart stops the peer, cutting every stream, and serves again on the same
// address, like an agent whose process was restarted over a persistent task
// store. Executions that were running go on in the background.
func (p *Peer) Restart() {
	p.tb.Helper()
	p.Close()
	var ln net.Listener
	var err error
	// The port was just released; binding it again can race with the
	// kernel for a moment, so retry briefly.
	for deadline := time.Now().Add(5 * time.Second); ; {
		ln, err = net.Listen("tcp", p.addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		p.tb.Fatalf("a2apeer: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// Seed stores n completed echo tasks directly in the task store, without
// running them, for list and paging tests. Their status timestamps are one
// millisecond apart, oldest first.
func (p *Peer) Seed(ctx context.Context, n int) error {
	start := time.Now().Add(-time.Duration(n) * time.Millisecond)
	for i := 0; i < n; i++ {
		ts := start.Add(time.Duration(i) * time.Millisecond)
		text := fmt.Sprintf("seed %d", i)
		task := &a2a.Task{
			ID:        a2a.NewTaskID(),
			ContextID: a2a.NewContextID(),
			Status:    a2a.TaskStatus{State: a2a.TaskStateCompleted, Timestamp: &ts},
			History:   []*a2a.Message{a2a.NewMessage(a2a.MessageRoleUser, a2a.NewTextPart("echo "+text))},
			Artifacts: []*a2a.Artifact{{ID: a2a.NewArtifactID(), Name: "echo", Parts: a2a.ContentParts{a2a.NewTextPart(text)}}},
		}
		if _, err := p.store.Create(ctx, task); err != nil {
			return fmt.Errorf("a2apeer: seed task %d: %w", i, err)
		}
	}
	return nil
}

// PutCompleted stores a completed task with the given id and status time
// directly in the task store, as if an agent had just finished it: for
// tests of list watermarks, which need a change at an exact time.
func (p *Peer) PutCompleted(ctx context.Context, id string, ts time.Time) error {
	task := &a2a.Task{
		ID:        a2a.TaskID(id),
		ContextID: a2a.NewContextID(),
		Status:    a2a.TaskStatus{State: a2a.TaskStateCompleted, Timestamp: &ts},
	}
	if _, err := p.store.Create(ctx, task); err != nil {
		return fmt.Errorf("testpeer: put task %s: %w", id, err)
	}
	return nil
}

func (p *Peer) serve(ln net.Listener) {
	srv := httptest.NewUnstartedServer(p.handler)
	srv.Listener.Close()
	srv.Listener = ln
	if p.tls != nil {
		srv.TLS = p.tls.Clone()
		srv.StartTLS()
	} else {
		srv.Start()
	}
	p.mu.Lock()
	p.srv = srv
	p.mu.Unlock()
}

// maxRequestBody bounds what the router reads to find the method name.
const maxRequestBody = 64 << 20

// dialectRouter sends v0.3 method names ("message/send") to v03 and every
// other request to v10, as the fixtures' server did: a v1.0 method without
// an A2A-Version header still reaches the v1.0 handler.
func dialectRouter(v10, v03 http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			v10.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
		r.Body.Close()
		if err != nil {
			http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var head struct {
			Method string `json:"method"`
		}
		_ = json.Unmarshal(body, &head) // a bad body goes to v10, which reports it
		if strings.Contains(head.Method, "/") {
			v03.ServeHTTP(w, r)
			return
		}
		v10.ServeHTTP(w, r)
	})
}

// executor is the scripted agent.
type executor struct {
	step time.Duration
	demo bool
}

var _ a2asrv.AgentExecutor = (*executor)(nil)

func agentText(ec *a2asrv.ExecutorContext, text string) *a2a.Message {
	return a2a.NewMessageForTask(a2a.MessageRoleAgent, ec, a2a.NewTextPart(text))
}

func (e *executor) Execute(ctx context.Context, ec *a2asrv.ExecutorContext) iter.Seq2[a2a.Event, error] {
	return func(yield func(a2a.Event, error) bool) {
		text := ""
		if ec.Message != nil {
			text = strings.TrimSpace(a2aText(ec.Message))
		}
		if e.demo {
			e.executeDemo(ctx, ec, text, yield)
			return
		}
		// A follow-up to a task waiting on input: the answer to ask.
		if ec.StoredTask != nil {
			if !yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateWorking, nil), nil) {
				return
			}
			art := a2a.NewArtifactEvent(ec, a2a.NewTextPart("Target date recorded: "+text))
			art.Artifact.Name = "answer"
			art.LastChunk = true
			if !yield(art, nil) {
				return
			}
			yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateCompleted, nil), nil)
			return
		}
		cmd, arg, _ := strings.Cut(text, " ")
		switch cmd {
		case "echo", "slow", "ask", "fail", "forever", "data", "big", "burst", "auth":
		default:
			yield(a2a.NewMessage(a2a.MessageRoleAgent, a2a.NewTextPart(
				"go-peer commands: echo <text> | slow <n> | ask | fail | forever | data | big <bytes> | burst <n>")), nil)
			return
		}
		if !yield(a2a.NewSubmittedTask(ec, ec.Message), nil) {
			return
		}
		switch cmd {
		case "echo":
			e.finishWith(ctx, ec, yield, "echo", []*a2a.Part{a2a.NewTextPart(arg)})
		case "slow":
			e.slow(ctx, ec, yield, atoi(arg, 3))
		case "ask":
			if !yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateWorking, nil), nil) {
				return
			}
			yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateInputRequired, agentText(ec, Question)), nil)
		case "fail":
			if !yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateWorking, nil), nil) {
				return
			}
			yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateFailed, agentText(ec, FailMessage)), nil)
		case "forever":
			for i := 1; ; i++ {
				if !yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateWorking, agentText(ec, fmt.Sprintf("tick %d", i))), nil) {
					return
				}
				if !sleep(ctx, e.step) {
					return
				}
			}
		case "data":
			e.data(ec, yield)
		case "auth":
			if !yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateAuthRequired, agentText(ec, "sign in")), nil) || !sleep(ctx, e.step) {
				return
			}
			if !yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateWorking, agentText(ec, "credentials arrived")), nil) {
				return
			}
			yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateCompleted, nil), nil)
		case "big":
			e.finishWith(ctx, ec, yield, "big", []*a2a.Part{a2a.NewTextPart(strings.Repeat("x", atoi(arg, 1<<20)))})
		case "burst":
			n := atoi(arg, 1000)
			for i := 1; i <= n; i++ {
				// No status message: a2a-go moves each one into the history,
				// and the server's per-event copy of a growing task would be
				// all a benchmark measured.
				if !yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateWorking, nil), nil) {
					return
				}
			}
			yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateCompleted, nil), nil)
		}
	}
}

func (e *executor) finishWith(ctx context.Context, ec *a2asrv.ExecutorContext, yield func(a2a.Event, error) bool, name string, parts []*a2a.Part) {
	if !yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateWorking, nil), nil) {
		return
	}
	art := a2a.NewArtifactEvent(ec, parts...)
	art.Artifact.Name = name
	art.LastChunk = true
	if !yield(art, nil) {
		return
	}
	yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateCompleted, nil), nil)
}

func (e *executor) slow(ctx context.Context, ec *a2asrv.ExecutorContext, yield func(a2a.Event, error) bool, n int) {
	for i := 1; i <= n; i++ {
		if !yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateWorking, agentText(ec, fmt.Sprintf("step %d/%d", i, n))), nil) {
			return
		}
		if !sleep(ctx, e.step) {
			return
		}
	}
	var id a2a.ArtifactID
	for i := 1; i <= n; i++ {
		chunk := fmt.Sprintf("chunk-%d", i)
		if i < n {
			chunk += " "
		}
		var ev *a2a.TaskArtifactUpdateEvent
		if id == "" {
			ev = a2a.NewArtifactEvent(ec, a2a.NewTextPart(chunk))
			id = ev.Artifact.ID
		} else {
			ev = a2a.NewArtifactUpdateEvent(ec, id, a2a.NewTextPart(chunk))
		}
		ev.Artifact.Name = "slow-result"
		ev.LastChunk = i == n
		if !yield(ev, nil) {
			return
		}
	}
	yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateCompleted, nil), nil)
}

func (e *executor) data(ec *a2asrv.ExecutorContext, yield func(a2a.Event, error) bool) {
	if !yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateWorking, nil), nil) {
		return
	}
	dataPart := a2a.NewDataPart(map[string]any{
		"kind": "report", "count": 3, "ok": true,
		"items": []any{"a", "b", "c"}, "nested": map[string]any{"pi": 3.14},
	})
	dataPart.MediaType = "application/json"
	filePart := a2a.NewRawPart([]byte(FileBytes))
	filePart.Filename, filePart.MediaType = "hello.txt", "text/plain"
	urlPart := a2a.NewFileURLPart(FileURL, "application/pdf")
	urlPart.Filename = "report.pdf"
	for _, a := range []struct {
		name string
		part *a2a.Part
	}{{"data", dataPart}, {"file-bytes", filePart}, {"file-uri", urlPart}} {
		ev := a2a.NewArtifactEvent(ec, a.part)
		ev.Artifact.Name = a.name
		ev.LastChunk = true
		if !yield(ev, nil) {
			return
		}
	}
	yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateCompleted, nil), nil)
}

func (e *executor) Cancel(ctx context.Context, ec *a2asrv.ExecutorContext) iter.Seq2[a2a.Event, error] {
	return func(yield func(a2a.Event, error) bool) {
		if e.demo {
			yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateCanceled, agentText(ec, DemoCanceled)), nil)
			return
		}
		yield(a2a.NewStatusUpdateEvent(ec, a2a.TaskStateCanceled, agentText(ec, "go-peer: canceled by client request")), nil)
	}
}

func a2aText(m *a2a.Message) string {
	var b strings.Builder
	for _, p := range m.Parts {
		b.WriteString(p.Text())
	}
	return b.String()
}

func atoi(s string, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return def
	}
	return n
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
