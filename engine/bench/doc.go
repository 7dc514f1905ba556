// Package bench compares the engine with the a2a-go v2.4.0 SDK's own
// in-process request handler on the same work. It holds only benchmarks:
//
//	go test -run '^$' -bench . -benchtime 2000x ./engine/bench
package bench
