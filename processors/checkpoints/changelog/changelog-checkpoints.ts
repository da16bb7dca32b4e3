import type { PartitionStateStore, StagedCommit, StateCommit, StateStore } from '../../state/store.ts'
import type { CheckpointStore } from '../port.ts'
import { decodeWhole, type StateCheckpoints } from '../state-checkpoints.ts'
import type { ChangelogRecord, ChangelogTopic } from './port.ts'
import { ChangelogRestore, decodePosition, encodeEntry, encodeMarker, encodePosition, MARKER_KEY, POSITION_KEY, wholeChunkKey, wholeChunks, type ChangelogPosition, type WholeChunk } from './records.ts'

export interface ChangelogCheckpointsOptions {
  /** Where the partitions this instance owns keep their state: LMDB in the data dir, or the heap. */
  readonly store: StateStore
  /** The changelog topic of a job (`<prefix>.<job>.changelog`). */
  readonly changelog: (job: string) => ChangelogTopic
  /** Partitions of every input topic: the changelog has as many. */
  readonly partitions: number
  /** Checkpoints written whole before the changelog (ClickHouse): a partition whose changelog is empty restores from them once. */
  readonly legacy?: CheckpointStore
  readonly metrics?: ChangelogMetrics
  readonly clock?: () => number
}

export interface ChangelogMetrics {
  /** A restore read `records` of the job's changelog and rolled back or tombstoned `repairs` of them. */
  restored(job: string, partition: number, records: number, repairs: number): void
  /** Records staged (positive) or acknowledged by the changelog (negative). */
  pending(job: string, delta: number): void
}

/**
 * A local store older than this restores from the start of the changelog rather than from its
 * position: compaction drops a tombstone a day after it was written (the topic's
 * delete.retention.ms), and a store that missed one would keep a key deleted meanwhile.
 */
export const LOCAL_STATE_MAX_AGE_MS = 12 * 3_600_000

/** Entries written to the store at once while restoring. */
const RESTORE_WRITE_BATCH = 10_000

/** What the writer of one partition remembers between checkpoints. */
interface Position {
  /** The number of the last checkpoint staged. */
  seq: number
  /** The whole parts' chunks as of that checkpoint: the next one names again those that did not change. */
  chunks: WholeChunk[]
  /** The changelog's end after the last append acknowledged: where the next checkpoint's records start, at the latest. */
  end: number
  /** Restored from a legacy checkpoint, so the changelog lacks every entry: the next checkpoint writes them all. */
  writeAll: boolean
  /** The last checkpoint's writes: the next one starts after them, so the changelog stays in checkpoint order. */
  writing: Promise<void>
  /** Records staged and not yet acknowledged (eddy_changelog_pending_records). */
  pending: number
}

const spaceOf = (job: string, topic: string) => `${job} ${topic}`
const EMPTY = new Uint8Array(0)

/**
 * Checkpoints on Kafka: each partition's state in the local store of the instance that owns it
 * (LMDB in its data dir, with the cache, as embedded), each checkpoint's changes appended to the
 * job's compacted changelog topic, and on assignment the local store brought up to date from the
 * changelog: from the position it holds when this instance had the partition before (only what
 * others wrote since), from the start otherwise. A checkpoint costs what changed (O(changes))
 * instead of a whole snapshot through ClickHouse; the records and how a half-written checkpoint
 * is rolled back: records.ts.
 */
export function changelogCheckpoints(options: ChangelogCheckpointsOptions): StateCheckpoints {
  const { store } = options
  const clock = options.clock ?? Date.now
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
      state.discardStaged()
      const changelog = topicOf(job)
      await ensured.get(job)
      // Fenced first: an instance that had the partition cannot append once this one has read.
      await changelog.claim(partition)
      let local = localPosition(state, clock())
      let { read, restored, base } = await rebuild(state, changelog, partition, local)
      // The checkpoint the local store holds ends with a marker at or after its position, or a
      // later one replaced it there; without one the changelog is not the one this store saw
      // (the topic was recreated): start over from it.
      if (local !== undefined && (restored.marker === undefined || restored.marker.seq < local.position.seq)) {
        local = undefined
        ;({ read, restored, base } = await rebuild(state, changelog, partition, undefined))
      }
      // Durable before anything else: the unfinished checkpoint must be undone for every later reader.
      const end = restored.repairs.length > 0 ? await changelog.append(partition, restored.repairs) : read.end
      options.metrics?.restored(job, partition, read.records, restored.repairs.length)
      if (restored.marker === undefined && local === undefined) {
        // Nothing committed in the changelog: a partition never checkpointed, or one from before it.
        const old = await options.legacy?.load(job, topic, partition)
        positions.set(name, { seq: 0, chunks: [], end, writeAll: old !== undefined, writing: Promise.resolve(), pending: 0 })
        if (old === undefined) return { state, checkpoint: undefined }
        const { whole, entries } = decodeWhole(old.state)
        await state.commit({ nextOffset: old.nextOffset, savedAt: old.savedAt, whole, entries })
        return { state, checkpoint: state.checkpoint() }
      }
      // From its marker: a restore here later finds it again (see above).
      const position: ChangelogPosition = { seq: restored.seq, offset: restored.markerOffset ?? 0, chunks: restored.chunks.map((chunk) => chunk.seq) }
      restored.writes.set(POSITION_KEY, encodePosition(position))
      const marker = restored.marker
      await state.commit({
        nextOffset: marker?.nextOffset ?? base.nextOffset,
        savedAt: marker?.savedAt ?? base.savedAt,
        whole: restored.whole,
        entries: restored.writes,
      })
      positions.set(name, { seq: restored.seq, chunks: restored.chunks, end, writeAll: false, writing: Promise.resolve(), pending: 0 })
      return { state, checkpoint: state.checkpoint() }
    },

    stage(job, topic, partition, changes): StagedCommit {
      const state = store.partition(spaceOf(job, topic), partition)
      const name = `${spaceOf(job, topic)}/${partition}`
      const position = positions.get(name)
      if (position === undefined) throw new Error(`changelog: ${name} is staged before it was opened`)
      // Read before the stage: what each key was at the previous checkpoint is its `prev`.
      const changelog = topicOf(job)
      const { records, deleted, chunks } = checkpointRecords(state, position, changes, changelog.atomicAppends)
      position.seq += 1
      position.chunks = chunks
      position.writeAll = false
      const seq = position.seq
      const marker: ChangelogRecord = { key: MARKER_KEY, value: encodeMarker({ seq, nextOffset: changes.nextOffset, savedAt: changes.savedAt, chunks: chunks.map((chunk) => chunk.seq) }) }
      // The local store commits its position with the state: the changelog's end before this
      // checkpoint's records, so a restore here reads them again rather than miss any.
      const entries = new Map(changes.entries)
      entries.set(POSITION_KEY, encodePosition({ seq, offset: position.end, chunks: chunks.map((chunk) => chunk.seq) }))
      const staged = state.stage({ ...changes, entries })
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
              // One append: on Kafka one transaction, so the checkpoint lands whole or not at all;
              // there its deletions are tombstones in it, after the marker.
              const tombstones = changelog.atomicAppends ? deleted.map((key) => ({ key, value: null })) : []
              position.end = await changelog.append(partition, [...records, marker, ...tombstones])
            } finally {
              position.pending -= pending
              options.metrics?.pending(job, -pending)
            }
            await staged.commit()
            // Compaction may forget deleted keys once the checkpoint that deleted them is committed.
            if (deleted.length > 0 && !changelog.atomicAppends) position.end = await changelog.append(partition, deleted.map((key) => ({ key, value: null })))
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

/**
 * Reads the changelog into the store, from the local position or (without one, after clearing the
 * store) from the start, writing a piece at a time as it reads; the position entry is not among
 * those writes, so a crash meanwhile restores again from the same place.
 */
async function rebuild(state: PartitionStateStore, changelog: ChangelogTopic, partition: number, local: { position: ChangelogPosition; whole: Uint8Array } | undefined) {
  if (local === undefined) await state.clear()
  const restore = new ChangelogRestore(local)
  const base = state.checkpoint() ?? { nextOffset: 0, savedAt: 0, whole: EMPTY }
  let flushing = Promise.resolve()
  const read = await changelog.read(partition, local?.position.offset, (records) => {
    restore.add(records)
    if (restore.pendingWrites < RESTORE_WRITE_BATCH) return
    const entries = restore.takeWrites()
    flushing = flushing.then(() => state.commit({ ...base, entries }))
  })
  await flushing
  return { read, restored: restore.finish(), base }
}

/** The local store's position and whole parts, if it can be brought up to date from there. */
function localPosition(state: PartitionStateStore, now: number): { position: ChangelogPosition; whole: Uint8Array } | undefined {
  const bytes = state.get(POSITION_KEY)
  const checkpoint = state.checkpoint()
  if (bytes === undefined || checkpoint === undefined || now - checkpoint.savedAt > LOCAL_STATE_MAX_AGE_MS) return undefined
  return { position: decodePosition(bytes), whole: checkpoint.whole }
}

/**
 * The records of the next checkpoint: every changed entry (with its previous value, unless the
 * topic's appends are atomic and nothing is ever rolled back), and the changed whole chunks; and
 * the keys whose tombstones follow the marker.
 */
function checkpointRecords(state: PartitionStateStore, position: Position, changes: StateCommit, atomic: boolean) {
  const seq = position.seq + 1
  const records: ChangelogRecord[] = []
  const deleted: string[] = []
  if (position.writeAll) {
    for (const { key, value } of state.range('')) {
      if (!key.startsWith('\u0000') && !changes.entries.has(key)) records.push({ key, value: encodeEntry({ seq, value, prev: undefined }) })
    }
  }
  for (const [key, value] of changes.entries) {
    if (key.startsWith('\u0000')) throw new Error(`changelog: state keys may not start with NUL (${JSON.stringify(key)})`)
    if (atomic) {
      // A deletion is its tombstone alone, and only for a key the changelog may hold.
      if (value === null) {
        if (!position.writeAll && state.get(key) !== undefined) deleted.push(key)
      } else records.push({ key, value: encodeEntry({ seq, value, prev: undefined }) })
      continue
    }
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
