import { Worker, workerData, type TransferListItem } from 'node:worker_threads'

/** The plain-JS entry every worker starts in: it registers tsx's loader and then imports the module. */
const BOOT = new URL('./boot.mjs', import.meta.url)

/**
 * A worker thread running the TypeScript module `entry`. Eddy runs its sources through tsx (see
 * bin/eddy.js), and a worker does not inherit a loader registered on the main thread, so each one
 * boots through boot.mjs. `input` reaches the module as workerInput(); ports in it go in `transfer`.
 */
export function startWorker(entry: URL, input: unknown, transfer: readonly TransferListItem[] = [], options: { name?: string } = {}): Worker {
  return new Worker(BOOT, { workerData: { entry: entry.href, input }, transferList: [...transfer], ...(options.name ? { name: options.name } : {}) })
}

/** What startWorker handed this worker. */
export function workerInput<T>(): T {
  return (workerData as { input: T }).input
}
