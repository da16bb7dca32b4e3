import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPipeline, TEST_READ_KEY, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'
import { describeUnavailable } from '../support/services.ts'

const run = promisify(execFile)

/**
 * Bad input at scale: schemathesis (from PyPI; `bash infra/schemathesis/install.sh` prints its path,
 * CI exports it as SCHEMATHESIS_BIN) generates valid and invalid requests for every operation of an
 * OpenAPI document and checks each answer: no 5xx, no answer slower than 10 s (no hang), only
 * documented status codes and content types (every 4xx is application/problem+json), bodies that
 * match their schemas, 405 for a method an operation does not serve. A fixed seed keeps CI deterministic; EDDY_FUZZ_SEED and EDDY_FUZZ_EXAMPLES
 * explore further.
 */
const BIN = process.env.SCHEMATHESIS_BIN
const SEED = process.env.EDDY_FUZZ_SEED ?? '20261122'
const EXAMPLES = process.env.EDDY_FUZZ_EXAMPLES ?? '25'
const CHECKS = ['not_a_server_error', 'status_code_conformance', 'content_type_conformance', 'response_schema_conformance', 'unsupported_method']
/**
 * The query api also refuses every request its document calls invalid. Node refuses a request
 * line past 16 KB with 431 and fastify a path parameter past its limit with 414 before any route
 * runs: both are refusals. Ingest is left out of this check on purpose: it accepts what its senders
 * send beyond the schema (a stray `writeKey` of another type beside a valid Basic key, an OTLP
 * export with no resourceLogs, Beats' template bodies), as the services it stands in for do.
 */
const REJECTION_CONFIG = `[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "414", "415", "422", "428", "429", "431"]
`

async function fuzz(document: string, headers: Record<string, string>, extraChecks: readonly string[] = []): Promise<{ code: number; output: string }> {
  const directory = mkdtempSync(join(tmpdir(), 'eddy-fuzz-'))
  const config = join(directory, 'schemathesis.toml')
  writeFileSync(config, REJECTION_CONFIG)
  const args = [
    '--config-file', config,
    'run', document,
    '--checks', [...CHECKS, ...extraChecks].join(','),
    '--max-examples', EXAMPLES,
    '--seed', SEED,
    '--generation-database', 'none',
    '--request-timeout', '10',
    '--max-response-time', '10',
    '--no-color',
    ...Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]),
  ]
  try {
    // From the OS temp dir: schemathesis may leave a .schemathesis/ folder where it runs.
    const { stdout, stderr } = await run(BIN!, args, { timeout: 300_000, maxBuffer: 64 * 1024 * 1024, cwd: tmpdir() })
    return { code: 0, output: `${stdout}${stderr}` }
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof failed.code === 'number' ? failed.code : -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` }
  } finally {
    rmSync(directory, { recursive: true, force: true })
  }
}

/** The summary and the failures, without the reproduction curls' megabyte query strings. */
function report(output: string): string {
  return output.split('\n').map((line) => (line.length > 400 ? `${line.slice(0, 400)}…` : line)).join('\n').slice(-20_000)
}

if (!BIN) describeUnavailable('fault: fuzzing every endpoint from its OpenAPI document', 'schemathesis (SCHEMATHESIS_BIN)', 'SCHEMATHESIS_BIN is not set (bash infra/schemathesis/install.sh prints it)')
else describe('fault: fuzzing every endpoint from its OpenAPI document', () => {
  let eddy: TestPipeline
  beforeAll(async () => {
    eddy = await startTestPipeline()
  })
  afterAll(async () => {
    await eddy?.stop()
  })

  it('the query api: no 5xx, no hang, only documented answers, every error a problem', async () => {
    const { code, output } = await fuzz(`${eddy.url}/openapi.json`, { authorization: `Bearer ${TEST_READ_KEY}` }, ['negative_data_rejection'])
    console.log(report(output).split('\n').filter((line) => /generated|passed|failure|Tested|Selected/.test(line)).join('\n'))
    expect(code, report(output)).toBe(0)
  }, 360_000)

  it('ingest: no 5xx, no hang, only documented answers, every error a problem', async () => {
    const document = await fetch(`${eddy.url}/ingest/openapi.json`)
    expect(document.status, 'ingest serves its OpenAPI document').toBe(200)
    const { code, output } = await fuzz(`${eddy.url}/ingest/openapi.json`, { authorization: `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}` })
    console.log(report(output).split('\n').filter((line) => /generated|passed|failure|Tested|Selected/.test(line)).join('\n'))
    expect(code, report(output)).toBe(0)
  }, 360_000)
})
