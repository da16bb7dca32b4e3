/**
 * A real OpenTelemetry Collector (infra/otelcol: filelog receiver, batch processor, otlphttp
 * exporter) tails a file of JSON lines and ships it to /otlp/v1/logs the way the Collector does by
 * default: protobuf, gzip, retries. CI builds it and exports OTELCOL_BIN; without it the suite is
 * skipped with the reason, unless EDDY_REQUIRE_SERVICES=1 makes that a failure.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { accessSync, appendFileSync, constants, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestPipeline, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'
import { describeUnavailable } from '../support/services.ts'
import { temporaryDirectory } from '../support/temp-dir.ts'

const LINES = 500
const SERVICE = `otelcol-e2e-${process.pid}`
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const
const TITLE = 'a real OpenTelemetry Collector ships a file to /otlp/v1/logs'

/** The JSON line the application writes. */
function line(index: number, firstMs: number) {
  const digest = createHash('sha256').update(`${SERVICE}/${index}`).digest('hex')
  return {
    time: firstMs + index,
    service: SERVICE,
    level: LEVELS[index % LEVELS.length]!,
    logger: 'checkout.http',
    message: `request ${index} served in ${index % 17} ms`,
    trace_id: digest.slice(0, 32),
    span_id: digest.slice(32, 48),
    order_id: `order-${index}`,
  }
}

/** The row Eddy must store for it: the fields the Collector parsed, the rest as attributes. */
function row({ order_id, ...fields }: ReturnType<typeof line>) {
  return { ...fields, attributes: { order_id, 'log.file.name': 'app.log', severity_text: fields.level } }
}

/**
 * The Collector configuration docs/log-shippers.md shows, with a filelog receiver in front: the
 * JSON line's fields become the record's timestamp, severity, trace context, scope name and body,
 * `service` becomes the resource's `service.name`, and what is left stays a record attribute. The
 * exporter keeps its defaults (protobuf, gzip, retry on failure, sending queue). Components go by
 * their current names (`file_log`, `otlp_http`); the older `filelog` and `otlphttp` still work.
 */
function collectorConfig(logFile: string, eddyUrl: string): string {
  return `receivers:
  file_log:
    include: [${JSON.stringify(logFile)}]
    start_at: beginning
    poll_interval: 50ms
    operators:
      - type: json_parser
        timestamp: { parse_from: attributes.time, layout_type: epoch, layout: ms }
        severity: { parse_from: attributes.level }
        trace:
          trace_id: { parse_from: attributes.trace_id }
          span_id: { parse_from: attributes.span_id }
        scope_name: { parse_from: attributes.logger }
        body: attributes.message
      - { type: move, from: attributes.service, to: 'resource["service.name"]' }
      # The parsers above copy; the copies go, so the attributes hold only the line's other fields.
      - { type: remove, field: attributes.message }
      - { type: remove, field: attributes.time }
      - { type: remove, field: attributes.level }
      - { type: remove, field: attributes.trace_id }
      - { type: remove, field: attributes.span_id }
      - { type: remove, field: attributes.logger }
processors:
  batch:
    send_batch_size: 100
    timeout: 200ms
exporters:
  otlp_http/eddy:
    endpoint: ${eddyUrl}/otlp
    headers:
      authorization: "Bearer \${env:WRITE_KEY}"
service:
  telemetry:
    metrics: { level: none }
  pipelines:
    logs:
      receivers: [file_log]
      processors: [batch]
      exporters: [otlp_http/eddy]
`
}

interface RunningCollector {
  readonly pid: number
  /** What the Collector logged so far (for failure messages). */
  output(): string
  stop(): Promise<void>
}

/** Starts the Collector on `config` and waits until it says it is ready; stopped by its own PID. */
async function startCollector(binary: string, directory: string, config: string): Promise<RunningCollector> {
  const configPath = join(directory, 'otelcol.yaml')
  writeFileSync(configPath, config)
  const child = spawn(binary, ['--config', configPath], {
    cwd: directory,
    env: { PATH: process.env.PATH, WRITE_KEY: TEST_WRITE_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-50_000)
  }
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const deadline = Date.now() + 30_000
  while (!output.includes('Everything is ready')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      if (child.exitCode === null) process.kill(child.pid!, 'SIGKILL')
      throw new Error(`the Collector did not start (exit ${child.exitCode}):\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    pid: child.pid!,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      process.kill(child.pid!, 'SIGTERM')
      const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** The binary infra/otelcol/otelcol.sh built (CI exports it as OTELCOL_BIN), else why not. */
function collectorBinary(): { path: string } | { missing: string } {
  const path = process.env.OTELCOL_BIN?.trim()
  if (!path) return { missing: 'OTELCOL_BIN is not set (bash infra/otelcol/otelcol.sh build prints it)' }
  try {
    accessSync(path, constants.X_OK)
  } catch {
    return { missing: `OTELCOL_BIN=${path} is not an executable file (bash infra/otelcol/otelcol.sh build prints it)` }
  }
  return { path }
}

const binary = collectorBinary()
if ('missing' in binary) describeUnavailable(TITLE, 'the OpenTelemetry Collector (OTELCOL_BIN)', binary.missing)
else {
  describe(TITLE, () => {
    let eddy: TestPipeline
    let collector: RunningCollector | undefined
    const directory = temporaryDirectory('otelcol')
    const logFile = join(directory.path, 'app.log')
    // A minute in the past, so the stored time can only have come from the line.
    const firstMs = Date.now() - 60_000
    const written = Array.from({ length: LINES }, (_, index) => line(index, firstMs))

    beforeAll(async () => {
      eddy = await startTestPipeline()
      writeFileSync(logFile, '')
      collector = await startCollector(binary.path, directory.path, collectorConfig(logFile, eddy.url))
    })
    afterAll(async () => {
      await collector?.stop()
      await eddy?.stop()
      directory.remove()
    })

    it(`delivers each of ${LINES} appended lines exactly once, with its fields`, async () => {
      for (let start = 0; start < LINES; start += 50) {
        appendFileSync(logFile, written.slice(start, start + 50).map((entry) => `${JSON.stringify(entry)}\n`).join(''))
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      const clickhouse = await eddy.runtime.clickhouse()
      // No FINAL: a batch delivered twice must show up as two rows, not be merged away.
      const rows = async () => {
        const result = await clickhouse.query({
          query: `SELECT toUnixTimestamp64Milli(ts) AS time, service, level, logger, message, trace_id, span_id, attributes
                  FROM eddy.events_log WHERE service = {s:String} ORDER BY time`,
          query_params: { s: SERVICE },
          format: 'JSONEachRow',
        })
        const stored = await result.json<Omit<ReturnType<typeof row>, 'time'> & { time: string | number }>()
        return stored.map((one) => ({ ...one, time: Number(one.time) }))
      }
      const stored = await eventually(rows, (found) => found.length >= LINES, 60_000)
      expect(stored.length, collector?.output()).toBe(LINES)
      expect(stored).toEqual(written.map(row))
      // The exporter posted to the documented path, not through /v1/logs's OTLP dispatch.
      const metrics = await (await fetch(`${eddy.url}/metrics`)).text()
      expect(metrics).toMatch(/^eddy_ingest_requests_total\{[^}]*route="\/otlp\/v1\/logs"[^}]*status="200"[^}]*\} [1-9]/m)
      // Nothing arrives twice later either (a retried batch carries no id to collapse on).
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      expect((await rows()).length).toBe(LINES)
    })
  })
}
