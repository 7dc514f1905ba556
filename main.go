// Command a2atop is a terminal dashboard for watching and steering A2A
// (Agent2Agent protocol) tasks live, on an in-process engine or a remote agent.
//
// Without a subcommand it opens the dashboard; the subcommands (send, get,
// list, cancel, subscribe) do the same work without the screen, for scripts.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program minus the process: tests call it in-process.
// SIGINT and SIGTERM cancel the context a command waits on.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cli{stdin: os.Stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return c.main(ctx, args)
}
