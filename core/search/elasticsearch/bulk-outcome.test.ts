import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { itemOutcome, type BulkResponseItem } from './bulk-outcome.ts'

const fixture = (name: string) =>
  (JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8')) as { items: BulkResponseItem[] }).items.map(itemOutcome)

describe('bulk item outcomes (responses recorded from Elasticsearch 8.19)', () => {
  it('indexes the good item and rejects documents the mapping refuses, with the reason', () => {
    const [good, badDate, unknownField] = fixture('bulk-partial-failure.json')
    expect(good).toEqual({ kind: 'indexed' })
    expect(badDate).toMatchObject({ kind: 'reject' })
    expect(badDate!.kind === 'reject' && badDate!.reason).toMatch(/^document_parsing_exception: .*failed to parse field \[ts\].*\(illegal_argument_exception: /)
    expect(unknownField).toEqual({ kind: 'reject', reason: expect.stringMatching(/^strict_dynamic_mapping_exception: .*unknown_field/) })
  })

  it('retries items refused by back-pressure or a read-only index: they heal without the document changing', () => {
    expect(fixture('bulk-rejected-429.json')).toEqual([{ kind: 'indexed' }, { kind: 'retry', reason: expect.stringMatching(/^es_rejected_execution_exception/) }])
    expect(fixture('bulk-index-blocked.json')).toEqual([{ kind: 'retry', reason: expect.stringMatching(/^cluster_block_exception: .*flood-stage/) }])
  })

  it('retries server errors, conflicts and anything it cannot read', () => {
    expect(itemOutcome({ index: { status: 503, error: { type: 'unavailable_shards_exception', reason: 'primary shard is not active' } } }).kind).toBe('retry')
    expect(itemOutcome({}).kind).toBe('retry')
    expect(itemOutcome({ create: { status: 409, error: { type: 'version_conflict_engine_exception', reason: 'exists' } } }).kind).toBe('retry')
  })

  it('retries what is wrong with the cluster rather than the document: an index that cannot be created, a write block', () => {
    expect(itemOutcome({ index: { status: 400, error: { type: 'validation_exception', reason: 'this action would add [1] shards, but this cluster currently has [1000]/[1000] maximum normal shards open' } } }).kind).toBe('retry')
    expect(itemOutcome({ index: { status: 404, error: { type: 'index_not_found_exception', reason: 'no such index [eddy-logs-2026.12]' } } }).kind).toBe('retry')
    expect(itemOutcome({ index: { status: 403, error: { type: 'cluster_block_exception', reason: 'index [eddy-logs-2025.01] blocked by: [FORBIDDEN/8/index write (api)]' } } }).kind).toBe('retry')
    expect(itemOutcome({ index: { status: 400, error: { type: 'mapper_parsing_exception', reason: 'failed to parse' } } }).kind).toBe('reject')
  })
})
