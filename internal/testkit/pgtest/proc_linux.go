//go:build linux

package pgtest

import "syscall"

// procAttr runs a command as the server's user, and ends it if the test
// binary dies first (a killed test must not leave a server behind).
func procAttr(r runAs) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT}
	if r.asOther {
		a.Credential = &syscall.Credential{Uid: r.uid, Gid: r.gid}
	}
	return a
}
