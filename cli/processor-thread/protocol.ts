import type { MessagePort } from 'node:worker_threads'
import type { Bus } from '../../core/bus/port.ts'
import type { Config } from '../../core/config/index.ts'
import type { ThreadMetrics } from '../../core/metrics/index.ts'
import type { Reply } from '../../core/thread/rpc.ts'
import type { ReprocessProgress, ReprocessRequest } from '../../processors/reprocess/reprocess.ts'
import type { ProcessorSnapshot } from '../processors.ts'
import type { ConsumerGroup } from '../../processors/status.ts'

/** What the processors' thread is started with (cli/processor-thread/worker.ts). */
export interface ProcessorThreadInput {
  readonly config: Config
  readonly logLevel: string
  /** Human-readable logs, as the main thread writes them (a terminal). */
  readonly pretty: boolean
  readonly busKind: Bus['kind']
  /** The main thread's bus, served (core/bus/thread). */
  readonly bus: MessagePort
  /** The main thread's embedded ClickHouse, served (core/clickhouse/thread); absent with a server, which the thread reaches itself. */
  readonly clickhouse?: MessagePort
  /** Calls from the main thread, and what the processors tell it. */
  readonly control: MessagePort
}

/** Calls of the main thread, each answered by a Reply with its id. */
export type ControlCall =
  | { readonly kind: 'snapshot'; readonly id: number }
  | { readonly kind: 'metrics'; readonly id: number }
  | { readonly kind: 'reprocess'; readonly id: number; readonly request: ReprocessRequest }
  | { readonly kind: 'abort-reprocess'; readonly call: number }
  | { readonly kind: 'stop'; readonly id: number }

/** What the processors' thread sends on its own. */
export type ThreadNotice =
  | { readonly kind: 'ready'; readonly groups: readonly ConsumerGroup[] }
  | { readonly kind: 'start-failed'; readonly message: string }
  | { readonly kind: 'progress'; readonly call: number; readonly progress: ReprocessProgress }
  | Reply

export type { ProcessorSnapshot, ThreadMetrics }
