import { LOG_LEVELS, tailChannel, type TailBatch, type TailEvent } from '../../core/live/feed.ts'
import type { LiveHub, Unsubscribe } from '../../core/live/port.ts'
import type { TailFilter } from './protocol.ts'

export interface SequencedTailEvent extends TailEvent {
  /** Position in this instance's tail of the project; see TailRing. */
  readonly seq: number
}

const LEVEL_RANK = new Map(LOG_LEVELS.map((level, index) => [level as string, index]))

export function matchesTail(event: TailEvent, filter: TailFilter | undefined): boolean {
  if (filter === undefined) return true
  if (filter.stream !== undefined && event.stream !== filter.stream) return false
  if (filter.minLevel !== undefined && (event.stream !== 'log' || (LEVEL_RANK.get(event.level ?? '') ?? -1) < LEVEL_RANK.get(filter.minLevel)!)) return false
  if (filter.pathPrefix !== undefined && (event.stream !== 'click' || !(event.path ?? '').startsWith(filter.pathPrefix))) return false
  if (filter.service !== undefined && event.service !== filter.service) return false
  if (filter.status !== undefined && event.status !== filter.status) return false
  return true
}

/**
 * One project's tail as this instance received it from the hub, numbered in arrival order, with
 * the last `capacity` events kept so a client that reconnects to this instance can resume. The
 * numbers mean nothing on another instance (it heard the hub at other moments), which is why a
 * resume point names the instance.
 */
export class TailRing {
  private readonly events: SequencedTailEvent[] = []
  private next = 1
  private readonly unsubscribe: Unsubscribe

  constructor(hub: LiveHub, projectId: string, private readonly capacity: number, onEvents: (events: readonly SequencedTailEvent[]) => void) {
    this.unsubscribe = hub.subscribe(tailChannel(projectId), (message) => {
      const batch = message as TailBatch
      if (!Array.isArray(batch?.events) || batch.events.length === 0) return
      const sequenced = batch.events.map((event) => ({ ...event, seq: this.next++ }))
      this.events.push(...sequenced)
      if (this.events.length > this.capacity) this.events.splice(0, this.events.length - this.capacity)
      onEvents(sequenced)
    })
  }

  get ready(): Promise<void> {
    return this.unsubscribe.ready
  }

  get lastSeq(): number {
    return this.next - 1
  }

  /** Events after `seq`, or undefined when some of them are no longer kept. */
  after(seq: number): SequencedTailEvent[] | undefined {
    if (seq > this.lastSeq) return undefined
    const oldest = this.events[0]?.seq ?? this.next
    if (seq < oldest - 1) return undefined
    return this.events.filter((event) => event.seq > seq)
  }

  recent(count: number): SequencedTailEvent[] {
    return this.events.slice(-count)
  }

  close(): void {
    this.unsubscribe()
  }
}
