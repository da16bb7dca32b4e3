/**
 * Rough sizes of values on V8's heap (64-bit, no pointer compression, as Node ships), for the
 * state estimates behind `eddy_window_state_bytes` and the soak's memory judgement. Estimates,
 * not accounting: on the traffic model, the clickstream and notifications jobs' estimated state
 * came to 86-88 % of the live heap measured after a full GC (2026-12-04).
 */

/** A sequential one-byte string: header, then the characters rounded up to 8. */
export function stringBytes(value: string): number {
  return 16 + ((value.length + 7) & ~7)
}

/** A boxed number (a timestamp is beyond the small-integer range). */
export const NUMBER_BYTES = 16

/** A plain object with `properties` in-object fields. */
export function objectBytes(properties: number): number {
  return 24 + 8 * properties
}

/** An array of `length` elements: the JSArray and its backing store (elements not included). */
export function arrayBytes(length: number): number {
  return 32 + 16 + 8 * length
}

/** A Map entry with its hash-table slot at the usual load. */
export const MAP_ENTRY_BYTES = 40
