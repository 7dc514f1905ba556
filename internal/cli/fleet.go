package cli

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/a2atop/a2atop/client"
	"github.com/a2atop/a2atop/internal/config"
	"github.com/a2atop/a2atop/internal/localshare"
	"github.com/a2atop/a2atop/ui"
)

// A fleet is several targets at once: the dashboard's arguments (URLs,
// "local", agent and set names from the config file) or `list -A`. Each
// becomes a namedTarget, opened like any other target by openTarget.

// namedTarget is a target with the name the dashboard's AGENT column and
// `list`'s AGENT column show.
type namedTarget struct {
	name     string
	t        target
	readOnly bool
	color    string
}

// loadConfig reads the config file: --config, else $A2ATOP_CONFIG, else
// the XDG location. A missing file is an empty config; a malformed one is
// a usage error (exit 2) whose one line names the file, line and field.
func (c *cli) loadConfig() (*config.Config, error) {
	path := c.configPath
	if path == "" {
		p, err := config.Path(c.getenv)
		if err != nil {
			// No place for a config file: run as without one.
			return &config.Config{Sets: map[string][]string{}}, nil
		}
		path = p
	}
	cfg, _, err := config.Load(path)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	return cfg, nil
}

// resolveFleet turns target words into named targets. tf supplies the
// local engine's flags for "local" and the remote flags for bare URLs.
// cmd names the command for errors ("" for the dashboard, whose first
// word may also be a mistyped subcommand).
func (c *cli) resolveFleet(cmd string, words []string, cfg *config.Config, tf *targetFlags) ([]namedTarget, error) {
	if tf.url != "" && len(words) > 0 {
		return nil, usageErr("give the targets as arguments or one --url, not both")
	}
	cts, err := cfg.Resolve(words)
	if err != nil {
		where := cfg.Path
		if where == "" {
			if where, _ = c.configFile(); where == "" {
				where = "none found"
			}
		}
		for _, w := range words {
			if strings.Contains(w, "://") || w == config.LocalName || w == config.AllName {
				continue
			}
			if _, ok := cfg.Agent(w); ok {
				continue
			}
			if _, ok := cfg.Sets[w]; ok {
				continue
			}
			if cmd == "" && len(cfg.Agents) == 0 {
				return nil, usageErr("unknown subcommand %q, and no agent or set of that name in the config file (%s); run `a2atop help` or `a2atop config list`", clean(w, 80), where)
			}
			if cmd == "" {
				return nil, usageErr("%q is not a subcommand, a URL, %q, or an agent or set in %s; run `a2atop help` or `a2atop config list`", clean(w, 80), config.LocalName, where)
			}
			return nil, usageErr("%s: %q is not a target: not a URL, %q, or an agent or set in %s (see `a2atop config list`)", cmd, clean(w, 80), config.LocalName, where)
		}
		return nil, usageErr("%v", err)
	}
	out := make([]namedTarget, 0, len(cts))
	for _, ct := range cts {
		nt, err := c.targetOf(ct, tf)
		if err != nil {
			return nil, err
		}
		out = append(out, nt)
	}
	return out, nil
}

// targetOf is the target of one config target: "local" takes the local
// flags; a config agent its file entry; a bare URL the remote flags.
func (c *cli) targetOf(ct config.Target, tf *targetFlags) (namedTarget, error) {
	a := ct.Agent
	nt := namedTarget{name: ct.Name, readOnly: a.ReadOnly, color: a.Color}
	switch {
	case ct.Local:
		nt.t = target{kind: localKind, local: tf.local}
	case a.DB != "":
		l := tf.local
		l.db = a.DB
		nt.t = target{kind: localKind, local: l}
	default:
		headers := []string{}
		if a.Line == 0 { // a bare URL: the command line's remote flags
			headers = append(headers, c.getenv("A2ATOP_HEADERS"))
			headers = append(headers, tf.headers...)
		}
		if _, err := client.ParseHeaders(headers...); err != nil {
			return nt, usageErr("%v", err)
		}
		protocol := a.Protocol
		if protocol == "" {
			protocol = tf.protocol
		}
		word := a.Binding
		if word == "" {
			word = tf.auth.binding
		}
		binding, err := bindingName(word)
		if err != nil {
			return nt, usageErr("agent %s: %v", a.Name, err)
		}
		agent := a
		nt.t = target{kind: remoteKind, remote: remoteTarget{
			url: a.URL, protocol: protocol, binding: binding, headers: headers, caCert: tf.caCert, insecure: tf.insecure,
			config: &agent,
		}}
		if a.Line == 0 { // a bare URL: the command line's credentials
			if nt.t.remote.creds, err = tf.auth.credentials(c.getenv); err != nil {
				return nt, usageErr("%v", err)
			}
		}
	}
	return nt, nil
}

// configHeaders resolves a config agent's headers into request headers.
// Secrets are read here, when the agent is opened, never stored; its auth
// goes through credentialsFromConfig and the auth transport.
func configHeaders(ctx context.Context, a *config.Agent, getenv func(string) string) ([]string, error) {
	var out []string
	for _, h := range a.Headers {
		v, err := h.Value.Resolve(ctx, getenv)
		if err != nil {
			return nil, fmt.Errorf("agent %s: header %s: %w", a.Name, h.Name, err)
		}
		out = append(out, h.Name+": "+v)
	}
	return out, nil
}

// fleetDashboard runs one dashboard over several targets. Each agent is
// opened in its own goroutine by the dashboard (ui.Agent.Open), so one
// unreachable agent shows as down in its strip entry while the others load.
func (c *cli) fleetDashboard(ctx context.Context, targets []namedTarget, opts ui.Options) (int, error) {
	var warnings screenWarnings
	defer warnings.print(c.stderr)
	agents := make([]ui.Agent, len(targets))
	for i, nt := range targets {
		agents[i] = ui.Agent{
			Name: nt.name, Color: nt.color, ReadOnly: nt.readOnly || opts.ReadOnly,
			Target:      describeTarget(nt.t),
			LocalEngine: nt.t.kind == localKind, // its tasks may stop when the dashboard quits: q warns
			Open:        func(ctx context.Context) (ui.OpenedAgent, error) { return c.openFleetAgent(ctx, nt, &warnings) },
		}
	}
	if err := ui.RunFleet(ctx, agents, opts); err != nil {
		return 0, err
	}
	return exitOK, nil
}

// openFleetAgent opens one agent of the fleet with its connection state
// forwarded to its strip entry.
func (c *cli) openFleetAgent(ctx context.Context, nt namedTarget, warnings *screenWarnings) (ui.OpenedAgent, error) {
	conn := make(chan ui.ConnState, 64)
	report := func(s ui.ConnState) {
		select {
		case conn <- s:
		default:
		}
	}
	var remote atomic.Pointer[client.Client]
	wantAgent, wantDir := agentIdentity(nt.t.local)
	op, err := c.openTarget(ctx, nt.t, openHooks{
		onConn: func(s client.ConnState) { report(remoteConnState(remote.Load(), s)) },
		onRole: func(r localshare.Role) { report(roleState(r, wantAgent, wantDir)) },
		onWarn: warnings.hook(report),
	})
	if err != nil {
		return ui.OpenedAgent{}, err
	}
	out := ui.OpenedAgent{Service: op.svc, Conn: conn, Close: op.close}
	switch {
	case op.remote != nil:
		remote.Store(op.remote)
		report(remoteConnState(op.remote, op.remote.ConnState()))
		out.Target = op.remoteHeader()
	case op.local != nil:
		report(roleState(op.local.Role(), wantAgent, wantDir))
		out.Target = "local · " + op.path
	default:
		out.Target = "local · " + op.path
	}
	return out, nil
}

// remoteConnState is the dashboard's words for a client's state: once
// connected, whether changes come by the live feed or by polling.
func remoteConnState(cl *client.Client, s client.ConnState) ui.ConnState {
	text := s.String()
	if cl != nil && s.Kind == client.Connected {
		if cl.LiveFeed() {
			text += " · live feed"
		} else {
			text += " · polling for changes"
		}
	}
	return ui.ConnState{Text: text, OK: s.Kind == client.Connected || s.Kind == client.Polling}
}

// describeTarget is what the agents view says a target is before it opens.
func describeTarget(t target) string {
	if t.kind == remoteKind {
		return t.remote.url
	}
	if t.local.db != "" {
		return "local · " + t.local.db
	}
	return "local engine"
}
