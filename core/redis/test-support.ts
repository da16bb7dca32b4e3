import { Redis } from 'ioredis'

/** A plain client for assertions on what the adapters stored. */
export function inspector(url: string): Redis {
  return new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 })
}

/** A prefix no other test shares, so suites can run against one Redis without flushing it. */
export function uniquePrefix(): string {
  return `eddy-test-${Math.random().toString(36).slice(2, 10)}:`
}

export async function eventually<T>(attempt: () => Promise<T>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await attempt()
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${(error as Error).message}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}
