package engine

import (
	"crypto/rand"
	"io"
	"sync"

	"github.com/google/uuid"
)

// idSource makes the engine's ids: UUIDv7, whose random bits come from
// crypto/rand a block at a time. An echo send takes five ids (task,
// context, execution, artifact, status message), and reading 16 random
// bytes for each was a getrandom call apiece, on the stack of a fresh
// goroutine that then had to grow. The ids stay in ascending order
// (uuid.NewV7FromReader keeps its time and sequence monotonic), which
// the stores rely on. The zero value is ready to use.
type idSource struct {
	mu  sync.Mutex
	buf [idBlock]byte
	n   int // unread bytes at the end of buf
}

// idBlock is how many random bytes one read of crypto/rand fetches: the
// random part of 64 ids.
const idBlock = 64 * 16

// newID returns a fresh UUIDv7 in its string form.
func (s *idSource) newID() string {
	return uuid.Must(uuid.NewV7FromReader(s)).String()
}

// Read fills p from the block, refilling the block from crypto/rand when
// it runs short. It never fails: crypto/rand.Read does not.
func (s *idSource) Read(p []byte) (int, error) {
	if len(p) > idBlock {
		return io.ReadFull(rand.Reader, p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n < len(p) {
		_, _ = rand.Read(s.buf[:]) // documented never to return an error
		s.n = idBlock
	}
	copy(p, s.buf[idBlock-s.n:])
	clear(s.buf[idBlock-s.n : idBlock-s.n+len(p)]) // handed out: not kept
	s.n -= len(p)
	return len(p), nil
}
