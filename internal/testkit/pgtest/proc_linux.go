//go:build linux

package pgtest

import "syscall"

// procAttr runs a command as the server's user, and ends it if the test
// binary dies first (a killed test must not leave a server behind).
func procAttr(r runAs) *syscall.SysProcAttr {
	// Its own process group: Kill ends the postmaster and its backends at
	// once, as a crash of the machine would.
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	if r.asOther {
		a.Credential = &syscall.Credential{Uid: r.uid, Gid: r.gid}
	}
	return a
}
