import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { pipeline, Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { LineSplitter, type InputLine } from './line-splitter.ts'

/** An input that cannot be read on: the lines before `lastGoodLine` were read and may be kept. */
export class InputError extends Error {
  constructor(readonly source: string, readonly lastGoodLine: number, reason: string) {
    super(`${source}: ${reason} (after line ${lastGoodLine}; the lines up to it were read)`)
    this.name = 'InputError'
  }
}

export interface LineSource {
  /** The file name, or `-` for standard input. */
  readonly name: string
  /** Bytes of the file as stored (compressed, for .gz), when known: what progress is measured against. */
  readonly sizeBytes: number | undefined
  /** Bytes of the file read so far (compressed, for .gz). */
  bytesRead(): number
  lines(): AsyncGenerator<InputLine>
}

export interface LineSourceOptions {
  readonly maxLineBytes: number
  /** Standard input, for `-`; injectable for tests. */
  readonly stdin?: NodeJS.ReadableStream
}

const GZIP_MAGIC = [0x1f, 0x8b] as const

/**
 * A file (or stdin) as lines, streamed: gzip is recognised by its magic bytes or a `.gz` name,
 * and memory stays bounded by the line cap whatever the file's size. A truncated or corrupt gzip
 * stream ends the lines with an InputError naming the file and the last complete line.
 */
export async function openLineSource(name: string, options: LineSourceOptions): Promise<LineSource> {
  const sizeBytes = name === '-' ? undefined : (await stat(name)).size
  let bytesRead = 0
  return {
    name,
    sizeBytes,
    bytesRead: () => bytesRead,
    async *lines() {
      const input = name === '-' ? (options.stdin ?? process.stdin) : createReadStream(name)
      const counted = countBytes(input, (bytes) => { bytesRead += bytes })
      const first = await counted.next()
      if (first.done) return
      const chunks = prepend(first.value, counted)
      const gzip = name.endsWith('.gz') || (first.value[0] === GZIP_MAGIC[0] && first.value[1] === GZIP_MAGIC[1])
      const splitter = new LineSplitter(options.maxLineBytes)
      try {
        for await (const chunk of gzip ? gunzip(chunks) : chunks) yield* splitter.push(chunk as Buffer)
      } catch (error) {
        splitter.discardPartial()
        throw new InputError(name, splitter.completeLines, describeReadError(error, gzip))
      }
      const last = splitter.end()
      if (last) yield last
    },
  }
}

async function* countBytes(input: NodeJS.ReadableStream, count: (bytes: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of input) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    count(buffer.length)
    yield buffer
  }
}

/** A reader that stops early (a fatal publish) closes the file: `rest` is returned, which ends its read stream. */
async function* prepend(first: Buffer, rest: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield first
    yield* rest
  } finally {
    await rest.return(undefined)
  }
}

/** pipeline(), not pipe(): a read error of the file then fails the gunzip stream instead of hanging it. */
function gunzip(chunks: AsyncIterable<Buffer>): NodeJS.ReadableStream {
  const output = createGunzip()
  pipeline(Readable.from(chunks), output, () => undefined)
  return output
}

function describeReadError(error: unknown, gzip: boolean): string {
  const code = (error as NodeJS.ErrnoException).code
  if (gzip && code === 'Z_BUF_ERROR') return 'the gzip stream is truncated'
  if (gzip && code === 'Z_DATA_ERROR') return `the gzip stream is corrupt: ${(error as Error).message}`
  return (error as Error).message
}
