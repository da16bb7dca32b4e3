import { ClickHouseError, type ClickHouseClient } from '@clickhouse/client'
import type { FastifyBaseLogger } from 'fastify'
import { ProblemError } from '../core/http/problem.ts'
import { API_PROBLEMS } from './errors.ts'
import type { BuiltQuery } from './queries/sql.ts'

export interface QueryLimits {
  /** ClickHouse stops a query after this long (max_execution_time). */
  readonly maxExecutionSeconds: number
  /** ClickHouse refuses a result longer than this (max_result_rows, overflow mode throw). */
  readonly maxResultRows: number
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = Object.freeze({ maxExecutionSeconds: 10, maxResultRows: 100_000 })

// The query, not the store, is at fault: narrowing it helps, retrying does not.
const TOO_EXPENSIVE = new Set(['158', '159', '160', '307', '396'])
// The store is busy: retrying later helps.
const OVERLOADED = new Set(['202', '241'])

/** Runs built queries with the limits every api query carries, and maps failures to problems. */
export class QueryRunner {
  constructor(private readonly client: ClickHouseClient, private readonly limits: QueryLimits = DEFAULT_QUERY_LIMITS) {}

  async rows<T>(built: BuiltQuery, log: FastifyBaseLogger): Promise<T[]> {
    try {
      const result = await this.client.query({
        query: built.query,
        query_params: built.params,
        format: 'JSONEachRow',
        clickhouse_settings: {
          max_execution_time: this.limits.maxExecutionSeconds,
          max_result_rows: String(this.limits.maxResultRows),
          result_overflow_mode: 'throw',
          // Counts as numbers, not strings: they stay far below 2^53.
          output_format_json_quote_64bit_integers: 0,
        },
      })
      return await result.json<T>()
    } catch (error) {
      if (error instanceof ClickHouseError && TOO_EXPENSIVE.has(error.code)) {
        throw new ProblemError(API_PROBLEMS.API_QUERY_TOO_EXPENSIVE, error.message.split('. ')[0])
      }
      if (error instanceof ClickHouseError && !OVERLOADED.has(error.code)) throw error // a bug in a query: a 500, logged in full
      log.error({ err: error }, 'query failed')
      throw new ProblemError(API_PROBLEMS.API_STORE_UNAVAILABLE, 'the store did not answer', undefined, { 'retry-after': '5' })
    }
  }
}
