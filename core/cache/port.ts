/**
 * The QueryCache port: a read-through cache for query results. Values must survive JSON (the Redis
 * adapter stores JSON) and are shared between callers, so nobody may mutate one. A failing
 * computation is never cached; every caller waiting on it gets its error.
 */
export interface QueryCache {
  /**
   * The cached value of `key`, or `compute()`'s result, stored for `ttlMs`. Concurrent calls for one
   * key share one computation (per process, and across instances for the Redis adapter). A cache
   * that cannot be reached is skipped, never an error: the request is answered by `compute()`.
   */
  getOrCompute<T>(key: string, ttlMs: number, compute: () => Promise<T>): Promise<T>
  close(): Promise<void>
}
