/** Concurrent callers of one key share one promise; it is forgotten once settled. */
export function createInFlight(): <T>(key: string, start: () => Promise<T>) => Promise<T> {
  const running = new Map<string, Promise<unknown>>()
  return <T>(key: string, start: () => Promise<T>): Promise<T> => {
    const existing = running.get(key)
    if (existing !== undefined) return existing as Promise<T>
    const promise = start().finally(() => running.delete(key))
    running.set(key, promise)
    return promise
  }
}
