// Command a2atop is a terminal dashboard for watching and steering A2A
// (Agent2Agent protocol) tasks live, on an in-process engine or a remote agent.
package main

import (
	"fmt"
	"io"
	"os"
)

const version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "version" || args[0] == "--version") {
		fmt.Fprintf(stdout, "a2atop %s\n", version)
		return 0
	}
	fmt.Fprintf(stdout, "a2atop %s: a terminal dashboard for A2A tasks (the dashboard is under construction)\n", version)
	fmt.Fprintln(stdout, "usage: a2atop [version]")
	return 0
}
