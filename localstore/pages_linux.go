package localstore

import "syscall"

// dropMapping tells the kernel that the process no longer needs its
// mapping of [addr, addr+size): the pages leave the resident set and stay
// in the page cache, so the next read faults them back in cheaply. It is
// safe at any time for bbolt's mapping, which is read-only and shared with
// the file: nothing in it exists only in memory.
func dropMapping(addr uintptr, size int) {
	if size <= 0 {
		return
	}
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, addr, uintptr(size), syscall.MADV_DONTNEED)
}
