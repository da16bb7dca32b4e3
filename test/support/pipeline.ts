import pino from 'pino'
import { startPipeline, type RunningPipeline } from '../../cli/pipeline.ts'
import { createRuntime, type Runtime } from '../../cli/runtime.ts'
import { loadConfig, type Environment } from '../../core/config/index.ts'
import { temporaryDirectory } from './temp-dir.ts'

export const TEST_WRITE_KEY = 'test-write-key-a'
export const TEST_READ_KEY = 'test-read-key-a'
/** Sees the whole pipeline's health; read keys see only their project's part. */
export const TEST_OPERATOR_KEY = 'test-operator-key'

export interface TestPipeline {
  readonly url: string
  readonly runtime: Runtime
  readonly pipeline: RunningPipeline
  stop(): Promise<void>
}

/** The all-in-one pipeline on a fresh data dir and a free port, as `eddy start` runs it. */
export async function startTestPipeline(env: Environment = {}): Promise<TestPipeline> {
  const directory = temporaryDirectory('pipeline')
  const config = loadConfig({
    EDDY_DATA_DIR: directory.path,
    PORT: '0',
    HOST: '127.0.0.1',
    EDDY_PROJECTS: JSON.stringify([
      { id: 'alpha', writeKeys: [TEST_WRITE_KEY], readKeys: [TEST_READ_KEY] },
      { id: 'beta', writeKeys: ['test-write-key-b'], readKeys: ['test-read-key-b'] },
    ]),
    EDDY_OPERATOR_KEYS: TEST_OPERATOR_KEY,
    EDDY_SINK_FLUSH_MS: '50',
    // Suites poll the api until the processors catch up: a cached answer or a 429 would only slow
    // them down. The suites of the cache and the limits turn them back on.
    EDDY_CACHE_OPEN_TTL_MS: '0',
    EDDY_CACHE_CLOSED_TTL_MS: '0',
    EDDY_RATE_LIMIT_API_BURST: '0',
    // Suites send wrong keys on purpose, all from 127.0.0.1; the throttle's own suite turns it on.
    EDDY_AUTH_FAILURE_BURST: '0',
    // Suites count what the live path makes of late events (left out, on the late topic):
    // automatic convergence would add them back a few seconds later. Its own suite turns it on.
    EDDY_CONVERGENCE_QUIET_MS: '0',
    // Suites reach into the process's ClickHouse client and jobs (an outage made by refusing its
    // inserts, job stats): on one thread they are the processors'. processor-thread.test.ts and
    // the suites that start `eddy start` as a child run them on their own thread, the default.
    EDDY_PROCESSOR_THREAD: 'main',
    ...env,
  })
  const runtime = createRuntime(config, pino({ level: process.env.EDDY_TEST_LOG_LEVEL ?? 'error' }))
  const pipeline = await startPipeline(runtime, { ingest: true, process: true, api: true })
  return {
    url: pipeline.url!,
    runtime,
    pipeline,
    async stop() {
      await pipeline.stop()
      directory.remove()
    },
  }
}

/** Polls until the check passes or the time is up; returns the last value for the assertion. */
export async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let value = await probe()
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    value = await probe()
  }
  return value
}

/** True once every job's group has committed every record on its topic: all processed and written. */
export async function caughtUp(eddy: TestPipeline): Promise<boolean> {
  const admin = (await eddy.runtime.bus()).admin()
  for (const group of eddy.pipeline.groups) {
    for (const topic of group.topics) {
      const [high, committed] = await Promise.all([admin.topicOffsets(topic), admin.committedOffsets(group.group, topic)])
      for (const partition of high) {
        if ((committed.find((entry) => entry.partition === partition.partition)?.offset ?? 0) < partition.high) return false
      }
    }
  }
  return true
}
