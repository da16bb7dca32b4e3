import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { BusError } from '../port.ts'
import { toBusError } from './errors.ts'

const protocol = (type: string, retriable: boolean) => new KafkaJSProtocolError({ message: type, type, code: 0, retriable } as unknown as Error)

describe('Kafka errors as BusError', () => {
  it('an unreachable broker is retriable, also when kafkajs gave up retrying', () => {
    const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED' })
    const exhausted = new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 2000 })
    for (const error of [refused, exhausted]) {
      const mapped = toBusError(error, 'could not produce', 'NOT_DURABLE')
      expect(mapped).toBeInstanceOf(BusError)
      expect(mapped.retriable).toBe(true)
      expect(mapped.code).toBe('UNAVAILABLE')
      expect(mapped.message).toContain('ECONNREFUSED')
    }
  })

  it('a record or request the broker refuses is not retriable', () => {
    const mapped = toBusError(new KafkaJSNumberOfRetriesExceeded(protocol('MESSAGE_TOO_LARGE', false), { retryCount: 0, retryTime: 0 }), 'produce')
    expect([mapped.retriable, mapped.code]).toEqual([false, 'INVALID'])
    expect(toBusError(new KafkaJSNonRetriableError('Invalid topic'), 'produce').retriable).toBe(false)
  })

  it('an unknown topic is UNKNOWN_TOPIC, not retriable', () => {
    const mapped = toBusError(protocol('UNKNOWN_TOPIC_OR_PARTITION', true), 'offsets')
    expect([mapped.retriable, mapped.code]).toEqual([false, 'UNKNOWN_TOPIC'])
  })

  it('a passing cluster state (rebalance, leader election) is retriable with the caller’s code', () => {
    const mapped = toBusError(protocol('NOT_ENOUGH_REPLICAS', true), 'produce', 'NOT_DURABLE')
    expect([mapped.retriable, mapped.code]).toEqual([true, 'NOT_DURABLE'])
    expect(toBusError(protocol('REBALANCE_IN_PROGRESS', false), 'commit').retriable).toBe(true)
  })
})
