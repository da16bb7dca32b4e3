import { createGunzip, createInflate } from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import snappy from 'snappyjs'
import { ProblemError } from '../core/http/problem.ts'
import { DEFAULT_MAX_NESTING_DEPTH } from '../core/http/nesting.ts'
import { INGEST_PROBLEMS } from './errors.ts'
import { assertShallow, lineTooDeep } from './nesting.ts'

export interface NdjsonLine {
  /** 1-based line number in the body. */
  readonly line: number
  readonly value?: unknown
  readonly error?: string
  readonly bytes: number
}

/** Marks a body that arrived as NDJSON, so routes can report errors by line. */
export class NdjsonBody {
  constructor(readonly lines: readonly NdjsonLine[]) {}
}

/** A protobuf body (OTLP, Loki push), decoded by the route that knows its message type. */
export class BinaryBody {
  constructor(readonly bytes: Buffer, readonly contentType: string) {}
}

export const NDJSON_CONTENT_TYPES = ['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines', 'application/json-seq']
export const PROTOBUF_CONTENT_TYPES = ['application/x-protobuf', 'application/protobuf', 'application/vnd.google.protobuf']

/**
 * Snappy block format (what Promtail and Alloy wrap Loki's protobuf in, without a
 * Content-Encoding header). The uncompressed length is read from the header and checked against
 * the limit before anything is allocated, so a tiny body cannot claim gigabytes.
 */
export function decodeSnappy(bytes: Uint8Array, maxBytes: number): Buffer {
  try {
    return Buffer.from(snappy.uncompress(bytes, maxBytes))
  } catch (error) {
    const message = (error as Error).message
    if (message.includes('too big')) throw new ProblemError(INGEST_PROBLEMS.INGEST_BODY_TOO_LARGE, `the snappy body would be larger than ${maxBytes} bytes uncompressed`)
    throw new ProblemError(INGEST_PROBLEMS.INGEST_MALFORMED_BODY, `the body is not valid snappy: ${message}`)
  }
}

/**
 * Body handling shared by every ingest route: gzip/deflate request bodies, JSON (also as
 * text/plain, which is what navigator.sendBeacon sends), and NDJSON. `bodyLimit` is enforced by
 * fastify on the decompressed stream, so a small gzip bomb is still refused with 413. A JSON body
 * nested deeper than `maxNestingDepth` is 400 here, before a route walks it (an NDJSON line is
 * marked refused instead, so the other lines still count).
 */
export function installBodyParsers(app: FastifyInstance, maxNestingDepth = DEFAULT_MAX_NESTING_DEPTH): void {
  app.addHook('preParsing', async (request, _reply, payload) => {
    const encoding = (request.headers['content-encoding'] ?? 'identity').toLowerCase()
    if (encoding === 'identity') return payload
    let decoded: ReturnType<typeof createGunzip> | undefined
    if (encoding === 'gzip' || encoding === 'x-gzip') decoded = createGunzip()
    else if (encoding === 'deflate') decoded = createInflate()
    if (decoded) {
      // fastify compares Content-Length with this, not with the decompressed length.
      Object.assign(decoded, { receivedEncodedLength: Number(request.headers['content-length'] ?? Number.NaN) })
      return payload.pipe(decoded)
    }
    throw new ProblemError(INGEST_PROBLEMS.INGEST_UNSUPPORTED_MEDIA_TYPE, `content-encoding ${encoding} is not supported (use gzip or deflate)`)
  })

  const parseJson = (_request: unknown, body: string, done: (error: Error | null, value?: unknown) => void) => {
    if (body.length === 0) return done(new ProblemError(INGEST_PROBLEMS.INGEST_MALFORMED_BODY, 'the body is empty'))
    let value: unknown
    try {
      value = JSON.parse(body)
    } catch (error) {
      return done(new ProblemError(INGEST_PROBLEMS.INGEST_MALFORMED_BODY, `the body is not valid JSON: ${(error as Error).message}`))
    }
    try {
      assertShallow(value, maxNestingDepth)
    } catch (error) {
      return done(error as Error)
    }
    done(null, value)
  }
  // Replaces fastify's JSON parser: plain JSON.parse is faster, and prototype poisoning is not a
  // risk here because bodies are only read field by field into new objects, never merged.
  app.removeContentTypeParser(['application/json', 'text/plain'])
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string' }, parseJson)
  app.addContentTypeParser(NDJSON_CONTENT_TYPES, { parseAs: 'string' }, (_request, body, done) => {
    done(null, parseNdjson(body as string, maxNestingDepth))
  })
  app.addContentTypeParser(PROTOBUF_CONTENT_TYPES, { parseAs: 'buffer' }, (request, body, done) => {
    done(null, new BinaryBody(body as Buffer, String(request.headers['content-type'] ?? '')))
  })
}

export function parseNdjson(body: string, maxNestingDepth = DEFAULT_MAX_NESTING_DEPTH): NdjsonBody {
  const lines: NdjsonLine[] = []
  let start = 0
  let number = 0
  while (start <= body.length) {
    let end = body.indexOf('\n', start)
    if (end === -1) end = body.length
    number += 1
    const text = body.slice(start, end).replace(/^\u001e/, '').trim()
    if (text !== '') {
      const bytes = Buffer.byteLength(text)
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch (error) {
        lines.push({ line: number, error: `not valid JSON: ${(error as Error).message}`, bytes })
        start = end + 1
        continue
      }
      const tooDeep = lineTooDeep(value, maxNestingDepth)
      lines.push(tooDeep === undefined ? { line: number, value, bytes } : { line: number, error: tooDeep, bytes })
    }
    start = end + 1
  }
  return new NdjsonBody(lines)
}
