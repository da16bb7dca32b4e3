import type { Reply } from '../../thread/rpc.ts'
import type { BusRecord, ConsumerOptions, Headers, TopicPartition, TopicPartitionOffset } from '../port.ts'

/**
 * Messages between a thread that owns a Bus and a thread that uses it (serve.ts, client.ts). A
 * value crosses as a Uint8Array (structured clone copies it; records are small, and the owner's
 * buffers may be views of its read buffers, which transferring would take from it).
 */
export interface WireRecord {
  readonly key: string | null
  readonly value: Uint8Array
  readonly headers?: Headers
  readonly timestamp?: number
}

export interface WireBatch extends TopicPartition {
  readonly records: ReadonlyArray<Omit<BusRecord, 'value'> & { readonly value: Uint8Array }>
  readonly highWatermark: number
}

/** Sent by the using thread. `id` is answered by a Reply with the same id. */
export type ClientMessage =
  | { readonly kind: 'send'; readonly id: number; readonly topic: string; readonly records: readonly WireRecord[] }
  | { readonly kind: 'admin'; readonly id: number; readonly method: 'ensureTopics' | 'listTopics' | 'topicOffsets' | 'committedOffsets'; readonly args: readonly unknown[] }
  | { readonly kind: 'consumer'; readonly id: number; readonly consumer: number; readonly options: Omit<ConsumerOptions, 'rebalance'> }
  | { readonly kind: 'run'; readonly id: number; readonly consumer: number }
  | { readonly kind: 'commit'; readonly id: number; readonly consumer: number; readonly offsets: readonly TopicPartitionOffset[] }
  | { readonly kind: 'stop'; readonly id: number; readonly consumer: number }
  | { readonly kind: 'seek'; readonly consumer: number; readonly position: TopicPartitionOffset }
  | { readonly kind: 'pause' | 'resume'; readonly consumer: number; readonly partitions: readonly TopicPartition[] }
  | Reply

/** Sent by the owning thread; batches and rebalances wait for the using thread's Reply. */
export type ServerMessage =
  | { readonly kind: 'batch'; readonly id: number; readonly consumer: number; readonly batch: WireBatch; readonly assignment: readonly TopicPartition[] }
  | { readonly kind: 'revoked' | 'assigned'; readonly id: number; readonly consumer: number; readonly partitions: readonly TopicPartition[]; readonly assignment: readonly TopicPartition[] }
  | { readonly kind: 'health'; readonly healthy: boolean }
  | Reply
