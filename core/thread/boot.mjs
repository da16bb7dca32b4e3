// A worker's first module (worker.ts): plain JavaScript, so Node runs it without a loader; it
// registers tsx's, as bin/eddy.js does on the main thread, and imports the worker's own module.
import { workerData } from 'node:worker_threads'
import { register } from 'tsx/esm/api'

register()
await import(workerData.entry)
