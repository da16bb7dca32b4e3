import type { PartitionerArgs } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { partitionForKey } from '../embedded/murmur2.ts'
import { recordingPartitioner } from './partitioner.ts'

const metadata = (count: number): PartitionerArgs['partitionMetadata'] =>
  Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], offlineReplicas: [], partitionErrorCode: 0 }))

const keys = [
  '', 'a', 'ab', 'abc', 'abcd', 'abcde', 'session-42', 'anon-7f3c', 'checkout-service', 'notification-0001',
  'ünïcödé', '日本語のキー', '🙂 emoji', 'x'.repeat(257),
  ...Array.from({ length: 200 }, (_, i) => `user-${i * 7919}`),
]

describe('Kafka partitioner', () => {
  it('puts every key on the same partition as the embedded log (murmur2, as the Java client)', () => {
    for (const count of [1, 2, 3, 4, 7, 12, 64]) {
      const partition = recordingPartitioner().create()
      for (const key of keys) {
        const message = { key, value: Buffer.from('v') }
        expect(partition({ topic: 't', partitionMetadata: metadata(count), message }), `${key} of ${count}`).toBe(partitionForKey(key, count))
      }
    }
  })

  it('remembers where each message went, and keeps a keyless message there when kafkajs partitions again', () => {
    const recorder = recordingPartitioner()
    const partition = recorder.create()
    const messages = Array.from({ length: 6 }, (_, i) => ({ key: null, value: Buffer.from(String(i)) }))
    const first = messages.map((message) => partition({ topic: 't', partitionMetadata: metadata(3), message }))
    expect(new Set(first).size).toBe(3)
    expect(messages.map((message) => recorder.partitionOf(message))).toEqual(first)
    // A retry asks again: same answers, not the next round-robin slots.
    expect(messages.map((message) => partition({ topic: 't', partitionMetadata: metadata(3), message }))).toEqual(first)
  })
})
