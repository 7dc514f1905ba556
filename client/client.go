// Package client is a2atop's remote side: an a2a.Service that talks to any
// A2A agent over JSON-RPC or HTTP+JSON (REST), with SSE streams, in the
// v1.0 or the v0.3 dialect.
//
// New discovers the agent (its card at /.well-known/agent-card.json, the
// legacy agent.json, or the URL itself when it names a .json card),
// chooses the interface, binding and dialect and says why: v1.0 before
// v0.3, then the agent's own order among the bindings a2atop speaks
// (JSONRPC, HTTP+JSON; never gRPC); Options.Protocol and Options.Binding
// force either. Every Service method is then one operation of the chosen
// binding (binding.go; codecs in package a2a/wire), so nothing above the
// transport knows which binding is in use.
//
// Streams (Stream, Subscribe) survive drops: a stream that breaks before its
// task ended is resubscribed with backoff and reconciled with GetTask, or
// polled when the agent cannot resubscribe; ConnState tells a status bar
// what is going on. Watch follows every task of the agent: through
// a2atop's own /events feed when the card advertises it (a2atop serve),
// else by ListTasks polling from a settled watermark on v1.0 (watermark.go)
// and the tasks this client has seen on v0.3. Tasks are remembered in a
// journal file so that they survive a restart; on v0.3, which cannot list
// tasks, List serves that journal (a2a.JournalLister, a2a.ListPage.FromJournal).
package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/a2a/wire"
)

// Client is a remote A2A agent as an a2a.Service. Safe for concurrent use.
type Client struct {
	opts Options
	disc *Discovery
	tr   *transport
	conn *connTracker

	// seen holds every task id this client created or was told about: the
	// only way to know an agent's tasks in v0.3, which cannot list them.
	seenMu sync.Mutex
	seen   map[string]struct{}
	// firstSeen is when each task was first seen, without a journal.
	firstSeen map[string]time.Time

	// feedAbsent: the card advertised a Watch feed that answered 404 or
	// 405; Watch polls from then on.
	feedAbsent atomic.Bool

	journalOnce sync.Once
	journal     *journal
	journalErr  error
}

var _ a2a.Service = (*Client)(nil)

// New discovers the agent at rawURL (a base URL or a card URL) and returns
// a client for it.
func New(ctx context.Context, rawURL string, opts Options) (*Client, error) {
	opts, err := opts.normalized()
	if err != nil {
		return nil, err
	}
	hc, err := opts.httpClient()
	if err != nil {
		return nil, err
	}
	d, err := discover(ctx, hc, rawURL, opts)
	if err != nil {
		return nil, err
	}
	bind, err := newBinding(d.Binding, d.Version)
	if err != nil {
		return nil, err
	}
	conn := &connTracker{onChange: opts.OnConnState}
	c := &Client{
		opts: opts,
		disc: d,
		conn: conn,
		tr: &transport{
			hc: hc, endpoint: d.Endpoint, bind: bind, cardURL: d.CardURL, headers: opts.Headers,
			maxResp: opts.MaxResponseSize, maxEvent: opts.MaxEventSize, conn: conn,
			timeout: opts.Timeout, idle: opts.StreamIdle,
		},
	}
	return c, nil
}

// Discovery tells what was discovered and which dialect was chosen, why.
func (c *Client) Discovery() *Discovery { return c.disc }

// Version is the dialect in use: "1.0" or "0.3".
func (c *Client) Version() string { return c.disc.Version }

// Endpoint is the interface URL in use.
func (c *Client) Endpoint() string { return c.disc.Endpoint }

// Binding is the protocol binding in use: a2a.BindingJSONRPC or
// a2a.BindingHTTPJSON.
func (c *Client) Binding() string { return c.disc.Binding }

// ConnState is the current connection state.
func (c *Client) ConnState() ConnState { return c.conn.get() }

// remember notes a task the client has seen: in memory, and the first time
// also in the journal, so that a later Watch (v0.3 cannot list tasks) knows
// it even after a restart. Journal trouble never fails the caller.
func (c *Client) remember(t *a2a.Task) {
	if t == nil || t.ID == "" || !c.rememberID(t.ID) {
		return
	}
	if j := c.journalIfOpen(); j != nil {
		_, _, _ = j.record(t)
	}
}

// rememberID adds id to the seen set and reports whether it is new.
func (c *Client) rememberID(id string) bool {
	c.seenMu.Lock()
	defer c.seenMu.Unlock()
	if c.seen == nil {
		c.seen = make(map[string]struct{})
	}
	if _, ok := c.seen[id]; ok {
		return false
	}
	c.seen[id] = struct{}{}
	if c.opts.NoJournal {
		if c.firstSeen == nil {
			c.firstSeen = make(map[string]time.Time)
		}
		c.firstSeen[id] = time.Now()
	}
	return true
}

// journalTap is called with every event a stream hands out. It remembers
// each new task once, and records each new state in the journal, so that
// the journal's list (v0.3) shows where a streamed task got to; the cost
// per event is a comparison, and a journal write per state change.
func (c *Client) journalTap() func(a2a.Event) {
	last := ""
	var lastState a2a.TaskState
	return func(ev a2a.Event) {
		id, _ := ev.TaskInfo()
		if id == "" {
			return
		}
		if id != last {
			last, lastState = id, ""
			if t, ok := ev.(*a2a.Task); ok {
				lastState = t.Status.State
				c.remember(t)
				return
			}
			if t, err := a2a.Apply(nil, ev); err == nil {
				c.remember(t)
			}
		}
		switch ev := ev.(type) {
		case *a2a.Task:
			if ev.Status.State != lastState {
				lastState = ev.Status.State
				c.refresh(ev)
			}
		case *a2a.StatusUpdateEvent:
			if ev.Status.State != lastState {
				lastState = ev.Status.State
				if j := c.journalIfOpen(); j != nil {
					_, _, _ = j.recordStatus(ev)
				}
			}
		}
	}
}

// journalIfOpen opens the journal on first use; nil when NoJournal is set
// or it cannot be opened (its error is kept for Watch to report).
func (c *Client) journalIfOpen() *journal {
	if c.opts.NoJournal {
		return nil
	}
	c.journalOnce.Do(func() {
		path := c.opts.JournalPath
		if path == "" {
			key := c.disc.CardURL
			if key == "" {
				key = c.disc.Endpoint
			}
			var err error
			if path, err = JournalPath(key, c.opts.Getenv); err != nil {
				c.journalErr = err
				return
			}
		}
		c.journal, c.journalErr = openJournal(path)
		if c.journal != nil {
			// Tasks remembered by earlier runs count as seen.
			ids, _ := c.journal.ids()
			c.seenMu.Lock()
			if c.seen == nil {
				c.seen = make(map[string]struct{})
			}
			for _, id := range ids {
				c.seen[id] = struct{}{}
			}
			c.seenMu.Unlock()
		}
	})
	return c.journal
}

// JournalError reports why the journal could not be opened, if it could not.
func (c *Client) JournalError() error {
	c.journalIfOpen()
	return c.journalErr
}

// Timeline returns the state transitions the journal holds for a task,
// oldest first.
func (c *Client) Timeline(taskID string) ([]TimelineEntry, error) {
	j := c.journalIfOpen()
	if j == nil {
		if c.journalErr != nil {
			return nil, c.journalErr
		}
		return nil, errors.New("timeline: the journal is off")
	}
	return j.timeline(taskID)
}

// Close releases the journal file, if one was opened. No journal is opened
// after Close.
func (c *Client) Close() error {
	c.journalOnce.Do(func() { c.journalErr = errors.New("journal: the client is closed") })
	if c.journal != nil {
		return c.journal.close()
	}
	return nil
}

// SeenTasks lists the ids of the tasks this client created or was told
// about, in no particular order.
func (c *Client) SeenTasks() []string {
	c.seenMu.Lock()
	defer c.seenMu.Unlock()
	out := make([]string, 0, len(c.seen))
	for id := range c.seen {
		out = append(out, id)
	}
	return out
}

// Card returns the agent card found by discovery.
func (c *Client) Card(ctx context.Context) (*a2a.AgentCard, error) { return c.disc.Card, nil }

func (c *Client) tenant(t string) string {
	if t == "" {
		return c.disc.Tenant
	}
	return t
}

// Send sends a message; see a2a.Service. A transport failure is retried
// with the same messageId (see RetryPolicyHelp).
func (c *Client) Send(ctx context.Context, req *a2a.SendRequest) (*a2a.SendResult, error) {
	if req == nil {
		return nil, a2a.NewError(a2a.ErrInvalidParams, "send: no request")
	}
	r := outgoing(req)
	r.Tenant = c.tenant(r.Tenant)
	timeout := c.opts.SendTimeout
	if r.Config.ReturnImmediately {
		timeout = c.opts.Timeout
	}
	res, err := c.callRetrying(ctx, timeout, wire.MethodSend, r)
	if err != nil {
		return nil, c.wrap("send", err)
	}
	out := res.(*a2a.SendResult)
	if out.Task != nil {
		c.remember(out.Task)
	}
	return out, nil
}

// outgoing is a copy of req ready for the wire: a message id chosen once
// (so that every retry carries the same one) and the user's role when the
// caller left it out (servers refuse a message without a role).
func outgoing(req *a2a.SendRequest) *a2a.SendRequest {
	r := *req
	r.Message.ID = messageID(r.Message.ID)
	if r.Message.Role == a2a.RoleUnspecified {
		r.Message.Role = a2a.RoleUser
	}
	return &r
}

// callRetrying is a unary call with a timeout per try, retried as
// RetryPolicyHelp says.
func (c *Client) callRetrying(ctx context.Context, timeout time.Duration, m wire.Method, params any) (any, error) {
	var res any
	err := withRetry(ctx, c.opts.Retry, func() error {
		tctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var err error
		res, err = c.tr.call(tctx, m, params)
		return err
	})
	return res, err
}

// messageID is id, or a new one when the caller left it empty: the spec
// requires messageId (a2a-go refuses a message without one), and agents
// use it to recognise a retried message.
func messageID(id string) string {
	if id != "" {
		return id
	}
	return uuid.NewString()
}

// Stream sends a message and follows the task it starts or continues.
func (c *Client) Stream(ctx context.Context, req *a2a.SendRequest) (a2a.Stream, error) {
	if req == nil {
		return nil, a2a.NewError(a2a.ErrInvalidParams, "stream: no request")
	}
	r := outgoing(req)
	r.Tenant = c.tenant(r.Tenant)
	s := c.newTaskStream(ctx, wire.MethodStream)
	if err := s.start(r); err != nil {
		return nil, c.wrap("stream", err)
	}
	return s, nil
}

// Get returns a task.
func (c *Client) Get(ctx context.Context, req a2a.GetRequest) (*a2a.Task, error) {
	req.Tenant = c.tenant(req.Tenant)
	res, err := c.callRetrying(ctx, c.opts.Timeout, wire.MethodGet, req)
	if err != nil {
		return nil, c.wrap("get task "+req.ID, err)
	}
	t := res.(*a2a.Task)
	c.refresh(t)
	return t, nil
}

func (c *Client) getTask(ctx context.Context, id string) (*a2a.Task, error) {
	return c.Get(ctx, a2a.GetRequest{ID: id})
}

// List returns one page of tasks: v1.0 ListTasks. v0.3 has no such
// method, so there List serves the tasks this client has seen, from its
// journal (see listSeen), and marks the page FromJournal.
func (c *Client) List(ctx context.Context, req a2a.ListRequest) (*a2a.ListPage, error) {
	ordered := req.Reverse || req.ByCreated
	if ordered && (!c.ownPeer() || c.ListsFromJournal()) {
		// ListTasks has no order parameter: a remote agent lists newest
		// change first only, and a page in another order must not pass
		// for one in the order asked. a2atop's own socket takes the order
		// as its own members.
		return nil, a2a.NewError(a2a.ErrUnsupported, "list tasks oldest first or by creation: a remote agent lists newest change first only")
	}
	if c.ListsFromJournal() {
		return c.listSeen(ctx, req)
	}
	req.Tenant = c.tenant(req.Tenant)
	text := req.Text
	req.Text = ""
	res, err := c.callRetrying(ctx, c.opts.Timeout, wire.MethodList, req)
	if err != nil {
		return nil, c.wrap("list tasks", err)
	}
	page := res.(*a2a.ListPage)
	if ordered && (page.Reverse != req.Reverse || page.ByCreated != req.ByCreated) {
		// The peer ignored a2atop's order members (an older a2atop).
		return nil, a2a.NewError(a2a.ErrUnsupported, "list tasks oldest first or by creation: the agent listed in its default order")
	}
	if text != "" {
		page.Tasks = filterText(page.Tasks, text)
	}
	return page, nil
}

// ownPeer says the agent is a2atop's own: the socket's host
// (Options.OwnPeer), or an a2atop serve, whose card advertises a2atop's
// Watch feed, which no third-party agent does. Either takes a2atop's own
// ListTasks members; List still checks the page's echo of its order.
func (c *Client) ownPeer() bool {
	return c.opts.OwnPeer || (c.disc != nil && c.disc.WatchFeed != "")
}

// filterText keeps the tasks whose id, status text or metadata contain
// text, case-insensitively: a2atop's own filter, which servers never see.
func filterText(tasks []*a2a.Task, text string) []*a2a.Task {
	needle := strings.ToLower(text)
	out := tasks[:0:0]
	for _, t := range tasks {
		hay := t.ID + "\n" + t.ContextID + "\n" + t.Status.Message.Text() + "\n" + fmt.Sprint(t.Metadata)
		if strings.Contains(strings.ToLower(hay), needle) {
			out = append(out, t)
		}
	}
	return out
}

// Cancel asks the agent to cancel a task.
func (c *Client) Cancel(ctx context.Context, taskID string) (*a2a.Task, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	res, err := c.tr.call(ctx, wire.MethodCancel, taskID)
	if err != nil {
		return nil, c.wrap("cancel task "+taskID, err)
	}
	t := res.(*a2a.Task)
	c.remember(t)
	return t, nil
}

// Subscribe follows a task: its snapshot first, then live events. A task
// that already ended (or waits on its user) yields its snapshot and ends; a
// task the agent will not resubscribe to is polled.
func (c *Client) Subscribe(ctx context.Context, taskID string) (a2a.Stream, error) {
	s := c.newTaskStream(ctx, wire.MethodSubscribe)
	s.taskID = taskID
	// The snapshot first: v0.3 resubscribe sends none, and a finished task
	// needs no stream at all.
	t, err := c.getTask(s.ctx, taskID)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.pending = append(s.pending, t)
	s.last = t
	s.observe(t)
	// auth-required is followed live: the agent may continue by itself
	// when credentials arrive out of band (A2A v1.0 §7.6.2: a client
	// "SHOULD ... Subscribe to a stream of events for the Task").
	if s.finished() && s.state != a2a.StateAuthRequired {
		s.done = true
		return s, nil
	}
	if err := s.start(taskID); err != nil {
		var perr *a2a.Error
		if !errors.As(err, &perr) {
			return nil, c.wrap("subscribe to task "+taskID, err)
		}
		s = c.newTaskStream(ctx, wire.MethodSubscribe)
		s.taskID, s.last, s.state = taskID, t, t.Status.State
		s.pending = append(s.pending, t)
		s.startPolling()
	}
	return s, nil
}

// wrap says what was being done; protocol errors keep the server's own
// words after it, and errors.Is on their code still works.
func (c *Client) wrap(what string, err error) error {
	// An a2atop server's message already names the operation the same way.
	if strings.HasPrefix(err.Error(), what+": ") {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}
