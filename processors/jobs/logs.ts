import type { LogEvent } from '../../schemas/types.generated.ts'
import { emit, type Job, type JobTask, type OutputRows } from '../job.ts'
import { Deduplicator } from '../operators/deduplicate.ts'
import { createHeapStateStore } from '../state/heap-store.ts'
import type { PartitionStateStore } from '../state/store.ts'
import { LATE_OUTPUT, topologyOutputs, validateTopology, type Topology } from '../topology/declaration.ts'
import { namedState } from '../topology/named-state.ts'
import { CounterPart, deduplicatorPart, statePart, windowPart } from '../topology/parts.ts'
import { count, createWindowOperator, max, min, tumbling, type Emission, type ResultRow } from '../window/index.ts'
import { DEFAULT_BASELINE, ErrorRateBaselines, validateBaselineSettings, type BaselineSettings } from '../operators/error-baseline.ts'
import { joinKey, keyParts, routeEmissions, seconds } from '../operators/emissions.ts'
import { fingerprintOf, messageTemplate } from '../operators/fingerprint.ts'
import { firstBy } from '../operators/first-last.ts'
import { DEFAULT_EVENT_TIME, deduplicationLimits, type EventTimeSettings } from '../operators/settings.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

export interface LogsJobSettings extends EventTimeSettings, BaselineSettings {}

export const DEFAULT_LOGS: LogsJobSettings = { ...DEFAULT_EVENT_TIME, ...DEFAULT_BASELINE }

const isError = (event: LogEvent) => event.level === 'error' || event.level === 'fatal'

/**
 * The fingerprint operator sees every line, not only errors, so that its watermark is the same
 * as the per-minute operator's: its windows close on time when errors are rare, and any line late
 * for it is late for the per-minute counts too (1 h windows end no earlier than 1 min ones), so
 * only those report late lines. Other lines share this key; their rows are dropped.
 */
const NOT_AN_ERROR = ''

/**
 * Logs, per input partition (logs are keyed by service, so a service's lines are all here and
 * its baseline sees its whole traffic):
 *
 *   logs ─ dedup by event_id ─┬─ by project, service, level ─ tumbling 1 min ─ lines ───────────► logs_1m
 *                             │     └─ final minutes, summed per service, in window order
 *                             │          ─ error-rate baseline (EWMA) ─ up / down ────────────► log_anomalies
 *                             └─ errors by project, service, template ─ tumbling 1 h
 *                                  ─ occurrences, first/last seen, sample ───────────────────► error_fingerprints_1h
 *   lines beyond the allowed lateness, refused or invalid ─► late
 */
export const LOGS_TOPOLOGY: Topology = validateTopology('logs', {
  input: 'log',
  operators: [
    { name: 'dedup', does: 'drop repeated event_ids', feeds: ['per-minute', 'fingerprints'] },
    { name: 'per-minute', does: 'by project, service, level, tumbling 1 min: lines', feeds: ['logs_1m', 'baselines', LATE_OUTPUT] },
    { name: 'baselines', does: 'final minutes summed per service, in window order: error rate against an EWMA baseline', feeds: ['log_anomalies'] },
    { name: 'fingerprints', does: 'errors by project, service, message template, tumbling 1 h: occurrences, first/last seen, sample', feeds: ['error_fingerprints_1h', LATE_OUTPUT] },
  ],
})

export function logsJob(overrides: Partial<LogsJobSettings> = {}): Job<'log'> {
  const settings: LogsJobSettings = Object.freeze({ ...DEFAULT_LOGS, ...overrides })
  validateBaselineSettings(settings)
  return {
    name: 'logs',
    stream: 'log',
    topology: LOGS_TOPOLOGY,
    outputs: topologyOutputs(LOGS_TOPOLOGY),
    reads: ['event_id', 'project_id', 'ts', 'service', 'level', 'message'],
    createTask: (partition, state = createHeapStateStore().partition('logs', partition)) => createLogsTask(partition, settings, state),
  }
}

function createLogsTask(partition: number, settings: LogsJobSettings, state: PartitionStateStore): JobTask<LogEvent> {
  const timing = {
    outOfOrdernessMs: settings.outOfOrdernessMs,
    allowedLatenessMs: settings.allowedLatenessMs,
    idleTimeoutMs: settings.idleTimeoutMs,
    earlyFiringMs: settings.earlyFiringMs,
  }
  const deduplicator = new Deduplicator<LogEvent>(deduplicationLimits(settings, HOUR), (event) => event.event_id, (event) => event.ts, state)

  const perMinute = createWindowOperator({
    ...timing,
    storage: { store: state, prefix: 'per-minute/' },
    assigner: tumbling(MINUTE),
    key: (event: LogEvent) => joinKey(event.project_id, event.service, event.level),
    time: (event: LogEvent) => event.ts,
    aggregates: { lines: count<LogEvent>() },
  })

  const fingerprints = createWindowOperator({
    ...timing,
    storage: { store: state, prefix: 'fingerprints/' },
    assigner: tumbling(HOUR),
    key: (event: LogEvent) => (isError(event) ? joinKey(event.project_id, event.service, messageTemplate(event.message)) : NOT_AN_ERROR),
    time: (event: LogEvent) => event.ts,
    aggregates: {
      occurrences: count<LogEvent>(),
      firstSeen: min((event: LogEvent) => event.ts),
      lastSeen: max((event: LogEvent) => event.ts),
      sample: firstBy((event: LogEvent) => event.ts, (event) => event.event_id, (event) => event.message),
    },
  })

  const baselines = new ErrorRateBaselines(settings)
  const anomalies = new CounterPart('anomalies')

  const route = (outputs: OutputRows, minutes: ReturnType<typeof perMinute.process>, errors: ReturnType<typeof fingerprints.process>) => {
    routeEmissions(minutes, outputs, 'logs_1m', 'logs', (row) => {
      const [project_id, service, level] = keyParts(row.key)
      return { project_id, window_start: seconds(row.windowStart), service, level, source_partition: partition, lines: row.values.lines, revision: row.revision, final: row.final ? 1 : 0 }
    }, (event) => event)
    routeEmissions(errorsOnly(errors), outputs, 'error_fingerprints_1h', 'logs', (row) => {
      const [project_id, service, template] = keyParts(row.key) as [string, string, string]
      const { occurrences, firstSeen, lastSeen, sample } = row.values
      return {
        project_id, window_start: seconds(row.windowStart), service, fingerprint: fingerprintOf(service, template), template, source_partition: partition,
        occurrences, first_seen: firstSeen, last_seen: lastSeen, sample_message: sample ?? '', revision: row.revision, final: row.final ? 1 : 0,
      }
    }, (event) => event)
    detectAnomalies(outputs, minutes)
  }

  // Only final minutes feed the baseline: each is judged once, in window order, on the count the
  // watermark closed it with. Late updates to a minute do not rewrite the baseline's history.
  const detectAnomalies = (outputs: OutputRows, minutes: ReturnType<typeof perMinute.process>) => {
    for (const [minute, services] of finalMinutesByService(minutes)) {
      for (const [service, total] of services) {
        const judgement = baselines.observe(service, minute, total.lines, total.errors)
        if (judgement === undefined) continue
        const [project_id, name] = keyParts(service)
        anomalies.value += 1
        emit(outputs, 'log_anomalies', {
          project_id, service: name, window_start: seconds(minute), lines: judgement.lines, errors: judgement.errors,
          error_rate: judgement.errorRate, baseline: judgement.baseline, factor: settings.anomalyFactor, direction: judgement.direction,
        })
      }
    }
  }

  return {
    process(input, nowMs) {
      const events = deduplicator.filter(input)
      const outputs: OutputRows = {}
      route(outputs, perMinute.process(partition, events, nowMs), fingerprints.process(partition, events, nowMs))
      return outputs
    },
    onProcessingTime(nowMs) {
      const outputs: OutputRows = {}
      route(outputs, perMinute.onProcessingTime(nowMs), fingerprints.onProcessingTime(nowMs))
      return outputs
    },
    finish(nowMs) {
      const outputs: OutputRows = {}
      route(outputs, perMinute.endOfInput(nowMs), fingerprints.endOfInput(nowMs))
      return outputs
    },
    ...namedState('logs', LOGS_TOPOLOGY, {
      dedup: deduplicatorPart(deduplicator),
      'per-minute': windowPart(perMinute),
      fingerprints: windowPart(fingerprints),
      baselines: statePart(baselines, () => ({ baselines: baselines.size })),
      'baselines/anomalies': anomalies,
    }, {
      clock: 'per-minute',
      positionalOrder: ['dedup', 'per-minute', 'fingerprints', 'baselines', 'baselines/anomalies'],
    }),
  }
}

/**
 * The fingerprint operator's emissions that concern errors: results of real keys, and errors it
 * refused for its state bound. Late and invalid lines are reported by the per-minute operator.
 */
function errorsOnly<Values>(emissions: readonly Emission<LogEvent, Values>[]): Emission<LogEvent, Values>[] {
  return emissions.filter((emission) =>
    (emission.kind === 'result' && emission.row.key !== NOT_AN_ERROR) || (emission.kind === 'overflow' && emission.key !== NOT_AN_ERROR))
}

interface MinuteTotal {
  lines: number
  errors: number
}

/** Final per-level rows summed per (project, service), by minute ascending, services sorted. */
function finalMinutesByService(emissions: readonly Emission<LogEvent, { lines: number }>[]): Array<[number, Array<[string, MinuteTotal]>]> {
  const minutes = new Map<number, Map<string, MinuteTotal>>()
  for (const emission of emissions) {
    if (emission.kind !== 'result' || emission.row.timing !== 'final') continue
    const row: ResultRow<{ lines: number }> = emission.row
    const [project, service, level] = keyParts(row.key) as [string, string, string]
    const services = minutes.get(row.windowStart) ?? new Map<string, MinuteTotal>()
    minutes.set(row.windowStart, services)
    const key = joinKey(project, service)
    const total = services.get(key) ?? { lines: 0, errors: 0 }
    services.set(key, total)
    total.lines += row.values.lines
    if (level === 'error' || level === 'fatal') total.errors += row.values.lines
  }
  return [...minutes]
    .sort((a, b) => a[0] - b[0])
    .map(([minute, services]) => [minute, [...services].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))])
}
