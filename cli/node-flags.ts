/**
 * The flags every Eddy process is started with, by each launcher: the `eddy` shebang, the npm
 * scripts, the container image, the benchmarks' and tests' child processes and the test workers
 * (a test checks they agree). They must be on the command line: V8 sizes its heap when the
 * isolate starts, so setting them from inside the process has no effect.
 *
 * --max-semi-space-size=32: ingest and the processors allocate a few short-lived objects per
 * event (parsed JSON, normalised events, rows), so young-generation scavenges are a large share
 * of their CPU. Node's default lets each semi-space grow to 16 MB; at 32 MB scavenges run half as
 * often and find fewer objects still alive to copy (a request's batch awaiting its acknowledgement),
 * and ingest → Kafka went from 72,100 to 85,680 events/s in the same bench (docs/kafka-client.md),
 * for at most 32 MB more memory per process.
 */
export const EDDY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32']
