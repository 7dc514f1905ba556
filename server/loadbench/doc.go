// Package loadbench holds the side-by-side load benchmarks of issue 7: one
// load generator (internal/testkit/loadgen, raw v1.0 JSON-RPC over keep-alive HTTP)
// against `a2atop serve` with the memory store, `a2atop serve` with a bbolt
// file (fsync on), and a server built on the a2a-go v2.4.0 SDK with its
// in-memory store (internal/testkit/a2apeer), and a server built on the
// @a2a-js/sdk 1.3.0 SDK with express 5 and its in-memory store (jspeer/,
// installed by `npm ci` on first use; without node or a reachable npm
// registry the benchmarks say so and compare with a2a-go only). Each server runs in its own child
// process, so its resident memory is its own. All run the same echo and
// burst commands.
//
// BenchmarkEchoStreams streams "echo hi" (4 events on every server), 64 at a
// time.
//
// BenchmarkDiskSync measures the floor under one durable task on this disk
// (an fdatasync; a bbolt commit), to read the concurrency-1 figures by.
//
// The benchmarks only run with -bench (Linux: they read /proc):
//
//	go test -run '^$' -bench . -benchtime 5s -timeout 60m ./server/loadbench
//
// Environment knobs, for a quick run:
//
//	A2ATOP_LOADBENCH_TASKS       stored tasks for the RSS and list figures (100000)
//	A2ATOP_LOADBENCH_FEW_TASKS   the small store they are compared with (1000)
//	A2ATOP_LOADBENCH_BURST       status updates per streamed task (500)
//	A2ATOP_LOADBENCH_BEFORE      an a2atop binary from an earlier commit: adds
//	                             serve-memory-before (also to the stored-task
//	                             figures) and serve-bbolt-before to the send
//	                             and stream figures
//	A2ATOP_LOADBENCH_MAX_RUNNING the engine's MaxRunning in profiled children
//	A2ATOP_LOADBENCH_PROFILE     a directory: run our servers in test-binary
//	                             children wired like `a2atop serve`, and write
//	                             every child's CPU profile there
package loadbench
