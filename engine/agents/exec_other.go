//go:build !unix

package agents

import (
	"context"
	"errors"
	"time"

	"github.com/a2atop/a2atop/a2a"
	"github.com/a2atop/a2atop/engine"
)

// ExecOptions tunes Exec (see the unix build).
type ExecOptions struct {
	Shell       string
	Grace       time.Duration
	StatusEvery time.Duration
	ChunkSize   int
	MaxOutput   int
}

// Exec runs shell commands; it needs process groups, so only unix has it.
type Exec struct{}

// NewExec reports that the exec agent is not available on this system.
func NewExec(dir string, opts ExecOptions) (*Exec, error) {
	return nil, errors.New("exec agent: only available on unix systems")
}

// Dir is empty: there is no exec agent here.
func (e *Exec) Dir() string { return "" }

// Card is empty: there is no exec agent here.
func (e *Exec) Card() a2a.AgentCard { return a2a.AgentCard{} }

// Execute always fails: there is no exec agent here.
func (e *Exec) Execute(ctx context.Context, req *engine.Request, pub engine.Publisher) error {
	return errors.New("exec agent: only available on unix systems")
}
