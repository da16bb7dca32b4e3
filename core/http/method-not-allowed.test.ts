import Fastify from 'fastify'
import { expect, it } from 'vitest'
import { API_FRAMEWORK_PROBLEMS } from '../../api/errors.ts'
import { installProblemHandler } from './error-handler.ts'

it('answers 405 with Allow for a method a path does not serve, 404 for a path that does not exist', async () => {
  const app = Fastify()
  installProblemHandler(app, API_FRAMEWORK_PROBLEMS)
  await app.register(async (scope) => {
    scope.get('/api/v1/stats/aggregate', async () => ({}))
    scope.post('/v1/webhooks/:provider', async () => ({}))
    scope.put('/v1/webhooks/:provider', async () => ({}))
  })
  const post = await app.inject({ method: 'POST', url: '/api/v1/stats/aggregate?period=7d' })
  expect(post.statusCode).toBe(405)
  // fastify adds HEAD to every GET route.
  expect(post.headers.allow).toBe('GET, HEAD')
  expect(post.headers['content-type']).toContain('application/problem+json')
  expect(post.json().code).toBe('API_METHOD_NOT_ALLOWED')
  const get = await app.inject({ method: 'GET', url: '/v1/webhooks/sendgrid' })
  expect([get.statusCode, get.headers.allow]).toEqual([405, 'POST, PUT'])
  expect((await app.inject({ method: 'GET', url: '/v1/webhooks/sendgrid/extra' })).statusCode).toBe(404)
  expect((await app.inject({ method: 'GET', url: '/api/v1/nothing' })).statusCode).toBe(404)
  // A method with a body and no content type fails fastify's parsing before the not-found handler.
  for (const method of ['QUERY', 'PROPFIND'] as const) {
    const query = await app.inject({ method, url: '/api/v1/stats/aggregate' })
    expect([query.statusCode, query.headers.allow, query.json().code]).toEqual([405, 'GET, HEAD', 'API_METHOD_NOT_ALLOWED'])
  }
  await app.close()
})
