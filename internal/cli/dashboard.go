package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/a2atop/a2atop/client"
	"github.com/a2atop/a2atop/internal/localshare"
	"github.com/a2atop/a2atop/ui"
)

// dashboardCommand is the root command: without a subcommand a2atop opens
// the dashboard on its targets: URLs, "local" (the local engine with --db,
// --agent, --workdir) and agent or set names from the config file, all in
// one dashboard. No argument opens the config's default set, else the
// remote agent of --url or $A2ATOP_URL, else the local engine.
func (c *cli) dashboardCommand(status *int) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "a2atop [flags] [URL | local | NAME]...",
		Short: "open the dashboard on the local engine, on remote agents, or on agents and sets named in the config file",
		Args: func(_ *cobra.Command, args []string) error {
			for _, a := range args {
				if strings.HasPrefix(a, "-") {
					return usageErr("unexpected argument %q: the dashboard takes flags and targets; run `a2atop help` for the subcommands", clean(a, 80))
				}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	tf := addTargetFlags(fs, localKind|remoteKind)
	var opts ui.Options
	fs.BoolVar(&opts.ReadOnly, "read-only", false, "hide answer, cancel and new task")
	fs.BoolVar(&opts.NoMouse, "no-mouse", false, "turn mouse reporting off (wheel scroll and click to select)")
	cmd.RunE = c.action(status, func(ctx context.Context, args []string) (int, error) {
		opts.NoColor = c.getenv("NO_COLOR") != ""
		if wd, err := os.Getwd(); err == nil {
			opts.SaveDir = wd
		}
		cfg, err := c.loadConfig()
		if err != nil {
			return 0, err
		}
		// One URL, or nothing but --url / $A2ATOP_URL / no default set:
		// the single-target dashboard, as without a config file.
		envURL := strings.TrimSpace(c.getenv("A2ATOP_URL"))
		if (len(args) == 1 && strings.Contains(args[0], "://")) || (len(args) == 0 && (tf.url != "" || envURL != "" || len(cfg.Default) == 0)) {
			url := ""
			if len(args) == 1 {
				url = args[0]
			}
			t, err := tf.resolve(url, c.getenv)
			if err != nil {
				return 0, err
			}
			t.local.observe = opts.ReadOnly // on a database: observe, run nothing
			return c.dashboard(ctx, t, opts)
		}
		targets, err := c.resolveFleet("", args, cfg, tf)
		if err != nil {
			return 0, err
		}
		for i := range targets {
			// On a database, a read-only dashboard observes and runs nothing.
			targets[i].t.local.observe = opts.ReadOnly || targets[i].readOnly
		}
		if len(targets) == 1 {
			opts.ReadOnly = opts.ReadOnly || targets[0].readOnly
			return c.dashboard(ctx, targets[0].t, opts)
		}
		return c.fleetDashboard(ctx, targets, opts)
	})
	return cmd
}

// dashboard runs the dashboard on t until the user quits.
func (c *cli) dashboard(ctx context.Context, t target, opts ui.Options) (int, error) {
	conn := make(chan ui.ConnState, 64)
	// A dropped state is followed by the next: never block the client or
	// a takeover.
	report := func(s ui.ConnState) {
		select {
		case conn <- s:
		default:
		}
	}
	// The header says how changes arrive once connected; the client
	// exists only after it is opened, and may already report states.
	var remote atomic.Pointer[client.Client]
	remoteState := func(s client.ConnState) ui.ConnState {
		text := s.String()
		if cl := remote.Load(); cl != nil && s.Kind == client.Connected {
			if cl.LiveFeed() {
				text += " · live feed"
			} else {
				text += " · polling for changes"
			}
		}
		return ui.ConnState{Text: text, OK: s.Kind == client.Connected || s.Kind == client.Polling}
	}
	// The local engine's side (hosting it, or using another a2atop's)
	// shows where a remote dashboard shows its connection, and follows a
	// takeover when the host leaves.
	wantAgent, wantDir := agentIdentity(t.local)
	var warnings screenWarnings
	defer warnings.print(c.stderr)
	op, err := c.openTarget(ctx, t, openHooks{
		onConn: func(s client.ConnState) { report(remoteState(s)) },
		onRole: func(r localshare.Role) { report(roleState(r, wantAgent, wantDir)) },
		onWarn: warnings.hook(report),
	})
	if err != nil {
		return 0, err
	}
	opts.Conn = conn // warnings at least, whatever the target
	switch {
	case op.remote != nil:
		remote.Store(op.remote)
		conn <- remoteState(op.remote.ConnState()) // the state before the first change: the agent was reached
		name := "remote agent"
		if d := op.remote.Discovery(); d.Card != nil && d.Card.Name != "" {
			name = d.Card.Name
		}
		opts.Target = name + " · " + op.remoteHeader()
	case op.local != nil:
		conn <- roleState(op.local.Role(), wantAgent, wantDir)
		opts.Target = "local · " + op.path
	default: // a store in memory: no one to share it with
		opts.Target = "local · " + orDemo(t.local.agent) + " agent · " + op.path
	}
	opts.LocalEngine = op.remote == nil // tasks may stop when it quits: q warns
	runErr := ui.Run(ctx, op.svc, opts)
	closeErr := op.close()
	if runErr != nil {
		return 0, runErr
	}
	if closeErr != nil {
		fmt.Fprintf(c.stderr, "a2atop: closing: %s\n", oneLine(closeErr.Error()))
		return exitTaskFailed, nil
	}
	return exitOK, nil
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

// screenWarnings are the warnings about targets that arrive while a
// dashboard covers the terminal: printed on stderr then, they would tear
// the screen. Each is flashed on the dashboard and printed once it has
// left the screen.
type screenWarnings struct {
	mu   sync.Mutex
	msgs []string
}

// maxScreenWarnings bounds what is kept for after the dashboard: a
// warning repeated by a reconnecting agent is kept once.
const maxScreenWarnings = 20

// hook is an openHooks.onWarn that flashes through report.
func (w *screenWarnings) hook(report func(ui.ConnState)) func(string) {
	return func(msg string) {
		w.mu.Lock()
		if len(w.msgs) < maxScreenWarnings && !slices.Contains(w.msgs, msg) {
			w.msgs = append(w.msgs, msg)
		}
		w.mu.Unlock()
		report(ui.ConnState{Warning: msg})
	}
}

// print writes the warnings kept to out.
func (w *screenWarnings) print(out io.Writer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, msg := range w.msgs {
		fmt.Fprintf(out, "a2atop: %s\n", msg)
	}
}
