import type { ClickEvent } from '../../schemas/types.generated.ts'
import { expect } from 'vitest'
import type { JobTask, OutputRows, Row } from '../../processors/job.ts'
import { createHeapStateStore } from '../../processors/state/heap-store.ts'
import type { PartitionStateStore } from '../../processors/state/store.ts'

let sequence = 0

/** A decoded click event with sensible defaults, for job tests. */
export function click(overrides: Partial<ClickEvent> & Pick<ClickEvent, 'ts'>): ClickEvent {
  sequence += 1
  return {
    event_id: `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`,
    project_id: 'shop', type: 'pageview', name: '', received_at: overrides.ts, anonymous_id: 'visitor-a', user_id: null, session_id: '',
    url: '', path: '/', title: '', referrer: '', referrer_domain: '', utm_source: '', utm_medium: '', utm_campaign: '', utm_term: '', utm_content: '',
    browser: 'Firefox', os: 'Linux', device_type: 'desktop', country: 'DE', screen: '', locale: '', properties: {}, visitor_hash: null,
    ...overrides,
  }
}

/** What a ReplacingMergeTree(revision) would return with FINAL: the newest row per key. */
export function latestRows(rows: readonly Row[], keyColumns: readonly string[]): Row[] {
  const latest = new Map<string, Row>()
  for (const row of rows) {
    const key = JSON.stringify(keyColumns.map((column) => row[column]))
    const current = latest.get(key)
    if (!current || Number(row.revision) >= Number(current.revision)) latest.set(key, row)
  }
  return [...latest.values()].filter((row) => row.is_deleted !== 1)
}

export function collect(into: OutputRows, from: OutputRows): OutputRows {
  for (const [name, rows] of Object.entries(from)) (into[name] ??= []).push(...rows)
  return into
}

/**
 * Runs `batches` through one task straight and through another that is snapshotted and restored
 * before batch `cut`, and checks both give the same outputs and end with the same snapshot bytes.
 */
export function expectSameAfterRestore<In>(job: { createTask(partition: number, state?: PartitionStateStore): JobTask<In> }, batches: readonly (readonly In[])[], cut: number, startMs: number): void {
  const straightState = createHeapStateStore().partition('straight', 0)
  const straight = job.createTask(0, straightState)
  const state = createHeapStateStore().partition('restore-test', 0)
  let current = job.createTask(0, state)
  const expected: OutputRows = {}
  const actual: OutputRows = {}
  for (const [index, batch] of batches.entries()) {
    if (index === cut) {
      const whole = handOver(current, state)
      const restored = job.createTask(0, state)
      expect(restored.restore(whole)).toEqual({ ok: true })
      expect(Buffer.from(restored.snapshot()).equals(Buffer.from(whole))).toBe(true)
      current = restored
    }
    const now = startMs + index * 700
    collect(expected, straight.process(batch, now))
    collect(expected, straight.onProcessingTime(now + 300))
    collect(actual, current.process(batch, now))
    collect(actual, current.onProcessingTime(now + 300))
  }
  expect(JSON.stringify(actual)).toBe(JSON.stringify(expected))
  // Both checkpointed now, so both have moved what a checkpoint moves to the store.
  expect(Buffer.from(handOver(current, state)).equals(Buffer.from(handOver(straight, straightState)))).toBe(true)
}

/**
 * A checkpoint as the runner takes it, for a task restored in the same test: the entries the task
 * changed are staged in its state store (visible at once, as in the runner), and the parts kept
 * whole are returned for the next task's restore. Changes first, then the snapshot, as the runner
 * takes them (JobTask.changes).
 */
export function handOver<In>(task: JobTask<In>, state: PartitionStateStore, nextOffset = 0): Uint8Array {
  const entries = new Map<string, Uint8Array | null>()
  task.changes(entries)
  const whole = task.snapshot()
  void state.stage({ nextOffset, savedAt: 0, whole, entries }).commit()
  return whole
}

/** Feeds batches to a task as the runner would: process each, then half a second of processing time. */
export function runTask<In>(task: JobTask<In>, batches: readonly (readonly In[])[], startMs: number): OutputRows {
  const outputs: OutputRows = {}
  let now = startMs
  for (const batch of batches) {
    collect(outputs, task.process(batch, now))
    now += 500
    collect(outputs, task.onProcessingTime(now))
  }
  return outputs
}
