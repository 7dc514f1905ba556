package ui

import (
	"context"
	"errors"
	"fmt"

	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
)

// Run shows the dashboard over svc on the terminal until the user quits or
// ctx ends. It owns the goroutines that pump the service's streams into
// the program and stops them before it returns.
func Run(ctx context.Context, svc a2a.Service, opts Options, progOpts ...tea.ProgramOption) error {
	return RunFleet(ctx, []Agent{{Service: svc, Conn: opts.Conn, ReadOnly: opts.ReadOnly, Target: opts.Target}}, opts, progOpts...)
}

// RunFleet shows one dashboard over several agents. Each agent is opened
// (when it has no Service yet) and followed in its own goroutines, so one
// slow or unreachable agent delays nothing of the others; all of them are
// stopped, and the agents they opened closed, before RunFleet returns.
func RunFleet(ctx context.Context, agents []Agent, opts Options, progOpts ...tea.ProgramOption) error {
	if len(agents) == 0 {
		return errors.New("dashboard: no agent to watch")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := NewFleet(ctx, agents, opts)
	p := tea.NewProgram(m, append([]tea.ProgramOption{tea.WithContext(ctx)}, progOpts...)...)
	pumps := newPumps(ctx)
	for i, a := range agents {
		pumps.agent(i, a, p.Send, m.fleet[i].wake)
	}
	_, err := p.Run()
	cancel()
	pumps.Stop()
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	return nil
}
