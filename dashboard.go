package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/agents"
	"github.com/a2atop/a2atop/localstore"
	"github.com/a2atop/a2atop/ui"
)

// dashboardDefaultDB is where the local engine keeps its tasks unless
// --db says otherwise: $XDG_DATA_HOME/a2atop/tasks.db, else
// ~/.local/share/a2atop/tasks.db.
func dashboardDefaultDB() string {
	if dir := os.Getenv("XDG_DATA_HOME"); dir != "" {
		return filepath.Join(dir, "a2atop", "tasks.db")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "a2atop", "tasks.db")
	}
	return "a2atop-tasks.db"
}

// runDashboard opens the dashboard on the local engine (bbolt file, demo
// agent by default) and returns the exit code.
func runDashboard(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("a2atop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", dashboardDefaultDB(), "the bbolt file that keeps the local engine's tasks")
	agent := fs.String("agent", "demo", "the local agent: demo (scripted behaviours) or exec (runs shell commands)")
	readOnly := fs.Bool("read-only", false, "hide answer, cancel and new task")
	noMouse := fs.Bool("no-mouse", false, "turn mouse reporting off (wheel and click)")
	maxRunning := fs.Int("max-running", 4, "tasks the local engine runs at once")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "a2atop: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	exec, err := dashboardAgent(*agent)
	if err != nil {
		fmt.Fprintf(stderr, "a2atop: %v\n", err)
		return 2
	}
	if err := os.MkdirAll(filepath.Dir(*db), 0o755); err != nil {
		fmt.Fprintf(stderr, "a2atop: create the folder of %s: %v\n", *db, err)
		return 1
	}
	store, err := localstore.Open(*db, localstore.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "a2atop: %v\n", err)
		return 1
	}
	eng, err := engine.New(store, exec, engine.Options{MaxRunning: *maxRunning})
	if err != nil {
		store.Close()
		fmt.Fprintf(stderr, "a2atop: %v\n", err)
		return 1
	}
	cwd, _ := os.Getwd()
	runErr := ui.Run(ctx, eng, ui.Options{
		Target:   "local · " + *agent + " agent · " + *db,
		ReadOnly: *readOnly,
		NoMouse:  *noMouse,
		NoColor:  os.Getenv("NO_COLOR") != "",
		SaveDir:  cwd,
	})
	closeErr := eng.Close()
	if err := store.Close(); closeErr == nil {
		closeErr = err
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "a2atop: %v\n", runErr)
		return 1
	}
	if closeErr != nil {
		fmt.Fprintf(stderr, "a2atop: close: %v\n", closeErr)
		return 1
	}
	return 0
}

func dashboardAgent(name string) (engine.Executor, error) {
	switch name {
	case "demo":
		return agents.NewDemo(), nil
	case "exec":
		dir, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		return agents.NewExec(dir, agents.ExecOptions{})
	}
	return nil, fmt.Errorf("unknown agent %q: want demo or exec", name)
}
