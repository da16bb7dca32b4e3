import { createHash } from 'node:crypto'

/**
 * Turns a log message into its template by replacing what varies between occurrences of the same
 * error — uuids, hex ids, IP addresses, quoted strings, paths, numbers — so that
 * "payment 4411 failed" and "payment 97 failed" are one error. Order matters: the specific
 * shapes go first so a uuid is not eaten as numbers and hex.
 */
const RULES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b/g, '<ip>'],
  [/\b[0-9a-f]*:[0-9a-f:]{6,}\b/gi, '<ip>'],
  [/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '<str>'],
  [/(?:[a-z]:)?(?:\/[\w.@~-]+){2,}\/?/gi, '<path>'],
  [/\b0x[0-9a-f]+\b/gi, '<hex>'],
  [/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, '<hex>'],
  [/-?\b\d+(?:\.\d+)?\b/g, '<n>'],
]

export function messageTemplate(message: string): string {
  let template = message.length > 2_000 ? message.slice(0, 2_000) : message
  for (const [pattern, replacement] of RULES) template = template.replace(pattern, replacement)
  return template
}

/** A short, stable id of (service, template). */
export function fingerprintOf(service: string, template: string): string {
  return createHash('sha1').update(service).update('\u0000').update(template).digest('hex').slice(0, 16)
}
