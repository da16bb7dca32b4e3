import { execFileSync } from 'node:child_process'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import { bodies, load, startServer, stopServer } from './ingest.ts'
import { summarise, type Summary } from './stats.ts'

export interface KafkaFigure {
  readonly eddyEventsPerSec: Summary
  readonly eddyP99Ms: Summary
  /** kafka-producer-perf-test (same jars) with Eddy's average record size, acks=all, linger 5 ms. */
  readonly producerPerfRecordsPerSec: Summary
  readonly recordBytes: number
  readonly ratio: number
}

/**
 * Ingest → Kafka at batch 100 next to Kafka's own producer benchmark on the same broker and
 * record size, measured in the same run. The jars come from infra/kafka's cache.
 */
export async function benchKafka(options: { brokers: string; runs?: number; durationSeconds?: number; onProgress?: (line: string) => void }): Promise<KafkaFigure> {
  const runs = options.runs ?? 3
  const body = bodies(100)
  const eddy: number[] = []
  const p99: number[] = []
  const reference: number[] = []
  // Eddy's Avro records of the bench events average 339 bytes (wire header included; measured by
  // normalising and encoding the same bodies).
  const recordBytes = 340
  const libs = join(process.env.EDDY_CACHE_DIR ?? join(homedir(), '.cache/eddy'), 'kafka-4.3.1/libs/*')
  for (let run = 1; run <= runs; run++) {
    options.onProgress?.(`kafka: kafka-producer-perf-test run ${run}/${runs}`)
    const output = execFileSync('java', ['-Xmx512m', '-cp', libs, 'org.apache.kafka.tools.ProducerPerformance', '--topic', `perf-${Date.now()}`, '--num-records', '1000000',
      '--record-size', String(recordBytes), '--throughput', '-1', '--producer-props', `bootstrap.servers=${options.brokers}`, 'acks=all', 'linger.ms=5', 'enable.idempotence=true'], { encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'ignore'] })
    const match = /records sent, ([\d.]+) records\/sec/.exec(output.trim().split('\n').at(-1) ?? '')
    if (!match) throw new Error(`kafka-producer-perf-test printed no result: ${output.slice(-300)}`)
    reference.push(Number(match[1]))
    options.onProgress?.(`kafka: eddy ingest → Kafka run ${run}/${runs}`)
    const directory = temporaryDirectory('bench-kafka')
    const { child, port } = await startServer('kafka', directory.path, options.brokers)
    try {
      await load(port, body, 1, 32)
      const result = await load(port, body, options.durationSeconds ?? 5, 32)
      if (result.non2xx > 0) throw new Error(`eddy answered ${result.non2xx} non-2xx responses`)
      eddy.push(result.requestsPerSec * 100)
      p99.push(result.p99Ms)
    } finally {
      await stopServer(child)
      directory.remove()
    }
  }
  const eddyEventsPerSec = summarise(eddy)
  const producerPerfRecordsPerSec = summarise(reference)
  return { eddyEventsPerSec, eddyP99Ms: summarise(p99), producerPerfRecordsPerSec, recordBytes, ratio: Math.round((eddyEventsPerSec.median / producerPerfRecordsPerSec.median) * 100) / 100 }
}
