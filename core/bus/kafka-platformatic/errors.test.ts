import { MultipleErrors, NetworkError, ResponseError, TimeoutError, UserError } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { BusError } from '../port.ts'
import { toBusError } from './errors.ts'

/** A Produce (api key 0) response with one partition failing with the broker's error `code`. */
const produceError = (code: number) => new ResponseError(0, 9, { '/responses/0/partitionResponses/0': [code, null] }, {})

describe('@platformatic/kafka errors as BusError', () => {
  it('an unreachable broker is retriable, also when the client gave up retrying', () => {
    const refused = new NetworkError('Connection to 127.0.0.1:1 failed.', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) })
    const exhausted = new MultipleErrors('metadata failed 3 times.', [refused, refused, refused])
    for (const error of [refused, exhausted, new TimeoutError('Request timed out.')]) {
      const mapped = toBusError(error, 'could not produce', 'NOT_DURABLE')
      expect(mapped).toBeInstanceOf(BusError)
      expect([mapped.retriable, mapped.code]).toEqual([true, 'UNAVAILABLE'])
    }
    expect(toBusError(exhausted, 'could not produce').message).toContain('ECONNREFUSED')
  })

  it('a record or request the broker refuses is not retriable', () => {
    // 10 MESSAGE_TOO_LARGE, 2 CORRUPT_MESSAGE
    for (const code of [10, 2]) expect(toBusError(produceError(code), 'produce')).toMatchObject({ retriable: false, code: 'INVALID' })
    expect(toBusError(new UserError('Failed to serialize a message.'), 'produce')).toMatchObject({ retriable: false, code: 'INVALID' })
  })

  it('an unknown topic is UNKNOWN_TOPIC, not retriable, from the broker or from metadata', () => {
    expect(toBusError(produceError(3), 'produce')).toMatchObject({ retriable: false, code: 'UNKNOWN_TOPIC' })
    expect(toBusError(new UserError('Unknown topic eddy.clicks.'), 'produce')).toMatchObject({ retriable: false, code: 'UNKNOWN_TOPIC' })
  })

  it('a passing cluster state (leader moving, too few replicas) is retriable with the caller’s code', () => {
    // 6 NOT_LEADER_OR_FOLLOWER, 19 NOT_ENOUGH_REPLICAS
    for (const code of [6, 19]) expect(toBusError(produceError(code), 'produce', 'NOT_DURABLE')).toMatchObject({ retriable: true, code: 'NOT_DURABLE' })
  })
})
