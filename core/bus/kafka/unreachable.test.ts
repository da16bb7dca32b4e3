import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { BusError } from '../port.ts'
import { createKafkaBus, type KafkaBus } from './index.ts'
import { testOptions } from './test-support.ts'

/** A port nothing listens on: bound once to learn a free number, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe.each(['kafkajs', 'platformatic'] as const)('Kafka bus without a reachable broker (%s producer)', (client) => {
  let bus: KafkaBus | undefined
  afterEach(async () => {
    await bus?.close()
  })

  it('is not healthy, and send() fails fast with a retriable BusError', async () => {
    bus = createKafkaBus(testOptions(`127.0.0.1:${await closedPort()}`, { client, retries: 1, connectionTimeoutMs: 500 }))
    expect(bus.healthy()).toBe(false)
    const started = Date.now()
    const error = await bus
      .producer()
      .send('eddy.clicks', [{ key: 'k', value: Buffer.from('v') }])
      .catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(BusError)
    expect((error as BusError).retriable).toBe(true)
    expect((error as BusError).code).toBe('UNAVAILABLE')
    expect(Date.now() - started).toBeLessThan(15_000)
    expect(bus.healthy()).toBe(false)
  })

  it('rejects invalid records before anything is sent', async () => {
    bus = createKafkaBus(testOptions(`127.0.0.1:${await closedPort()}`, { client }))
    await expect(bus.producer().send('t', [{ key: 'k', value: 'text' as unknown as Buffer }])).rejects.toMatchObject({ code: 'INVALID', retriable: false })
    await expect(bus.producer().send('t', [{ key: 'k', value: Buffer.from('v'), timestamp: -1 }])).rejects.toMatchObject({ code: 'INVALID' })
  })
})
