/**
 * How deep a client's JSON may nest, checked once, right after parsing and before anything walks
 * it: JSON.stringify, flattening and the normalisers recurse, and a 40 KB body of `[[[[…` is
 * 20,000 levels, far past the stack. The walk itself is iterative, so it cannot overflow.
 */
export const DEFAULT_MAX_NESTING_DEPTH = 64

export type Path = ReadonlyArray<string | number>

interface Frame {
  readonly container: object
  /** Own keys of an object; undefined for an array, which is walked by index. */
  readonly keys: readonly string[] | undefined
  next: number
}

/**
 * The path of the first value that sits more than `maxDepth` objects or arrays deep (the body
 * itself being level 1), or undefined when none does. Stops at the first, so a hostile body
 * costs at most `maxDepth` frames and one pass up to that point.
 */
export function deeperThan(value: unknown, maxDepth: number): Path | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const frames: Frame[] = [frameOf(value)]
  if (maxDepth < 1) return []
  while (frames.length > 0) {
    const frame = frames[frames.length - 1]!
    const length = frame.keys ? frame.keys.length : (frame.container as unknown[]).length
    if (frame.next >= length) {
      frames.pop()
      continue
    }
    const index = frame.next++
    const child = frame.keys ? (frame.container as Record<string, unknown>)[frame.keys[index]!] : (frame.container as unknown[])[index]
    if (typeof child !== 'object' || child === null) continue
    if (frames.length >= maxDepth) return pathOf(frames)
    frames.push(frameOf(child))
  }
  return undefined
}

function frameOf(container: object): Frame {
  return { container, keys: Array.isArray(container) ? undefined : Object.keys(container), next: 0 }
}

function pathOf(frames: readonly Frame[]): Path {
  return frames.map((frame) => (frame.keys ? frame.keys[frame.next - 1]! : frame.next - 1))
}

/** Longest pointer quoted back: a path of 64 long keys is not worth echoing whole. */
const MAX_POINTER_LENGTH = 300

/** RFC 6901 pointer of a path, shortened with … past MAX_POINTER_LENGTH characters. */
export function pointerOf(path: Path, prefix = ''): string {
  const pointer = prefix + path.map((segment) => `/${String(segment).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('')
  return pointer.length > MAX_POINTER_LENGTH ? `${pointer.slice(0, MAX_POINTER_LENGTH)}…` : pointer
}

export function tooDeepReason(maxDepth: number): string {
  return `objects and arrays nest more than ${maxDepth} levels deep here`
}
