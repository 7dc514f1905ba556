package engine

import "sync"

// broadcaster is a bounded ring of recent items that any number of readers
// follow at their own pace. Publishing costs the same with one reader or a
// hundred (readers copy what they need), and a reader that falls more than
// the ring's capacity behind learns it lost items instead of slowing the
// publisher down.
type broadcaster[T any] struct {
	mu sync.Mutex
	// buf holds items start..next-1 (absolute positions); position i lives
	// at buf[i%capacity].
	buf      []T
	capacity int
	start    uint64
	next     uint64
	// notify, when a reader waits, is closed by the next publish.
	notify chan struct{}
}

func newBroadcaster[T any](capacity int) *broadcaster[T] {
	return &broadcaster[T]{capacity: capacity}
}

func (b *broadcaster[T]) publish(items ...T) {
	b.mu.Lock()
	for _, it := range items {
		if len(b.buf) < b.capacity {
			b.buf = append(b.buf, it)
		} else {
			b.buf[b.next%uint64(b.capacity)] = it
		}
		b.next++
		if b.next-b.start > uint64(b.capacity) {
			b.start = b.next - uint64(b.capacity)
		}
	}
	ch := b.notify
	b.notify = nil
	b.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// end returns the position the next published item will have.
func (b *broadcaster[T]) end() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.next
}

// readBatch caps one read, so that a reader far behind catches up in
// bounded steps instead of copying the whole ring at once.
const readBatch = 256

// read appends up to readBatch items from pos on to dst. When there are none it returns
// a channel that is closed by the next publish. lagged reports that items
// at pos were already overwritten.
func (b *broadcaster[T]) read(pos uint64, dst []T) (out []T, next uint64, wait <-chan struct{}, lagged bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if pos < b.start {
		return dst, pos, nil, true
	}
	if pos >= b.next {
		if b.notify == nil {
			b.notify = make(chan struct{})
		}
		return dst, pos, b.notify, false
	}
	end := min(b.next, pos+readBatch)
	for i := pos; i < end; i++ {
		dst = append(dst, b.buf[i%uint64(b.capacity)])
	}
	return dst, end, nil, false
}
