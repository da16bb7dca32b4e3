import { MessageChannel } from 'node:worker_threads'
import type { Bus } from '../../core/bus/port.ts'
import { serveBus } from '../../core/bus/thread/serve.ts'
import { embeddedConnection, type ClickHouseClient } from '../../core/clickhouse/client.ts'
import { serveClickHouse } from '../../core/clickhouse/thread/serve.ts'
import { Calls } from '../../core/thread/rpc.ts'
import { startWorker } from '../../core/thread/worker.ts'
import { OperatorRuns } from '../../processors/reprocess/operator-runs.ts'
import type { ReprocessProgress, ReprocessSummary } from '../../processors/reprocess/reprocess.ts'
import type { ConsumerGroup } from '../../processors/status.ts'
import type { Runtime } from '../runtime.ts'
import type { ProcessorSnapshot, ProcessorThreadInput, ThreadMetrics, ThreadNotice } from './protocol.ts'

/** The module the processors' thread runs. */
const PROCESSOR_WORKER = new URL('./worker.ts', import.meta.url)

/** The processors running on a thread of their own, as the main thread sees them. */
export interface ProcessorThread {
  readonly groups: readonly ConsumerGroup[]
  /** Jobs, sink, convergence and state store as they are now. */
  snapshot(): Promise<ProcessorSnapshot>
  /** The thread's metrics, to merge into the process's /metrics. */
  metrics(): Promise<ThreadMetrics>
  /** Reprocess runs asked for over HTTP; each runs on the processors' thread. */
  readonly reprocessRuns: OperatorRuns
  /** False once the thread is gone without being stopped (readiness). */
  alive(): boolean
  /** Settles, with why, if the thread ends without being stopped: the process no longer processes. */
  readonly lost: Promise<Error>
  stop(): Promise<void>
}

/**
 * Starts the processors on a worker thread. This thread keeps what has one owner: the embedded
 * log (one writer, fsync before every acknowledgement) and chDB (one connection per data dir),
 * and serves both to the worker over ports; with Kafka and a ClickHouse server the worker still
 * reaches the bus through here (one set of producers and consumers per process) and ClickHouse
 * directly. Ingest and the api stay here, so a burst of processing delays neither.
 */
export async function startProcessorThread(runtime: Runtime, bus: Bus, clickhouse: ClickHouseClient, entry: URL = PROCESSOR_WORKER): Promise<ProcessorThread> {
  const { config, logger } = runtime
  const busChannel = new MessageChannel()
  const servedBus = serveBus(bus, busChannel.port1)
  const connection = embeddedConnection(clickhouse)
  const clickhouseChannel = connection ? new MessageChannel() : undefined
  const servedClickHouse = connection && clickhouseChannel ? serveClickHouse(connection, clickhouseChannel.port1) : undefined
  const control = new MessageChannel()
  const input: ProcessorThreadInput = {
    config,
    logLevel: (logger as { level?: string }).level ?? config.logLevel,
    pretty: process.stdout.isTTY === true,
    busKind: bus.kind,
    bus: busChannel.port2,
    control: control.port2,
    ...(clickhouseChannel ? { clickhouse: clickhouseChannel.port2 } : {}),
  }
  const worker = startWorker(entry, input, [busChannel.port2, control.port2, ...(clickhouseChannel ? [clickhouseChannel.port2] : [])], { name: 'eddy-processors' })
  const calls = new Calls(control.port1)
  const progress = new Map<number, (progress: ReprocessProgress) => void>()
  let stopping = false
  let gone = false
  let lose!: (error: Error) => void
  const lost = new Promise<Error>((resolve) => { lose = resolve })

  let portsClosed: Promise<void> | undefined
  // The bus's consumers for the thread leave their groups before the caller closes the log.
  const closePorts = () => {
    portsClosed ??= (async () => {
      await servedBus.close()
      servedClickHouse?.close()
      busChannel.port1.close()
      clickhouseChannel?.port1.close()
      control.port1.close()
    })()
    return portsClosed
  }
  const ready = new Promise<readonly ConsumerGroup[]>((resolve, reject) => {
    control.port1.on('message', (notice: ThreadNotice) => {
      switch (notice.kind) {
        case 'reply':
          calls.settle(notice)
          return
        case 'progress':
          progress.get(notice.call)?.(notice.progress)
          return
        case 'ready':
          resolve(notice.groups)
          return
        case 'start-failed':
          reject(new Error(`the processors' thread did not start: ${notice.message}`))
      }
    })
    worker.once('error', (error) => {
      // An uncaught error there ends the thread: the processors are gone, ingest goes on.
      logger.error({ err: error }, "the processors' thread failed")
      reject(error)
    })
    worker.once('exit', (code) => {
      gone = true
      calls.failAll(new Error(`the processors' thread exited (code ${code})`))
      if (!stopping) {
        logger.error({ code }, "the processors' thread exited; the process is no longer processing")
        lose(new Error(`the processors' thread exited (code ${code})`))
      }
      reject(new Error(`the processors' thread exited (code ${code}) before it was ready`))
    })
  })
  let groups: readonly ConsumerGroup[]
  try {
    groups = await ready
  } catch (error) {
    await worker.terminate()
    await closePorts()
    throw error
  }

  const reprocessRuns = new OperatorRuns({
    clock: Date.now,
    run: (request, onProgress, signal) => {
      let id: number | undefined
      const onAbort = () => {
        if (id !== undefined) control.port1.postMessage({ kind: 'abort-reprocess', call: id })
      }
      signal.addEventListener('abort', onAbort, { once: true })
      return calls.call<ReprocessSummary>({ kind: 'reprocess', request }, [], (callId) => {
        id = callId
        progress.set(callId, onProgress)
      }).finally(() => {
        signal.removeEventListener('abort', onAbort)
        if (id !== undefined) progress.delete(id)
      })
    },
  })

  return {
    groups,
    snapshot: () => answeredWithin(calls.call<ProcessorSnapshot>({ kind: 'snapshot' }), 'a snapshot'),
    metrics: () => answeredWithin(calls.call<ThreadMetrics>({ kind: 'metrics' }), 'its metrics'),
    reprocessRuns,
    alive: () => !gone,
    lost,
    async stop() {
      stopping = true
      await reprocessRuns.stop()
      if (!gone) {
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
        await calls.call({ kind: 'stop' }).catch((error: unknown) => logger.warn({ err: error }, "the processors' thread did not stop cleanly"))
        // Its ports closed, the thread ends once its last handles do.
        await closePorts()
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, EXIT_GRACE_MS).unref())])
        if (!gone) {
          logger.warn({ graceMs: EXIT_GRACE_MS }, "the processors' thread was still running after it stopped; terminating it")
          await worker.terminate()
        }
      }
      await closePorts()
    },
  }
}

/**
 * How long a health answer or a scrape waits for the thread: a stuck thread must not hold them
 * (ingest, on this thread, goes on answering), and a long batch is well under this.
 */
const ANSWER_WITHIN_MS = 5_000

function answeredWithin<T>(call: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the processors' thread did not send ${what} within ${ANSWER_WITHIN_MS} ms`)), ANSWER_WITHIN_MS)
  })
  return Promise.race([call, late]).finally(() => clearTimeout(timer))
}

/** How long a stopped processors' thread may take to end by itself. */
const EXIT_GRACE_MS = 5_000
