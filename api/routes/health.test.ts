import Fastify from 'fastify'
import { expect, it } from 'vitest'
import { healthRoutes } from './health.ts'

it('is ready while every required check passes; reported checks are listed without deciding it', async () => {
  const app = Fastify()
  let bus = true
  await app.register(healthRoutes, { checks: { bus: async () => bus }, reported: { clickhouse: async () => false, broken: async () => { throw new Error('down') } } })
  const ready = await app.inject('/readyz')
  expect(ready.statusCode).toBe(200)
  expect(ready.json()).toEqual({ status: 'ready', checks: { bus: true, clickhouse: false, broken: false } })
  bus = false
  const notReady = await app.inject('/readyz')
  expect(notReady.statusCode).toBe(503)
  expect(notReady.json()).toMatchObject({ status: 'not ready', checks: { bus: false } })
  await app.close()
})
