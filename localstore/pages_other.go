//go:build !linux

package localstore

// dropMapping is a no-op where madvise is not wired up: the resident set
// then shrinks only under memory pressure.
func dropMapping(addr uintptr, size int) {}
