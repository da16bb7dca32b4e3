import { describe, expect, it } from 'vitest'
import { partitionForKey } from '../embedded/murmur2.ts'
import { PartitionChooser } from './partitions.ts'

const keys = [
  '', 'a', 'ab', 'abc', 'abcd', 'abcde', 'session-42', 'anon-7f3c', 'checkout-service', 'notification-0001',
  'ünïcödé', '日本語のキー', '🙂 emoji', 'x'.repeat(257),
  ...Array.from({ length: 200 }, (_, i) => `user-${i * 7919}`),
]

describe('@platformatic/kafka partition choice', () => {
  it('puts every key on the same partition as the embedded log (murmur2, as the Java client and kafkajs)', () => {
    const chooser = new PartitionChooser()
    for (const count of [1, 2, 3, 4, 7, 12, 64]) {
      for (const key of keys) expect(chooser.choose('t', Buffer.from(key, 'utf8'), count), `${key} of ${count}`).toBe(partitionForKey(key, count))
    }
  })

  it('spreads keyless records round-robin, per topic', () => {
    const chooser = new PartitionChooser()
    expect(Array.from({ length: 7 }, () => chooser.choose('a', undefined, 3))).toEqual([0, 1, 2, 0, 1, 2, 0])
    expect(chooser.choose('b', undefined, 3)).toBe(0)
  })
})
