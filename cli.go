package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/internal/localshare"
)

// Exit statuses, documented in `a2atop help`.
const (
	exitOK          = 0 // done; a task completed or waits for input
	exitTaskFailed  = 1 // a task failed, was canceled or rejected; or the service refused the request
	exitUsage       = 2 // the command line is wrong
	exitUnreachable = 3 // the store or the server could not be reached
	exitInterrupted = 130
)

// maxStdinText bounds a message read from stdin (`send -`).
const maxStdinText = 64 << 20

// cli holds a run's streams; everything else is per command.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// exitError carries an exit status up to main with the one line to print.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func unreachable(err error) error { return &exitError{code: exitUnreachable, err: err} }

// errInterrupted ends a wait cut short by SIGINT.
var errInterrupted = errors.New("interrupted: stopped waiting (the task was not canceled)")

type command struct {
	name    string
	summary string
	usage   string
	run     func(c *cli, ctx context.Context, args []string) (int, error)
}

func commands() []command {
	return []command{
		{"send", "send a message: start a task, or answer one with --task", "send [flags] TEXT|-", (*cli).send},
		{"get", "show a task", "get [flags] ID", (*cli).get},
		{"list", "list tasks, newest first", "list [flags]", (*cli).list},
		{"cancel", "cancel a task", "cancel [flags] ID", (*cli).cancel},
		{"subscribe", "follow a task's events until it ends or waits for input", "subscribe [flags] ID", (*cli).subscribe},
		{"discover", "show a remote agent's card and the dialect a2atop would speak", "discover [--json] URL", (*cli).discover},
		{"serve", "publish the local engine as an A2A server (JSON-RPC + SSE, both dialects)", "serve [flags]", (*cli).serve},
		{"version", "print the version", "version", (*cli).version},
		{"help", "show help for a2atop or a subcommand", "help [SUBCOMMAND]", (*cli).help},
	}
}

func findCommand(name string) (command, bool) {
	for _, cmd := range commands() {
		if cmd.name == name {
			return cmd, true
		}
	}
	return command{}, false
}

// main dispatches to a subcommand, or to the dashboard when there is none,
// and turns errors into one line on stderr and an exit status.
func (c *cli) main(ctx context.Context, args []string) int {
	if len(args) == 0 || opensDashboard(args[0]) {
		return runDashboard(args, c.stdout, c.stderr)
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "--version", "-version":
		name = "version"
	}
	cmd, ok := findCommand(name)
	if !ok {
		return c.fail(usageErr("unknown subcommand %q; run `a2atop help` for the list", clean(name, 80)))
	}
	code, err := cmd.run(c, ctx, args[1:])
	if err != nil {
		return c.fail(err)
	}
	return code
}

// opensDashboard tells the dashboard's arguments (its flags, an agent URL)
// from a subcommand.
func opensDashboard(arg string) bool {
	if arg == "-h" || arg == "-help" || arg == "--help" || arg == "--version" || arg == "-version" {
		return false
	}
	return strings.HasPrefix(arg, "-") || strings.Contains(arg, "://")
}

// fail prints err as one line and returns its exit status.
func (c *cli) fail(err error) int {
	code := exitTaskFailed
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case errors.Is(err, errInterrupted):
		code = exitInterrupted
	}
	fmt.Fprintf(c.stderr, "a2atop: %s\n", oneLine(clean(err.Error(), 2000)))
	return code
}

// newFlagSet returns a subcommand's flag set; its usage goes to stderr on
// errors and to stdout for --help.
func (c *cli) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("a2atop "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses args, allowing flags after positional arguments when
// interspersed is set (`a2atop get ID --json`). It returns handled=true when
// it printed help.
func (c *cli) parse(fs *flag.FlagSet, args []string, interspersed bool) (positional []string, handled bool, err error) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.printUsage(c.stdout, fs)
				return nil, true, nil
			}
			return nil, false, usageErr("%s: %v (see `%s --help`)", strings.TrimPrefix(fs.Name(), "a2atop "), err, fs.Name())
		}
		args = fs.Args()
		if !interspersed || len(args) == 0 {
			return append(positional, args...), false, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), false, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// serviceFlags are the flags every subcommand that talks to a service has.
// openService turns them into an a2a.Service; a remote --url joins here.
type serviceFlags struct {
	db      string
	agent   string
	workdir string
	// readOnly is set by commands that only read (get, list): the local
	// store is then read without starting the engine, so no task is resumed.
	readOnly bool
	// remote (--url and friends, cli_remote.go) selects a remote agent.
	remote remoteFlags
}

func (f *serviceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.db, "db", "", "task store `PATH` (default $A2ATOP_DB, else $XDG_DATA_HOME/a2atop/tasks.db or ~/.local/share/a2atop/tasks.db); :memory: keeps nothing")
	fs.StringVar(&f.agent, "agent", "demo", "built-in agent that runs new tasks: `demo` or exec (runs each message as a shell command)")
	fs.StringVar(&f.workdir, "workdir", "", "working `DIR` of the exec agent (default the current directory)")
}

// executor builds the chosen agent; a bad choice is a usage error.
func (f *serviceFlags) executor() (engine.Executor, error) {
	switch f.agent {
	case "demo", "":
		if f.workdir != "" {
			return nil, usageErr("--workdir only applies to --agent exec")
		}
		return agents.NewDemo(), nil
	case "exec":
		dir := f.workdir
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
		return nil, usageErr("unknown --agent %q: use demo or exec", clean(f.agent, 80))
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
		home, err := os.UserHomeDir()
		if err != nil {
			return "", false, fmt.Errorf("no --db given and no home directory for the default store: %w", err)
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "a2atop", "tasks.db"), true, nil
}

// openService opens the task service the flags name and returns it with
// the function that shuts it down. A store on disk is shared between
// a2atop processes (package localshare): the first to open it hosts the
// engine and serves it on a socket beside the file, the others use that
// socket. Errors reaching the store or server are exit status 3.
func (c *cli) openService(ctx context.Context, f *serviceFlags) (a2a.Service, func() error, error) {
	svc, closeFn, _, err := c.openLocal(ctx, f, nil)
	return svc, closeFn, err
}

// openLocal is openService with the local engine's role: nil for a remote
// agent or a store in memory. onRole, when set, hears every role change.
func (c *cli) openLocal(ctx context.Context, f *serviceFlags, onRole func(localshare.Role)) (a2a.Service, func() error, *localshare.Local, error) {
	if url := f.remote.agentURL(c.getenv); url != "" {
		svc, closeFn, err := c.openRemote(ctx, f, url)
		return svc, closeFn, nil, err
	}
	exec, err := f.executor()
	if err != nil {
		return nil, nil, nil, err
	}
	var card a2a.AgentCard
	if d, ok := exec.(engine.Describer); ok {
		card = d.Card()
	}
	path, isDefault, err := c.dbPath(f.db)
	if err != nil {
		return nil, nil, nil, unreachable(err)
	}
	if path == ":memory:" {
		store := engine.NewMemoryStore()
		if f.readOnly {
			return localshare.ReadOnlyService(store, card), store.Close, nil, nil
		}
		eng, err := engine.New(store, exec, engine.Options{})
		if err != nil {
			return nil, nil, nil, unreachable(fmt.Errorf("start the engine in memory: %w", err))
		}
		return eng, func() error { return errors.Join(eng.Close(), store.Close()) }, nil, nil
	}
	if isDefault {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, nil, nil, unreachable(fmt.Errorf("create the store's directory: %w", err))
		}
	}
	agent, workdir := f.agentIdentity()
	var built atomic.Bool
	if onRole == nil {
		onRole = func(r localshare.Role) {
			if r.Kind == localshare.Host {
				fmt.Fprintf(c.stderr, "a2atop: the engine's host left; this a2atop now runs the tasks of %s\n", path)
			}
		}
	}
	loc, err := localshare.Open(ctx, path, localshare.Options{
		NewExecutor: func() (engine.Executor, error) {
			if built.CompareAndSwap(false, true) { // the one built above, to check the flags
				return exec, nil
			}
			return f.executor()
		},
		Agent:    agent,
		Workdir:  workdir,
		ReadOnly: f.readOnly,
		Card:     card,
		Getenv:   c.getenv,
		Warn:     func(msg string) { fmt.Fprintf(c.stderr, "a2atop: %s\n", oneLine(msg)) },
		OnRole:   onRole,
	})
	if err != nil {
		return nil, nil, nil, unreachable(err)
	}
	if r := loc.Role(); r.Kind == localshare.Client && !f.readOnly && (r.Agent != agent || r.Workdir != workdir) {
		fmt.Fprintf(c.stderr, "a2atop: %s is in use by a2atop pid %d, whose %s agent runs the tasks (not the %s agent this a2atop names)\n",
			path, r.PID, describeAgent(r.Agent, r.Workdir), describeAgent(agent, workdir))
	}
	return loc, loc.Close, loc, nil
}

// agentIdentity is the agent flags as the host describes them to
// clients: the exec agent with its absolute working directory.
func (f *serviceFlags) agentIdentity() (agent, workdir string) {
	agent = orDemo(f.agent)
	if agent != "exec" {
		return agent, ""
	}
	dir := f.workdir
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

// withService runs fn on the service and shuts it down afterwards; a
// failure to shut down cleanly is reported and turns success into 1.
func (c *cli) withService(ctx context.Context, f *serviceFlags, fn func(a2a.Service) (int, error)) (int, error) {
	svc, closeFn, err := c.openService(ctx, f)
	if err != nil {
		return 0, err
	}
	code, err := fn(svc)
	if cerr := closeFn(); cerr != nil {
		fmt.Fprintf(c.stderr, "a2atop: closing the task store: %s\n", oneLine(cerr.Error()))
		if err == nil && code == exitOK {
			code = exitTaskFailed
		}
	}
	return code, err
}

// waitErr turns an error from a wait into errInterrupted when the user
// interrupted it.
func waitErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, ctx.Err())) {
		return errInterrupted
	}
	return err
}

// stateCode is the exit status for a task's state.
func stateCode(s a2a.TaskState) int {
	switch s {
	case a2a.StateFailed, a2a.StateCanceled, a2a.StateRejected:
		return exitTaskFailed
	}
	return exitOK
}

// metaFlag collects repeated --meta k=v.
type metaFlag struct{ m a2a.Metadata }

func (f *metaFlag) String() string { return "" }

func (f *metaFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", clean(s, 80))
	}
	if f.m == nil {
		f.m = a2a.Metadata{}
	}
	f.m[k] = v
	return nil
}

func (c *cli) send(ctx context.Context, args []string) (int, error) {
	fs := c.newFlagSet("send")
	var sf serviceFlags
	sf.register(fs)
	sf.remote.register(fs)
	stream := fs.Bool("stream", false, "print every event as it happens")
	noWait := fs.Bool("no-wait", false, "return as soon as the task exists")
	jsonOut := fs.Bool("json", false, "print A2A v1.0 JSON, one object per line")
	taskID := fs.String("task", "", "answer the input-required task `ID` instead of starting a new one")
	var meta metaFlag
	fs.Var(&meta, "meta", "message metadata `KEY=VALUE` (repeatable; priority=high|normal|low orders the queue)")
	rest, handled, err := c.parse(fs, args, false)
	if handled || err != nil {
		return exitOK, err
	}
	if *stream && *noWait {
		return 0, usageErr("send: --stream and --no-wait do not go together")
	}
	text, err := c.messageText(rest)
	if err != nil {
		return 0, err
	}
	msg := a2a.Message{
		ID:     uuid.NewString(),
		Role:   a2a.RoleUser,
		TaskID: strings.TrimSpace(*taskID),
		Parts:  []a2a.Part{a2a.TextPart(text)},
	}
	req := &a2a.SendRequest{Message: msg, Config: a2a.SendConfig{ReturnImmediately: *noWait}, Metadata: meta.m}
	out := c.printer(*jsonOut)
	return c.withService(ctx, &sf, func(svc a2a.Service) (int, error) {
		if *stream {
			s, err := svc.Stream(ctx, req)
			if err != nil {
				return 0, waitErr(ctx, err)
			}
			return c.follow(ctx, svc, s, out)
		}
		res, err := svc.Send(ctx, req)
		if err != nil {
			return 0, waitErr(ctx, err)
		}
		if res.Message != nil {
			return exitOK, out.message(res.Message)
		}
		if res.Task == nil {
			return 0, errors.New("the service returned neither a task nor a message")
		}
		if err := out.task(res.Task); err != nil {
			return 0, err
		}
		if *noWait {
			return exitOK, nil
		}
		return stateCode(res.Task.Status.State), nil
	})
}

// messageText is the TEXT arguments joined by spaces, or stdin for `-`.
func (c *cli) messageText(args []string) (string, error) {
	if len(args) == 0 {
		return "", usageErr("send: missing TEXT (the message to send; `-` reads it from stdin)")
	}
	text := strings.Join(args, " ")
	if len(args) == 1 && args[0] == "-" {
		b, err := io.ReadAll(io.LimitReader(c.stdin, maxStdinText+1))
		if err != nil {
			return "", usageErr("send: read the message from stdin: %v", err)
		}
		if len(b) > maxStdinText {
			return "", usageErr("send: the message on stdin is larger than %d MiB", maxStdinText>>20)
		}
		text = string(b)
	}
	if strings.TrimSpace(text) == "" {
		return "", usageErr("send: the message text is empty")
	}
	if !utf8.ValidString(text) {
		return "", usageErr("send: the message text is not valid UTF-8")
	}
	return text, nil
}

// maxResyncs bounds how often follow re-subscribes after falling behind.
const maxResyncs = 5

// follow prints a stream's events until it ends and returns the exit status
// of the task they add up to. A reader that falls behind (a slow pipe) is
// told so by the stream; follow then subscribes again, which starts with
// the task's current snapshot, so nothing printed at the end is stale.
func (c *cli) follow(ctx context.Context, svc a2a.Service, s a2a.Stream, out printer) (int, error) {
	defer func() { s.Close() }()
	var task *a2a.Task
	var reply *a2a.Message
	resyncs := 0
	for {
		ev, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, a2a.ErrLagged) && task != nil && resyncs < maxResyncs {
			resyncs++
			s.Close()
			fmt.Fprintf(c.stderr, "a2atop: fell behind the event stream; following task %s again from its current state\n", oneLine(clean(task.ID, 200)))
			if s, err = svc.Subscribe(ctx, task.ID); err != nil {
				return 0, waitErr(ctx, err)
			}
			continue
		}
		if err != nil {
			return 0, waitErr(ctx, err)
		}
		if err := out.event(ev); err != nil {
			return 0, err
		}
		if m, ok := ev.Event.(*a2a.Message); ok && (m.TaskID == "" || task == nil) {
			// An answer without a task: nothing more comes.
			reply = m
			continue
		}
		if next, err := a2a.Apply(task, ev.Event); err == nil {
			task = next
		}
	}
	if task == nil {
		if reply != nil {
			return exitOK, out.doneMessage(reply)
		}
		return exitOK, nil
	}
	return stateCode(task.Status.State), out.done(task)
}

func (c *cli) get(ctx context.Context, args []string) (int, error) {
	fs := c.newFlagSet("get")
	sf := serviceFlags{readOnly: true}
	sf.register(fs)
	sf.remote.register(fs)
	jsonOut := fs.Bool("json", false, "print the task as A2A v1.0 JSON")
	id, handled, err := c.oneID(fs, args)
	if handled || err != nil {
		return exitOK, err
	}
	return c.withService(ctx, &sf, func(svc a2a.Service) (int, error) {
		t, err := svc.Get(ctx, a2a.GetRequest{ID: id})
		if err != nil {
			return 0, err
		}
		return exitOK, c.printer(*jsonOut).task(t)
	})
}

// oneID parses flags and exactly one task id.
func (c *cli) oneID(fs *flag.FlagSet, args []string) (string, bool, error) {
	rest, handled, err := c.parse(fs, args, true)
	if handled || err != nil {
		return "", handled, err
	}
	name := strings.TrimPrefix(fs.Name(), "a2atop ")
	switch {
	case len(rest) == 0:
		return "", false, usageErr("%s: missing the task ID", name)
	case len(rest) > 1:
		return "", false, usageErr("%s: one task ID expected, got %d arguments", name, len(rest))
	case strings.TrimSpace(rest[0]) == "":
		return "", false, usageErr("%s: the task ID is empty", name)
	}
	return strings.TrimSpace(rest[0]), false, nil
}

func (c *cli) list(ctx context.Context, args []string) (int, error) {
	fs := c.newFlagSet("list")
	sf := serviceFlags{readOnly: true}
	sf.register(fs)
	sf.remote.register(fs)
	jsonOut := fs.Bool("json", false, "print one A2A v1.0 Task per line")
	stateFlag := fs.String("state", "", "only tasks in `STATE` (submitted, working, input-required, auth-required, completed, failed, canceled, rejected)")
	rest, handled, err := c.parse(fs, args, true)
	if handled || err != nil {
		return exitOK, err
	}
	if len(rest) > 0 {
		return 0, usageErr("list: unexpected argument %q", clean(rest[0], 80))
	}
	var state a2a.TaskState
	if *stateFlag != "" {
		state = a2a.ParseState(*stateFlag)
		if state == a2a.StateUnknown {
			return 0, usageErr("list: unknown --state %q", clean(*stateFlag, 80))
		}
	}
	out := c.printer(*jsonOut)
	return c.withService(ctx, &sf, func(svc a2a.Service) (int, error) {
		req := a2a.ListRequest{State: state, PageSize: a2a.MaxPageSize, IncludeArtifacts: *jsonOut}
		seen := map[string]bool{}
		n := 0
		for {
			page, err := svc.List(ctx, req)
			if err != nil {
				return 0, waitErr(ctx, err)
			}
			for _, t := range page.Tasks {
				if err := out.listed(t, n == 0); err != nil {
					return 0, err
				}
				n++
			}
			if page.NextPageToken == "" {
				break
			}
			if seen[page.NextPageToken] {
				return 0, errors.New("list: the service repeated a page token; stopping")
			}
			seen[page.NextPageToken] = true
			req.PageToken = page.NextPageToken
		}
		return exitOK, out.listDone(n)
	})
}

func (c *cli) cancel(ctx context.Context, args []string) (int, error) {
	fs := c.newFlagSet("cancel")
	var sf serviceFlags
	sf.register(fs)
	sf.remote.register(fs)
	jsonOut := fs.Bool("json", false, "print the task as A2A v1.0 JSON")
	id, handled, err := c.oneID(fs, args)
	if handled || err != nil {
		return exitOK, err
	}
	return c.withService(ctx, &sf, func(svc a2a.Service) (int, error) {
		t, err := svc.Cancel(ctx, id)
		if err != nil {
			return 0, waitErr(ctx, err)
		}
		return exitOK, c.printer(*jsonOut).task(t)
	})
}

func (c *cli) subscribe(ctx context.Context, args []string) (int, error) {
	fs := c.newFlagSet("subscribe")
	var sf serviceFlags
	sf.register(fs)
	sf.remote.register(fs)
	jsonOut := fs.Bool("json", false, "print one A2A v1.0 StreamResponse per event")
	id, handled, err := c.oneID(fs, args)
	if handled || err != nil {
		return exitOK, err
	}
	out := c.printer(*jsonOut)
	return c.withService(ctx, &sf, func(svc a2a.Service) (int, error) {
		s, err := svc.Subscribe(ctx, id)
		if err != nil {
			return 0, waitErr(ctx, err)
		}
		return c.follow(ctx, svc, s, out)
	})
}

func (c *cli) version(ctx context.Context, args []string) (int, error) {
	if len(args) > 0 && args[0] != "-h" && args[0] != "--help" {
		return 0, usageErr("version takes no arguments")
	}
	fmt.Fprintf(c.stdout, "a2atop %s\n", version)
	return exitOK, nil
}

func (c *cli) help(ctx context.Context, args []string) (int, error) {
	if len(args) == 0 {
		c.printHelp(c.stdout)
		return exitOK, nil
	}
	cmd, ok := findCommand(args[0])
	if !ok {
		return 0, usageErr("help: unknown subcommand %q", clean(args[0], 80))
	}
	if cmd.name == "help" || cmd.name == "version" {
		fmt.Fprintf(c.stdout, "usage: a2atop %s\n\n%s.\n", cmd.usage, capitalize(cmd.summary))
		return exitOK, nil
	}
	return cmd.run(c, ctx, []string{"--help"})
}

const helpFooter = `Exit status:
  0    done: the task completed or waits for input (answer it with send --task ID)
  1    the task failed, was canceled or rejected, or the request was refused
       (unknown task, task not waiting for an answer, not cancelable, ...)
  2    usage error: unknown subcommand or flag, missing TEXT or ID, bad --meta
  3    the task store or server could not be reached (held by an a2atop
       that does not share it, not an a2atop file, unreadable)
  130  interrupted (Ctrl-C) while waiting: a2atop stops waiting but does not
       cancel the task. The local engine runs tasks only while an a2atop
       process has the store open: a task left running resumes (or, with
       its attempts used up, fails as interrupted) the next time send,
       cancel, subscribe or the dashboard opens the store; get and list only
       read it.

One engine per store: the first a2atop to open a store (a dashboard, serve,
or a waiting send) runs its engine and shares it on a socket beside the
file (PATH.sock, owner-only); every other a2atop on that store uses the
same engine, and when its process exits another one takes over.
`

func (c *cli) printHelp(w io.Writer) {
	fmt.Fprintf(w, `a2atop %s: watch and steer A2A (Agent2Agent) tasks.

Usage:
  a2atop                       open the dashboard
  a2atop SUBCOMMAND [flags] ARGS

Subcommands:
`, version)
	for _, cmd := range commands() {
		fmt.Fprintf(w, "  %-28s %s\n", cmd.usage, cmd.summary)
	}
	fmt.Fprintf(w, `
Flags go after the subcommand; `+"`a2atop SUBCOMMAND --help`"+` lists them. Every
task command takes --db PATH (or $A2ATOP_DB; default
$XDG_DATA_HOME/a2atop/tasks.db, else ~/.local/share/a2atop/tasks.db; :memory:
keeps nothing) and --agent demo|exec (exec runs each message as a shell
command in --workdir DIR; never the default).

Examples:
  a2atop send echo hello               the demo agent echoes; prints the task
  a2atop send --stream slow 5          progress events as they happen
  a2atop send ask                      waits for input; prints the task ID
  a2atop send --task ID 2030-01-31     answers it
  a2atop list --state input-required   tasks waiting for an answer
  a2atop send --json echo hi | jq .    A2A v1.0 JSON, one object per line

%s`, helpFooter)
}

func (c *cli) printUsage(w io.Writer, fs *flag.FlagSet) {
	name := strings.TrimPrefix(fs.Name(), "a2atop ")
	cmd, _ := findCommand(name)
	fmt.Fprintf(w, "usage: a2atop %s\n\n%s.\n\nFlags:\n", cmd.usage, capitalize(cmd.summary))
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	if name == "send" {
		fmt.Fprint(w, "\nTEXT is the rest of the arguments, joined by spaces; `-` reads it from stdin.\nWithout --stream or --no-wait, send waits until the task ends or waits for input.\n")
	}
	fmt.Fprintf(w, "\n%s", helpFooter)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
