import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selectableNames } from '../core/metrics/catalog.ts'
import { eventually, startTestPipeline, TEST_WRITE_KEY, type TestPipeline } from '../test/support/pipeline.ts'
import { JSON_DIR, staleDashboards } from './generate.ts'
import { expandQuery, referencedVariables, type QueryContext } from './interpolate.ts'
import { metricNames } from './promql.ts'
import { DASHBOARDS } from './src/index.ts'
import { CLICKHOUSE_PLUGIN, ELASTICSEARCH_REF, ELASTICSEARCH_VARIABLE, PROVISIONED } from './src/datasources.ts'

/**
 * The committed dashboards, checked as Grafana and the datasources would use them: structure,
 * datasources against the provisioning files, every ClickHouse query run against the real engine
 * (chDB) with data that went through the whole pipeline, every PromQL name against the metric
 * catalogue, every Elasticsearch field against the index templates.
 */
interface Ref { type?: string; uid?: string }
interface Aggregation { type: string; id: string; field?: string; settings?: Record<string, unknown> }
interface Target {
  refId: string; datasource?: Ref; rawSql?: string; format?: number; expr?: string
  query?: string; timeField?: string; alias?: string; metrics?: Aggregation[]; bucketAggs?: Aggregation[]
}
interface Panel {
  id: number; type: string; title: string; gridPos?: { x: number; y: number; w: number; h: number }; datasource?: Ref; targets?: Target[]
  transformations?: { id: string; options: { indexByName?: Record<string, number>; include?: { names?: string[] } } }[]
  fieldConfig?: { overrides?: { matcher: { id: string; options: string } }[] }
  panels?: Panel[]
}
interface Variable { type: string; name: string; query?: string | { rawSql?: string; query?: string }; datasource?: Ref; current?: { value: string | string[] }; multi?: boolean; includeAll?: boolean }
interface Dashboard { uid: string; title: string; panels: Panel[]; templating: { list: Variable[] }; time: { from: string; to: string }; refresh: string; schemaVersion: number }

const ROOT = join(import.meta.dirname, '..')
const dashboards = Object.keys(DASHBOARDS).map((name) => JSON.parse(readFileSync(join(JSON_DIR, `${name}.json`), 'utf8')) as Dashboard)
const provisioning = parse(readFileSync(join(ROOT, 'infra/grafana/provisioning/datasources/eddy.yaml'), 'utf8')) as { datasources: { uid: string; type: string; name: string; jsonData?: Record<string, unknown>; secureJsonData?: Record<string, string> }[] }
const provider = parse(readFileSync(join(ROOT, 'infra/grafana/provisioning/dashboards/eddy.yaml'), 'utf8')) as { providers: { type: string; options: { path: string } }[] }
const provisioned = new Map(provisioning.datasources.map((datasource) => [datasource.uid, datasource]))

/** Every panel, those of collapsed rows (nested in the row) included. */
const allPanels = (dashboard: Dashboard) => dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])])
const queryPanels = (dashboard: Dashboard) => allPanels(dashboard).filter((panel) => panel.type !== 'row')
const variableSql = (variable: Variable) => (typeof variable.query === 'string' ? variable.query : variable.query?.rawSql ?? variable.query?.query ?? '')
const isClickHouse = (ref: Ref | undefined) => ref?.type === CLICKHOUSE_PLUGIN

describe('generated dashboards', () => {
  it('are current: dashboards/json is what dashboards/src produces (npm run dashboards)', () => {
    expect(staleDashboards()).toEqual([])
  })

  it('have unique uids and titles, a default time range and refresh', () => {
    expect(new Set(dashboards.map((d) => d.uid)).size).toBe(dashboards.length)
    expect(new Set(dashboards.map((d) => d.title)).size).toBe(dashboards.length)
    for (const dashboard of dashboards) {
      expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/)
      expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39)
      expect(dashboard.time.from).toMatch(/^now-\d+[mhd]$/)
      expect(dashboard.refresh).toMatch(/^\d+[smh]$/)
    }
  })

  for (const dashboard of dashboards) {
    describe(dashboard.title, () => {
      it('lays panels out on the 24-column grid without overlaps, with unique ids', () => {
        const ids = allPanels(dashboard).map((panel) => panel.id)
        expect(new Set(ids).size).toBe(ids.length)
        const boxes = allPanels(dashboard).map((panel) => ({ title: panel.title, ...panel.gridPos! }))
        for (const box of boxes) {
          expect(box.w, box.title).toBeGreaterThan(0)
          expect(box.h, box.title).toBeGreaterThan(0)
          expect(box.x + box.w, box.title).toBeLessThanOrEqual(24)
        }
        for (const [index, a] of boxes.entries()) {
          for (const b of boxes.slice(index + 1)) {
            const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
            expect(overlap, `${a.title} overlaps ${b.title}`).toBe(false)
          }
        }
      })

      it('references datasources that are provisioned, directly or through a datasource variable defaulting to one', () => {
        const variables = new Map(dashboard.templating.list.map((variable) => [variable.name, variable]))
        const resolve = (ref: Ref, where: string) => {
          const variableName = /^\$\{(\w+)\}$/.exec(ref.uid ?? '')?.[1]
          const uid = variableName ? (variables.get(variableName)?.current?.value as string) : ref.uid
          if (variableName) {
            expect(variables.get(variableName)?.type, where).toBe('datasource')
            expect(variables.get(variableName)?.query, where).toBe(ref.type)
          }
          expect(provisioned.get(uid!)?.type, `${where}: ${ref.uid}`).toBe(ref.type)
        }
        for (const panel of queryPanels(dashboard)) {
          resolve(panel.datasource!, panel.title)
          for (const target of panel.targets ?? []) resolve(target.datasource ?? panel.datasource!, `${panel.title}/${target.refId}`)
          expect(panel.targets?.length, panel.title).toBeGreaterThan(0)
        }
        for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) resolve(variable.datasource!, `variable ${variable.name}`)
      })

      it('defines every template variable it uses, before the variables that use it', () => {
        const defined = dashboard.templating.list.map((variable) => variable.name)
        const texts = [
          ...queryPanels(dashboard).flatMap((panel) => [panel.title, panel.datasource?.uid ?? '', ...(panel.targets ?? []).flatMap((t) => [t.rawSql ?? '', t.expr ?? '', t.query ?? '', t.datasource?.uid ?? ''])]),
        ]
        for (const name of texts.flatMap(referencedVariables)) expect(defined, name).toContain(name)
        dashboard.templating.list.forEach((variable, index) => {
          for (const name of referencedVariables(variableSql(variable) + (variable.datasource?.uid ?? ''))) {
            expect(defined.slice(0, index), `${variable.name} uses ${name}`).toContain(name)
          }
        })
      })

      it('filters every ClickHouse query by the project variable, where it has one', () => {
        if (!dashboard.templating.list.some((variable) => variable.name === 'project')) return
        for (const panel of queryPanels(dashboard)) {
          for (const target of (panel.targets ?? []).filter((t) => t.rawSql !== undefined)) expect(target.rawSql, panel.title).toContain('project_id = ${project:singlequote}')
        }
      })
    })
  }
})

describe('provisioning', () => {
  it('provisions the datasources the dashboards default to, the ClickHouse one with the official plugin', () => {
    for (const datasource of Object.values(PROVISIONED)) {
      expect(provisioned.get(datasource.uid), datasource.uid).toMatchObject({ type: datasource.type, name: datasource.name })
    }
    const clickhouse = provisioned.get(PROVISIONED.clickhouse.uid)!
    expect(clickhouse.type).toBe('grafana-clickhouse-datasource')
    expect(clickhouse.jsonData).toMatchObject({ protocol: 'http', port: 8123 })
  })

  it('takes credentials from the environment, never from the file', () => {
    const clickhouse = provisioned.get(PROVISIONED.clickhouse.uid)!
    expect(clickhouse.jsonData?.username).toMatch(/^\$\{\w+\}$/)
    expect(clickhouse.secureJsonData?.password).toMatch(/^\$\{\w+\}$/)
  })

  it('loads the dashboards from files', () => {
    expect(provider.providers).toHaveLength(1)
    expect(provider.providers[0]).toMatchObject({ type: 'file', options: { path: '/var/lib/grafana/dashboards/eddy' } })
  })
})

describe('Prometheus panels', () => {
  const names = selectableNames()
  for (const dashboard of dashboards) {
    it(`${dashboard.title}: reference only metrics of core/metrics/catalog.ts`, () => {
      const expressions = [
        ...queryPanels(dashboard).flatMap((panel) => (panel.targets ?? []).filter((t) => t.expr !== undefined).map((t) => [panel.title, t.expr!] as const)),
        ...dashboard.templating.list.filter((v) => v.datasource?.type === 'prometheus').map((v) => [`variable ${v.name}`, variableSql(v)] as const),
      ]
      for (const [where, expression] of expressions) {
        const used = metricNames(expression)
        expect(used.length, `${where}: ${expression}`).toBeGreaterThan(0)
        for (const name of used) expect(names.has(name), `${where}: ${name} is not in the catalogue`).toBe(true)
      }
    })
  }
})

/**
 * The Elasticsearch index templates (schemas/elasticsearch/*.json) as the panels see them: index
 * patterns with {prefix} = eddy (EDDY_TOPIC_PREFIX's default, the provisioned datasources' too), and
 * every field path with its type: `properties` (nested objects as `a.b`), multi-fields (`message.keyword`),
 * and any key under a `flattened` field (`attributes.region`, a keyword). Fields left out of
 * `_source` (the internal `*_tokens`) count as absent: no panel may use them.
 */
interface IndexTemplate { file: string; patterns: string[]; fields: Map<string, string>; flattened: string[] }
interface Mapping { type?: string; properties?: Record<string, Mapping>; fields?: Record<string, Mapping> }
const TEMPLATE_DIR = join(ROOT, 'schemas/elasticsearch')
const escapeRegex = (text: string) => text.replace(/[.+?^$|()[\]{}\\-]/g, '\\$&')
const globRegex = (glob: string) => new RegExp('^' + glob.split('*').map(escapeRegex).join('.*') + '$')

function readTemplate(file: string): IndexTemplate {
  const template = JSON.parse(readFileSync(join(TEMPLATE_DIR, file), 'utf8')) as {
    index_patterns: string[]; template: { mappings: { properties: Record<string, Mapping>; _source?: { excludes?: string[] } } }
  }
  const { properties, _source } = template.template.mappings
  const excluded = (_source?.excludes ?? []).map(globRegex)
  const fields = new Map<string, string>()
  const flattened: string[] = []
  const walk = (mappings: Record<string, Mapping>, prefix: string) => {
    for (const [name, mapping] of Object.entries(mappings)) {
      const path = `${prefix}${name}`
      if (excluded.some((pattern) => pattern.test(path))) continue
      if (mapping.properties) walk(mapping.properties, `${path}.`)
      fields.set(path, mapping.type ?? 'object')
      for (const [sub, subMapping] of Object.entries(mapping.fields ?? {})) fields.set(`${path}.${sub}`, subMapping.type ?? 'object')
      if (mapping.type === 'flattened') flattened.push(path)
    }
  }
  walk(properties, '')
  return { file, patterns: template.index_patterns.map((pattern) => pattern.replaceAll('{prefix}', 'eddy')), fields, flattened }
}

/** A field's type in a template; a key under a flattened field is a keyword. */
function fieldType(template: IndexTemplate, field: string): string | undefined {
  if (field.includes('*')) {
    const pattern = globRegex(field)
    return [...template.fields.keys()].some((name) => pattern.test(name)) ? 'wildcard' : undefined
  }
  return template.fields.get(field) ?? (template.flattened.some((parent) => field.startsWith(`${parent}.`)) ? 'keyword' : undefined)
}
const KEYWORD = ['keyword', 'constant_keyword']
const DATE = ['date', 'date_nanos']

/**
 * The fields a Lucene query names: `field:…` and `_exists_:field`, outside quoted phrases and
 * escapes, template variables taken as values first (`${search:raw}` is the user's text, not a field).
 */
function luceneFields(query: string): string[] {
  const text = query
    .replace(/\$\{[^}]*\}|\[\[[^\]]*\]\]|\$\w+/g, 'VALUE')
    .replace(/\\./g, ' ')
    .replace(/"[^"]*"/g, '""')
  const fields = new Set<string>()
  for (const [, name] of text.matchAll(/(?<![\w.@*])([A-Za-z_@*][\w.@*]*):/g)) if (name !== '_exists_') fields.add(name!)
  for (const [, name] of text.matchAll(/(?<![\w.@*])_exists_:([\w.@*]+)/g)) fields.add(name!)
  return [...fields]
}

/** Aggregations this Elasticsearch (no painless, no pipeline aggregations but cumulative_sum) can run. */
const METRICS = new Set(['count', 'logs', 'raw_data', 'raw_document', 'avg', 'sum', 'min', 'max', 'cardinality', 'percentiles', 'extended_stats', 'cumulative_sum'])
const BUCKETS = new Set(['date_histogram', 'terms', 'histogram', 'filters'])

describe('Elasticsearch panels against the index templates', () => {
  const templates = readdirSync(TEMPLATE_DIR).filter((file) => file.endsWith('.json')).map(readTemplate)
  const elasticsearchDatasources = provisioning.datasources.filter((datasource) => datasource.type === 'elasticsearch')
  const templateFor = (index: string) => {
    const matching = templates.filter((template) => template.patterns.some((pattern) => globRegex(pattern).test(index)))
    expect(matching.map((template) => template.file), `index ${index}: exactly one template's index_patterns (${templates.map((t) => t.patterns).join(', ')})`).toHaveLength(1)
    return matching[0]!
  }

  it('finds the templates and reads their fields (properties, multi-fields, flattened, minus _source excludes)', () => {
    expect(templates.length).toBeGreaterThan(0)
    for (const template of templates) {
      expect([...template.fields.values()].some((type) => DATE.includes(type)), template.file).toBe(true)
      for (const [field] of template.fields) expect(field, template.file).not.toMatch(/_tokens$/)
    }
    expect(luceneFields('project_id:"$project" AND service:${service:lucene} AND (${search:raw}) AND -_exists_:trace_id AND message:"a:b" AND x\\:y')).toEqual(['project_id', 'service', 'message', 'trace_id'])
  })

  it('provisions each Elasticsearch datasource on one template: index, time, message and level fields', () => {
    expect(elasticsearchDatasources.length).toBeGreaterThan(0)
    for (const datasource of elasticsearchDatasources) {
      const { index, timeField, logMessageField, logLevelField } = datasource.jsonData as Record<string, string>
      const template = templateFor(index!)
      expect(DATE, `${datasource.uid} timeField ${timeField}`).toContain(fieldType(template, timeField!))
      expect(['text', ...KEYWORD], `${datasource.uid} logMessageField ${logMessageField}`).toContain(fieldType(template, logMessageField!))
      expect(KEYWORD, `${datasource.uid} logLevelField ${logLevelField}`).toContain(fieldType(template, logLevelField!))
    }
    for (const datasource of Object.values(PROVISIONED).filter((d) => d.type === 'elasticsearch')) {
      expect(provisioned.get(datasource.uid)?.jsonData?.index, datasource.uid).toBe(datasource.index)
    }
  })

  for (const dashboard of dashboards) {
    const panels = queryPanels(dashboard).filter((panel) => panel.datasource?.type === 'elasticsearch' || panel.targets?.some((t) => t.datasource?.type === 'elasticsearch'))
    const esVariables = dashboard.templating.list.filter((v) => v.datasource?.type === 'elasticsearch')
    if (panels.length === 0 && esVariables.length === 0) continue

    describe(dashboard.title, () => {
      const variables = new Map(dashboard.templating.list.map((variable) => [variable.name, variable]))
      /** The template of the index the datasource variable defaults to. */
      const template = () => {
        const variable = variables.get(ELASTICSEARCH_VARIABLE)
        expect(variable, `datasource variable ${ELASTICSEARCH_VARIABLE}`).toMatchObject({ type: 'datasource', query: 'elasticsearch' })
        const datasource = provisioned.get(variable!.current!.value as string)
        expect(datasource?.type, `${ELASTICSEARCH_VARIABLE} defaults to a provisioned Elasticsearch datasource`).toBe('elasticsearch')
        return templateFor(datasource!.jsonData!.index as string)
      }
      const expectField = (where: string, field: string | undefined, types?: readonly string[]) => {
        const type = fieldType(template(), field ?? '')
        expect(type, `${where}: field ${field} is not in ${template().file}`).toBeDefined()
        if (types) expect(types, `${where}: field ${field} is ${type}`).toContain(type)
      }
      const expectQuery = (where: string, query: string) => {
        for (const field of luceneFields(query)) expectField(`${where} query`, field)
        if (variables.has('project')) expect(query, `${where}: filtered by project`).toContain('project_id:"$project"')
      }

      it('reaches Elasticsearch only through the Elasticsearch datasource variable', () => {
        for (const panel of panels) {
          expect(panel.datasource, panel.title).toEqual(ELASTICSEARCH_REF)
          for (const target of panel.targets ?? []) expect(target.datasource, `${panel.title}/${target.refId}`).toEqual(ELASTICSEARCH_REF)
        }
        for (const variable of esVariables) expect(variable.datasource, variable.name).toEqual(ELASTICSEARCH_REF)
        template()
      })

      it('queries only fields of the index template, each of a type its aggregation accepts (panels and variables)', () => {
        for (const panel of panels) {
          for (const target of panel.targets ?? []) {
            const where = `${panel.title}/${target.refId}`
            expectQuery(where, target.query ?? '')
            if (target.timeField !== undefined) expectField(`${where} timeField`, target.timeField, DATE)
            const metrics = target.metrics ?? []
            expect(metrics.length, where).toBeGreaterThan(0)
            for (const metric of metrics) {
              expect(METRICS, `${where}: metric ${metric.type}`).toContain(metric.type)
              expect(JSON.stringify(metric.settings ?? {}), `${where}: metric ${metric.type} uses a script`).not.toMatch(/script/i)
              if (metric.field !== undefined) expectField(`${where} ${metric.type}`, metric.field)
            }
            const buckets = target.bucketAggs ?? []
            for (const bucket of buckets) {
              expect(BUCKETS, `${where}: bucket aggregation ${bucket.type}`).toContain(bucket.type)
              if (bucket.type === 'date_histogram') expectField(`${where} date_histogram`, bucket.field, DATE)
              if (bucket.type === 'terms') expectField(`${where} terms`, bucket.field, KEYWORD)
              if (bucket.type === 'histogram') expectField(`${where} histogram`, bucket.field)
              for (const filter of (bucket.settings?.filters ?? []) as { query: string }[]) for (const field of luceneFields(filter.query)) expectField(`${where} filters`, field)
            }
            // A time series needs time buckets last (Grafana nests in order); logs and documents have no buckets.
            if (panel.type === 'timeseries') expect(buckets.at(-1)?.type, where).toBe('date_histogram')
            if (metrics.some((m) => ['logs', 'raw_data', 'raw_document'].includes(m.type))) expect(buckets, where).toEqual([])
            for (const [, field] of (target.alias ?? '').matchAll(/\{\{term ([^}]+)\}\}/g)) expect(buckets.map((b) => b.field), `${where} alias`).toContain(field)
          }
          // Tables of documents keep and order _source fields by name.
          for (const transformation of panel.transformations ?? []) {
            const names = [...(transformation.options.include?.names ?? []), ...Object.keys(transformation.options.indexByName ?? {})]
            for (const name of names) expectField(`${panel.title} ${transformation.id}`, name)
          }
        }
        // Query variables on Elasticsearch (`{"find": "terms", "field": …, "query": …}`), if any.
        for (const variable of esVariables) {
          const raw = variable.query as unknown
          const query = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { find?: string; field?: string; query?: string }
          if (query.field !== undefined) expectField(`variable ${variable.name}`, query.field, query.find === 'terms' ? KEYWORD : undefined)
          expectQuery(`variable ${variable.name}`, query.query ?? '')
        }
      })
    })
  }
})

describe('ClickHouse panels against the real engine', () => {
  const MINUTE = 60_000
  const HOUR = 60 * MINUTE
  const B = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR
  const iso = (ms: number) => new Date(ms).toISOString()
  let eddy: TestPipeline
  let clickhouse: ClickHouseClient
  let database: string

  async function send(path: string, body: string, contentType = 'application/json') {
    const response = await fetch(`${eddy.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}`, 'content-type': contentType },
      body,
    })
    expect(response.status, await response.clone().text()).toBe(202)
  }

  const page = (visitor: string, at: number, path: string, country: string, referrer = '') => ({
    type: 'page', anonymousId: visitor, messageId: `${visitor}-${at}`, timestamp: iso(at),
    properties: { url: `https://shop.example${path}?utm_source=news&utm_campaign=launch`, referrer },
    context: { userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0', location: { country } },
  })
  const line = (at: number, service: string, level: string, message: string) => JSON.stringify({ timestamp: iso(at), service, level, message })
  const notification = (id: string, at: number, channel: string, provider: string, status: string, error_code?: string) =>
    ({ notification_id: id, timestamp: iso(at), channel, provider, template: 'welcome', status, ...(error_code ? { error_code } : {}) })

  async function count(sql: string): Promise<number> {
    const rows = await (await clickhouse.query({ query: sql, format: 'JSONEachRow' })).json<{ n: string }>()
    return Number(rows[0]?.n ?? 0)
  }

  beforeAll(async () => {
    eddy = await startTestPipeline()
    clickhouse = await eddy.runtime.clickhouse()
    database = eddy.runtime.config.clickhouse.database
    await send('/v1/batch', JSON.stringify({ batch: [
      page('v1', B + 1 * MINUTE, '/', 'DE', 'https://news.ycombinator.com/'), page('v2', B + 1 * MINUTE + 30_000, '/', 'US'),
      page('v1', B + 2 * MINUTE, '/pricing', 'DE'), page('v3', B + 5 * MINUTE, '/pricing', 'FR', 'https://www.google.com/'),
    ] }))
    const lines: string[] = [line(B + MINUTE, 'checkout', 'info', 'ok'), line(B + MINUTE + 1_000, 'checkout', 'error', 'payment 41 failed'), line(B + 2 * MINUTE, 'api', 'warn', 'slow')]
    // worker: quiet minutes (the anomaly baseline's warm-up), then a minute half errors.
    for (let minute = 10; minute <= 15; minute++) {
      for (let index = 0; index < 20; index++) {
        const failing = minute === 15 && index < 10
        lines.push(line(B + minute * MINUTE + index * 1_000, 'worker', failing ? 'error' : 'info', failing ? `job ${index} crashed` : 'job done'))
      }
    }
    await send('/v1/logs', lines.join('\n'), 'application/x-ndjson')
    await send('/v1/notifications', JSON.stringify([
      notification('n1', B + MINUTE, 'email', 'sendgrid', 'sent'), notification('n1', B + MINUTE + 2_000, 'email', 'sendgrid', 'delivered'),
      notification('n1', B + 2 * MINUTE, 'email', 'sendgrid', 'opened'), notification('n2', B + MINUTE, 'email', 'sendgrid', 'sent'),
      notification('n2', B + MINUTE + 5_000, 'email', 'sendgrid', 'delivered'), notification('n3', B + 2 * MINUTE, 'sms', 'twilio', 'sent'),
      notification('n3', B + 2 * MINUTE + 1_000, 'sms', 'twilio', 'failed', '30003'),
    ]))
    // The present: visitors active now in every partition and a log line, which move the
    // watermarks past the minutes and sessions above so they close.
    const now = Date.now()
    await send('/v1/batch', JSON.stringify({ batch: ['live-0', 'live-1', 'live-2', 'live-3', 'live-4', 'live-5'].map((visitor, index) => page(visitor, now - 5_000 + index, '/live', 'US')) }))
    await send('/v1/logs', line(now, 'worker', 'info', 'job done'), 'application/x-ndjson')

    const ready = [
      `SELECT count() AS n FROM ${database}.clicks_1m FINAL WHERE project_id = 'alpha' AND dimension = 'utm_campaign'`,
      `SELECT count() AS n FROM ${database}.sessions FINAL WHERE project_id = 'alpha' AND is_deleted = 0 AND session_start < now() - INTERVAL 1 HOUR`,
      `SELECT count() AS n FROM ${database}.page_transitions_1h FINAL WHERE project_id = 'alpha'`,
      `SELECT count() AS n FROM ${database}.active_visitors_5m FINAL WHERE project_id = 'alpha' AND window_end = toStartOfMinute(now()) + INTERVAL 1 MINUTE`,
      `SELECT count() AS n FROM ${database}.logs_1m FINAL WHERE project_id = 'alpha' AND service = 'worker'`,
      `SELECT count() AS n FROM ${database}.error_fingerprints_1h FINAL WHERE project_id = 'alpha'`,
      `SELECT count() AS n FROM ${database}.log_anomalies FINAL WHERE project_id = 'alpha'`,
      `SELECT count() AS n FROM ${database}.notifications_1m FINAL WHERE project_id = 'alpha' AND status = 'failed'`,
      `SELECT count() AS n FROM ${database}.notification_lifecycle FINAL WHERE project_id = 'alpha' AND failed_at IS NOT NULL AND opened_at IS NULL`,
      `SELECT count() AS n FROM ${database}.notification_lifecycle FINAL WHERE project_id = 'alpha' AND delivered_to_opened_ms IS NOT NULL`,
    ]
    const counts = await eventually(() => Promise.all(ready.map(count)), (values) => values.every((n) => n > 0), 90_000)
    expect(counts.map((n, index) => [ready[index], n]).filter(([, n]) => n === 0), 'aggregates with no rows').toEqual([])
  }, 150_000)

  afterAll(async () => {
    await eddy?.stop()
  })

  type Column = { name: string; type: string }
  async function run(sql: string): Promise<{ meta: Column[]; data: Record<string, unknown>[] }> {
    const result = await clickhouse.query({ query: sql, format: 'JSON' })
    return (await result.json()) as { meta: Column[]; data: Record<string, unknown>[] }
  }
  const numeric = (type: string) => /^(Nullable\()?(U?Int\d+|Float\d+|Decimal)/.test(type)
  const text = (type: string) => /^(LowCardinality\()?(Nullable\()?String/.test(type)
  const time = (type: string) => /^(Nullable\()?DateTime/.test(type)

  /** The columns each kind of panel binds to (see dashboards/src/panels.ts). */
  function expectColumns(panel: Panel, target: Target, columns: Column[]) {
    const where = `${panel.title}/${target.refId}: ${columns.map((c) => `${c.name} ${c.type}`).join(', ')}`
    const numbers = columns.filter((c) => numeric(c.type))
    switch (panel.type) {
      case 'timeseries':
        expect(target.format, where).toBe(0)
        expect(columns[0]?.name, where).toBe('time')
        expect(time(columns[0]!.type), where).toBe(true)
        expect(numbers.length, where).toBeGreaterThan(0)
        for (const column of columns.slice(1)) expect(numeric(column.type) || text(column.type), where).toBe(true)
        break
      case 'stat':
        expect(columns.length, where).toBeGreaterThan(0)
        for (const column of columns) expect(numeric(column.type), where).toBe(true)
        break
      case 'table': {
        const organized = panel.transformations?.find((t) => t.id === 'organize')?.options.indexByName ?? {}
        expect(Object.keys(organized).length, where).toBeGreaterThan(0)
        for (const name of Object.keys(organized)) expect(columns.map((c) => c.name), where).toContain(name)
        break
      }
      case 'piechart':
      case 'bargauge':
        expect(numbers.length, where).toBeGreaterThan(0)
        for (const column of columns) expect(numeric(column.type) || text(column.type), where).toBe(true)
        break
      case 'logs':
        expect(target.format, where).toBe(2)
        expect(columns.some((c) => time(c.type)), where).toBe(true)
        expect(columns.find((c) => c.name === 'body')?.type, where).toMatch(/String/)
        break
      default:
        throw new Error(`no column expectations for panel type ${panel.type}`)
    }
    for (const override of panel.fieldConfig?.overrides ?? []) {
      if (override.matcher.id === 'byName') expect(columns.map((c) => c.name), `${where}: override ${override.matcher.options}`).toContain(override.matcher.options)
    }
  }

  for (const dashboard of dashboards) {
    const panels = queryPanels(dashboard).filter((panel) => panel.targets?.some((t) => t.rawSql !== undefined))
    if (panels.length === 0) continue
    it(`${dashboard.title}: every query runs and returns the columns its panel expects`, async () => {
      const context = { range: { fromMs: B - 10 * MINUTE, toMs: Date.now() + MINUTE }, intervalMs: MINUTE, variables: {} as Record<string, string | string[]> }
      // Variables first, in order, as Grafana resolves them: project alpha, then All of the others.
      for (const variable of dashboard.templating.list) {
        if (variable.type === 'constant') context.variables[variable.name] = variable.name === 'database' ? database : String(variable.query)
        if (variable.type !== 'query' || !isClickHouse(variable.datasource)) continue
        const result = await run(expandQuery(variableSql(variable), context as QueryContext))
        expect(result.meta, variable.name).toHaveLength(1)
        const values = result.data.map((row) => String(Object.values(row)[0]))
        if (variable.name === 'project') {
          expect(values).toContain('alpha')
          context.variables.project = 'alpha'
        } else {
          expect(values.length, `${variable.name} has values`).toBeGreaterThan(0)
          context.variables[variable.name] = variable.multi ? values : values[0]!
        }
      }
      const empty: string[] = []
      for (const panel of panels) {
        for (const target of panel.targets ?? []) {
          const sql = expandQuery(target.rawSql!, context as QueryContext)
          const result = await run(sql).catch((error: Error) => {
            throw new Error(`${dashboard.title} / ${panel.title}: ${error.message}\n${sql}`)
          })
          expectColumns(panel, target, result.meta)
          if (result.data.length === 0 || result.data.every((row) => Object.values(row).every((value) => value === null || value === 0 || value === '0'))) empty.push(panel.title)
        }
      }
      // Every panel shows some of the data sent above: a wrong filter or join would show nothing.
      expect(empty, 'panels without data').toEqual([])
    }, 60_000)
  }
})
