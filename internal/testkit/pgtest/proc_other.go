//go:build unix && !linux

package pgtest

import "syscall"

func procAttr(r runAs) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if r.asOther {
		a.Credential = &syscall.Credential{Uid: r.uid, Gid: r.gid}
	}
	return a
}
