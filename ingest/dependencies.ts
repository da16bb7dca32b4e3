import type { KeyRing } from '../core/auth/keys.ts'
import type { Config } from '../core/config/index.ts'
import type { TimeBounds } from './normalise/time.ts'
import type { UserAgentParser } from './normalise/user-agent.ts'
import type { EventPublisher } from './publisher.ts'

/**
 * What every ingest route plugin is given. Its own module, not app.ts: the plugins importing it
 * from the app that imports them made every route part of one import circle.
 */
export interface IngestDependencies {
  readonly config: Pick<Config, 'ingest' | 'retentionDays'>
  readonly keys: KeyRing
  readonly publisher: EventPublisher
  readonly clock: () => number
  readonly timeBounds: TimeBounds
  readonly userAgents: UserAgentParser
  /** Counts lines refused inside a log body that was otherwise accepted (the 202 names them). */
  readonly refusedLines?: (count: number) => void
}
