import pino from 'pino'
import { createRuntime, runMigrations } from '../cli/runtime.ts'
import { loadConfig } from '../core/config/index.ts'
import { EddyProcess, freePort } from '../test/support/eddy-process.ts'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import { childPids, type ChildMemory } from './memory.ts'
import { fillLog } from './processors.ts'
import { pinServicesAway, servicesAt } from './service-processes.ts'

export interface ScalingFigure {
  readonly instances: number
  readonly events: number
  readonly seconds: number
  readonly eventsPerSec: number
}

const READ_KEY = 'bench-scaling-read-key'
const OPERATOR_KEY = 'bench-scaling-operator-key'

/**
 * Processor throughput on Kafka with 1, 2, 4… `eddy process` instances, each a separate process
 * in the same consumer groups, all writing to one ClickHouse over HTTP. The instances start and
 * split the partitions first; the clock runs from the first event produced until every group's
 * lag is zero, so it includes filling the topics, which runs several times faster than the
 * processors drain them. On a machine with fewer cores than instances this measures the cost
 * of splitting, not a speed-up. The broker and ClickHouse are pinned to the last core and the
 * instances to the rest (taskset), so the table shows what the instances do, not what the
 * services leave them.
 */
export async function benchScaling(options: { brokers: string; clickhouseUrl: string; instances: readonly number[]; events: number; onProgress?: (line: string) => void; children?: ChildMemory }): Promise<ScalingFigure[]> {
  const figures: ScalingFigure[] = []
  const unpin = pinServicesAway(servicesAt(options.brokers, options.clickhouseUrl))
  try {
    for (const instances of options.instances) figures.push(await measure(instances, options))
  } finally {
    unpin?.()
  }
  return figures
}

async function measure(instances: number, options: Parameters<typeof benchScaling>[0]): Promise<ScalingFigure> {
  const directory = temporaryDirectory('bench-scaling')
  const suffix = `${Date.now()}_${instances}`
  const env = {
    KAFKA_BROKERS: options.brokers,
    CLICKHOUSE_URL: options.clickhouseUrl,
    CLICKHOUSE_DATABASE: `bench_scaling_${suffix}`,
    EDDY_TOPIC_PREFIX: `scaling-${suffix}`,
    EDDY_PARTITIONS: '8',
    EDDY_WRITE_KEY: 'bench-scaling-write-key',
    EDDY_READ_KEY: READ_KEY,
    EDDY_OPERATOR_KEYS: OPERATOR_KEY,
    LOG_LEVEL: 'error',
  }
  const processes: EddyProcess[] = []
  try {
    const config = loadConfig({ ...env, EDDY_DATA_DIR: directory.path, PORT: '0', HOST: '127.0.0.1' })
    const runtime = createRuntime(config, pino({ level: 'error' }))
    let started: number
    try {
      await runMigrations(runtime)
      await runtime.bus() // creates the topics
      for (let index = 0; index < instances; index++) processes.push(new EddyProcess(await freePort(), { ...env, EDDY_DATA_DIR: `${directory.path}/instance-${index}` }, 'process'))
      options.onProgress?.(`scaling: starting ${instances} instance(s)`)
      await Promise.all(processes.map((process) => process.start(120_000)))
      // Time for the groups to settle, so the run starts with the partitions split.
      await new Promise((resolve) => setTimeout(resolve, 5_000))
      options.onProgress?.(`scaling: ${instances} instance(s), producing ${options.events.toLocaleString('en-US')} events`)
      started = performance.now()
      await fillLog(runtime, config, options.events)
    } finally {
      await runtime.close()
    }
    const lagOf = async () => {
      const response = await fetch(`${processes[0]!.url}/api/v1/pipeline/health`, { headers: { authorization: `Bearer ${OPERATOR_KEY}` } })
      return response.ok ? ((await response.json()) as { lag: number }).lag : Number.POSITIVE_INFINITY
    }
    const deadline = Date.now() + 600_000
    for (let lag = await lagOf(); lag > 0; lag = await lagOf()) {
      if (Date.now() > deadline) throw new Error(`scaling: ${instances} instance(s) still ${lag} behind after 10 minutes`)
      options.onProgress?.(`scaling: ${instances} instance(s), ${lag.toLocaleString('en-US')} records behind`)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    const seconds = (performance.now() - started) / 1_000
    const processed = options.events
    return { instances, events: processed, seconds: Math.round(seconds * 10) / 10, eventsPerSec: Math.round(processed / seconds) }
  } finally {
    // EddyProcess keeps its child to itself; the instances are this process's only children here.
    for (const pid of childPids()) options.children?.live(`eddy process (one of ${instances})`, pid)
    await Promise.all(processes.map((process) => process.stop()))
    directory.remove()
  }
}
