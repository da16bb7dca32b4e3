// A worker thread of thread.test.ts: a query and a failing one over the port it is given.
import { parentPort, type MessagePort } from 'node:worker_threads'
import { workerInput } from '../../thread/worker.ts'
import { clickHouseClientOn } from '../client.ts'
import { threadConnection } from './connection.ts'

const client = clickHouseClientOn(threadConnection(workerInput<{ port: MessagePort }>().port))
const rows = await (await client.query({ query: 'SELECT sum(number) AS n FROM numbers(10)', format: 'JSONEachRow' })).json()
const error = await client.query({ query: 'SELEC 1' }).then(() => undefined, (failed: { code?: string }) => failed.code)
parentPort!.postMessage({ rows, error })
