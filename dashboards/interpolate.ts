/**
 * What Grafana and the ClickHouse plugin do to a panel's rawSql before ClickHouse sees it, so the
 * tests can run the committed queries: Grafana's frontend first replaces template variables
 * ($var, ${var}, ${var:format}, [[var]]) and its global variables ($__from, $__interval, …);
 * the plugin's backend then expands its macros ($__timeFilter(col), $__timeInterval(col), …,
 * mirroring pkg/macros/macros.go of grafana/clickhouse-datasource v4).
 */

export interface TimeRange {
  readonly fromMs: number
  readonly toMs: number
}

export interface QueryContext {
  readonly range: TimeRange
  /** Grafana's $__interval for the panel (range / max data points, rounded). */
  readonly intervalMs: number
  /** Template variable values; a multi-value or "All" selection is an array. */
  readonly variables: Readonly<Record<string, string | readonly string[]>>
}

/** Grafana's variable syntax (public/app/features/variables/utils.ts, variableRegex). */
const VARIABLE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g

/** Replaces template and global variables the way Grafana's template service does. */
export function interpolateVariables(text: string, context: QueryContext): string {
  const globals = globalVariables(context)
  return text.replace(VARIABLE, (match, bare?: string, bracketName?: string, bracketFormat?: string, name?: string, _fieldPath?: string, format?: string) => {
    const variable = bare ?? bracketName ?? name!
    const value = variable in context.variables ? context.variables[variable]! : globals[variable]
    if (value === undefined) return match // not a variable: a plugin macro such as $__timeFilter
    return formatValue(variable, value, bracketFormat ?? format)
  })
}

function globalVariables({ range, intervalMs }: QueryContext): Record<string, string> {
  return {
    __from: String(range.fromMs),
    __to: String(range.toMs),
    __interval: intervalText(intervalMs),
    __interval_ms: String(intervalMs),
    __range_ms: String(range.toMs - range.fromMs),
    __range_s: String(Math.round((range.toMs - range.fromMs) / 1000)),
  }
}

function intervalText(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  return `${ms}ms`
}

/** Grafana's formatters that SQL panels use; anything else is refused so a test notices. */
function formatValue(variable: string, value: string | readonly string[], format: string | undefined): string {
  const values = typeof value === 'string' ? [value] : value
  switch (format) {
    case 'singlequote':
      return values.map((v) => `'${v.replaceAll("'", "\\'")}'`).join(',')
    case 'doublequote':
      return values.map((v) => `"${v.replaceAll('"', '\\"')}"`).join(',')
    case 'sqlstring':
      return values.map((v) => `'${v.replaceAll("'", "''")}'`).join(',')
    case 'csv':
    case 'raw':
      return values.join(',')
    case 'pipe':
      return values.join('|')
    case 'regex':
      return values.length === 1 ? escapeRegex(values[0]!) : `(${values.map(escapeRegex).join('|')})`
    case undefined:
      // Grafana would glob a multi-value ({a,b}), which is not SQL: such a query needs a format.
      if (values.length !== 1) throw new Error(`variable ${variable} has several values and no format (use \${${variable}:singlequote})`)
      return values[0]!
    default:
      throw new Error(`variable ${variable}: format ${format} is not supported by this interpolation`)
  }
}

const escapeRegex = (value: string) => value.replace(/[\\^$*+?.()|[\]{}]/g, '\\$&')

const dateTime = (ms: number) => `toDateTime(${Math.floor(ms / 1000)})`
const dateTime64 = (ms: number) => `fromUnixTimestamp64Milli(${ms})`
const date = (ms: number) => `toDate('${new Date(ms).toISOString().slice(0, 10)}')`

type Macro = (args: string[], context: QueryContext) => string

const oneArgument = (name: string, args: string[]) => {
  if (args.length !== 1) throw new Error(`$__${name} expects 1 argument, received ${args.length}`)
  return args[0]!
}

/** The plugin's macros (grafana/clickhouse-datasource pkg/macros/macros.go). */
export const MACROS: Readonly<Record<string, Macro>> = {
  fromTime: (_args, { range }) => dateTime(range.fromMs),
  toTime: (_args, { range }) => dateTime(range.toMs),
  fromTime_ms: (_args, { range }) => dateTime64(range.fromMs),
  toTime_ms: (_args, { range }) => dateTime64(range.toMs),
  timeFilter: (args, { range }) => {
    const column = oneArgument('timeFilter', args)
    return `${column} >= ${dateTime(range.fromMs)} AND ${column} <= ${dateTime(range.toMs)}`
  },
  timeFilter_ms: (args, { range }) => {
    const column = oneArgument('timeFilter_ms', args)
    return `${column} >= ${dateTime64(range.fromMs)} AND ${column} <= ${dateTime64(range.toMs)}`
  },
  dateFilter: (args, { range }) => {
    const column = oneArgument('dateFilter', args)
    return `${column} >= ${date(range.fromMs)} AND ${column} <= ${date(range.toMs)}`
  },
  dateTimeFilter: (args, { range }) => dateTimeFilter(args, range),
  dt: (args, { range }) => dateTimeFilter(args, range),
  timeInterval: (args, { intervalMs }) => `toStartOfInterval(toDateTime(${oneArgument('timeInterval', args)}), INTERVAL ${Math.max(Math.floor(intervalMs / 1000), 1)} second)`,
  timeInterval_ms: (args, { intervalMs }) => `toStartOfInterval(toDateTime64(${oneArgument('timeInterval_ms', args)}, 3), INTERVAL ${Math.max(intervalMs, 1)} millisecond)`,
  interval_s: (_args, { intervalMs }) => String(Math.max(Math.floor(intervalMs / 1000), 1)),
}

function dateTimeFilter(args: string[], range: TimeRange): string {
  if (args.length !== 2) throw new Error(`$__dateTimeFilter expects 2 arguments, received ${args.length}`)
  const [dateColumn, timeColumn] = args as [string, string]
  return `(${dateColumn} >= ${date(range.fromMs)} AND ${dateColumn} <= ${date(range.toMs)}) AND (${timeColumn} >= ${dateTime(range.fromMs)} AND ${timeColumn} <= ${dateTime(range.toMs)})`
}

/** Expands `$__name` and `$__name(args)` (arguments split at top-level commas, parentheses balanced). */
export function expandMacros(sql: string, context: QueryContext): string {
  let output = ''
  let position = 0
  const pattern = /\$__(\w+)/g
  for (let match = pattern.exec(sql); match; match = pattern.exec(sql)) {
    const name = match[1]!
    const macro = MACROS[name]
    if (!macro) throw new Error(`unknown macro $__${name}`)
    let end = match.index + match[0].length
    let args: string[] = []
    if (sql[end] === '(') {
      const close = matchingParenthesis(sql, end)
      args = splitArguments(sql.slice(end + 1, close))
      end = close + 1
    }
    output += sql.slice(position, match.index) + macro(args, context)
    position = end
    pattern.lastIndex = end
  }
  return output + sql.slice(position)
}

function matchingParenthesis(text: string, open: number): number {
  let depth = 0
  for (let index = open; index < text.length; index++) {
    if (text[index] === '(') depth++
    else if (text[index] === ')' && --depth === 0) return index
  }
  throw new Error(`unbalanced parentheses after position ${open}`)
}

function splitArguments(text: string): string[] {
  const args: string[] = []
  let depth = 0
  let current = ''
  for (const character of text) {
    if (character === ',' && depth === 0) {
      args.push(current.trim())
      current = ''
      continue
    }
    if (character === '(') depth++
    if (character === ')') depth--
    current += character
  }
  if (current.trim() !== '' || args.length > 0) args.push(current.trim())
  return args
}

/** The SQL ClickHouse receives for a panel's rawSql. */
export function expandQuery(rawSql: string, context: QueryContext): string {
  return expandMacros(interpolateVariables(rawSql, context), context)
}

/** Names of the template variables a text references (Grafana's globals, `__*`, excluded). */
export function referencedVariables(text: string): string[] {
  const names = new Set<string>()
  for (const match of text.matchAll(VARIABLE)) {
    const name = match[1] ?? match[2] ?? match[4]!
    if (!name.startsWith('__')) names.add(name)
  }
  return [...names]
}
