import { ClickHouseError, type ClickHouseClient } from '@clickhouse/client'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClickHouseClient } from '../core/clickhouse/client.ts'
import { ProblemError } from '../core/http/problem.ts'
import { temporaryDirectory } from '../test/support/temp-dir.ts'
import { QueryRunner } from './store.ts'

const log = pino({ level: 'silent' })
const failing = (error: Error) => ({ query: async () => { throw error } }) as unknown as ClickHouseClient
const code = async (runner: QueryRunner) => {
  try {
    await runner.rows({ query: 'SELECT 1', params: {} }, log)
  } catch (error) {
    if (error instanceof ProblemError) return error.definition.code
    return error instanceof ClickHouseError ? 'rethrown' : 'other'
  }
  return 'ok'
}

describe('QueryRunner', () => {
  it('sends the limits with every query', async () => {
    let settings: unknown
    const client = { query: async (request: { clickhouse_settings: unknown }) => { settings = request.clickhouse_settings; return { json: async () => [] } } } as unknown as ClickHouseClient
    await new QueryRunner(client, { maxExecutionSeconds: 3, maxResultRows: 50 }).rows({ query: 'SELECT 1', params: {} }, log)
    expect(settings).toMatchObject({ max_execution_time: 3, max_result_rows: '50', result_overflow_mode: 'throw' })
  })

  it('a query over its limits is 422, a store that does not answer 503, a broken query a bug', async () => {
    expect(await code(new QueryRunner(failing(new ClickHouseError({ message: 'Timeout exceeded', code: '159', type: 'TIMEOUT_EXCEEDED' }))))).toBe('API_QUERY_TOO_EXPENSIVE')
    expect(await code(new QueryRunner(failing(new ClickHouseError({ message: 'Limit for result exceeded', code: '396', type: 'TOO_MANY_ROWS_OR_BYTES' }))))).toBe('API_QUERY_TOO_EXPENSIVE')
    expect(await code(new QueryRunner(failing(new ClickHouseError({ message: 'Memory limit', code: '241', type: 'MEMORY_LIMIT_EXCEEDED' }))))).toBe('API_STORE_UNAVAILABLE')
    expect(await code(new QueryRunner(failing(new Error('connect ECONNREFUSED'))))).toBe('API_STORE_UNAVAILABLE')
    expect(await code(new QueryRunner(failing(new ClickHouseError({ message: 'Unknown identifier', code: '47', type: 'UNKNOWN_IDENTIFIER' }))))).toBe('rethrown')
  })

  it('a value the store refuses is the request\'s 400, whatever class the error is', async () => {
    expect(await code(new QueryRunner(failing(new ClickHouseError({ message: 'Value inf cannot be parsed as UInt64 for query parameter \'limit\'', code: '457', type: 'BAD_QUERY_PARAMETER' }))))).toBe('API_VALUE_REFUSED')
    // The in-process engine raises its own copy of ClickHouseError: same shape, another class.
    const foreign = Object.assign(new Error('Cannot parse date: value is too short: In scope SELECT toDate(\'x\')'), { code: '38', type: 'CANNOT_PARSE_DATE' })
    expect(await code(new QueryRunner(failing(foreign)))).toBe('API_VALUE_REFUSED')
    const foreignBug = Object.assign(new Error('Unknown identifier'), { code: '47', type: 'UNKNOWN_IDENTIFIER' })
    expect(await code(new QueryRunner(failing(foreignBug)))).toBe('other')
    const foreignBusy = Object.assign(new Error('Too many simultaneous queries'), { code: '202', type: 'TOO_MANY_SIMULTANEOUS_QUERIES' })
    expect(await code(new QueryRunner(failing(foreignBusy)))).toBe('API_STORE_UNAVAILABLE')
  })
})

describe('QueryRunner on the real engine', () => {
  const directory = temporaryDirectory('query-runner')
  let runner: QueryRunner
  let close: () => Promise<void>
  beforeAll(async () => {
    const client = await createClickHouseClient({ dataDir: directory.path, clickhouse: { database: 'eddy' } })
    runner = new QueryRunner(client)
    close = () => client.close()
  })
  afterAll(async () => {
    await close()
    directory.remove()
  })

  it('answers 400 with ClickHouse\'s reason, not the statement, for a parameter it cannot parse', async () => {
    const refused = await runner.rows({ query: 'SELECT number FROM system.numbers LIMIT {limit:UInt64}', params: { limit: 'Infinity' } }, log).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(ProblemError)
    expect((refused as ProblemError).definition.code).toBe('API_VALUE_REFUSED')
    expect((refused as ProblemError).message).toMatch(/Infinity cannot be parsed as UInt64/)
    const date = await runner.rows({ query: 'SELECT toDate({day:String}) AS day', params: { day: 'x' } }, log).catch((error: unknown) => error)
    expect((date as ProblemError).definition.code).toBe('API_VALUE_REFUSED')
    expect((date as ProblemError).message).not.toMatch(/SELECT/)
  })

  it('rethrows a broken query as the bug it is', async () => {
    const broken = await runner.rows({ query: 'SELECT no_such_column FROM system.one', params: {} }, log).catch((error: unknown) => error)
    expect(broken).not.toBeInstanceOf(ProblemError)
  })
})
