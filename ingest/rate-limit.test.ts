import type { FastifyRequest } from 'fastify'
import { expect, it } from 'vitest'
import { KeyRing } from '../core/auth/keys.ts'
import { ingestRateLimitTarget, INGEST_TIER } from './rate-limit.ts'

const keys = new KeyRing([{ id: 'shop', writeKeys: ['shop-write-key'], readKeys: ['shop-read-key'] }])
const target = ingestRateLimitTarget(keys)
const request = (method: string, query: Record<string, string>, body?: unknown) => ({ method, headers: {}, query, body }) as unknown as FastifyRequest

it('charges requests that carry events to their write key', () => {
  expect(target(request('POST', { key: 'shop-write-key' }))).toEqual({ key: 'shop-write-key', tier: INGEST_TIER })
  expect(target(request('POST', {}, { writeKey: 'shop-write-key', batch: [] }))).toEqual({ key: 'shop-write-key', tier: INGEST_TIER })
})

it('charges nothing for unknown or read keys (the route answers 401) and for GETs of the snippet, preflights and health checks', () => {
  expect(target(request('POST', { key: 'nope' }))).toBeUndefined()
  expect(target(request('POST', { key: 'shop-read-key' }))).toBeUndefined()
  for (const method of ['GET', 'HEAD', 'OPTIONS']) expect(target(request(method, { key: 'shop-write-key' })), method).toBeUndefined()
})
