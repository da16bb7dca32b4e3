/**
 * A model of Eddy's distributed path on N machines, from figures measured on one: what the
 * processors, the partitions, the broker and ClickHouse each allow, and which one binds. Not a
 * measurement; every input says where it came from, so the table in docs/scaling.md can be
 * recomputed when a figure changes:
 *
 *   node --import tsx bench/scaling-model.ts
 */

export interface ModelInput {
  readonly value: number
  /** Where the figure comes from (a results file, or an assumption named as one). */
  readonly source: string
}

export interface ScalingInputs {
  /** Events/s one `eddy process` processes with a core of its own (its processors run on one thread). */
  readonly instanceEventsPerSec: ModelInput
  /** Partitions per event topic: the most instances that can be busy. */
  readonly partitions: ModelInput
  /** Records/s one broker takes (kafka-producer-perf-test, acks=all). */
  readonly brokerRecordsPerSec: ModelInput
  /** Changelog records produced per input event (state changes at checkpoints). */
  readonly changelogRecordsPerEvent: ModelInput
  /** Rows/s one ClickHouse node inserts from Eddy's batch writer. */
  readonly clickhouseRowsPerSec: ModelInput
  /** Rows written to ClickHouse per event: its raw row and its share of the aggregate rows. */
  readonly rowsPerEvent: ModelInput
}

export interface Deployment {
  readonly machines: number
  /** Processor instances per machine (one per core the processors get). */
  readonly instancesPerMachine: number
  readonly brokers: number
  readonly clickhouseNodes: number
}

export type Bottleneck = 'processors' | 'partitions' | 'broker' | 'clickhouse'

export interface ModelRow extends Deployment {
  readonly instances: number
  readonly busyInstances: number
  readonly limits: Readonly<Record<Bottleneck, number>>
  readonly eventsPerSec: number
  readonly bottleneck: Bottleneck
}

/**
 * Throughput is the least of what each part allows: busy instances × one instance's rate (no
 * more instances are busy than there are partitions, and one partition is one instance's work),
 * the brokers' record rate shared by the events and their changelog records, and ClickHouse's
 * row rate over the rows each event becomes. Consumers' reads are not counted (they come from
 * the brokers' page cache), nor is ingest: it scales with its own stateless instances behind a
 * load balancer.
 */
export function modelThroughput(inputs: ScalingInputs, deployment: Deployment): ModelRow {
  const instances = deployment.machines * deployment.instancesPerMachine
  const busyInstances = Math.min(instances, inputs.partitions.value)
  const perInstance = inputs.instanceEventsPerSec.value
  const limits: Record<Bottleneck, number> = {
    processors: instances * perInstance,
    partitions: inputs.partitions.value * perInstance,
    broker: (deployment.brokers * inputs.brokerRecordsPerSec.value) / (1 + inputs.changelogRecordsPerEvent.value),
    clickhouse: (deployment.clickhouseNodes * inputs.clickhouseRowsPerSec.value) / inputs.rowsPerEvent.value,
  }
  const bottleneck = (Object.keys(limits) as Bottleneck[]).reduce((least, part) => (limits[part] < limits[least] ? part : least))
  return { ...deployment, instances, busyInstances, limits, eventsPerSec: Math.round(limits[bottleneck]), bottleneck }
}

/** The figures measured on this machine (2 cores, AMD EPYC) on 2026-12-07. */
export const MEASURED_INPUTS: ScalingInputs = {
  instanceEventsPerSec: { value: 21_000, source: 'one `eddy process` on Kafka, pinned to a core of its own, checkpoints every 3 s: 18,975–25,362 events/s processed in four runs (bench/results/2026-12-07-processors-paths.md)' },
  partitions: { value: 4, source: 'EDDY_PARTITIONS default; raise it before scaling out (topics keep their partition count)' },
  brokerRecordsPerSec: { value: 204_082, source: 'kafka-producer-perf-test, 340-byte records, acks=all, one broker on this machine (bench/results/2026-12-07-kafka.md)' },
  changelogRecordsPerEvent: { value: 2.67, source: 'changelog records counted over a 400,015-event drain of the traffic model with checkpoints every second: 1,068,251, 131 MB (bench/results/2026-12-07-processors-paths.md); fewer at 3 s, not counted yet' },
  clickhouseRowsPerSec: { value: 138_592, source: 'Eddy\'s batch writer into chDB, raw click rows as Avro (docs/scaling.md); a ClickHouse server on a machine of its own is assumed no slower' },
  rowsPerEvent: { value: 1.05, source: 'one raw row per event, and an assumed 5 % more for the aggregates (a window\'s rows are shared by all its events)' },
}

export const MODELLED_DEPLOYMENTS: readonly Deployment[] = [
  { machines: 1, instancesPerMachine: 2, brokers: 1, clickhouseNodes: 1 },
  { machines: 2, instancesPerMachine: 2, brokers: 1, clickhouseNodes: 1 },
  { machines: 4, instancesPerMachine: 2, brokers: 1, clickhouseNodes: 1 },
  { machines: 4, instancesPerMachine: 4, brokers: 3, clickhouseNodes: 1 },
  { machines: 8, instancesPerMachine: 4, brokers: 3, clickhouseNodes: 2 },
]

export function modelTable(inputs: ScalingInputs, deployments: readonly Deployment[], partitions = inputs.partitions.value): string {
  const withPartitions = { ...inputs, partitions: { ...inputs.partitions, value: partitions } }
  const number = (value: number) => Math.round(value).toLocaleString('en-US')
  const lines = [
    `| processor machines × instances | brokers | ClickHouse nodes | partitions | events/s | bound by | processors / partitions / broker / ClickHouse allow |`,
    '|---|---|---|---|---|---|---|',
  ]
  for (const deployment of deployments) {
    const row = modelThroughput(withPartitions, deployment)
    const { processors, partitions: byPartitions, broker, clickhouse } = row.limits
    lines.push(`| ${row.machines} × ${row.instancesPerMachine} | ${row.brokers} | ${row.clickhouseNodes} | ${partitions} | ${number(row.eventsPerSec)} | ${row.bottleneck} | ${[processors, byPartitions, broker, clickhouse].map(number).join(' / ')} |`)
  }
  return lines.join('\n')
}

if (process.argv[1] === import.meta.filename) {
  for (const partitions of [4, 32]) {
    process.stdout.write(`\nEDDY_PARTITIONS=${partitions}\n\n${modelTable(MEASURED_INPUTS, MODELLED_DEPLOYMENTS, partitions)}\n`)
  }
  process.stdout.write('\nInputs:\n')
  for (const [name, input] of Object.entries(MEASURED_INPUTS)) process.stdout.write(`- ${name} = ${input.value.toLocaleString('en-US')}: ${input.source}\n`)
}
