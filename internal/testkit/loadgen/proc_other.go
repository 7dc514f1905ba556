//go:build !linux

package loadgen

import (
	"errors"
	"fmt"
)

// ProcessMemory needs Linux's /proc; elsewhere it reports that.
func ProcessMemory(pid int) (Memory, error) {
	return Memory{}, fmt.Errorf("memory of process %d: %w", pid, errors.ErrUnsupported)
}
