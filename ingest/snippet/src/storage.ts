import type { Item, Storage } from './queue.ts'

/** Every key the snippet stores starts with this, so a site can find (and clear) them all. */
const PREFIX = 'eddy.'

/** localStorage, or nothing when it is unavailable (private modes, blocked storage, quota). */
export function read(name: string): string | null {
  try {
    return localStorage.getItem(PREFIX + name)
  } catch {
    return null
  }
}

/** False when storage refused (disabled, quota). */
export function write(name: string, value?: string | null): boolean {
  try {
    if (value == null) localStorage.removeItem(PREFIX + name)
    else localStorage.setItem(PREFIX + name, value)
    return true
  } catch {
    return false
  }
}

/**
 * The queue in localStorage, so it survives offline periods and reloads. Every call reads the
 * stored copy, because other tabs of the site share it; a copy in memory covers a failing storage.
 */
export function persistent(name: string): Storage {
  let memory: Item[] | undefined
  return {
    get() {
      if (memory) return memory.slice()
      try {
        return JSON.parse(read(name) ?? '[]') as Item[]
      } catch {
        // A corrupt entry is dropped rather than blocking every later event.
        return []
      }
    },
    set(items) {
      // Once storage refuses a write this page keeps its queue in memory.
      memory = write(name, items.length ? JSON.stringify(items) : null) ? undefined : items
    },
  }
}

/** The queue in memory only: cookieless mode and Do Not Track touch no storage. */
export function volatile(): Storage {
  let items: Item[] = []
  return { get: () => items.slice(), set: (next) => void (items = next) }
}
