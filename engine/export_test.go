package engine

// NewMemoryStoreHot is a memory store that keeps the tasks of only the
// latest hot terminal commits decoded (0: it freezes every terminal task
// as soon as it is committed), so that tests read frozen tasks.
func NewMemoryStoreHot(hot int) Store { return newMemoryStore(hot) }

// EncodeFrozen exposes the freezing of one task to benchmarks.
var EncodeFrozen = encodeFrozen
