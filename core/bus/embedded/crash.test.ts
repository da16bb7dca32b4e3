/**
 * Kills a producing child process with SIGKILL at arbitrary points, several times over the same
 * data dir, then checks that every acknowledged record is in the log exactly once, in order.
 * SIGKILL alone never tears a write (the kernel keeps what write() took), so after some runs the
 * test also appends half a frame, as a power cut during a write would leave behind.
 */
import { spawn } from 'node:child_process'
import { appendFile, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { openBus, readAll, tempDir } from './test-support.ts'

const script = fileURLToPath(new URL('./crash-producer.fixture.ts', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
const RUNS = 6

let dir: { path: string; remove(): Promise<void> }
beforeEach(async () => {
  dir = await tempDir()
})
afterEach(async () => {
  await dir.remove()
})

interface Ack {
  readonly partition: number
  readonly offset: number
  readonly id: string
}

/** Deterministic pseudo-random kill points (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Runs the producer until it has acknowledged `killAfter` records, then SIGKILLs it. */
async function produceAndKill(dataDir: string, run: number, killAfter: number): Promise<{ acks: Ack[]; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, dataDir, String(run)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const acks: Ack[] = []
  let stderr = ''
  let pending = ''
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`run ${run}: only ${acks.length} acks after 20 s\n${stderr}`)), 20_000)
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n')
      pending = lines.pop()!
      for (const line of lines) {
        const [kind, partition, offset, id] = line.split(' ')
        if (kind === 'ack') acks.push({ partition: Number(partition), offset: Number(offset), id: id! })
      }
      if (acks.length >= killAfter) {
        clearTimeout(timer)
        resolve()
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`run ${run}: producer exited early with ${code}\n${stderr}`))
    })
  }).finally(() => child.kill('SIGKILL'))
  // Wait for the exit so the PID is reaped: the next run must see the lock as stale.
  await exited
  return { acks, stderr }
}

/** Appends the first 120 bytes of a ~190-byte frame to the partition's newest segment: a torn write. */
async function tearTail(dataDir: string, partition: number): Promise<void> {
  const dir = join(dataDir, 'log', 'crash', String(partition))
  const newest = (await readdir(dir)).filter((name) => name.endsWith('.log')).sort().at(-1)!
  const oldest = (await readdir(dir)).filter((name) => name.endsWith('.log')).sort()[0]!
  const frame = (await readFile(join(dir, oldest))).subarray(0, 120)
  expect(frame.length).toBe(120)
  await appendFile(join(dir, newest), frame)
}

it('keeps every acknowledged record exactly once across repeated SIGKILLs', async () => {
  const next = random(20240607)
  const acked: Ack[] = []
  let torn = 0
  let recovered = 0
  for (let run = 0; run < RUNS; run++) {
    const { acks, stderr } = await produceAndKill(dir.path, run, 100 + Math.floor(next() * 3000))
    acked.push(...acks)
    recovered += (stderr.match(/truncating torn tail/g) ?? []).length
    if (run % 2 === 0 && run < RUNS - 1) {
      await tearTail(dir.path, run % 3)
      torn++
    }
  }
  expect(recovered).toBe(torn)

  const bus = await openBus(dir.path)
  const partitions = await readAll(bus, 'crash')
  const located = new Map<string, string>()
  const ids = new Set<string>()
  for (const records of partitions) {
    const lastSeq = new Map<string, number>()
    records.forEach((record, i) => {
      expect(record.offset).toBe(i) // dense from 0: nothing lost in the middle
      const [run, worker, seq] = record.value.toString().split(':') as [string, string, string]
      const id = `${run}:${worker}:${seq}`
      expect(ids.has(id), `duplicate ${id}`).toBe(false)
      ids.add(id)
      located.set(`${record.partition}@${record.offset}`, id)
      // Per key the sequence rises within a run (keys are per run and worker).
      const key = `${run}:${record.key}`
      expect(Number(seq)).toBeGreaterThan(lastSeq.get(key) ?? -1)
      lastSeq.set(key, Number(seq))
    })
  }
  expect(acked.length).toBeGreaterThan(RUNS * 100)
  for (const ack of acked) expect(located.get(`${ack.partition}@${ack.offset}`)).toBe(ack.id)

  // Still appendable after all that.
  const [meta] = await bus.producer().send('crash', [{ key: null, value: Buffer.from('after') }])
  expect(meta!.offset).toBe(partitions[meta!.partition]!.length)
  await bus.close()
}, 60_000)
