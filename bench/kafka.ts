/**
 * Ingest → Kafka at batch 100 with each producer client (kafkajs, @platformatic/kafka) next to
 * Kafka's own producer benchmark on the same broker and record size, all measured in the same run.
 * The jars come from infra/kafka's cache.
 *
 * Run as a script (`node --import tsx bench/kafka.ts serve <client> <dataDir> <brokers>`) this file
 * is the server side: Eddy's ingest, as bench/ingest-server.ts builds it, producing through the
 * chosen client. Both clients go through this same server so the client is the only difference.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { EDDY_NODE_FLAGS } from '../cli/node-flags.ts'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import type { KafkaClient } from '../core/bus/kafka/index.ts'
import { bodies, load, stopServer } from './ingest.ts'
import type { ChildMemory } from './memory.ts'
import { summarise, type Summary } from './stats.ts'

export interface ClientFigure {
  readonly eventsPerSec: Summary
  readonly p99Ms: Summary
  /** eventsPerSec / kafka-producer-perf-test, from the medians. */
  readonly ratio: number
}

export interface KafkaFigure {
  readonly kafkajs: ClientFigure
  readonly platformatic: ClientFigure
  /** kafka-producer-perf-test (same jars) with Eddy's average record size, acks=all, linger 5 ms, idempotent. */
  readonly producerPerfRecordsPerSec: Summary
  readonly recordBytes: number
  readonly batchSize: number
}

const CLIENTS: readonly KafkaClient[] = ['kafkajs', 'platformatic']

/**
 * Each run measures the perf-test, then both clients (their order alternating between runs, so a
 * neighbour's load on the shared machine does not always fall on the same one). Bounded: the
 * perf-test sends 1,000,000 records (about 10 s here) and is killed after 5 min; each client gets
 * a 1 s warm-up and `durationSeconds` of load.
 */
export async function benchKafka(options: { brokers: string; runs?: number; durationSeconds?: number; onProgress?: (line: string) => void; children?: ChildMemory }): Promise<KafkaFigure> {
  const runs = options.runs ?? 3
  const batchSize = 100
  const body = bodies(batchSize)
  const measured = Object.fromEntries(CLIENTS.map((client) => [client, { rate: [] as number[], p99: [] as number[] }])) as Record<KafkaClient, { rate: number[]; p99: number[] }>
  const reference: number[] = []
  // Eddy's Avro records of the bench events average 339 bytes (wire header included; measured by
  // normalising and encoding the same bodies).
  const recordBytes = 340
  for (let run = 1; run <= runs; run++) {
    options.onProgress?.(`kafka: kafka-producer-perf-test run ${run}/${runs}`)
    reference.push(producerPerfTest(options.brokers, recordBytes))
    for (const client of run % 2 === 1 ? CLIENTS : [...CLIENTS].reverse()) {
      options.onProgress?.(`kafka: eddy ingest → Kafka (${client}) run ${run}/${runs}`)
      const directory = temporaryDirectory('bench-kafka')
      const { child, port } = await startKafkaServer(client, directory.path, options.brokers)
      try {
        await load(port, body, 1, 32)
        const result = await load(port, body, options.durationSeconds ?? 5, 32)
        if (result.non2xx > 0) throw new Error(`eddy (${client}) answered ${result.non2xx} non-2xx responses`)
        measured[client].rate.push(result.requestsPerSec * batchSize)
        measured[client].p99.push(result.p99Ms)
      } finally {
        options.children?.live(`ingest server → Kafka (${client})`, child.pid)
        await stopServer(child)
        directory.remove()
      }
    }
  }
  const producerPerfRecordsPerSec = summarise(reference)
  const figure = (client: KafkaClient): ClientFigure => {
    const eventsPerSec = summarise(measured[client].rate)
    return { eventsPerSec, p99Ms: summarise(measured[client].p99), ratio: Math.round((eventsPerSec.median / producerPerfRecordsPerSec.median) * 100) / 100 }
  }
  return { kafkajs: figure('kafkajs'), platformatic: figure('platformatic'), producerPerfRecordsPerSec, recordBytes, batchSize }
}

function producerPerfTest(brokers: string, recordBytes: number): number {
  const libs = join(process.env.EDDY_CACHE_DIR ?? join(homedir(), '.cache/eddy'), 'kafka-4.3.1/libs/*')
  const output = execFileSync('java', ['-Xmx512m', '-cp', libs, 'org.apache.kafka.tools.ProducerPerformance', '--topic', `perf-${Date.now()}`, '--num-records', '1000000',
    '--record-size', String(recordBytes), '--throughput', '-1', '--producer-props', `bootstrap.servers=${brokers}`, 'acks=all', 'linger.ms=5', 'enable.idempotence=true'], { encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'ignore'] })
  const match = /records sent, ([\d.]+) records\/sec/.exec(output.trim().split('\n').at(-1) ?? '')
  if (!match) throw new Error(`kafka-producer-perf-test printed no result: ${output.slice(-300)}`)
  return Number(match[1])
}

async function startKafkaServer(client: KafkaClient, dataDir: string, brokers: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [...EDDY_NODE_FLAGS, '--import', 'tsx', import.meta.filename, 'serve', client, dataDir, brokers], { stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`kafka (${client}) server exited with ${code}`)))
  })
  return { child, port: (JSON.parse(line) as { port: number }).port }
}

/** The server: ingest producing to Kafka through `client`; prints `{"port": N}` once listening. */
async function serve(client: KafkaClient, dataDir: string, brokers: string): Promise<void> {
  const [{ default: pino }, { KeyRing }, { createKafkaBus }, { AvroCodec }, { LocalSchemaRegistry }, { buildIngestApp }, { EventPublisher }] = await Promise.all([
    import('pino'), import('../core/auth/keys.ts'), import('../core/bus/kafka/index.ts'), import('../core/codec/avro-codec.ts'),
    import('../core/registry/local.ts'), import('../ingest/app.ts'), import('../ingest/publisher.ts'),
  ])
  const prefix = `bench-${process.pid}`
  const topics = { click: `${prefix}.clicks`, log: `${prefix}.logs`, notification: `${prefix}.notifications` }
  const codec = await AvroCodec.create(new LocalSchemaRegistry(`${dataDir}/registry.json`), topics)
  const logger = pino({ level: 'warn' })
  const bus = createKafkaBus({ brokers: [brokers], clientId: 'eddy-bench', logger, client })
  await bus.admin().ensureTopics([{ topic: topics.click, partitions: 4 }])
  const app = await buildIngestApp({
    config: { ingest: { maxEventBytes: 32 * 1024, maxRequestBytes: 500 * 1024, maxFutureMs: 86_400_000, produceTimeoutMs: 5_000 }, retentionDays: 400 },
    keys: new KeyRing([{ id: 'bench', writeKeys: ['bench-write-key'], readKeys: [] }]),
    publisher: new EventPublisher({ producer: bus.producer(), codec, topics, timeoutMs: 5_000, busHealthy: () => bus.healthy() }),
    logger,
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  process.stdout.write(`${JSON.stringify({ port: (app.server.address() as { port: number }).port })}\n`)
  process.on('SIGTERM', async () => {
    await app.close()
    await bus.close()
    process.exit(0)
  })
}

if (process.argv[1] === import.meta.filename && process.argv[2] === 'serve') {
  const [client, dataDir, brokers] = process.argv.slice(3) as [KafkaClient, string, string]
  await serve(client, dataDir, brokers)
}
