// Package testkit is the home of a2atop's test tooling: small helpers the
// tests of several packages share (Eventually, Buffer), and below it the
// real peers and load they run against (a2apeer: an a2a-go v2.4.0 agent;
// loadgen: a load generator for the server benchmarks). Only tests import
// it; it imports nothing of a2atop, so any package's tests may use it.
package testkit
