import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyBaseLogger } from 'fastify'
import { clickHouseErrorCode } from '../core/clickhouse/error-code.ts'
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
const TOO_EXPENSIVE = new Set(['158', '159', '160', '167', '168', '306', '307', '396'])
// A value the request carried that ClickHouse cannot take (an unparsable or out-of-range
// parameter, a regular expression that does not compile): the api's own checks let it through,
// but it is still the client's to change, so a 400 rather than a retry.
const REFUSED_VALUE = new Set(['6', '25', '26', '27', '36', '38', '41', '43', '69', '70', '72', '131', '321', '376', '407', '427', '457', '467'])
// The store is busy or unreachable: retrying later helps.
const OVERLOADED = new Set(['202', '209', '210', '241', '439'])

/** The first sentence of ClickHouse's message, without the statement it quotes. */
function summary(error: unknown): string {
  const message = String((error as Error).message)
  return message.split(/\. |: In scope /)[0]!.slice(0, 300)
}

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
      const code = clickHouseErrorCode(error)
      if (code !== undefined && TOO_EXPENSIVE.has(code)) throw new ProblemError(API_PROBLEMS.API_QUERY_TOO_EXPENSIVE, summary(error))
      if (code !== undefined && REFUSED_VALUE.has(code)) throw new ProblemError(API_PROBLEMS.API_VALUE_REFUSED, summary(error))
      if (code !== undefined && !OVERLOADED.has(code)) throw error // a bug in a query: a 500, logged in full
      log.error({ err: error }, 'query failed')
      throw new ProblemError(API_PROBLEMS.API_STORE_UNAVAILABLE, 'the store did not answer', undefined, { 'retry-after': '5' })
    }
  }
}
