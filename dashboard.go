package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/client"
	"github.com/a2atop/a2atop/internal/localshare"
	"github.com/a2atop/a2atop/ui"
)

// runDashboard opens the dashboard: on the local engine (the task store
// and agent that the subcommands use: --db, --agent, --workdir), or on a
// remote agent given as a URL argument, --url or $A2ATOP_URL (with the
// subcommands' --protocol, --header, --ca-cert, --insecure). It returns the
// exit code.
func runDashboard(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cli{stdin: os.Stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}

	fs := flag.NewFlagSet("a2atop", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var sf serviceFlags
	sf.register(fs)
	sf.remote.register(fs)
	readOnly := fs.Bool("read-only", false, "hide answer, cancel and new task")
	noMouse := fs.Bool("no-mouse", false, "turn mouse reporting off (wheel scroll and click to select)")
	positional, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, "usage: a2atop [flags] [URL]\n\nOpens the dashboard on the local engine, or on the remote agent at URL.\n\nFlags:")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return exitOK
	}
	if err != nil {
		return c.fail(usageErr("%v (see `a2atop --help`)", err))
	}
	switch {
	case len(positional) > 1:
		return c.fail(usageErr("one agent URL at most, got %d arguments", len(positional)))
	case len(positional) == 1 && sf.remote.url != "":
		return c.fail(usageErr("give the agent URL once: as an argument or with --url"))
	case len(positional) == 1:
		if !strings.Contains(positional[0], "://") {
			return c.fail(usageErr("unexpected argument %q: the dashboard takes flags and an agent URL; run `a2atop help` for the subcommands", clean(positional[0], 80)))
		}
		sf.remote.url = positional[0]
	}
	url := sf.remote.agentURL(c.getenv)
	opts := ui.Options{
		ReadOnly: *readOnly,
		NoMouse:  *noMouse,
		NoColor:  os.Getenv("NO_COLOR") != "",
	}
	if wd, err := os.Getwd(); err == nil {
		opts.SaveDir = wd
	}

	var svc a2a.Service
	var closeFn func() error
	if url != "" {
		if sf.db != "" || sf.agent != "demo" || sf.workdir != "" {
			return c.fail(usageErr("--db, --agent and --workdir apply to the local engine, not to a remote agent"))
		}
		copts, err := c.clientOptions(&sf.remote)
		if err != nil {
			return c.fail(err)
		}
		conn := make(chan ui.ConnState, 64)
		// The header says how changes arrive once connected; the client
		// exists only after New, which may already report states.
		var clRef atomic.Pointer[client.Client]
		uiState := func(s client.ConnState) ui.ConnState {
			text := s.String()
			if c := clRef.Load(); c != nil && s.Kind == client.Connected {
				if c.LiveFeed() {
					text += " · live feed"
				} else {
					text += " · polling for changes"
				}
			}
			return ui.ConnState{Text: text, OK: s.Kind == client.Connected || s.Kind == client.Polling}
		}
		copts.OnConnState = func(s client.ConnState) {
			select { // never block the client: a dropped state is followed by the next
			case conn <- uiState(s):
			default:
			}
		}
		cl, err := client.New(ctx, url, copts)
		if err != nil {
			return c.fail(unreachable(fmt.Errorf("reach the agent at %s: %w", url, err)))
		}
		clRef.Store(cl)
		// The state before the first change: New reached the agent.
		conn <- uiState(cl.ConnState())
		name := "remote agent"
		if d := cl.Discovery(); d.Card != nil && d.Card.Name != "" {
			name = d.Card.Name
		}
		opts.Target = fmt.Sprintf("%s · %s · A2A v%s", name, cl.Endpoint(), cl.Version())
		opts.Conn = conn
		svc, closeFn = cl, cl.Close
	} else {
		if sf.remote.protocol != "" || len(sf.remote.headers) > 0 || sf.remote.caCert != "" || sf.remote.insecure {
			return c.fail(usageErr("--protocol, --header, --ca-cert and --insecure apply to a remote agent (--url)"))
		}
		path, _, err := c.dbPath(sf.db)
		if err != nil {
			return c.fail(unreachable(err))
		}
		// The engine's side (hosting it, or using another a2atop's) shows
		// where a remote dashboard shows its connection, and follows a
		// takeover when the host leaves.
		conn := make(chan ui.ConnState, 16)
		wantAgent, wantDir := sf.agentIdentity()
		onRole := func(r localshare.Role) {
			select { // never block the takeover: a dropped state is followed by the next
			case conn <- roleState(r, wantAgent, wantDir):
			default:
			}
		}
		var loc *localshare.Local
		svc, closeFn, loc, err = c.openLocal(ctx, &sf, onRole)
		if err != nil {
			return c.fail(err)
		}
		opts.Target = "local · " + path
		if loc != nil {
			conn <- roleState(loc.Role(), wantAgent, wantDir)
			opts.Conn = conn
		} else {
			opts.Target = "local · " + orDemo(sf.agent) + " agent · " + path
		}
	}
	runErr := ui.Run(ctx, svc, opts)
	closeErr := closeFn()
	if runErr != nil {
		return c.fail(runErr)
	}
	if closeErr != nil {
		fmt.Fprintf(stderr, "a2atop: closing: %s\n", oneLine(closeErr.Error()))
		return exitTaskFailed
	}
	return exitOK
}

// roleState is the header's words for the local engine's side. A
// dashboard given another agent than the host runs says so there: the
// notice the CLI prints would be hidden behind the screen.
func roleState(r localshare.Role, wantAgent, wantDir string) ui.ConnState {
	agent := describeAgent(orDemo(r.Agent), r.Workdir) + " agent"
	switch r.Kind {
	case localshare.Host:
		if r.Socket == "" {
			return ui.ConnState{Text: "hosting the engine · " + agent + " · not shared", OK: true}
		}
		return ui.ConnState{Text: "hosting the engine · " + agent, OK: true}
	case localshare.Client:
		text := fmt.Sprintf("engine of a2atop pid %d · %s", r.PID, agent)
		if orDemo(r.Agent) != wantAgent || r.Workdir != wantDir {
			text += " (not your --agent " + describeAgent(wantAgent, wantDir) + ")"
		}
		return ui.ConnState{Text: text, OK: true}
	}
	return ui.ConnState{Text: r.String(), OK: false}
}

// parseInterspersed parses flags that may come after the URL argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}
