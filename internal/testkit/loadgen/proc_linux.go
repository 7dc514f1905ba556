package loadgen

import (
	"fmt"
	"os"
	"strconv"
)

// ProcessMemory reads the resident memory of process pid from
// /proc/<pid>/status.
func ProcessMemory(pid int) (Memory, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return Memory{}, fmt.Errorf("memory of process %d: %w", pid, err)
	}
	m, err := ParseStatus(b)
	if err != nil {
		return Memory{}, fmt.Errorf("memory of process %d: %w", pid, err)
	}
	return m, nil
}
