import { expect, it } from 'vitest'
import { errorLevel } from './kafkajs-logger.ts'

it('logs what kafkajs retries by itself as a warning, and real failures as errors', () => {
  expect(errorLevel('Response Metadata(key: 3, version: 6)', { error: 'There is no leader for this topic-partition as we are in the middle of a leadership election' })).toBe('warn')
  expect(errorLevel('Response JoinGroup(key: 11, version: 5)', { error: "The coordinator is loading and hence can't process requests for this group" })).toBe('warn')
  expect(errorLevel('The coordinator is not aware of this member, re-joining the group', {})).toBe('warn')
  expect(errorLevel('Response SaslAuthenticate(key: 36, version: 1)', { error: 'Request is not valid given the current SASL state' })).toBe('error')
  expect(errorLevel('Connection error: connect ECONNREFUSED 127.0.0.1:9092', {})).toBe('error')
})
