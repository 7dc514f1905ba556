package engine

// NewMemoryStoreHot is a memory store that keeps the tasks of only the
// latest hot terminal commits decoded (0: it freezes every terminal task
// as soon as it is committed), so that tests read frozen tasks.
func NewMemoryStoreHot(hot int) Store { return newMemoryStore(hot) }

// NewFrozenEncoder exposes the freezing of one task to benchmarks: each
// encoder reuses its buffers, as the memory store does.
func NewFrozenEncoder() func(*Record, []LoggedEvent) ([]byte, error) {
	bufs := &frozenBufs{}
	return func(rec *Record, events []LoggedEvent) ([]byte, error) { return encodeFrozen(bufs, rec, events) }
}
