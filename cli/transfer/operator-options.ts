import { join } from 'node:path'
import { KeyRing } from '../../core/auth/keys.ts'
import { lockOwner } from '../../core/bus/embedded/lock.ts'
import type { Config } from '../../core/config/index.ts'
import { readTime } from '../../ingest/normalise/time.ts'
import { STREAMS, type Stream } from '../../schemas/avro/catalog.ts'

export class UsageError extends Error {}

/**
 * The project of the write key, resolved as ingest resolves it: the project comes from the key,
 * never from a parameter. Without --write-key the key of a single configured project is taken
 * (EDDY_WRITE_KEY, or the development project of `eddy start`), as `eddy demo` does.
 */
export function projectOfWriteKey(config: Readonly<Config>, writeKey: string | undefined): { writeKey: string; projectId: string } {
  const only = config.projects.length === 1 && config.projects[0]!.writeKeys.length === 1 ? config.projects[0]!.writeKeys[0] : undefined
  const key = writeKey ?? only
  if (!key) throw new UsageError('pass --write-key: the project comes from the write key, and more than one is configured')
  const projectId = new KeyRing(config.projects).projectFor(key, 'write')
  if (!projectId) throw new UsageError('the write key belongs to no configured project')
  return { writeKey: key, projectId }
}

/** An ISO 8601 time or epoch milliseconds, as ingest reads event times. */
export function parseTime(value: unknown, option: string): number {
  const ms = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : readTime(value)
  if (ms === undefined || Number.isNaN(ms)) throw new UsageError(`${option} must be an ISO 8601 time or epoch milliseconds, got ${JSON.stringify(value)}`)
  return ms
}

export function parseStream(value: unknown, option = '--stream'): Stream | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'string' && (STREAMS as readonly string[]).includes(value)) return value as Stream
  throw new UsageError(`${option} must be one of ${STREAMS.join(', ')}, got ${JSON.stringify(value)}`)
}

/**
 * Where the `eddy start` that holds this data dir's embedded log answers, when another process
 * holds it: the log and the embedded ClickHouse then belong to that process (one per data dir),
 * and a command sends its work there or stops.
 */
export function runningEddyUrl(config: Readonly<Config>): string | undefined {
  const owner = lockOwner(join(config.dataDir, 'log'))
  return owner !== undefined && owner !== process.pid ? `http://127.0.0.1:${config.port}` : undefined
}
