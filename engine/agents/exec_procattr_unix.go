//go:build unix && !linux

package agents

import "syscall"

// commandProcAttr puts the command in its own process group, so that cancel
// reaches every process it started, not only the shell. Only Linux can also
// tie the command's life to a2atop's (see the Linux build).
func commandProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
