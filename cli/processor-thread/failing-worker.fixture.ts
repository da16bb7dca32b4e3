// Stand-ins for worker.ts in main.test.ts: one that cannot start, one that dies once started.
import { workerInput } from '../../core/thread/worker.ts'
import type { ProcessorThreadInput, ThreadNotice } from './protocol.ts'

const { control, config } = workerInput<ProcessorThreadInput>()
const notify = (notice: ThreadNotice) => control.postMessage(notice)
if (config.topics.prefix === 'cannot-start') {
  notify({ kind: 'start-failed', message: 'the state store is locked' })
  control.close()
} else {
  notify({ kind: 'ready', groups: [{ group: 'eddy-clickstream', topics: ['eddy.clicks'], job: 'clickstream' }] })
  setTimeout(() => {
    throw new Error('a bug in a job')
  }, 50)
}
