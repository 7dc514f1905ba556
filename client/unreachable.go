package client

import (
	"errors"
	"fmt"
	"time"

	"github.com/a2atop/a2atop/a2a"
)

// Unreachable reports whether err says the agent was not reached, or was
// too busy to take the request, rather than that it answered no: the
// network failed (refused, reset or cut connection, no answer in time),
// an HTTP 429/502/503/504, a JSON-RPC "busy" (-32050), or a stream that
// gave up reconnecting. Retries are spent by then (see RetryPolicyHelp);
// running the same command later may succeed. The command line maps it
// to its exit status 3.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var perr *a2a.Error
	if errors.As(err, &perr) {
		return perr.Code == a2a.CodeServerBusy
	}
	var te *transientError
	var gu *GaveUpError
	var ie idleError
	return errors.As(err, &te) || errors.As(err, &gu) || errors.As(err, &ie)
}

// GaveUpError ends a task stream that lost its agent and could not reach
// it again within ReconnectPolicy.GiveUpAfter.
type GaveUpError struct {
	TaskID   string
	After    time.Duration
	Endpoint string
	Err      error // the last failure
}

func (e *GaveUpError) Error() string {
	return fmt.Sprintf("gave up on task %s after %s without reaching %s: %v", e.TaskID, e.After, e.Endpoint, e.Err)
}

func (e *GaveUpError) Unwrap() error { return e.Err }
