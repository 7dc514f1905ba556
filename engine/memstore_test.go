package engine_test

import (
	"testing"

	"github.com/a2atop/a2atop/engine"
	"github.com/a2atop/a2atop/engine/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) engine.Store { return engine.NewMemoryStore() })
}
