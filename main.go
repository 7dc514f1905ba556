// Command a2atop is a terminal dashboard for watching and steering A2A
// (Agent2Agent protocol) tasks live, on an in-process engine or a remote agent.
//
// Without a subcommand it opens the dashboard; the subcommands (send, get,
// list, cancel, subscribe, ...) do the same work without the screen, for
// scripts. The command line lives in internal/cli; this file only hands it
// the process.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/a2atop/a2atop/internal/cli"
)

func main() {
	// SIGINT and SIGTERM cancel the context a command waits on.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Getenv)
	stop()
	os.Exit(code)
}
