/**
 * kafkajs' DefaultPartitioner (murmur2 of the key, the Java client's `Utils.murmur2`, so a key lands
 * on the same partition number as on the embedded log), wrapped to remember where each message
 * went. kafkajs returns one base offset per partition; knowing each message's partition and its
 * place in that partition's run is what gives every caller its own offsets.
 */
import { Partitioners, type ICustomPartitioner, type Message } from 'kafkajs'

export interface RecordingPartitioner {
  readonly create: ICustomPartitioner
  partitionOf(message: Message): number | undefined
}

export function recordingPartitioner(): RecordingPartitioner {
  const chosen = new WeakMap<Message, number>()
  const create: ICustomPartitioner = () => {
    const inner = Partitioners.DefaultPartitioner()
    return (args) => {
      // kafkajs partitions again when it retries a request; keep a keyless message where the
      // round-robin first put it unless that partition is gone.
      const previous = chosen.get(args.message)
      if (previous !== undefined && args.partitionMetadata.some((partition) => partition.partitionId === previous)) return previous
      const partition = inner(args)
      chosen.set(args.message, partition)
      return partition
    }
  }
  return { create, partitionOf: (message) => chosen.get(message) }
}
