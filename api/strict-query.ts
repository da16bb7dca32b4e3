import type { FastifyInstance, preValidationHookHandler } from 'fastify'
import { invalidInput } from './errors.ts'

/**
 * fastify's validator strips unknown query parameters (removeAdditional) rather than refusing
 * them, so `?filter=` (for `filters=`) or `?project=` would silently be ignored and answer for
 * something else than asked. Routes whose querystring schema closes additionalProperties refuse
 * unknown parameters instead, naming each one, and numeric parameters that are not plain decimal
 * digits (numberRefusal).
 */
export function refuseUnknownQueryParameters(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const schema = route.schema?.querystring as { additionalProperties?: boolean; properties?: Record<string, unknown> } | undefined
    if (!schema || schema.additionalProperties !== false) return
    const known = new Set(Object.keys(schema.properties ?? {}))
    const numeric = numericParameters(schema.properties ?? {})
    const check: preValidationHookHandler = (request, _reply, done) => {
      const query = (request.query ?? {}) as Record<string, unknown>
      const unknown = Object.keys(query).find((name) => !known.has(name))
      if (unknown !== undefined) return done(invalidInput(`querystring/${unknown}`, `is not a parameter of this endpoint (${[...known].join(', ')})`))
      for (const [name, kind] of numeric) {
        const refusal = numberRefusal(query[name], kind)
        if (refusal !== undefined) return done(invalidInput(`querystring/${name}`, refusal))
      }
      done()
    }
    const existing = route.preValidation
    route.preValidation = existing === undefined ? [check] : [check, ...(Array.isArray(existing) ? existing : [existing])]
  })
}

type NumberKind = 'integer' | 'number'

/** The query parameters a route's schema declares as numbers, by name. */
function numericParameters(properties: Record<string, unknown>): Array<[string, NumberKind]> {
  const numeric: Array<[string, NumberKind]> = []
  for (const [name, property] of Object.entries(properties)) {
    const type = (property as { type?: unknown }).type
    if (type === 'integer' || type === 'number') numeric.push([name, type])
  }
  return numeric
}

/** At most 15 digits: every such integer is exact in a double, and every bound the api has is far below. */
const DECIMAL_INTEGER = /^-?[0-9]{1,15}$/
const DECIMAL_NUMBER = /^-?[0-9]{1,15}(\.[0-9]{1,15})?$/

/**
 * Why a raw numeric parameter is refused, before schema coercion sees it: the coercion takes what
 * JavaScript's Number() takes (Infinity, 0x10, 1e309, a 400-digit run), so `limit=Infinity`
 * reached ClickHouse and came back as a store failure. Only plain decimal digits are numbers here;
 * ranges are then the schema's to check.
 */
export function numberRefusal(value: unknown, kind: NumberKind): string | undefined {
  if (value === undefined) return undefined
  const values = Array.isArray(value) ? value : [value]
  if (values.length > 1) return 'must be given once'
  const raw = values[0]
  if (typeof raw === 'number') return Number.isFinite(raw) && (kind === 'number' || Number.isInteger(raw)) ? undefined : `must be a finite ${kind}`
  if (typeof raw !== 'string') return `must be ${kind === 'integer' ? 'an integer' : 'a number'}`
  const pattern = kind === 'integer' ? DECIMAL_INTEGER : DECIMAL_NUMBER
  if (!pattern.test(raw)) return kind === 'integer' ? 'must be an integer in decimal digits (at most 15)' : 'must be a number in decimal digits (at most 15 before and after the point)'
  return undefined
}
