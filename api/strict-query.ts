import type { FastifyInstance, preValidationHookHandler } from 'fastify'
import { invalidInput } from './errors.ts'

/**
 * fastify's validator strips unknown query parameters (removeAdditional) rather than refusing
 * them, so `?filter=` (for `filters=`) or `?project=` would silently be ignored and answer for
 * something else than asked. Routes whose querystring schema closes additionalProperties refuse
 * unknown parameters instead, naming each one.
 */
export function refuseUnknownQueryParameters(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const schema = route.schema?.querystring as { additionalProperties?: boolean; properties?: Record<string, unknown> } | undefined
    if (!schema || schema.additionalProperties !== false) return
    const known = new Set(Object.keys(schema.properties ?? {}))
    const check: preValidationHookHandler = (request, _reply, done) => {
      const unknown = Object.keys((request.query ?? {}) as object).find((name) => !known.has(name))
      done(unknown === undefined ? undefined : invalidInput(`querystring/${unknown}`, `is not a parameter of this endpoint (${[...known].join(', ')})`))
    }
    const existing = route.preValidation
    route.preValidation = existing === undefined ? [check] : [check, ...(Array.isArray(existing) ? existing : [existing])]
  })
}
