//go:build linux

package localshare

import (
	"net"
	"syscall"
)

// peerCred asks the kernel who is at the other end of c (SO_PEERCRED).
func peerCred(c *net.UnixConn) (peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return peer{}, err
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return peer{}, err
	}
	if credErr != nil {
		return peer{}, credErr
	}
	return peer{known: true, uid: int(cred.Uid), pid: int(cred.Pid)}, nil
}
