import { invalidInput } from './errors.ts'

export type CursorValue = string | number

/**
 * Opaque keyset cursors: base64url JSON of the last row's sort key, tagged with what list it
 * belongs to so a cursor from another list or sort order is refused rather than misread. Keyset,
 * not offsets, because the lists move while they are paged (new events keep arriving).
 */
export function encodeCursor(list: string, key: readonly CursorValue[]): string {
  return Buffer.from(JSON.stringify({ l: list, k: key })).toString('base64url')
}

export function decodeCursor(text: string, list: string, shape: ReadonlyArray<'string' | 'number'>): CursorValue[] {
  let decoded: unknown
  try {
    decoded = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
  } catch {
    throw invalidInput('querystring/cursor', 'is not a cursor this api handed out')
  }
  const { l, k } = (decoded ?? {}) as { l?: unknown; k?: unknown }
  if (l !== list) throw invalidInput('querystring/cursor', 'belongs to another list or sort order')
  if (!Array.isArray(k) || k.length !== shape.length || k.some((value, index) => typeof value !== shape[index] || (typeof value === 'number' && !Number.isFinite(value)))) {
    throw invalidInput('querystring/cursor', 'is not a cursor this api handed out')
  }
  return k as CursorValue[]
}
