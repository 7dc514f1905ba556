//go:build unix && !linux

package pgtest

import "syscall"

func procAttr(r runAs) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{}
	if r.asOther {
		a.Credential = &syscall.Credential{Uid: r.uid, Gid: r.gid}
	}
	return a
}

// killTree kills the postmaster only: its backends exit when they notice.
func killTree(pid int) []int {
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return nil
}

func gone(pid int) bool { return syscall.Kill(pid, 0) != nil }
