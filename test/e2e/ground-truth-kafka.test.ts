import pino from 'pino'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startPipeline, type RunningPipeline } from '../../cli/pipeline.ts'
import { createRuntime, type Runtime } from '../../cli/runtime.ts'
import { loadConfig } from '../../core/config/index.ts'
import { DEFAULT_CLICKSTREAM } from '../../processors/jobs/clickstream.ts'
import { mapDifferences, matchesClickstream, storedClickstream } from '../support/aggregates.ts'
import { clickstreamOracle, groundTruthStream } from '../support/ground-truth.ts'
import { eventually, TEST_READ_KEY, TEST_WRITE_KEY } from '../support/pipeline.ts'
import { describeWithService } from '../support/services.ts'
import { temporaryDirectory } from '../support/temp-dir.ts'

const EVENTS = 50_000
const PARTITIONS = 4

describeWithService('kafka', 'KAFKA_BROKERS', 'ground truth on Kafka with two processor instances in one group', (brokers) => {
  const directory = temporaryDirectory('ground-truth-kafka')
  const env = {
    EDDY_DATA_DIR: directory.path,
    HOST: '127.0.0.1',
    PORT: '0',
    KAFKA_BROKERS: brokers,
    EDDY_TOPIC_PREFIX: `gt-${Date.now()}`,
    EDDY_PARTITIONS: String(PARTITIONS),
    // Both instances run in this process on one data dir, which an LMDB store refuses (a store of
    // its own per instance is the deployment's rule); test/faults/processor-crash-kafka.test.ts runs
    // instances as processes with the disk store.
    EDDY_STATE_STORE: 'heap',
    // The oracle leaves too-late events out, as the live path does; convergence would add them back.
    EDDY_CONVERGENCE_QUIET_MS: '0',
    EDDY_PROJECTS: JSON.stringify([
      { id: 'alpha', writeKeys: [TEST_WRITE_KEY], readKeys: [TEST_READ_KEY] },
      { id: 'beta', writeKeys: ['test-write-key-b'], readKeys: ['test-read-key-b'] },
    ]),
  }
  const runtimes: Runtime[] = []
  const pipelines: RunningPipeline[] = []
  const start = async (roles: { ingest: boolean; process: boolean; api: boolean }) => {
    const runtime = createRuntime(loadConfig(env), pino({ level: 'error' }))
    runtimes.push(runtime)
    const pipeline = await startPipeline(runtime, roles)
    pipelines.push(pipeline)
    return pipeline
  }
  beforeAll(async () => {
    await start({ ingest: true, process: true, api: true })
  }, 120_000)
  afterAll(async () => {
    for (const pipeline of pipelines.reverse()) await pipeline.stop()
    directory.remove()
  }, 120_000)

  it('a second instance joining mid-run splits the partitions; the aggregates equal the ground truth', async () => {
    const [first] = pipelines
    const stream = groundTruthStream({ seed: 29, events: EVENTS, startMs: Date.now() - 12 * 3_600_000, partitions: PARTITIONS, settings: DEFAULT_CLICKSTREAM })
    const post = async (payloads: readonly Record<string, unknown>[], key: string) => {
      const authorization = `Basic ${Buffer.from(`${key}:`).toString('base64')}`
      for (let offset = 0; offset < payloads.length; offset += 500) {
        const response = await fetch(`${first!.url}/v1/batch`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ batch: payloads.slice(offset, offset + 500) }) })
        expect(response.status).toBe(202)
      }
    }
    const half = Math.floor(stream.payloads.length / 2)
    await post(stream.payloads.slice(0, half), TEST_WRITE_KEY)
    // The second processor instance joins the consumer groups: partitions move, with their checkpoints.
    const second = await start({ ingest: false, process: true, api: false })
    await post(stream.payloads.slice(half), TEST_WRITE_KEY)
    await post(stream.flush, 'test-write-key-b')

    const owned = await eventually(async () => second.jobs.flatMap((job) => job.stats()).length, (n) => n > 0, 60_000)
    expect(owned).toBeGreaterThan(0)

    const oracle = clickstreamOracle(stream.clicks)
    const clickhouse = await runtimes[0]!.clickhouse()
    const stored = await eventually(
      () => storedClickstream(clickhouse, 'eddy', 'alpha'),
      (s) => matchesClickstream(oracle, s),
      180_000,
    )
    expect(mapDifferences(oracle.clicks1m, stored.clicks1m), 'clicks_1m').toEqual([])
    expect(mapDifferences(oracle.sessions, stored.sessions), 'sessions').toEqual([])
    expect(mapDifferences(oracle.transitions, stored.transitions), 'page_transitions_1h').toEqual([])
  }, 600_000)
})
