// Package footprint measures what each function costs to ship and to start:
// its bootstrap binary as deployed (linux/arm64, stripped, without the RPC
// shim), that binary zipped, and its Init Duration under the Lambda runtime
// emulator. It holds benchmarks only; `make bench` runs them.
package footprint
