import { createHeapStateStore } from '../../state/heap-store.ts'
import type { PartitionStateStore, StagedCommit, StateCommit, StateStoreOptions } from '../../state/store.ts'
import type { CheckpointStore } from '../port.ts'
import { decodeWhole, type StateCheckpoints } from '../state-checkpoints.ts'
import type { ChangelogRecord, ChangelogTopic } from './port.ts'
import { ChangelogReader, encodeEntry, encodeMarker, MARKER_KEY, wholeChunkKey, wholeChunks, type WholeChunk } from './records.ts'

export interface ChangelogCheckpointsOptions extends StateStoreOptions {
  /** The changelog topic of a job (`<prefix>.<job>.changelog`). */
  readonly changelog: (job: string) => ChangelogTopic
  /** Partitions of every input topic: the changelog has as many. */
  readonly partitions: number
  /** Checkpoints written whole before the changelog (ClickHouse): a partition whose changelog is empty restores from them once. */
  readonly legacy?: CheckpointStore
  readonly metrics?: ChangelogMetrics
}

export interface ChangelogMetrics {
  /** A restore read `records` of the job's changelog and rolled back or tombstoned `repairs` of them. */
  restored(job: string, partition: number, records: number, repairs: number): void
  /** Records staged (positive) or acknowledged by the changelog (negative). */
  pending(job: string, delta: number): void
}

/** What the writer of one partition remembers between checkpoints. */
interface Position {
  /** The number of the last checkpoint staged. */
  seq: number
  /** The whole parts' chunks as of that checkpoint: the next one names again those that did not change. */
  chunks: WholeChunk[]
  /** Restored from a legacy checkpoint, so the changelog lacks every entry: the next checkpoint writes them all. */
  writeAll: boolean
  /** The last checkpoint's writes: the next one starts after them, so the changelog stays in checkpoint order. */
  writing: Promise<void>
  /** Records staged and not yet acknowledged (eddy_changelog_pending_records). */
  pending: number
}

const spaceOf = (job: string, topic: string) => `${job} ${topic}`

/**
 * Checkpoints on Kafka: each partition's state in the heap store of the instance that owns it,
 * each checkpoint's changes appended to the job's compacted changelog topic, and on assignment the
 * state rebuilt from the changelog, wherever the partition was before. A checkpoint costs what
 * changed (O(changes), as the LMDB store does embedded) instead of a whole snapshot through
 * ClickHouse; the records and how a half-written checkpoint is rolled back: records.ts.
 */
export function changelogCheckpoints(options: ChangelogCheckpointsOptions): StateCheckpoints {
  const store = createHeapStateStore(options)
  const positions = new Map<string, Position>()
  const ensured = new Map<string, Promise<void>>()
  const topicOf = (job: string): ChangelogTopic => {
    const topic = options.changelog(job)
    if (!ensured.has(job)) {
      const ensuring = topic.ensure(options.partitions)
      ensuring.catch(() => ensured.delete(job))
      ensured.set(job, ensuring)
    }
    return topic
  }

  return {
    async open(job, topic, partition) {
      const state = store.partition(spaceOf(job, topic), partition)
      const name = `${spaceOf(job, topic)}/${partition}`
      const before = positions.get(name)
      await before?.writing.catch(() => undefined)
      // Stages never committed are dropped with the rest of this instance's view of the partition.
      if (before !== undefined && before.pending > 0) options.metrics?.pending(job, -before.pending)
      await state.clear()
      const changelog = topicOf(job)
      await ensured.get(job)
      const reader = new ChangelogReader()
      const records = await changelog.read(partition, (piece) => reader.add(piece))
      const restored = reader.result()
      if (restored.repairs.length > 0) await changelog.append(partition, restored.repairs)
      options.metrics?.restored(job, partition, records, restored.repairs.length)
      if (restored.marker !== undefined) {
        const { seq, nextOffset, savedAt } = restored.marker
        await state.commit({ nextOffset, savedAt, whole: restored.whole, entries: restored.entries })
        positions.set(name, { seq, chunks: restored.chunks, writeAll: false, writing: Promise.resolve(), pending: 0 })
        return { state, checkpoint: state.checkpoint() }
      }
      const old = await options.legacy?.load(job, topic, partition)
      positions.set(name, { seq: 0, chunks: [], writeAll: old !== undefined, writing: Promise.resolve(), pending: 0 })
      if (old === undefined) return { state, checkpoint: undefined }
      const { whole, entries } = decodeWhole(old.state)
      await state.commit({ nextOffset: old.nextOffset, savedAt: old.savedAt, whole, entries })
      return { state, checkpoint: state.checkpoint() }
    },

    stage(job, topic, partition, changes): StagedCommit {
      const state = store.partition(spaceOf(job, topic), partition)
      const name = `${spaceOf(job, topic)}/${partition}`
      const position = positions.get(name)
      if (position === undefined) throw new Error(`changelog: ${name} is staged before it was opened`)
      // Read before the stage: what each key was at the previous checkpoint is its `prev`.
      const { records, deleted, chunks } = checkpointRecords(state, position, changes)
      position.seq += 1
      position.chunks = chunks
      position.writeAll = false
      const marker: ChangelogRecord = { key: MARKER_KEY, value: encodeMarker({ seq: position.seq, nextOffset: changes.nextOffset, savedAt: changes.savedAt, chunks: chunks.map((chunk) => chunk.seq) }) }
      const staged = state.stage(changes)
      const changelog = topicOf(job)
      let committing: Promise<void> | undefined
      const pending = records.length + 1
      position.pending += pending
      options.metrics?.pending(job, pending)
      return {
        commit() {
          const previous = position.writing
          committing ??= (async () => {
            try {
              await previous
              await changelog.append(partition, records)
              await changelog.append(partition, [marker])
            } finally {
              position.pending -= pending
              options.metrics?.pending(job, -pending)
            }
            await staged.commit()
            // Compaction may forget deleted keys once the checkpoint that deleted them is committed.
            if (deleted.length > 0) await changelog.append(partition, deleted.map((key) => ({ key, value: null })))
          })()
          position.writing = committing
          return committing
        },
      }
    },

    stats: () => store.stats(),
    close: () => store.close(),
  }
}

/** The records of the next checkpoint: every changed entry and whole chunk, each with its previous value. */
function checkpointRecords(state: PartitionStateStore, position: Position, changes: StateCommit) {
  const seq = position.seq + 1
  const records: ChangelogRecord[] = []
  const deleted: string[] = []
  if (position.writeAll) {
    for (const { key, value } of state.range('')) {
      if (!changes.entries.has(key)) records.push({ key, value: encodeEntry({ seq, value, prev: undefined }) })
    }
  }
  for (const [key, value] of changes.entries) {
    if (key.startsWith('\u0000')) throw new Error(`changelog: state keys may not start with NUL (${JSON.stringify(key)})`)
    const prev = position.writeAll ? undefined : state.get(key)
    // Deleting what the changelog does not hold (or never held: a legacy restore) needs no record.
    if (value === null && prev === undefined) continue
    records.push({ key, value: encodeEntry({ seq, value: value ?? undefined, prev }) })
    if (value === null) deleted.push(key)
  }
  const chunks: WholeChunk[] = wholeChunks(changes.whole).map((bytes, index) => {
    const before = position.chunks[index]
    if (before !== undefined && Buffer.compare(before.bytes, bytes) === 0) return before
    records.push({ key: wholeChunkKey(seq, index), value: bytes })
    return { seq, bytes }
  })
  // Chunks the new marker no longer names go once it is written.
  for (const [index, before] of position.chunks.entries()) {
    if (chunks[index]?.seq !== before.seq) deleted.push(wholeChunkKey(before.seq, index))
  }
  return { records, deleted, chunks }
}
