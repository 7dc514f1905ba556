//go:build linux

package pgtest

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procAttr runs a command as the server's user, and ends it if the test
// binary dies first (a killed test must not leave a server behind).
func procAttr(r runAs) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT}
	if r.asOther {
		a.Credential = &syscall.Credential{Uid: r.uid, Gid: r.gid}
	}
	return a
}

// killTree SIGKILLs the postmaster and its backends at once, as a crash of
// the machine would (the backends are in sessions of their own, so a
// process group does not reach them), and returns the backends' ids.
func killTree(pid int) []int {
	kids := children(pid)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	for _, k := range kids {
		_ = syscall.Kill(k, syscall.SIGKILL)
	}
	return kids
}

// children lists the processes whose parent is pid, from /proc.
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, ok := procStat(n); ok && ppid == pid {
			out = append(out, n)
		}
	}
	return out
}

// procStat reads a process's parent and state from /proc/<pid>/stat.
func procStat(pid int) (ppid int, state byte, ok bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 || i+2 >= len(raw) {
		return 0, 0, false
	}
	f := strings.Fields(string(raw[i+2:]))
	if len(f) < 2 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[0][0], err == nil
}

// gone reports whether a process has exited (a zombie has: it holds no
// memory any more).
func gone(pid int) bool {
	_, state, ok := procStat(pid)
	return !ok || state == 'Z'
}
