/**
 * One process per data dir: two writers appending to the same segment files would interleave
 * frames and corrupt the log, so the data dir is locked with `<log>/.lock` holding the owner's PID.
 * A lock whose PID is no longer alive was left by a crash and is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync, fsyncSync } from 'node:fs'
import { join } from 'node:path'
import { BusError } from '../port.ts'

export interface DirectoryLock {
  readonly path: string
  release(): void
}

export function acquireLock(logDir: string): DirectoryLock {
  const path = join(logDir, '.lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx')
      try {
        writeSync(fd, `${process.pid}\n`)
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
      return { path, release: () => releaseLock(path) }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const owner = readOwner(path)
    if (owner !== undefined && isAlive(owner)) {
      const who = owner === process.pid ? 'this process (another bus instance)' : `process ${owner}`
      throw new BusError(
        `data dir ${logDir} is locked by ${who}: the embedded log belongs to exactly one process. ` +
          `Stop that process, or run the services against Kafka to share the bus between processes.`,
        false,
        'UNAVAILABLE',
      )
    }
    // Stale (crashed owner): remove it and race for it once more; the O_EXCL create settles a tie.
    try {
      unlinkSync(path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
  throw new BusError(`could not take the lock ${path}: another process keeps taking it`, true, 'UNAVAILABLE')
}

function releaseLock(path: string): void {
  // Only remove the lock if it is still ours; a stale-lock takeover may have replaced it.
  if (readOwner(path) !== process.pid) return
  try {
    unlinkSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
}

function readOwner(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10)
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to another user — still alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * The live process holding the log dir's lock, if any: lets another command tell whether the
 * embedded log is in use (and go through that process instead) before trying to take it.
 */
export function lockOwner(logDir: string): number | undefined {
  const owner = readOwner(join(logDir, '.lock'))
  return owner !== undefined && isAlive(owner) ? owner : undefined
}
