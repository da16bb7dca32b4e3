import { ClickHouseError, type ClickHouseClient } from '@clickhouse/client'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { ProblemError } from '../core/http/problem.ts'
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
})
