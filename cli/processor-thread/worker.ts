// The processors' thread of `eddy start` with EDDY_PROCESSOR_THREAD=worker (main.ts starts it).
import { threadBus } from '../../core/bus/thread/client.ts'
import { clickHouseClientOn, createClickHouseClient } from '../../core/clickhouse/client.ts'
import { threadConnection } from '../../core/clickhouse/thread/connection.ts'
import { deepFreeze } from '../../core/config/index.ts'
import { createLogger } from '../../core/logging/logger.ts'
import { createProcessMetrics } from '../../core/metrics/index.ts'
import { answer } from '../../core/thread/rpc.ts'
import { workerInput } from '../../core/thread/worker.ts'
import { runReprocess } from '../commands/reprocess.ts'
import { startProcessors } from '../processors.ts'
import { createRuntime } from '../runtime.ts'
import type { ControlCall, ProcessorThreadInput, ThreadNotice } from './protocol.ts'

const input = workerInput<ProcessorThreadInput>()
// Frozen again: structured clone hands the thread a mutable copy of the main thread's frozen config.
const config = deepFreeze(input.config)
const { control } = input
const notify = (notice: ThreadNotice) => control.postMessage(notice)
const logger = createLogger(input.logLevel, { pretty: input.pretty }).child({ thread: 'processors' })

try {
  const bus = threadBus(input.bus, input.busKind)
  const clickhouse = input.clickhouse ? clickHouseClientOn(threadConnection(input.clickhouse), logger) : await createClickHouseClient(config, logger)
  // No process_* or nodejs_* defaults here: the main thread reports the process once.
  const metrics = createProcessMetrics({ defaults: false, thread: 'processors', onCollectError: (error) => logger.warn({ err: error }, 'a metrics collector failed') })
  const runtime = createRuntime(config, logger, { bus, clickhouse, metrics })
  const processors = await startProcessors(runtime, { bus, codec: await runtime.codec(), clickhouse })
  const reprocesses = new Map<number, AbortController>()

  control.on('message', (call: ControlCall) => {
    switch (call.kind) {
      case 'snapshot':
        void answer(control, call.id, async () => processors.snapshot())
        return
      case 'metrics':
        void answer(control, call.id, () => metrics.json())
        return
      case 'reprocess': {
        const abort = new AbortController()
        reprocesses.set(call.id, abort)
        void answer(control, call.id, () => runReprocess(runtime, call.request, {
          onProgress: (progress) => notify({ kind: 'progress', call: call.id, progress }),
          signal: abort.signal,
        }).finally(() => reprocesses.delete(call.id)))
        return
      }
      case 'abort-reprocess':
        reprocesses.get(call.call)?.abort(new Error('stopped by a shutdown; run the same reprocess again to go on'))
        return
      case 'stop':
        void answer(control, call.id, async () => {
          await processors.stop()
          await runtime.close()
          metrics.close()
          await bus.close()
          // A client of its own (CLICKHOUSE_URL) is this thread's to close; a served one is the owner's.
          if (!input.clickhouse) await clickhouse.close()
          // The main thread closes the control port once it has this answer; then nothing holds the thread.
        })
    }
  })
  notify({ kind: 'ready', groups: processors.groups })
} catch (error) {
  logger.error({ err: error }, 'the processors did not start')
  notify({ kind: 'start-failed', message: error instanceof Error ? error.message : String(error) })
  control.close()
}
