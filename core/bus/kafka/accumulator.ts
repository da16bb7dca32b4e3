/**
 * kafkajs has no linger: every send() is its own produce request, and the idempotent producer
 * holds one request per broker in flight at a time. The accumulator collects concurrent send()
 * calls and hands them to `flush` together, so many callers share one request (and one ack wait):
 *
 * - the first call after an idle moment waits up to `lingerMs` for company;
 * - a request is sent at once when it reaches `maxRecords` or `maxBytes`;
 * - only one flush runs at a time; calls that arrive meanwhile form the next one, sent as soon as
 *   the current one settles (they have already waited that long). That keeps produce order per
 *   key across flushes, like max.in.flight=1.
 */
import type { ProduceRecord, RecordMetadata } from '../port.ts'

export interface PendingSend {
  readonly topic: string
  readonly records: readonly ProduceRecord[]
  readonly bytes: number
  resolve(metadata: RecordMetadata[]): void
  reject(error: unknown): void
}

/** Sends one group of calls; settles every one of them (the accumulator rejects any it forgot). */
export type Flush = (sends: readonly PendingSend[]) => Promise<void>

export type Schedule = (ms: number, run: () => void) => () => void

export interface AccumulatorOptions {
  readonly lingerMs: number
  readonly maxRecords: number
  readonly maxBytes: number
  readonly flush: Flush
  readonly schedule?: Schedule
}

const timerSchedule: Schedule = (ms, run) => {
  const timer = setTimeout(run, ms)
  return () => clearTimeout(timer)
}

export class Accumulator {
  private pending: PendingSend[] = []
  private records = 0
  private bytes = 0
  private cancelLinger: (() => void) | undefined
  private inFlight: Promise<void> | undefined
  private readonly schedule: Schedule

  constructor(private readonly options: AccumulatorOptions) {
    this.schedule = options.schedule ?? timerSchedule
  }

  add(topic: string, records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    return new Promise((resolve, reject) => {
      // Approximate (key length in characters): it only decides when a request is big enough.
      const bytes = records.reduce((sum, record) => sum + record.value.length + (record.key?.length ?? 0), 0)
      this.pending.push({ topic, records, bytes, resolve, reject })
      this.records += records.length
      this.bytes += bytes
      if (this.inFlight !== undefined) return
      if (this.full()) this.send()
      else this.cancelLinger ??= this.schedule(this.options.lingerMs, () => this.send())
    })
  }

  /** Sends whatever is waiting now and resolves once every call accepted so far has settled. */
  async drain(): Promise<void> {
    while (this.inFlight !== undefined || this.pending.length > 0) {
      if (this.inFlight === undefined) this.send()
      await this.inFlight
    }
  }

  private full(): boolean {
    return this.records >= this.options.maxRecords || this.bytes >= this.options.maxBytes
  }

  private send(): void {
    this.cancelLinger?.()
    this.cancelLinger = undefined
    if (this.inFlight !== undefined || this.pending.length === 0) return
    const taken = this.take()
    this.inFlight = this.options
      .flush(taken)
      .catch((error: unknown) => {
        for (const send of taken) send.reject(error)
      })
      .finally(() => {
        this.inFlight = undefined
        if (this.pending.length > 0) this.send()
      })
  }

  /** At least one call; more while they fit in one request's limits. */
  private take(): PendingSend[] {
    let records = 0
    let bytes = 0
    let count = 0
    for (const send of this.pending) {
      if (count > 0 && (records + send.records.length > this.options.maxRecords || bytes + send.bytes > this.options.maxBytes)) break
      records += send.records.length
      bytes += send.bytes
      count++
    }
    const taken = this.pending.splice(0, count)
    this.records -= records
    this.bytes -= bytes
    return taken
  }
}
