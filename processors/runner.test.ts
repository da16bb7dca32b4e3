import { join } from 'node:path'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { createMetrics } from '../core/metrics/index.ts'
import { openBus, readAll, silent, tempDir } from '../core/bus/embedded/test-support.ts'
import { AvroCodec } from '../core/codec/avro-codec.ts'
import { LocalSchemaRegistry } from '../core/registry/local.ts'
import { SAMPLES } from '../schemas/avro/fixtures/samples.ts'
import { eventually } from '../test/support/pipeline.ts'
import { FileCheckpointStore } from './checkpoints/file-store.ts'
import { storeCheckpoints, wholeCheckpoints } from './checkpoints/state-checkpoints.ts'
import { createLmdbStateStore } from './state/lmdb-store.ts'
import { StateStoreCorruptError } from './state/store.ts'
import { ChangelogClaimedError } from './checkpoints/changelog/port.ts'
import type { Job, JobTask } from './job.ts'
import { OutputWriter } from './outputs.ts'
import { startJob } from './runner.ts'
import type { ClickHouseBatchWriter } from './sinks/clickhouse-batch-writer.ts'

const TOPICS = { click: 'eddy.clicks', log: 'eddy.logs', notification: 'eddy.notifications' } as const

/** Counts the events it saw; its state is that count, so a restore shows where it resumed. */
function countingJob(seen: number[]): Job<'log'> {
  return {
    name: 'counting',
    stream: 'log',
    topology: { input: 'log', operators: [{ name: 'count', does: 'count events', feeds: [] }] },
    outputs: [],
    createTask(): JobTask<unknown> {
      let count = 0
      return {
        process(events) {
          count += events.length
          seen.push(count)
          return {}
        },
        onProcessingTime: () => ({}),
        finish: () => ({}),
        changes: () => {},
        snapshot: () => new Uint8Array(new Float64Array([count]).buffer),
        restore(bytes) {
          count = new Float64Array(new Uint8Array(bytes).buffer)[0]!
          return { ok: true }
        },
        stats: () => ({ count }),
      }
    },
  } as Job<'log'>
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** An embedded log with the log topic (one partition) and a codec, in a directory removed after the test. */
async function logOnDisk() {
  const directory = await tempDir()
  cleanups.push(() => directory.remove())
  const bus = await openBus(join(directory.path, 'log'))
  cleanups.push(() => bus.close())
  await bus.admin().ensureTopics([{ topic: TOPICS.log, partitions: 1 }])
  const codec = await AvroCodec.create(new LocalSchemaRegistry(join(directory.path, 'registry.json')), TOPICS)
  return { directory, bus, codec }
}

/** What the counting job's tests start the runner with; each adds or overrides its own. */
function countingRun(bus: Awaited<ReturnType<typeof logOnDisk>>['bus'], codec: AvroCodec, checkpoints: Parameters<typeof startJob>[0]['checkpoints']) {
  return {
    job: countingJob([]),
    groupId: 'counting',
    topic: TOPICS.log,
    dlqTopic: 'eddy.dlq',
    bus,
    codec,
    outputs: new OutputWriter({ outputs: {}, streamSinks: [] }, {} as unknown as ClickHouseBatchWriter, bus.producer(), codec),
    checkpoints,
    logger: silent,
    checkpointIntervalMs: 10,
    tickIntervalMs: 10,
  }
}

/**
 * The counting job on a log on disk, its checkpoints' savedAt recorded, on a processing clock the
 * test moves (`clock.now`); `wrap` changes its task, to make parts of a checkpoint take time.
 */
async function timedCountingJob(wrap: (task: JobTask<unknown>, clock: { now: number }) => JobTask<unknown>, checkpointIntervalMs = 10) {
  const { directory, bus, codec } = await logOnDisk()
  const store = new FileCheckpointStore(join(directory.path, 'checkpoints'))
  const saved: number[] = []
  const checkpoints = wholeCheckpoints({ load: store.load.bind(store), save: async (checkpoint: Parameters<typeof store.save>[0]) => { saved.push(checkpoint.savedAt); await store.save(checkpoint) } })
  const clock = { now: 0 }
  const counting = countingJob([])
  const job = await startJob({
    ...countingRun(bus, codec, checkpoints),
    job: { ...counting, createTask: (partition, state) => wrap(counting.createTask(partition, state), clock) },
    clock: () => clock.now,
    tickIntervalMs: 5,
    checkpointIntervalMs,
  })
  cleanups.push(() => job.stop())
  const send = () => bus.producer().send(TOPICS.log, [{ key: 's', value: codec.encode('log', SAMPLES.log as never) }])
  return { job, saved, send, clock }
}

describe('job runner', () => {
  it('commits a restored checkpoint that is ahead of the group, with no record arriving after the restart', async () => {
    // The state of a process killed after saving its checkpoint and before committing: the
    // checkpoint says offset 3, the group still says 0.
    const { directory, bus, codec } = await logOnDisk()
    await bus.producer().send(TOPICS.log, [0, 1, 2].map(() => ({ key: 's', value: codec.encode('log', SAMPLES.log as never) })))
    // Written as a checkpoint file, as releases before the state store did: it restores through the store.
    const files = new FileCheckpointStore(join(directory.path, 'checkpoints'))
    await files.save({ job: 'counting', topic: TOPICS.log, partition: 0, nextOffset: 3, state: new Uint8Array(new Float64Array([3]).buffer), savedAt: 0 })
    const checkpoints = storeCheckpoints(createLmdbStateStore({ path: join(directory.path, 'state') }), files)
    cleanups.push(() => checkpoints.close())

    const seen: number[] = []
    const job = await startJob({ ...countingRun(bus, codec, checkpoints), job: countingJob(seen) })
    cleanups.push(() => job.stop())

    const committed = await eventually(async () => (await bus.admin().committedOffsets('counting', TOPICS.log))[0]?.offset, (offset) => offset === 3, 5_000)
    expect(committed).toBe(3)
    expect(seen).toEqual([]) // nothing was read again: the checkpoint already held all three
    expect(job.stats()).toEqual([{ partition: 0, position: 3, stats: { count: 3 } }])
  })

  it('stops a partition whose state store is damaged instead of retrying it for ever, and reports it', async () => {
    const { directory, bus, codec } = await logOnDisk()
    const send = (count: number) => bus.producer().send(TOPICS.log, Array.from({ length: count }, () => ({ key: 's', value: codec.encode('log', SAMPLES.log as never) })))
    await send(3)
    const checkpoints = storeCheckpoints(createLmdbStateStore({ path: join(directory.path, 'state') }))
    cleanups.push(() => checkpoints.close())
    const registry = new Registry()
    const metrics = createMetrics(registry, { defaults: false })
    const seen: number[] = []
    const counting = countingJob(seen)
    // A task that reads a damaged entry once it has counted three events.
    const damaged: Job<'log'> = {
      ...counting,
      createTask(partition, state) {
        const task = counting.createTask(partition, state)
        return {
          ...task,
          process(events, now) {
            if (seen.length > 0 && seen.at(-1)! >= 3) throw new StateStoreCorruptError('/data/state/data.mdb', 'the entry "count" fails its checksum')
            return task.process(events, now)
          },
        }
      },
    }
    const job = await startJob({ ...countingRun(bus, codec, checkpoints), job: damaged, metrics })
    cleanups.push(() => job.stop())
    await eventually(async () => (await bus.admin().committedOffsets('counting', TOPICS.log))[0]?.offset, (offset) => offset === 3, 5_000)
    await send(2)
    const halted = await eventually(async () => job.halted(), (list) => list.length === 1, 5_000)
    expect(halted).toEqual([{ partition: 0, reason: expect.stringMatching(/data\.mdb: the entry "count" fails its checksum\. Restore its directory/) }])
    expect(job.stats()).toEqual([])
    const gauge = (await registry.getMetricsAsJSON()).find((metric) => metric.name === 'eddy_partitions_halted')!.values
    expect(gauge).toEqual([expect.objectContaining({ labels: { job: 'counting' }, value: 1 })])
    // Nothing after the damage is processed or committed; later records wait for the repaired store.
    await send(2)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(seen).toEqual([3])
    expect((await bus.admin().committedOffsets('counting', TOPICS.log))[0]?.offset).toBe(3)
  })

  it('stops a partition whose store cannot be opened', async () => {
    const { bus, codec } = await logOnDisk()
    const refused: Parameters<typeof startJob>[0]['checkpoints'] = {
      open: async () => { throw new StateStoreCorruptError('/data/state/data.mdb', 'its first page is not an LMDB meta page') },
      stage: () => { throw new Error('never staged') },
      stats: () => ({ bytesOnDisk: 0, entries: 0 }),
      close: async () => {},
    }
    const job = await startJob(countingRun(bus, codec, refused))
    cleanups.push(() => job.stop())
    expect(job.halted()).toEqual([{ partition: 0, reason: expect.stringContaining('not an LMDB meta page') }])
  })

  it('lets a partition go when another instance claimed its changelog, and takes it back only with a batch of it', async () => {
    const { directory, bus, codec } = await logOnDisk()
    const send = (count: number) => bus.producer().send(TOPICS.log, Array.from({ length: count }, () => ({ key: 's', value: codec.encode('log', SAMPLES.log as never) })))
    await send(2)
    const store = storeCheckpoints(createLmdbStateStore({ path: join(directory.path, 'state') }))
    cleanups.push(() => store.close())
    let opens = 0
    let claimedOnce = false
    // The changelog refuses this instance's first checkpoint as another's claim would.
    const checkpoints: Parameters<typeof startJob>[0]['checkpoints'] = {
      open: async (...args) => {
        opens++
        return store.open(...args)
      },
      stage: (...args) => {
        const staged = store.stage(...args)
        if (claimedOnce || args[3].nextOffset === 0) return staged
        claimedOnce = true
        return { commit: () => Promise.reject(new ChangelogClaimedError('eddy.counting.changelog', 0)) }
      },
      stats: () => store.stats(),
      close: async () => {},
    }
    const seen: number[] = []
    const job = await startJob({ ...countingRun(bus, codec, checkpoints), job: countingJob(seen) })
    cleanups.push(() => job.stop())
    await eventually(async () => job.stats().length, (owned) => owned === 0, 5_000)
    expect(opens).toBe(1)
    // A batch of it says the group still gives it here: restored from its last checkpoint, processed again.
    await send(1)
    const committed = await eventually(async () => (await bus.admin().committedOffsets('counting', TOPICS.log))[0]?.offset, (offset) => offset === 3, 5_000)
    expect(committed).toBe(3)
    expect(opens).toBe(2)
    expect(job.stats()).toEqual([{ partition: 0, position: 3, stats: { count: 3 } }])
  })

  it('measures restores and checkpoints: how long, and how many bytes', async () => {
    const { directory, bus, codec } = await logOnDisk()
    await bus.producer().send(TOPICS.log, [0, 1, 2].map(() => ({ key: 's', value: codec.encode('log', SAMPLES.log as never) })))
    const checkpoints = storeCheckpoints(createLmdbStateStore({ path: join(directory.path, 'state') }))
    cleanups.push(() => checkpoints.close())
    const registry = new Registry()
    const metrics = createMetrics(registry, { defaults: false })
    const job = await startJob({ ...countingRun(bus, codec, checkpoints), metrics })
    cleanups.push(() => job.stop())
    await eventually(async () => (await bus.admin().committedOffsets('counting', TOPICS.log))[0]?.offset, (offset) => offset === 3, 5_000)
    const histogram = async (name: string) => {
      const values = (await registry.getMetricsAsJSON()).find((metric) => metric.name === name)!.values
      const of = (suffix: string) => values.find((value) => (value as { metricName?: string }).metricName === `${name}${suffix}` && value.labels.job === 'counting')?.value ?? 0
      return { count: of('_count'), sum: of('_sum') }
    }
    expect((await histogram('eddy_state_restore_seconds')).count).toBe(1)
    expect((await histogram('eddy_checkpoint_duration_seconds')).count).toBeGreaterThanOrEqual(1)
    // One batch was processed, so one checkpoint had input to cover: the one interval observed.
    expect((await histogram('eddy_checkpoint_interval_seconds')).count).toBe(1)
    // The counting job's state is one number kept whole: 8 bytes a checkpoint.
    const bytes = await histogram('eddy_checkpoint_bytes')
    expect(bytes.count).toBeGreaterThanOrEqual(1)
    expect(bytes.sum).toBe(8 * bytes.count)
    expect(checkpoints.stats().bytesOnDisk).toBeGreaterThan(0)
  })

  it('spaces checkpoints out after a slow snapshot, so writing state cannot crowd out processing, at most a minute apart', async () => {
    // Processing time is the test's: every snapshot takes snapshotMs of it.
    let snapshotMs = 100
    const { job, saved, send, clock } = await timedCountingJob((task, clock) => ({ ...task, snapshot: () => { clock.now += snapshotMs; return task.snapshot() } }))
    const processed = (position: number) => eventually(async () => job.stats()[0]?.position, (value) => value === position, 5_000)

    // Processed before the clock moves: on a busy machine the record could otherwise come after
    // a first, empty checkpoint, and be checkpointed by a second one within the same poll.
    await send()
    expect(await processed(1)).toBe(1)
    clock.now = 50
    expect(await eventually(async () => saved.length, (count) => count === 1, 5_000)).toBe(1)
    // One partition, a 100 ms snapshot at 5 % of the thread: the next waits 2 s, not 10 ms.
    clock.now = 1_500
    await send()
    expect(await processed(2)).toBe(2)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(saved).toEqual([50])
    clock.now = 2_100
    expect(await eventually(async () => saved.length, (count) => count === 2, 5_000)).toBe(2)
    expect(saved).toEqual([50, 2_100])

    // However slow the snapshot, the wait is capped at a minute: a 10 s snapshot would earn 200 s.
    snapshotMs = 10_000
    await send()
    expect(await processed(3)).toBe(3)
    clock.now = 4_200
    expect(await eventually(async () => saved.length, (count) => count === 3, 5_000)).toBe(3)
    clock.now = 60_000
    await send()
    expect(await processed(4)).toBe(4)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(saved).toEqual([50, 2_100, 4_200])
    clock.now = 4_200 + 60_000
    expect(await eventually(async () => saved.length, (count) => count === 4, 5_000)).toBe(4)
    expect(saved).toEqual([50, 2_100, 4_200, 64_200])
  })

  it('does not space checkpoints out for the changed entries they write, which waiting would only pile up', async () => {
    // Writing the changed entries takes 100 ms of the test's processing time, the whole parts none.
    const { job, saved, send, clock } = await timedCountingJob((task, clock) => ({ ...task, changes: (into) => { clock.now += 100; task.changes(into) } }))
    const processed = (position: number) => eventually(async () => job.stats()[0]?.position, (value) => value === position, 5_000)
    // Processed before the clock moves, as above.
    await send()
    expect(await processed(1)).toBe(1)
    clock.now = 50
    expect(await eventually(async () => saved.length, (count) => count === 1, 5_000)).toBe(1)
    // 20 ms on (past the 10 ms interval), the next batch is checkpointed: no 2 s wait as a slow whole part earns.
    clock.now = 170
    await send()
    expect(await processed(2)).toBe(2)
    expect(await eventually(async () => saved.length, (count) => count === 2, 5_000)).toBe(2)
    expect(saved).toEqual([50, 170])
  })

  it('checkpoints before the interval once the changes waiting would make a long pause', async () => {
    // Writing the changed entries takes 10 ms of the test's processing time per record they reflect.
    let written = 0
    const { job, saved, send, clock } = await timedCountingJob((task, clock) => ({
      ...task,
      changes: (into) => {
        const count = (task.stats() as { count: number }).count
        clock.now += 10 * (count - written)
        written = count
        task.changes(into)
      },
    }), 1_000)
    const processed = (position: number) => eventually(async () => job.stats()[0]?.position, (value) => value === position, 5_000)
    await send()
    expect(await processed(1)).toBe(1)
    clock.now = 1_000
    expect(await eventually(async () => saved.length, (count) => count === 1, 5_000)).toBe(1)
    await send()
    expect(await processed(2)).toBe(2)
    clock.now = 2_000
    expect(await eventually(async () => saved.length, (count) => count === 2, 5_000)).toBe(2)
    // One record waiting would take 10 ms: it waits for the interval.
    clock.now = 2_100
    await send()
    expect(await processed(3)).toBe(3)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(saved).toEqual([1_000, 2_000])
    // Two would take 20 ms, past the budget: checkpointed now, 800 ms before the interval.
    clock.now = 2_200
    await send()
    expect(await eventually(async () => saved.length, (count) => count === 3, 5_000)).toBe(3)
    expect(saved).toEqual([1_000, 2_000, 2_200])
  })

  it('gives a job that reads a few fields only those, and still sends its late events to the late topic whole', async () => {
    const { directory, bus, codec } = await logOnDisk()
    await bus.admin().ensureTopics([{ topic: 'eddy.late', partitions: 1 }])
    const given: object[] = []
    // Every odd-numbered event is "late": the row carries the (partial) event the job was given.
    const job: Job<'log'> = {
      name: 'few-fields',
      stream: 'log',
      topology: { input: 'log', operators: [{ name: 'odd', does: 'odd events are late', feeds: ['late'] }] },
      outputs: ['late'],
      reads: ['event_id', 'ts'],
      createTask: () => ({
        process(events) {
          given.push(...(events as object[]))
          const odd = (event: unknown) => Number((event as { event_id: string }).event_id.slice(-12)) % 2 === 1
          return { late: events.filter(odd).map((event) => ({ event, reason: 'beyond-allowed-lateness', latenessMs: 1, job: 'few-fields' })) }
        },
        onProcessingTime: () => ({}),
        finish: () => ({}),
        changes: () => {},
        snapshot: () => new Uint8Array(0),
        restore: () => ({ ok: true }),
        stats: () => ({}),
      }),
    }
    // More than a consumer batch's decode slice (1,000), so late rows come from several slices.
    const events = Array.from({ length: 2_500 }, (_, index) => ({ ...SAMPLES.log, event_id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`, message: `line ${index}` }))
    await bus.producer().send(TOPICS.log, events.map((event) => ({ key: 's', value: codec.encode('log', event as never) })))
    const running = await startJob({
      job,
      groupId: 'few-fields',
      topic: TOPICS.log,
      dlqTopic: 'eddy.dlq',
      bus,
      codec,
      outputs: new OutputWriter({ outputs: { late: { kind: 'late-topic', topic: 'eddy.late', stream: 'log' } }, streamSinks: [] }, {} as unknown as ClickHouseBatchWriter, bus.producer(), codec),
      checkpoints: wholeCheckpoints(new FileCheckpointStore(join(directory.path, 'checkpoints'))),
      logger: silent,
      checkpointIntervalMs: 10,
      tickIntervalMs: 10,
    })
    cleanups.push(() => running.stop())
    await eventually(async () => (await bus.admin().committedOffsets('few-fields', TOPICS.log))[0]?.offset, (offset) => offset === events.length, 10_000)
    expect(given).toEqual(events.map(({ event_id, ts }) => ({ event_id, ts })))
    const late = (await readAll(bus, 'eddy.late'))[0]!.map((record) => codec.decode('log', record.value))
    const expected = events.filter((_, index) => index % 2 === 1)
    expect(late).toHaveLength(expected.length)
    expect(late).toEqual(expected.map((event) => expect.objectContaining({ ok: true, value: event })))
  })
})
