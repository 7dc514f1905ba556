package agents

import "syscall"

// commandProcAttr puts the command in its own process group (so cancel
// reaches every process it started, not only the shell) and asks the kernel
// to SIGKILL the shell when a2atop dies without running its cleanup
// (SIGKILL, OOM): the next a2atop would otherwise see the task interrupted
// while its command still runs. Grandchildren of a shell that did not exec
// them are not covered; they keep the process group, which cancel reaches.
func commandProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
