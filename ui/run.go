package ui

import (
	"context"
	"fmt"

	tea "charm.land/bubbletea/v2"
	"github.com/a2atop/a2atop/a2a"
)

// Run shows the dashboard over svc on the terminal until the user quits or
// ctx ends. It owns the goroutines that pump the service's streams into
// the program and stops them before it returns.
func Run(ctx context.Context, svc a2a.Service, opts Options, progOpts ...tea.ProgramOption) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := New(ctx, svc, opts)
	p := tea.NewProgram(m, append([]tea.ProgramOption{tea.WithContext(ctx)}, progOpts...)...)
	pumps := newPumps(ctx)
	pumps.watch(svc, p.Send, m.wake)
	pumps.conn(opts.Conn, p.Send)
	_, err := p.Run()
	cancel()
	pumps.Stop()
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	return nil
}
