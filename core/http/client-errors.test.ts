import { connect } from 'node:net'
import pino from 'pino'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createHttpServer } from './server.ts'

let app: FastifyInstance
let port: number
beforeAll(async () => {
  app = createHttpServer({ logger: pino({ level: 'silent' }), bodyLimit: 1_000 })
  app.get('/x', async () => ({ ok: true }))
  app.get('/named/:name', async () => ({ ok: true }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  port = (app.server.address() as { port: number }).port
})
afterAll(() => app.close())

function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request))
    let answer = ''
    socket.on('data', (chunk) => (answer += chunk.toString()))
    socket.on('end', () => resolve(answer))
    socket.on('error', reject)
  })
}

it('answers a request line over the header limit with a 431 problem, not a second error format', async () => {
  const response = await fetch(`http://127.0.0.1:${port}/x?q=${'a'.repeat(20_000)}`)
  expect(response.status).toBe(431)
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
  expect(await response.json()).toMatchObject({ status: 431, code: 'HTTP_HEADERS_TOO_LARGE' })
  expect((await fetch(`http://127.0.0.1:${port}/x`)).status).toBe(200)
})

it('answers bytes that are not HTTP with a 400 problem and closes the connection', async () => {
  const answer = await raw('NOT HTTP AT ALL\r\n\r\n')
  expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/)
  expect(answer).toMatch(/content-type: application\/problem\+json/i)
  expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 400, code: 'HTTP_MALFORMED_REQUEST' })
})

it("answers what fastify's router refuses (a path parameter over 100 characters, a bad percent-encoding) as problems", async () => {
  expect((await fetch(`http://127.0.0.1:${port}/named/${'a'.repeat(100)}`)).status).toBe(200)
  const long = await fetch(`http://127.0.0.1:${port}/named/${'a'.repeat(101)}`)
  expect(long.status).toBe(414)
  expect(long.headers.get('content-type')).toMatch(/^application\/problem\+json/)
  expect(await long.json()).toMatchObject({ status: 414, code: 'HTTP_PATH_PARAMETER_TOO_LONG' })
  const badEncoding = await fetch(`http://127.0.0.1:${port}/named/%E0%A4%A`)
  expect(badEncoding.status).toBe(400)
  expect(badEncoding.headers.get('content-type')).toMatch(/^application\/problem\+json/)
  expect(await badEncoding.json()).toMatchObject({ status: 400, code: 'HTTP_MALFORMED_URL' })
})
