package pgstore

// die makes the store vanish as a killed process would: no more
// heartbeats, every connection dropped, nothing cleaned up.
func (s *Store) die() {
	s.endHeartbeat()
	s.pool.Reset()
	s.pool.Close()
}
