package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/spf13/pflag"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/client"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/internal/auth"
	"github.com/a2atop/a2atop/internal/config"
	"github.com/a2atop/a2atop/internal/localshare"
	"github.com/a2atop/a2atop/pgstore"
)

// A target is what a command acts on: the local engine on its store, or a
// remote A2A agent. Every command that reaches tasks (the subcommands,
// serve, discover and the dashboard) gets its target the same way: one
// targetFlags registered on its flag set, resolved once into a target, and
// opened by openTarget.
//
// Room to grow: a target named in a config file becomes another source
// for resolve (a Name field, filled in before the flags override it); a
// --binding flag and auth flags become fields of remoteTarget registered
// with kind remoteKind; several targets at once (a fleet dashboard,
// `list -A`) are a []target, each opened by openTarget with its own
// connection.
type target struct {
	kind   targetKind
	local  localTarget  // when kind is localKind
	remote remoteTarget // when kind is remoteKind
}

type targetKind int

const (
	localKind  targetKind = 1 << iota // the in-process engine on a store
	remoteKind                        // a remote agent at a URL
)

func (k targetKind) String() string {
	switch k {
	case localKind:
		return "the local engine"
	case remoteKind:
		return "a remote agent (--url or a URL argument)"
	}
	return "no target"
}

// localTarget is the local engine: its store and the agent that runs new
// tasks.
type localTarget struct {
	db      string // --db as given; "" means $A2ATOP_DB, else the default path
	agent   string // demo or exec
	workdir string // the exec agent's directory; "" means the current one
	// readOnly is set by commands that only read (get, list): the store is
	// then read without starting the engine, so no task is resumed.
	readOnly bool
	// observe is the dashboard's --read-only: on a database it follows the
	// replicas' tasks without running any (store.go).
	observe bool
	// limits bound the engine's queue when this process runs it (engine.go).
	limits engineLimits
}

// remoteTarget is an agent reached over the network.
type remoteTarget struct {
	url      string
	protocol string   // "", 1.0 or 0.3
	headers  []string // "Name: value", from $A2ATOP_HEADERS and --header
	caCert   string
	insecure bool
	// binding forces "jsonrpc" or "rest" ("" lets the card decide); creds
	// are the credentials given, resolved (auth.go).
	binding string
	creds   auth.Credentials
	// config is the config file's entry for a named agent: its header and
	// auth secrets are resolved when the agent is opened.
	config *config.Agent
}

// targetFlags are the flags that choose and describe a target. Each flag
// belongs to one kind; a flag given for a target of another kind is a
// usage error naming it.
type targetFlags struct {
	fs    *pflag.FlagSet
	kinds targetKind // the kinds this command can open
	local localTarget
	url   string
	// the remote flags as given
	protocol string
	headers  headerList
	caCert   string
	insecure bool
	// the binding and credential flags (auth.go)
	auth authFlags
}

// flagKinds says which kind of target each target flag describes.
var flagKinds = map[string]targetKind{
	"db": localKind, "agent": localKind, "workdir": localKind, "max-running": localKind, "max-queued": localKind, "allow-damaged": localKind,
	"keep": localKind, "keep-count": localKind,
	"url": remoteKind, "protocol": remoteKind, "header": remoteKind, "ca-cert": remoteKind, "insecure": remoteKind,
	"binding": remoteKind, "token-file": remoteKind, "api-key-file": remoteKind, "api-key-name": remoteKind, "api-key-in": remoteKind,
	"client-id": remoteKind, "client-secret-file": remoteKind, "token-url": remoteKind, "scope": remoteKind, "cert": remoteKind, "key": remoteKind,
}

// addTargetFlags registers the flags of the target kinds a command can
// open on fs.
func addTargetFlags(fs *pflag.FlagSet, kinds targetKind) *targetFlags {
	f := &targetFlags{fs: fs, kinds: kinds}
	if kinds&localKind != 0 {
		fs.StringVar(&f.local.db, "db", "", "task store `PATH`, or a PostgreSQL DSN postgres://USER@HOST/DB shared by replicas (default $A2ATOP_DB, else $XDG_DATA_HOME/a2atop/tasks.db or ~/.local/share/a2atop/tasks.db); :memory: keeps nothing")
		fs.StringVar(&f.local.agent, "agent", "demo", "built-in agent that runs new tasks: `demo` or exec (runs each message as a shell command)")
		fs.StringVar(&f.local.workdir, "workdir", "", "working `DIR` of the exec agent (default the current directory)")
		f.local.limits.register(fs)
	}
	if kinds&remoteKind != 0 {
		fs.StringVar(&f.url, "url", "", "act on the remote A2A agent at `URL` (base or agent card URL; default $A2ATOP_URL) instead of the local engine")
		fs.StringVar(&f.protocol, "protocol", "", "remote dialect `1.0|0.3` (default: what the agent card offers, 1.0 preferred)")
		fs.Var(&f.headers, "header", "send `'Name: value'` with every remote request (repeatable; also $A2ATOP_HEADERS, one per line)")
		fs.StringVar(&f.caCert, "ca-cert", "", "trust the PEM certificates in `FILE` as well as the system roots")
		fs.BoolVar(&f.insecure, "insecure", false, "skip TLS certificate verification (unsafe)")
		f.auth.register(fs)
	}
	return f
}

// resolve chooses the target: a remote agent when a URL is given (as
// positionalURL, --url or $A2ATOP_URL, in that order of strength) and the
// command can reach one, else the local engine. A flag given for the other
// kind is a usage error naming it.
func (f *targetFlags) resolve(positionalURL string, getenv func(string) string) (target, error) {
	url := ""
	if f.kinds&remoteKind != 0 {
		if positionalURL != "" && f.url != "" {
			return target{}, usageErr("give the agent URL once: as an argument or with --url")
		}
		url = firstNonEmpty(positionalURL, f.url, strings.TrimSpace(getenv("A2ATOP_URL")))
	}
	kind := localKind
	if url != "" || f.kinds&localKind == 0 {
		kind = remoteKind
	}
	if err := f.refuseOtherKinds(kind); err != nil {
		return target{}, err
	}
	if kind == localKind {
		if err := f.local.limits.check(); err != nil {
			return target{}, err
		}
		return target{kind: localKind, local: f.local}, nil
	}
	if url == "" {
		return target{}, usageErr("missing the agent URL (give it as an argument, with --url or in $A2ATOP_URL)")
	}
	switch f.protocol {
	case "", "1.0", "0.3":
	default:
		return target{}, usageErr("--protocol %q: use 1.0 or 0.3", clean(f.protocol, 40))
	}
	headers := append([]string{getenv("A2ATOP_HEADERS")}, f.headers...)
	if _, err := client.ParseHeaders(headers...); err != nil {
		return target{}, usageErr("%v", err)
	}
	binding, err := bindingName(f.auth.binding)
	if err != nil {
		return target{}, usageErr("%v", err)
	}
	creds, err := f.auth.credentials(getenv)
	if err != nil {
		return target{}, usageErr("%v", err)
	}
	return target{kind: remoteKind, remote: remoteTarget{
		url: url, protocol: f.protocol, headers: headers, caCert: f.caCert, insecure: f.insecure,
		binding: binding, creds: creds,
	}}, nil
}

// repeat is the target flags the user gave, as they would type them
// again (shell-quoted, each followed by a space), for hints that print a
// command to run next. Header values are secrets: they are not repeated,
// only said to be needed.
func (f *targetFlags) repeat() string {
	var b strings.Builder
	headers := false
	f.fs.Visit(func(fl *pflag.Flag) {
		if _, ok := flagKinds[fl.Name]; !ok {
			return
		}
		switch {
		case fl.Name == "header":
			headers = true
		case fl.Value.Type() == "bool":
			fmt.Fprintf(&b, "--%s ", fl.Name)
		default:
			fmt.Fprintf(&b, "--%s %s ", fl.Name, shellQuote(fl.Value.String()))
		}
	})
	if headers {
		b.WriteString("--header '…' ")
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// refuseOtherKinds fails on the first flag (in name order) that was given
// and describes a target of another kind than kind.
func (f *targetFlags) refuseOtherKinds(kind targetKind) error {
	var err error
	f.fs.Visit(func(fl *pflag.Flag) {
		// A kind the command cannot open registered no flags: a flag of
		// that name is the command's own (serve's --token-file).
		if k, ok := flagKinds[fl.Name]; ok && k != kind && f.kinds&k != 0 && err == nil {
			err = usageErr("--%s applies to %s, not to %s", fl.Name, k, kind)
		}
	})
	return err
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// opened is a target ready to use.
type opened struct {
	svc   a2a.Service
	close func() error
	// local is the local engine's role on a shared store; nil for a remote
	// agent or a store in memory.
	local *localshare.Local
	// remote is the client of a remote agent; nil for the local engine.
	remote *client.Client
	// auth is the remote agent's credentials session, for the header.
	auth *auth.Session
	// path is the local store's path.
	path string
}

// remoteHeader is the header's words for a remote agent: its endpoint,
// dialect and, when any are asked or sent, the credentials.
func (op *opened) remoteHeader() string {
	s := fmt.Sprintf("%s · A2A v%s", op.remote.Endpoint(), op.remote.Version())
	if op.auth == nil {
		return s
	}
	if p, ok := op.auth.Plan(); ok && p.Label() != "" {
		s += " · auth " + p.Label()
	}
	return s
}

// openHooks let the dashboard follow a target's connection.
type openHooks struct {
	// onRole hears every change of the local engine's role; nil prints a
	// takeover on stderr.
	onRole func(localshare.Role)
	// onConn hears a remote client's connection states. It must not block.
	onConn func(client.ConnState)
	// onWarn hears warnings about the target (plain-http credentials,
	// --insecure, the store's sharing) while a dashboard covers stderr;
	// nil prints them on stderr. It must not block.
	onWarn func(string)
}

// warn hands msg to onWarn, or prints it on stderr.
func (c *cli) warn(h openHooks, msg string) {
	msg = oneLine(msg)
	if h.onWarn != nil {
		h.onWarn(msg)
		return
	}
	fmt.Fprintf(c.stderr, "a2atop: %s\n", msg)
}

// openTarget opens t. A store on disk is shared between a2atop processes
// (package localshare): the first to open it hosts the engine and serves it
// on a socket beside the file, the others use that socket. Errors reaching
// the store or the agent are exit status 3.
func (c *cli) openTarget(ctx context.Context, t target, hooks openHooks) (*opened, error) {
	switch t.kind {
	case localKind:
		return c.openLocal(ctx, t.local, hooks)
	case remoteKind:
		return c.openRemote(ctx, t.remote, hooks)
	}
	return nil, fmt.Errorf("open target: unknown kind %d", t.kind)
}

// openRemote connects to a remote agent.
func (c *cli) openRemote(ctx context.Context, r remoteTarget, hooks openHooks) (*opened, error) {
	if r.insecure {
		c.warn(hooks, insecureWarning)
	}
	opts := r.clientOptions()
	opts.Getenv = c.getenv
	opts.OnConnState = hooks.onConn
	if r.config != nil {
		lines, err := configHeaders(ctx, r.config, c.getenv)
		if err != nil {
			return nil, unreachable(err)
		}
		h, err := client.ParseHeaders(lines...)
		if err != nil {
			return nil, unreachable(fmt.Errorf("agent %s: %w", r.config.Name, err))
		}
		for name, vs := range h {
			for _, v := range vs {
				opts.Headers.Add(name, v)
			}
		}
		if r.creds, err = credentialsFromConfig(ctx, r.config.Auth, c.getenv); err != nil {
			return nil, unreachable(fmt.Errorf("agent %s: %w", r.config.Name, err))
		}
	}
	sess, err := c.remoteAuth(ctx, r, &opts, func(msg string) { c.warn(hooks, msg) })
	if err != nil {
		return nil, err
	}
	cl, err := client.New(ctx, r.url, opts)
	if err != nil {
		return nil, unreachable(fmt.Errorf("reach the agent at %s: %w", r.url, err))
	}
	return &opened{svc: cl, close: cl.Close, remote: cl, auth: sess}, nil
}

const insecureWarning = "warning: --insecure: TLS certificates are not verified; anyone on the path can read and change this traffic"

// clientOptions is how the client reaches the agent.
func (r remoteTarget) clientOptions() client.Options {
	headers, _ := client.ParseHeaders(r.headers...) // checked by resolve
	return client.Options{Protocol: r.protocol, Binding: r.binding, Headers: http.Header(headers), CACertFile: r.caCert, Insecure: r.insecure}
}

// openLocal opens the local engine on its store. hooks.onRole, when set,
// hears every role change.
func (c *cli) openLocal(ctx context.Context, l localTarget, hooks openHooks) (*opened, error) {
	if err := checkDSNShape(c.dbValue(l.db)); err != nil {
		return nil, err
	}
	exec, err := c.executor(l)
	if err != nil {
		return nil, err
	}
	var card a2a.AgentCard
	if d, ok := exec.(engine.Describer); ok {
		card = d.Card()
	}
	path, isDefault, err := c.dbPath(l.db)
	if err != nil {
		return nil, unreachable(err)
	}
	if pgstore.IsDSN(path) { // never a path: every process is a replica (store.go)
		return c.openDatabase(ctx, l, path, exec, card)
	}
	if path == ":memory:" {
		return c.openMemory(l, exec, card)
	}
	if l.readOnly {
		if err := requireStore(path, isDefault); err != nil {
			return nil, err
		}
	} else if isDefault {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, unreachable(fmt.Errorf("create the store's directory: %w", err))
		}
	}
	agent, workdir := agentIdentity(l)
	var built atomic.Bool
	onRole := hooks.onRole
	if onRole == nil {
		onRole = func(r localshare.Role) {
			if r.Kind == localshare.Host {
				c.warn(hooks, "the engine's host left; this a2atop now runs the tasks of "+path)
			}
		}
	}
	loc, err := localshare.Open(ctx, path, localshare.Options{
		NewExecutor: func() (engine.Executor, error) {
			if built.CompareAndSwap(false, true) { // the one built above, to check the flags
				return exec, nil
			}
			return c.executor(l)
		},
		Agent:    agent,
		Workdir:  workdir,
		Engine:   l.limits.options(),
		ReadOnly: l.readOnly,
		Card:     card,
		Getenv:   c.getenv,
		Warn:     func(msg string) { c.warn(hooks, msg) },
		OnRole:   onRole,
	})
	if err != nil {
		return nil, openErr(err, path, isDefault)
	}
	if r := loc.Role(); r.Kind == localshare.Client && !l.readOnly && (r.Agent != agent || r.Workdir != workdir) {
		c.warn(hooks, fmt.Sprintf("%s is in use by a2atop pid %d, whose %s agent runs the tasks (not the %s agent this a2atop names)",
			path, r.PID, describeAgent(r.Agent, r.Workdir), describeAgent(agent, workdir)))
	}
	return &opened{svc: loc, close: loc.Close, local: loc, path: path}, nil
}

// openMemory runs the engine on a store that keeps nothing (--db :memory:).
func (c *cli) openMemory(l localTarget, exec engine.Executor, card a2a.AgentCard) (*opened, error) {
	store := engine.NewMemoryStore()
	if l.readOnly {
		return &opened{svc: localshare.ReadOnlyService(store, card), close: store.Close, path: ":memory:"}, nil
	}
	eng, err := engine.New(store, exec, l.limits.options())
	if err != nil {
		return nil, unreachable(fmt.Errorf("start the engine in memory: %w", err))
	}
	return &opened{svc: eng, close: func() error { return errors.Join(eng.Close(), store.Close()) }, path: ":memory:"}, nil
}

// executor builds the chosen agent; a bad choice is a usage error.
func (c *cli) executor(l localTarget) (engine.Executor, error) {
	switch l.agent {
	case "demo", "":
		if l.workdir != "" {
			return nil, usageErr("--workdir only applies to --agent exec")
		}
		return agents.NewDemo(), nil
	case "exec":
		dir := l.workdir
		if dir == "" {
			wd, err := os.Getwd()
			if err != nil {
				return nil, fmt.Errorf("exec agent: current directory: %w", err)
			}
			dir = wd
		}
		ex, err := agents.NewExec(dir, agents.ExecOptions{})
		if err != nil {
			return nil, usageErr("--workdir: %v", err)
		}
		return ex, nil
	default:
		return nil, usageErr("unknown --agent %q: use demo or exec", clean(l.agent, 80))
	}
}

// dbPath resolves --db, $A2ATOP_DB and the default location.
func (c *cli) dbPath(flagValue string) (path string, isDefault bool, err error) {
	if flagValue != "" {
		return flagValue, false, nil
	}
	if p := c.getenv("A2ATOP_DB"); p != "" {
		return p, false, nil
	}
	dir := c.getenv("XDG_DATA_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home := c.getenv("HOME")
		if home == "" {
			return "", false, errors.New("no --db given and no $HOME for the default store: give --db PATH or set $A2ATOP_DB")
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "a2atop", "tasks.db"), true, nil
}

// agentIdentity is the agent flags as the host describes them to
// clients: the exec agent with its absolute working directory.
func agentIdentity(l localTarget) (agent, workdir string) {
	agent = orDemo(l.agent)
	if agent != "exec" {
		return agent, ""
	}
	dir := l.workdir
	if dir == "" {
		dir, _ = os.Getwd()
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return agent, dir
}

func describeAgent(agent, workdir string) string {
	if workdir == "" {
		return agent
	}
	return agent + " (in " + workdir + ")"
}

func orDemo(agent string) string {
	if agent == "" {
		return "demo"
	}
	return agent
}

// headerList collects repeated --header values, checked as they come.
type headerList []string

func (h *headerList) String() string { return strings.Join(*h, ", ") }
func (h *headerList) Type() string   { return "header" }
func (h *headerList) Set(s string) error {
	if _, _, err := client.ParseHeader(s); err != nil {
		return err
	}
	*h = append(*h, s)
	return nil
}
