import type { AcceptedLine } from './normalise-line.ts'

/** An event of a batch the destination would not take, by its position in the batch. */
export interface BatchRefusal {
  readonly index: number
  readonly reason: string
}

/**
 * Where an import's events go. `publish` takes events of one stream and resolves only once every
 * event it does not list as refused is acknowledged as durable (ingest's 202 guarantee); it
 * rejects when that cannot be had, and then none of the batch may be counted as imported.
 */
export interface ImportDestination {
  /** For the summary: what the events were handed to. */
  readonly description: string
  publish(batch: readonly AcceptedLine[]): Promise<readonly BatchRefusal[]>
  close(): Promise<void>
}
