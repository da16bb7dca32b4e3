import { randomUUID } from 'node:crypto'
import { v5 as uuidv5 } from 'uuid'

/** Namespace for ids derived from client-supplied message ids (a fixed, random UUID). */
const EDDY_NAMESPACE = '5b0c7f2e-8d61-4b7a-9f3e-2a4c6d8e0f11'

/**
 * The deduplication key. A client id that is a UUID is kept; any other client id is mapped to a
 * UUID v5 of project and id, so a retry of the same message always gets the same event_id.
 * Without a client id every event is new (at-least-once for such clients; documented).
 */
// Any RFC 9562 UUID shape; the id is only a deduplication key, so its version does not matter.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const isUuid = (value: string) => value.length === 36 && UUID.test(value)

export function eventIdFor(projectId: string, clientId: unknown): string {
  // Numeric ids (a database sequence, a log offset) identify an event as well as text: 42 and
  // "42" are the same message, so a retry that changes the JSON type still deduplicates.
  if (typeof clientId === 'number' && Number.isFinite(clientId)) clientId = String(clientId)
  if (typeof clientId === 'string' && clientId !== '') {
    return isUuid(clientId) ? clientId.toLowerCase() : uuidv5(`${projectId}\u0000${clientId}`, EDDY_NAMESPACE)
  }
  return randomUUID()
}

/** A deterministic id from parts that identify an event when the sender gives none. */
export function derivedEventId(projectId: string, ...parts: ReadonlyArray<string | number>): string {
  return uuidv5(`${projectId}\u0000${parts.join('\u0000')}`, EDDY_NAMESPACE)
}
