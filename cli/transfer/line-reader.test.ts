import { existsSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { temporaryDirectory } from '../../test/support/temp-dir.ts'
import { InputError, openLineSource } from './line-reader.ts'
import { LineSplitter, type InputLine } from './line-splitter.ts'

const directories: Array<{ remove(): void }> = []
afterEach(() => directories.splice(0).forEach((directory) => directory.remove()))

function file(name: string, content: string | Buffer): string {
  const directory = temporaryDirectory('lines')
  directories.push(directory)
  const path = join(directory.path, name)
  writeFileSync(path, content)
  return path
}

async function readAll(name: string, options: Parameters<typeof openLineSource>[1] = { maxLineBytes: 1_000 }): Promise<{ lines: InputLine[]; error?: InputError }> {
  const source = await openLineSource(name, options)
  const lines: InputLine[] = []
  try {
    for await (const line of source.lines()) lines.push(line)
  } catch (error) {
    if (error instanceof InputError) return { lines, error }
    throw error
  }
  return { lines }
}

const texts = (lines: InputLine[]) => lines.map((line) => ('text' in line ? `${line.line}:${line.text}` : `${line.line}:too long ${line.tooLongBytes}`))

describe('LineSplitter', () => {
  it('splits across chunk boundaries, drops CR and skips blank lines but counts them', () => {
    const splitter = new LineSplitter(100)
    const lines = [...splitter.push(Buffer.from('{"a":1}\r\n{"b"')), ...splitter.push(Buffer.from(':2}\n\n  \n{"c":3}'))]
    const last = splitter.end()
    expect(texts([...lines, last!])).toEqual(['1:{"a":1}', '2:{"b":2}', '5:{"c":3}'])
  })

  it('refuses a line over the cap by number and length, holding no more than the cap of it', () => {
    const splitter = new LineSplitter(10)
    const lines = [...splitter.push(Buffer.from('short\n')), ...splitter.push(Buffer.alloc(25, 'x')), ...splitter.push(Buffer.from('yy\nok\n'))]
    expect(texts(lines)).toEqual(['1:short', '2:too long 27', '3:ok'])
  })
})

describe('openLineSource', () => {
  it('refuses a 40 MB line with its number and reads the lines around it', async () => {
    const path = file('big.ndjson', `{"n":1}\n{"big":"${'x'.repeat(40 * 1024 * 1024)}"}\n{"n":3}\n`)
    const { lines, error } = await readAll(path, { maxLineBytes: 32_768 })
    expect(error).toBeUndefined()
    expect(texts(lines)).toEqual(['1:{"n":1}', `2:too long ${40 * 1024 * 1024 + 10}`, '3:{"n":3}'])
  })

  it('reads gzip by its magic bytes whatever the name, and by a .gz name', async () => {
    const content = gzipSync('{"n":1}\n{"n":2}\n')
    for (const name of ['data.ndjson', 'data.ndjson.gz']) {
      const source = await openLineSource(file(name, content), { maxLineBytes: 1_000 })
      const lines: InputLine[] = []
      for await (const line of source.lines()) lines.push(line)
      expect(texts(lines)).toEqual(['1:{"n":1}', '2:{"n":2}'])
      expect(source.bytesRead()).toBe(content.length)
      expect(source.sizeBytes).toBe(content.length)
    }
  })

  it('reports a truncated gzip stream naming the file and the last complete line, after yielding the lines before it', async () => {
    const lines = Array.from({ length: 5_000 }, (_, index) => JSON.stringify({ n: index + 1, pad: 'p'.repeat(index % 50) }))
    const whole = gzipSync(`${lines.join('\n')}\n`)
    const path = file('cut.ndjson.gz', whole.subarray(0, Math.floor(whole.length * 0.6)))
    const result = await readAll(path)
    expect(result.error).toBeInstanceOf(InputError)
    expect(result.error!.message).toContain(path)
    expect(result.error!.message).toContain('truncated')
    const last = result.lines.at(-1)!
    expect(result.error!.lastGoodLine).toBe(last.line)
    expect(result.lines.length).toBeGreaterThan(100)
    expect(texts(result.lines)).toEqual(lines.slice(0, result.lines.length).map((text, index) => `${index + 1}:${text}`))
  })

  it('reads - from stdin, gzip included, with no size to measure against', async () => {
    const stdin = new PassThrough()
    stdin.end(gzipSync('{"n":1}\n{"n":2}'))
    const source = await openLineSource('-', { maxLineBytes: 1_000, stdin })
    expect(source.sizeBytes).toBeUndefined()
    const lines: InputLine[] = []
    for await (const line of source.lines()) lines.push(line)
    expect(texts(lines)).toEqual(['1:{"n":1}', '2:{"n":2}'])
  })

  // Linux shows a process's open files in /proc; elsewhere there is nothing to look at.
  it.runIf(existsSync('/proc/self/fd'))('closes the file when the reader stops early (an import that stopped on a fatal error)', async () => {
    const path = file('long.ndjson', Array.from({ length: 100_000 }, (_, index) => `{"n":${index}}`).join('\n'))
    const opened = () => readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === path
      } catch {
        return false
      }
    })
    for await (const line of (await openLineSource(path, { maxLineBytes: 1_000 })).lines()) {
      expect(line.line).toBe(1)
      expect(opened()).toHaveLength(1)
      break
    }
    await expect.poll(opened).toEqual([])
  })

  it('reads an empty file as no lines', async () => {
    expect((await readAll(file('empty.ndjson', ''))).lines).toEqual([])
  })
})
