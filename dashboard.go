package main

import (
	"fmt"
	"io"
)

// runDashboard opens the dashboard. Until the ui package exists it prints
// what a2atop is and how to use it.
func runDashboard(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stdout, "a2atop: the dashboard is not built yet; see `a2atop help` for the subcommands")
	return 0
}
