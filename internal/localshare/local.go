// Package localshare opens "the local engine on a task store" for any
// number of a2atop processes at once. The first process to take the
// store's lock hosts: it opens the bbolt store, starts the engine, and
// serves it (the A2A server of package server) on a unix socket beside the
// store, owner-only. Every other process that opens the same store gets
// localstore.ErrInUse, connects to that socket instead, and uses the
// host's engine through package client. When the host exits, its clients
// take over: the first to get the lock hosts, the others connect to it,
// and calls in flight are carried over (sends are idempotent by message
// id, streams resume by subscribing to their task, Watch from its cursor).
//
// The service Open returns switches its delegate underneath its callers;
// Role tells which side this process is on, and Options.OnRole reports
// every change.
package localshare

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/client"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/localstore"
)

// Options configure Open.
type Options struct {
	// NewExecutor builds the agent that runs tasks while this process
	// hosts: at Open, or later when it takes over. Required unless
	// ReadOnly.
	NewExecutor func() (engine.Executor, error)
	// Agent and Workdir describe that agent to clients, so that one given
	// other flags can say whose agent runs its tasks.
	Agent, Workdir string
	// Engine configures the engine while hosting.
	Engine engine.Options
	// ReadOnly opens the store without an engine when it is free (no task
	// is resumed, nothing is served), and reads through the host's socket
	// when another process holds it. Send, Stream, Cancel, Subscribe and
	// Watch then fail with a2a.ErrUnsupported unless connected to a host.
	ReadOnly bool
	// Card is what Card answers while reading the store (ReadOnly).
	Card a2a.AgentCard
	// OpenTimeout bounds the wait at Open for a store in use whose host
	// does not answer yet (it may be starting, or a reader holds the lock
	// for a moment); default 3s.
	OpenTimeout time.Duration
	// TakeoverTimeout bounds the wait for the store after the host left
	// (it releases the lock only once its engine has closed); default 20s.
	TakeoverTimeout time.Duration
	// Getenv reads $XDG_RUNTIME_DIR for a socket whose path beside the
	// store would be too long; default os.Getenv.
	Getenv func(string) string
	// Logger gets the socket server's request lines; default discard.
	Logger *slog.Logger
	// Warn gets one-line warnings (the engine could not be shared);
	// default discard.
	Warn func(string)
	// OnRole is called with every change of Role after Open, from the
	// goroutine that made it; it must not block.
	OnRole func(Role)
	// Client tunes the socket client (its HTTPClient, NoJournal and
	// Reconnect.GiveUpAfter are set by Open).
	Client client.Options
}

const (
	defaultOpenTimeout     = 3 * time.Second
	defaultTakeoverTimeout = 20 * time.Second
	// retryInterval paces open-or-dial attempts.
	retryInterval = 50 * time.Millisecond
	// lockWait is each attempt's wait for the store's lock.
	lockWait = 100 * time.Millisecond
	// dialTimeout bounds one connection to a host, its answer included.
	dialTimeout = 2 * time.Second
	// clientGiveUp: a stream through the socket stops reconnecting this
	// soon; the host is gone and the takeover takes it from there.
	clientGiveUp = time.Second
)

// RoleKind is this process's side.
type RoleKind int

const (
	// Host: this process holds the store and runs the engine.
	Host RoleKind = iota + 1
	// Reader: this process holds the store read-only, with no engine.
	Reader
	// Client: another process hosts the engine; this one uses its socket.
	Client
	// Lost: the host left and no successor could be reached (Err says why).
	Lost
)

// Role says which side of the store this process is on.
type Role struct {
	Kind RoleKind
	// PID is the host's process id (this process's when hosting).
	PID int
	// Agent and Workdir are the host's agent flags.
	Agent, Workdir string
	// Socket is where the engine is shared ("" when it is not).
	Socket string
	// Err is why the role is Lost.
	Err error
}

// String reads like "hosting the engine", "using the engine of pid 4242".
func (r Role) String() string {
	switch r.Kind {
	case Host:
		if r.Socket == "" {
			return "hosting the engine (not shared)"
		}
		return "hosting the engine"
	case Reader:
		return "reading the store"
	case Client:
		return "using the engine of pid " + strconv.Itoa(r.PID)
	case Lost:
		return "engine lost: " + errText(r.Err)
	}
	return "closed"
}

func errText(err error) string {
	if err == nil {
		return "unknown"
	}
	return err.Error()
}

// ErrClosed is returned by a Local's methods after Close.
var ErrClosed = errors.New("the local engine is closed")

// Local is the task service of one store, hosted here or reached through
// its host's socket. Safe for concurrent use.
type Local struct {
	path string
	opts Options

	// ctx ends at Close: it bounds takeovers and background work.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	cur     *delegate     // nil while switching
	changed chan struct{} // closed and replaced on every switch
	gen     uint64
	closed  bool

	// switchMu makes takeovers one at a time.
	switchMu sync.Mutex

	// streams are the open streams, moved to the successor at a takeover.
	streamsMu sync.Mutex
	streams   map[*resumeStream]struct{}
}

// delegate is what the calls go to for one generation.
type delegate struct {
	gen    uint64
	svc    a2a.Service
	role   Role
	host   *host // Host
	store  *localstore.Store
	remote *remote // Client
	err    error   // Lost
}

var _ a2a.Service = (*Local)(nil)

// Open opens the local engine on the store at path: hosting it when the
// store is free, else through its host's socket. When the store stays in
// use by a process that does not answer for Options.OpenTimeout, it fails
// with an error that wraps localstore.ErrInUse.
func Open(ctx context.Context, path string, opts Options) (*Local, error) {
	if opts.NewExecutor == nil && !opts.ReadOnly {
		return nil, errors.New("localshare: Options.NewExecutor is required")
	}
	if opts.OpenTimeout <= 0 {
		opts.OpenTimeout = defaultOpenTimeout
	}
	if opts.TakeoverTimeout <= 0 {
		opts.TakeoverTimeout = defaultTakeoverTimeout
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Client.Reconnect.GiveUpAfter = clientGiveUp
	if opts.Client.SendTimeout <= 0 {
		// A blocking send waits as long through the socket as on the
		// engine itself (the client's default would cut it at 10 min).
		opts.Client.SendTimeout = 10 * 365 * 24 * time.Hour
	}
	if opts.Client.Reconnect.Initial <= 0 {
		opts.Client.Reconnect.Initial = 50 * time.Millisecond
	}
	if opts.Client.Reconnect.Max <= 0 {
		opts.Client.Reconnect.Max = 250 * time.Millisecond
	}
	l := &Local{path: path, opts: opts, changed: make(chan struct{}), streams: map[*resumeStream]struct{}{}}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	d, err := l.connect(ctx, opts.OpenTimeout)
	if err != nil {
		l.cancel()
		return nil, err
	}
	d.gen = 1
	l.gen = 1
	l.cur = d
	l.watchHost(d)
	return l, nil
}

// Role is this process's current side.
func (l *Local) Role() Role {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil {
		return Role{Kind: Lost, Err: errors.New("switching to the new host")}
	}
	return l.cur.role
}

// Path is the store's path as given to Open.
func (l *Local) Path() string { return l.path }

func (l *Local) warn(msg string) {
	if l.opts.Warn != nil {
		l.opts.Warn(msg)
	}
}

// connect connects to the host serving the store or, when none answers,
// opens the store; while another process holds it without answering (it
// is starting, or closing, or only reading), it retries both until
// timeout. The socket is tried first: asking a live host costs a
// connection, whereas a lock attempt on a held store costs bbolt's lock
// poll interval (50 ms).
func (l *Local) connect(ctx context.Context, timeout time.Duration) (*delegate, error) {
	deadline := time.Now().Add(timeout)
	// A reader must not create the store it was asked to read.
	sopts := localstore.Options{LockTimeout: lockWait, NoCreate: l.opts.ReadOnly}
	var sockErr, dialErr error
	for {
		sock, serr := SocketPath(l.path, l.opts.Getenv)
		sockErr = serr
		if sock != "" {
			if fi, err := os.Lstat(sock); err == nil && fi.Mode().Type() == fs.ModeSocket {
				// A host that accepts but does not answer (stopped,
				// wedged) must not hold this open forever.
				dctx, cancel := context.WithTimeout(ctx, dialTimeout)
				r, err := dialHost(dctx, sock, l.opts.Client)
				cancel()
				if err == nil {
					return l.clientOf(r), nil
				}
				dialErr = err
			}
		}
		st, err := localstore.Open(l.path, sopts)
		if err == nil {
			return l.hostOn(st)
		}
		if !errors.Is(err, localstore.ErrInUse) {
			return nil, err
		}
		if time.Now().After(deadline) {
			why := "its engine is not shared"
			switch {
			case sockErr != nil:
				why = sockErr.Error()
			case dialErr != nil:
				why = "its engine did not answer on the socket: " + dialErr.Error()
			}
			return nil, fmt.Errorf("open store %s: %w, and %s (waited %s): close that a2atop, or pass --db another path", l.path, localstore.ErrInUse, why, timeout)
		}
		if err := sleepCtx(ctx, retryInterval); err != nil {
			return nil, err
		}
	}
}

func (l *Local) hostOn(st *localstore.Store) (*delegate, error) {
	if l.opts.ReadOnly {
		return &delegate{svc: &storeReader{store: st, card: l.opts.Card}, store: st, role: Role{Kind: Reader, PID: os.Getpid()}}, nil
	}
	sock, err := SocketPath(l.path, l.opts.Getenv)
	if err != nil {
		l.warn(fmt.Sprintf("other a2atop processes cannot share this engine: %v", err))
	}
	h, err := l.startHost(st, sock)
	if err != nil {
		return nil, err
	}
	role := Role{Kind: Host, PID: os.Getpid(), Agent: l.opts.Agent, Workdir: l.opts.Workdir}
	if h.ln != nil {
		role.Socket = h.sock
	}
	return &delegate{svc: h.eng, host: h, role: role}, nil
}

func (l *Local) clientOf(r *remote) *delegate {
	return &delegate{svc: r.cl, remote: r, role: Role{
		Kind: Client, PID: r.info.PID, Agent: r.info.Agent, Workdir: r.info.Workdir, Socket: r.sock,
	}}
}

// watchHost starts the goroutine that takes over when a client's host
// goes away.
func (l *Local) watchHost(d *delegate) {
	if d.remote == nil {
		return
	}
	l.wg.Go(func() {
		select {
		case <-d.remote.ended:
			_, _ = l.takeOver(d.gen)
		case <-l.ctx.Done():
		}
	})
}

// current returns the delegate calls go to now, waiting while a takeover
// is under way.
func (l *Local) current(ctx context.Context) (*delegate, error) {
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return nil, ErrClosed
		}
		d, ch := l.cur, l.changed
		l.mu.Unlock()
		if d != nil && d.role.Kind == Lost {
			// Try again: the store may be free, or a host back.
			if nd, err := l.takeOver(d.gen); err == nil {
				return nd, nil
			}
			return nil, d.err
		}
		if d != nil {
			return d, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// takeOver replaces the delegate of generation gen, whose host is gone,
// by hosting here or connecting to the successor. A takeover already done
// for gen returns its result.
func (l *Local) takeOver(gen uint64) (*delegate, error) {
	l.switchMu.Lock()
	defer l.switchMu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrClosed
	}
	old := l.cur
	if old == nil {
		l.mu.Unlock()
		return nil, ErrClosed
	}
	if old.gen != gen {
		// Someone else took over already.
		l.mu.Unlock()
		if old.role.Kind == Lost {
			return nil, old.err
		}
		return old, nil
	}
	l.cur = nil
	l.mu.Unlock()
	if old.remote != nil {
		_ = old.remote.close()
	}

	timeout := l.opts.TakeoverTimeout
	if old.role.Kind == Lost {
		timeout = l.opts.OpenTimeout
	}
	d, err := l.connect(l.ctx, timeout)
	if err != nil {
		d = &delegate{err: fmt.Errorf("the engine's host left and no successor answered: %w", err)}
		d.role = Role{Kind: Lost, Err: d.err}
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		if err == nil {
			_ = d.close()
		}
		return nil, ErrClosed
	}
	l.gen++
	d.gen = l.gen
	l.cur = d
	close(l.changed)
	l.changed = make(chan struct{})
	// Registered before Close can see the new delegate, so that Close's
	// Wait covers the goroutine.
	l.watchHost(d)
	l.mu.Unlock()
	l.moveStreams(gen)
	if l.opts.OnRole != nil {
		l.opts.OnRole(d.role)
	}
	if err != nil {
		return nil, d.err
	}
	return d, nil
}

// hostLost tells, after a call through d failed, whether the failure is
// the host's going away rather than an answer.
func (l *Local) hostLost(ctx context.Context, d *delegate) bool {
	if d.remote == nil {
		return false
	}
	l.mu.Lock()
	moved := l.cur != d
	l.mu.Unlock()
	return moved || !d.remote.alive(ctx)
}

func (d *delegate) close() error {
	switch {
	case d.host != nil:
		return d.host.close()
	case d.remote != nil:
		return d.remote.close()
	case d.store != nil:
		return d.store.Close()
	}
	return nil
}

// Close lets go of the store: a host closes its engine and store (its
// clients then take over), a client its connection.
func (l *Local) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	// A takeover in progress ends (its ctx is done) before the delegate
	// is read.
	l.switchMu.Lock()
	l.mu.Lock()
	d := l.cur
	l.cur = nil
	l.mu.Unlock()
	l.switchMu.Unlock()
	var err error
	if d != nil {
		err = d.close()
	}
	l.wg.Wait()
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
