import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { frame } from '../../core/codec/wire-format.ts'
import { SAMPLES } from '../../schemas/avro/fixtures/samples.ts'
import type { BusRecord } from '../../core/bus/port.ts'
import { eventIdsOf, reportFaultCounts } from '../support/fault-report.ts'
import { eventually, startTestPipeline, TEST_READ_KEY, TEST_WRITE_KEY, type TestPipeline, TEST_OPERATOR_KEY } from '../support/pipeline.ts'

let eddy: TestPipeline
beforeAll(async () => {
  eddy = await startTestPipeline({ EDDY_PARTITIONS: '1' })
})
afterAll(async () => {
  await eddy?.stop()
})

const track = (id: string) => ({ type: 'track', anonymousId: 'visitor-1', messageId: id, event: 'Clicked' })

describe('poison message in the middle of a partition', () => {
  it('goes to the DLQ with the reason, and everything after it is processed', async () => {
    const post = (batch: unknown[]) => fetch(`${eddy.url}/v1/batch`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}`, 'content-type': 'application/json' }, body: JSON.stringify({ batch }) })
    expect((await post([track('before-1'), track('before-2')])).status).toBe(202)
    const bus = await eddy.runtime.bus()
    const codec = await eddy.runtime.codec()
    // Three kinds of poison, one partition: not Avro, an unknown schema id, a truncated body.
    const poison = [
      Buffer.from('{"this is":"json, not avro"}'),
      frame(4_242, Buffer.from([2, 4, 6])),
      codec.encode('click', SAMPLES.click as never).subarray(0, 40),
    ]
    await bus.producer().send('eddy.clicks', poison.map((value) => ({ key: 'visitor-1', value })))
    expect((await post([track('after-1'), track('after-2')])).status).toBe(202)

    // The clickstream job reads the topic for its aggregates and its raw rows, and sends each poison record to the DLQ once.
    const letters: BusRecord[] = []
    const consumer = bus.consumer({ groupId: 'dlq-reader', topics: ['eddy.dlq'] })
    await consumer.run(async (batch) => {
      letters.push(...batch.records)
    })
    await eventually(async () => letters.length, (n) => n >= 3)
    // Time for a duplicate to show up, were one sent.
    await new Promise((resolve) => setTimeout(resolve, 500))
    await consumer.stop()
    expect(letters).toHaveLength(3)
    const reasons = letters.map((letter) => `${letter.headers['eddy.dlq.job']}: ${letter.headers['eddy.dlq.reason']}`).sort()
    expect(reasons).toEqual([
      expect.stringMatching(/^clickstream: no schema with id 4242/),
      expect.stringMatching(/^clickstream: undecodable Avro body/),
      expect.stringMatching(/^clickstream: unknown magic byte 123/),
    ])
    expect(letters.every((letter) => letter.headers['eddy.dlq.topic'] === 'eddy.clicks')).toBe(true)
    expect(letters.some((letter) => letter.value.equals(poison[0]!))).toBe(true)

    // The pipeline's health counts them, beside the sink's inserts and the ingest rate.
    const readHealth = async () => (await (await fetch(`${eddy.url}/api/v1/pipeline/health`, { headers: { authorization: `Bearer ${TEST_OPERATOR_KEY}` } })).json()) as Record<string, any>
    const health = await eventually(readHealth, (h) => h.lag === 0) // offsets are committed with each checkpoint
    expect(health).toMatchObject({ lag: 0, deadLetters: 3, lateEvents: 0, sink: { failures: 0 } })
    expect(health.sink.inserts).toBeGreaterThan(0)
    expect(health.sink.p99Ms).toBeGreaterThanOrEqual(health.sink.p50Ms)
    expect(health.ingestEventsPerSecond).toBeGreaterThan(0) // 4 clicks within the last 10 s

    const clickhouse = await eddy.runtime.clickhouse()
    const tracks = [track('before-1'), track('before-2'), track('after-1'), track('after-2')]
    const counts = await reportFaultCounts(clickhouse, 'poison-message', {
      sent: tracks.length,
      streams: [{ table: 'eddy.events_click', where: "project_id = 'alpha' AND anonymous_id = 'visitor-1'", acknowledged: eventIdsOf('click', 'alpha', tracks) }],
      extra: { poison: poison.length, deadLetters: health.deadLetters },
    })
    expect(counts).toMatchObject({ acknowledged: 4, stored: 4, lost: 0, duplicates: 0, unacknowledged: 0 })
  })
})
