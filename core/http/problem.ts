/**
 * RFC 9457 problem details. Every error a client sees from ingest or the api is one of these,
 * with a stable `code` from the service's catalogue and, for bad input, the exact fields.
 */
export interface FieldError {
  /** Index of the event in the request (batch position or NDJSON line number, 1-based for lines). */
  readonly event?: number
  /** JSON pointer of the offending field inside the event (or the request). */
  readonly field: string
  readonly reason: string
}

export interface Problem {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly code: string
  readonly detail?: string
  readonly errors?: readonly FieldError[]
  readonly [extension: string]: unknown
}

export interface ProblemDefinition {
  readonly code: string
  readonly status: number
  readonly title: string
  /** What it means and what the client should do; rendered into docs/errors.md. */
  readonly meaning: string
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8'

export class ProblemError extends Error {
  constructor(
    readonly definition: ProblemDefinition,
    readonly detail?: string,
    readonly errors?: readonly FieldError[],
    readonly headers: Readonly<Record<string, string>> = {},
    readonly extensions: Readonly<Record<string, unknown>> = {},
  ) {
    super(detail ?? definition.title)
    this.name = 'ProblemError'
  }

  toProblem(): Problem {
    const { code, status, title } = this.definition
    return {
      type: `https://eddy.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`,
      title,
      status,
      code,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(this.errors?.length ? { errors: this.errors } : {}),
      ...this.extensions,
    }
  }
}

export function defineProblems<const T extends Record<string, Omit<ProblemDefinition, 'code'>>>(definitions: T): { [K in keyof T]: ProblemDefinition } {
  return Object.fromEntries(Object.entries(definitions).map(([code, definition]) => [code, { code, ...definition }])) as never
}

/**
 * The problem each reply answered with, by reply object: onResponse hooks read it to count
 * rejections by code without parsing the body they sent. Weak, so replies are not kept alive.
 */
const answeredProblems = new WeakMap<object, string>()

export function noteProblem(reply: object, code: string): void {
  answeredProblems.set(reply, code)
}

export function problemCodeOf(reply: object): string | undefined {
  return answeredProblems.get(reply)
}
