/**
 * How long a partition takes to process again after it lost its process, with real job state:
 *
 * - restart: the clickstream job runs over the traffic model on the LMDB store (a checkpoint
 *   every batch), cold entries are added until the store file holds `storeMb` (state a day of a
 *   busy site leaves behind: ids, paths, lifecycles, fired windows), and the writer is killed -9
 *   in a child process. Then: open the store, restore the partition's whole parts, process the next
 *   batch. The process's own start (Node, chDB, the log) comes on top: `startSeconds`.
 * - move (with KAFKA_BROKERS): the same job checkpoints to a changelog topic on the broker, then
 *   another instance (new clients, an empty heap) rebuilds the partition from the changelog and
 *   processes the next batch. Compaction has not run on a topic this young, so the restore reads
 *   every record ever written: the worst case. The group's rebalance comes on top.
 */
import { spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { createInterface } from 'node:readline'
import { pino } from 'pino'
import { changelogCheckpoints } from '../processors/checkpoints/changelog/changelog-checkpoints.ts'
import { KafkaChangelogs } from '../processors/checkpoints/changelog/kafka-topic.ts'
import type { ChangelogTopic } from '../processors/checkpoints/changelog/port.ts'
import { storeCheckpoints, type StateCheckpoints } from '../processors/checkpoints/state-checkpoints.ts'
import type { ClickEvent } from '../schemas/types.generated.ts'
import { clickstreamJob } from '../processors/jobs/clickstream.ts'
import { createHeapStateStore } from '../processors/state/heap-store.ts'
import { createLmdbStateStore } from '../processors/state/lmdb-store.ts'
import { EddyProcess, freePort } from '../test/support/eddy-process.ts'
import { modelEvents } from '../test/support/model-events.ts'
import { temporaryDirectory } from '../test/support/temp-dir.ts'

export interface RestartFigure {
  /** `eddy start` killed -9 and started again on its data dir, until /readyz answers 200. */
  readonly processStartSeconds: number
  readonly events: number
  readonly storeFileMb: number
  readonly wholeBytes: number
  readonly openSeconds: number
  readonly restoreSeconds: number
  readonly firstBatchSeconds: number
  /** Open + restore + the first batch processed. */
  readonly seconds: number
  /** The process start and the partition's: kill -9 to processing again. */
  readonly totalSeconds: number
}

export interface MoveFigure {
  readonly events: number
  readonly changelogRecords: number
  readonly changelogMb: number
  /** Reading the changelog into the new instance's store. */
  readonly readSeconds: number
  readonly restoreSeconds: number
  readonly firstBatchSeconds: number
  readonly seconds: number
}

const JOB = 'clickstream'
const TOPIC = 'eddy.clicks'
const BATCH = 5_000
const T0 = Date.parse('2026-11-22T10:00:00Z')
const BALLAST_VALUE_BYTES = 4_096

function trafficBatches(events: number): ClickEvent[][] {
  // The traffic model's rate: 450,000 events over 4 minutes is one partition at ~1,900/s.
  const { clicks } = modelEvents({ seed: 17, events: events + BATCH, startMs: T0, spanMs: Math.max(60_000, (events / 1_900) * 1_000) })
  const batches: ClickEvent[][] = []
  for (let start = 0; start < clicks.length; start += BATCH) batches.push(clicks.slice(start, start + BATCH))
  return batches
}

const nowOf = (batch: ClickEvent[]) => Math.max(...batch.map((event) => event.ts)) + 1_000

/** Runs the job over all but the last batch, checkpointing after each; returns the last batch. */
async function checkpointed(checkpoints: StateCheckpoints, batches: ClickEvent[][], onProgress?: (line: string) => void): Promise<number> {
  const opened = await checkpoints.open(JOB, TOPIC, 0)
  const task = clickstreamJob().createTask(0, opened.state)
  let offset = 0
  for (const [index, batch] of batches.slice(0, -1).entries()) {
    const now = nowOf(batch)
    task.process(batch, now)
    task.onProcessingTime(now)
    offset += batch.length
    const entries = new Map<string, Uint8Array | null>()
    task.changes(entries)
    const whole = task.snapshot()
    await checkpoints.stage(JOB, TOPIC, 0, { nextOffset: offset, savedAt: now, whole, entries }).commit()
    if (index % 10 === 0) onProgress?.(`restore bench: ${offset.toLocaleString('en-US')} events checkpointed`)
  }
  return offset
}

/** Open, restore and process one batch, timed; what a partition does before it processes again. */
async function reopen(checkpoints: StateCheckpoints, next: ClickEvent[]) {
  const started = performance.now()
  const opened = await checkpoints.open(JOB, TOPIC, 0)
  const openedAt = performance.now()
  const task = clickstreamJob().createTask(0, opened.state)
  if (opened.checkpoint === undefined) throw new Error('restore bench: nothing was checkpointed')
  const restored = task.restore(opened.checkpoint.whole)
  if (!restored.ok) throw new Error(`restore bench: the checkpoint did not restore (${restored.reason})`)
  const restoredAt = performance.now()
  const now = nowOf(next)
  task.process(next, now)
  task.onProcessingTime(now)
  const done = performance.now()
  const seconds = (to: number, from: number) => Math.round((to - from)) / 1_000
  return { wholeBytes: opened.checkpoint.whole.byteLength, openSeconds: seconds(openedAt, started), restoreSeconds: seconds(restoredAt, openedAt), firstBatchSeconds: seconds(done, restoredAt), seconds: seconds(done, started) }
}

export async function benchRestart(options: { events: number; storeMb: number; onProgress?: (line: string) => void }): Promise<RestartFigure> {
  const directory = temporaryDirectory('bench-restart')
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, 'restart-writer', directory.path, String(options.events), String(options.storeMb)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let storeFileMb = 0
    for await (const line of createInterface({ input: child.stdout })) {
      if (line.startsWith('ready ')) {
        storeFileMb = Number(line.slice(6))
        break
      }
      options.onProgress?.(line)
    }
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
    const checkpoints = storeCheckpoints(createLmdbStateStore({ path: directory.path }))
    try {
      const figure = await reopen(checkpoints, trafficBatches(options.events).at(-1)!)
      const processStartSeconds = await processRestartSeconds()
      return { processStartSeconds, events: options.events, storeFileMb, ...figure, totalSeconds: Math.round((processStartSeconds + figure.seconds) * 1_000) / 1_000 }
    } finally {
      await checkpoints.close()
    }
  } finally {
    directory.remove()
  }
}

/** `eddy start` on the embedded defaults, killed -9 once it is ready, then timed as it starts again. */
async function processRestartSeconds(): Promise<number> {
  const directory = temporaryDirectory('bench-restart-process')
  const eddy = new EddyProcess(await freePort(), { EDDY_DATA_DIR: directory.path, EDDY_WRITE_KEY: 'bench-write-key', EDDY_READ_KEY: 'bench-read-key' }, 'start')
  try {
    await eddy.start(120_000)
    await eddy.kill()
    const started = performance.now()
    await eddy.start(120_000)
    return Math.round(performance.now() - started) / 1_000
  } finally {
    await eddy.kill()
    directory.remove()
  }
}

/** The child killed -9: job state, then cold entries up to `storeMb`, then it waits to be killed. */
async function restartWriter(path: string, events: number, storeMb: number): Promise<void> {
  const store = createLmdbStateStore({ path })
  const checkpoints = storeCheckpoints(store)
  const say = (line: string) => process.stdout.write(`${line}\n`)
  const offset = await checkpointed(checkpoints, trafficBatches(events), say)
  const state = (await checkpoints.open(JOB, TOPIC, 0)).state
  const checkpoint = state.checkpoint()!
  let written = 0
  while (store.stats().bytesOnDisk < storeMb * 1024 * 1024) {
    const entries = new Map<string, Uint8Array | null>()
    for (let index = 0; index < 5_000; index++) entries.set(`ballast/${randomUUID()}`, randomBytes(BALLAST_VALUE_BYTES))
    await state.commit({ nextOffset: offset, savedAt: checkpoint.savedAt, whole: checkpoint.whole, entries })
    written += entries.size
    if (written % 50_000 === 0) say(`restore bench: store file ${Math.round(store.stats().bytesOnDisk / 1024 / 1024)} MB of ${storeMb}`)
  }
  say(`ready ${Math.round(store.stats().bytesOnDisk / 1024 / 1024)}`)
  setInterval(() => undefined, 60_000)
}

export async function benchMove(options: { brokers: string; events: number; onProgress?: (line: string) => void }): Promise<MoveFigure> {
  const name = `bench.${randomUUID()}.clickstream.changelog`
  const logger = pino({ level: 'error' })
  const batches = trafficBatches(options.events)
  const before = new KafkaChangelogs({ brokers: options.brokers.split(','), clientId: 'eddy-bench-before', logger })
  try {
    await checkpointed(changelogCheckpoints({ store: createHeapStateStore(), changelog: () => before.topic(name), partitions: 1 }), batches, options.onProgress)
  } finally {
    await before.close()
  }
  const after = new KafkaChangelogs({ brokers: options.brokers.split(','), clientId: 'eddy-bench-after', logger })
  const directory = temporaryDirectory('bench-move')
  try {
    let records = 0
    let bytes = 0
    let readSeconds = 0
    const counted = (topic: ChangelogTopic): ChangelogTopic => ({
      ...topic,
      async read(partition, from, onRecords) {
        const started = performance.now()
        const read = await topic.read(partition, from, (piece) => {
          for (const record of piece) bytes += record.key.length + (record.value?.byteLength ?? 0)
          onRecords(piece)
        })
        readSeconds = Math.round(performance.now() - started) / 1_000
        records += read.records
        return read
      },
    })
    // Another instance: an empty store of its own, so the whole changelog is read into it.
    const figure = await reopen(changelogCheckpoints({ store: createLmdbStateStore({ path: directory.path }), changelog: () => counted(after.topic(name)), partitions: 1 }), batches.at(-1)!)
    return { events: options.events, changelogRecords: records, changelogMb: Math.round(bytes / 1024 / 1024), readSeconds, restoreSeconds: figure.restoreSeconds, firstBatchSeconds: figure.firstBatchSeconds, seconds: figure.seconds }
  } finally {
    await after.close()
    directory.remove()
  }
}

if (process.argv[1] === import.meta.filename && process.argv[2] === 'restart-writer') {
  await restartWriter(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]))
}
