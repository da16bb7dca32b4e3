import { isObject, typeName, type FieldReader, type Json } from './fields.ts'
import type { Client } from './user-agent.ts'

const DEVICE_TYPES: readonly Client['deviceType'][] = ['desktop', 'mobile', 'tablet', 'bot', 'other']
/** Longer than any name ua-parser-js gives (17 characters today). */
const MAX_CLIENT_NAME_LENGTH = 64
/** What a parsed browser or OS name is made of: words, versions, `Mac OS`, `Chrome WebView`. */
const CLIENT_NAME = /^[\p{L}\p{N} ._+\-/()!]*$/u
/** ingest/snippet/visitor-hash.ts writes 22 base64url characters; older or other hashes may be longer. */
const VISITOR_HASH = /^[A-Za-z0-9_-]{1,64}$/

export interface ArchivedClient extends Client {
  readonly visitorHash: string | null
}

/**
 * What an earlier ingest derived from a client it no longer has: Eddy stores the browser, OS and
 * device a user agent parsed to, not the user agent, so `eddy export` writes them under
 * `context.eddy` and an import takes them instead of parsing again.
 *
 * It stands in for a user agent and nothing else, so it is honoured only when there is none to
 * parse (`hasUserAgent` false): an export line has none and `eddy import` posts without one, while
 * a browser always sends one, so the snippet's traffic (and anything carrying a user agent) is
 * classified from it as before and cannot relabel a bot user agent as a person. A sender without a
 * user agent gains nothing it could not get by sending any user agent it likes. The block is
 * validated like every other field whether honoured or not (field errors refuse the event):
 * strings of bounded length and a name's characters, a known device type, a hash's alphabet.
 */
export function readArchivedClient(read: FieldReader, messageContext: Json, hasUserAgent: boolean): ArchivedClient | undefined {
  const block = messageContext.eddy
  if (block === undefined || block === null) return undefined
  if (!isObject(block)) {
    read.fail('context/eddy', `must be an object, got ${typeName(block)}`)
    return undefined
  }
  const errors = read.errors.length
  const browser = clientName(read, block, 'browser')
  const os = clientName(read, block, 'os')
  const deviceType = read.oneOf(read.string(block, 'deviceType', 'context/eddy/deviceType'), DEVICE_TYPES, 'context/eddy/deviceType')
  const visitorHash = read.string(block, 'visitorHash', 'context/eddy/visitorHash', 64)
  if (visitorHash !== '' && !VISITOR_HASH.test(visitorHash)) read.fail('context/eddy/visitorHash', 'must be 1 to 64 letters, digits, - or _')
  if (read.errors.length > errors || deviceType === undefined || hasUserAgent) return undefined
  return { browser, os, deviceType, visitorHash: visitorHash || null }
}

function clientName(read: FieldReader, block: Json, field: 'browser' | 'os'): string {
  const path = `context/eddy/${field}`
  const value = read.string(block, field, path, MAX_CLIENT_NAME_LENGTH)
  if (!CLIENT_NAME.test(value)) read.fail(path, 'may hold only letters, digits, spaces and . _ + - / ( ) !')
  return value
}
