// Which Elasticsearch features work on a node: `node infra/elasticsearch/features.mjs <url>`.
// Prints one Markdown table row per check (the table in README.md is this script's output) and
// exits 1 if a check marked `expect: 'works'` did not work. Everything it creates is named
// eddy-features-* and deleted at the end, except the data stream: without the data-streams module
// nothing can delete one (it goes with the node's data dir).
const url = (process.argv[2] ?? process.env.ELASTICSEARCH_URL ?? '').replace(/\/$/, '')
if (!url) {
  console.error('usage: node features.mjs <elasticsearch url> (or set ELASTICSEARCH_URL)')
  process.exit(2)
}

const P = 'eddy-features'
async function es(method, path, body) {
  const ndjson = Array.isArray(body)
  const response = await fetch(url + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': ndjson ? 'application/x-ndjson' : 'application/json' },
    body: body === undefined ? undefined : ndjson ? body.map((line) => JSON.stringify(line)).join('\n') + '\n' : JSON.stringify(body),
  })
  const text = await response.text()
  let json
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = text
  }
  return { status: response.status, json, headers: response.headers }
}
const reason = (r) => r.json?.error?.root_cause?.[0]?.reason ?? r.json?.error?.reason ?? (typeof r.json?.error === 'string' ? r.json.error : JSON.stringify(r.json).slice(0, 160))
const ok = (r) => r.status >= 200 && r.status < 300

const rows = []
let failed = false
async function check(feature, expect, run) {
  let result, note
  try {
    ;[result, note] = await run()
  } catch (error) {
    ;[result, note] = ['error', error.message]
  }
  if (expect === 'works' && result !== 'works') failed = true
  rows.push(`| ${feature} | ${result} | ${String(note ?? '').replaceAll('|', '\\|').replaceAll('\n', ' ')} |`)
}

const ds = `${P}-ds-${Date.now()}`
const day1 = `${P}-2026.11.21`
const day2 = `${P}-2026.11.22`
const mappings = {
  dynamic: 'strict',
  properties: {
    '@timestamp': { type: 'date' },
    service: { type: 'keyword' },
    level: { type: 'keyword' },
    message: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
    attributes: { type: 'flattened' },
    client_ip: { type: 'ip' },
  },
}
const docs = [
  [day1, 'a1', { '@timestamp': '2026-11-21T10:00:00Z', service: 'api', level: 'error', message: 'User login failed for alice', attributes: { http: { status: '500' }, user: 'alice' }, client_ip: '10.0.0.1' }],
  [day1, 'a2', { '@timestamp': '2026-11-21T11:00:00Z', service: 'api', level: 'info', message: 'User login ok for bob', attributes: { http: { status: '200' } }, client_ip: '10.0.0.2' }],
  [day2, 'b1', { '@timestamp': '2026-11-22T09:00:00Z', service: 'worker', level: 'info', message: 'job done', attributes: { job: 'rollup' }, client_ip: '2001:db8::1' }],
]

await check('`GET /` and `HEAD /` (node info)', 'works', async () => {
  const r = await es('GET', '/')
  const head = await fetch(url + '/', { method: 'HEAD' })
  return ok(r) && head.status === 200 ? ['works', `version ${r.json.version.number}, lucene ${r.json.version.lucene_version} (served by the eddy-rest-root plugin)`] : ['missing', reason(r)]
})
await check('`x-elastic-product: Elasticsearch` header', 'works', async () => {
  const r = await es('GET', '/_cluster/health')
  const value = r.headers.get('x-elastic-product')
  return value === 'Elasticsearch' ? ['works', 'the official clients\' product check passes'] : ['missing', String(value)]
})
await check('component template + composable `_index_template` (settings, explicit mappings, alias)', 'works', async () => {
  const c = await es('PUT', `/_component_template/${P}-settings`, { template: { settings: { number_of_shards: 1, number_of_replicas: 0 } } })
  const t = await es('PUT', `/_index_template/${P}`, { index_patterns: [`${P}-*`], priority: 500, composed_of: [`${P}-settings`], template: { mappings, aliases: { [P]: {} } } })
  return ok(c) && ok(t) ? ['works', 'acknowledged'] : ['missing', reason(ok(c) ? t : c)]
})
await check('`_bulk` with explicit `_id` (`index` and `create`), index auto-created from the template', 'works', async () => {
  const body = docs.flatMap(([index, id, doc]) => [{ index: { _index: index, _id: id } }, doc])
  const r = await es('POST', '/_bulk?refresh=wait_for', body)
  return ok(r) && !r.json.errors && r.json.items.every((item) => item.index._id && item.index.status === 201) ? ['works', '3 × 201, `_id` kept'] : ['missing', JSON.stringify(r.json).slice(0, 200)]
})
await check('mapping from the template: `keyword`, `text` + `.keyword`, `date`, `flattened`, `ip`', 'works', async () => {
  const r = await es('GET', `/${day1}/_mapping`)
  const p = r.json?.[day1]?.mappings?.properties ?? {}
  const types = ['@timestamp', 'service', 'message', 'attributes', 'client_ip'].map((f) => p[f]?.type).join(', ')
  return types === 'date, keyword, text, flattened, ip' && p.message.fields.keyword.type === 'keyword' ? ['works', `${types}; dynamic: strict`] : ['missing', types]
})
await check('`_bulk` per-item errors (`errors: true`, other items still indexed)', 'works', async () => {
  const r = await es('POST', '/_bulk?refresh=wait_for', [
    { create: { _index: day2, _id: 'b1' } }, docs[2][2],
    { index: { _index: day2, _id: 'bad-ip' } }, { '@timestamp': '2026-11-22T09:30:00Z', client_ip: 'not-an-ip' },
    { index: { _index: day2, _id: 'strict' } }, { '@timestamp': '2026-11-22T09:40:00Z', unknown: 1 },
    { index: { _index: day2, _id: 'b2' } }, { '@timestamp': '2026-11-22T09:50:00Z', service: 'worker', level: 'warn', message: 'slow job' },
  ])
  const got = r.json?.items?.map((item) => { const v = Object.values(item)[0]; return `${v.status}${v.error ? ' ' + v.error.type : ''}` })
  const want = ['409 version_conflict_engine_exception', '400 document_parsing_exception', '400 strict_dynamic_mapping_exception', '201']
  return r.status === 200 && r.json.errors === true && JSON.stringify(got) === JSON.stringify(want) ? ['works', got.join('; ')] : ['missing', JSON.stringify(got)]
})
await check('`_count` (alias, with a query)', 'works', async () => {
  const all = await es('GET', `/${P}/_count`)
  const api = await es('POST', `/${P}/_count`, { query: { term: { service: 'api' } } })
  return all.json?.count === 4 && api.json?.count === 2 ? ['works', `${all.json.count} in the alias, ${api.json.count} with service:api`] : ['missing', reason(all)]
})
await check('`simple_query_string` + `highlight`', 'works', async () => {
  const r = await es('POST', `/${P}/_search`, { query: { simple_query_string: { query: 'login +fail*', fields: ['message'], default_operator: 'and' } }, highlight: { fields: { message: {} } } })
  const hit = r.json?.hits?.hits
  return hit?.length === 1 && hit[0]._id === 'a1' && hit[0].highlight.message[0] === 'User <em>login</em> <em>failed</em> for alice' ? ['works', `\`${hit[0].highlight.message[0]}\``] : ['missing', reason(r)]
})
await check('`search_after` with `sort` [`@timestamp` desc, `message.keyword` asc]', 'works', async () => {
  const sort = [{ '@timestamp': 'desc' }, { 'message.keyword': 'asc' }]
  const one = await es('POST', `/${P}/_search`, { size: 2, sort })
  const two = await es('POST', `/${P}/_search`, { size: 2, sort, search_after: one.json.hits.hits.at(-1).sort })
  const ids = [...one.json.hits.hits, ...two.json.hits.hits].map((h) => h._id).join(',')
  return ids === 'b2,b1,a2,a1' ? ['works', `pages ${ids}`] : ['missing', ids]
})
await check('sort on `_id` as the tiebreaker', 'n/a', async () => {
  const r = await es('POST', `/${P}/_search`, { sort: [{ _id: 'asc' }] })
  return ok(r) ? ['works', ''] : ['refused (as in any 8.x)', `${r.status}: ${reason(r)}; use a keyword field or a PIT with \`_shard_doc\``]
})
await check('point in time (`_pit`) + `search_after` on `_shard_doc`', 'works', async () => {
  const pit = await es('POST', `/${P}/_pit?keep_alive=1m`)
  const r = await es('POST', '/_search', { size: 3, pit: { id: pit.json.id, keep_alive: '1m' }, sort: [{ '@timestamp': 'desc' }, { _shard_doc: 'asc' }] })
  await es('DELETE', '/_pit', { id: pit.json.id })
  return ok(r) && r.json.hits.hits.length === 3 ? ['works', ''] : ['missing', reason(r)]
})
await check('`terms` + `date_histogram` (calendar and fixed interval, `extended_bounds`, `min_doc_count: 0`, sub-aggs)', 'works', async () => {
  const r = await es('POST', `/${P}/_search`, {
    size: 0,
    aggs: {
      services: { terms: { field: 'service' } },
      days: { date_histogram: { field: '@timestamp', calendar_interval: '1d' }, aggs: { levels: { terms: { field: 'level' } } } },
      halves: { date_histogram: { field: '@timestamp', fixed_interval: '12h', min_doc_count: 0, extended_bounds: { min: '2026-11-21T00:00:00Z', max: '2026-11-22T23:59:59Z' } } },
    },
  })
  const a = r.json?.aggregations
  const services = a?.services.buckets.map((b) => `${b.key}:${b.doc_count}`).join(' ')
  const halves = a?.halves.buckets.map((b) => b.doc_count).join(',')
  return services === 'api:2 worker:2' && a.days.buckets.length === 2 && halves === '2,0,2,0' ? ['works', `terms ${services}; 12h buckets ${halves}`] : ['missing', reason(r)]
})
await check('`cardinality`, `percentiles`, `composite`, `top_hits`, `min`/`max`', 'works', async () => {
  const r = await es('POST', `/${P}/_search`, { size: 0, aggs: { c: { cardinality: { field: 'service' } }, p: { percentiles: { field: '@timestamp' } }, comp: { composite: { sources: [{ s: { terms: { field: 'service' } } }] } }, t: { top_hits: { size: 1 } }, m: { max: { field: '@timestamp' } } } })
  return ok(r) && r.json.aggregations.c.value === 2 ? ['works', ''] : ['missing', reason(r)]
})
await check('`flattened`: `term` on a sub-key, on the whole object, `terms` agg on a sub-key', 'works', async () => {
  const sub = await es('POST', `/${P}/_search`, { query: { term: { 'attributes.http.status': '500' } } })
  const whole = await es('POST', `/${P}/_search`, { query: { term: { attributes: 'alice' } } })
  const agg = await es('POST', `/${P}/_search`, { size: 0, aggs: { s: { terms: { field: 'attributes.http.status' } } } })
  const keys = agg.json?.aggregations?.s.buckets.map((b) => b.key).join(',')
  return sub.json?.hits?.hits?.[0]?._id === 'a1' && whole.json?.hits?.hits?.[0]?._id === 'a1' && keys === '200,500' ? ['works', `sub-key hit a1; agg keys ${keys}`] : ['missing', reason(sub)]
})
await check('`ip`: `term` with a CIDR, IPv6 value', 'works', async () => {
  const r = await es('POST', `/${P}/_search`, { query: { term: { client_ip: '10.0.0.0/8' } } })
  const v6 = await es('POST', `/${P}/_search`, { query: { term: { client_ip: '2001:db8::/32' } } })
  return r.json?.hits?.hits?.length === 2 && v6.json?.hits?.hits?.length === 1 ? ['works', '10.0.0.0/8 → 2 hits, 2001:db8::/32 → 1'] : ['missing', reason(r)]
})
await check('`match`, `query_string`, `range`, `exists`, `prefix`, `wildcard`, `bool`', 'works', async () => {
  const r = await es('POST', `/${P}/_count`, { query: { bool: { must: [{ match: { message: 'login' } }, { query_string: { query: 'service:api AND level:error' } }], filter: [{ range: { '@timestamp': { gte: '2026-11-21', lt: '2026-11-22' } } }, { exists: { field: 'client_ip' } }, { prefix: { service: 'a' } }, { wildcard: { 'message.keyword': 'User*' } }] } } })
  return r.json?.count === 1 ? ['works', ''] : ['missing', reason(r)]
})
await check('`_msearch`, `_field_caps`, scroll, `_mget`, `GET _doc`, `DELETE _doc`', 'works', async () => {
  const m = await es('POST', '/_msearch', [{ index: P }, { size: 0 }])
  const f = await es('GET', `/${P}/_field_caps?fields=attributes,client_ip`)
  const s = await es('POST', `/${P}/_search?scroll=1m`, { size: 1 })
  await es('DELETE', '/_search/scroll', { scroll_id: s.json._scroll_id })
  const g = await es('GET', `/${day2}/_doc/b2`)
  const d = await es('DELETE', `/${day2}/_doc/b2?refresh=true`)
  const all = [m, f, s, g, d]
  return all.every(ok) && f.json.fields.attributes.flattened ? ['works', ''] : ['missing', reason(all.find((r) => !ok(r)))]
})
await check('aliases: `_aliases` actions, write index + `_rollover`', 'works', async () => {
  const c = await es('PUT', `/${P}-roll-000001`, { aliases: { [`${P}-roll`]: { is_write_index: true } } })
  const r = await es('POST', `/${P}-roll/_rollover`, { conditions: { max_docs: 0 } })
  const a = await es('POST', '/_aliases', { actions: [{ add: { index: day2, alias: `${P}-today` } }, { remove: { index: day2, alias: `${P}-today` } }] })
  return ok(c) && ok(r) && r.json.rolled_over && ok(a) ? ['works', `rolled over to ${r.json.new_index}`] : ['missing', reason(ok(c) ? r : c)]
})
await check('delete an index by name (time-based retention)', 'works', async () => {
  const r = await es('DELETE', `/${day1}`)
  const count = await es('GET', `/${P}/_count`)
  return ok(r) && count.json.count === 1 ? ['works', `${P} alias now counts ${count.json.count}`] : ['missing', reason(r)]
})
await check('delete indices by wildcard', 'n/a', async () => {
  const r = await es('DELETE', `/${P}-2026.*`)
  return ok(r) ? ['works', ''] : ['refused by default', `${reason(r)} (\`action.destructive_requires_name\` is true, as in any 8.x; name the indices, or list them with \`GET _cat/indices/<pattern>\` first)`]
})
await check('`_delete_by_query`', 'missing', async () => {
  const r = await es('POST', `/${P}/_delete_by_query`, { query: { match_all: {} } })
  return ok(r) ? ['works', ''] : ['missing', `${r.status}: ${reason(r)} (reindex module); delete whole indices instead`]
})
await check('`_update_by_query`, `_reindex`', 'missing', async () => {
  const u = await es('POST', `/${P}/_update_by_query`, {})
  const r = await es('POST', '/_reindex', { source: { index: P }, dest: { index: `${P}-copy` } })
  return ok(u) || ok(r) ? ['works', ''] : ['missing', `${u.status} / ${r.status} (reindex module)`]
})
await check('data stream: template with `data_stream: {}`, auto-created by `create`, searched, rolled over', 'works', async () => {
  const t = await es('PUT', `/_index_template/${P}-ds`, { index_patterns: [`${P}-ds*`], data_stream: {}, priority: 600, template: { settings: { number_of_replicas: 0 }, mappings: { properties: { '@timestamp': { type: 'date' }, service: { type: 'keyword' } } } } })
  const b = await es('POST', '/_bulk?refresh=true', [{ create: { _index: ds } }, { '@timestamp': '2026-11-22T10:00:00Z', service: 'x' }, { index: { _index: ds } }, { '@timestamp': '2026-11-22T10:00:00Z', service: 'y' }])
  const c = await es('GET', `/${ds}/_count`)
  const r = await es('POST', `/${ds}/_rollover`)
  const statuses = b.json?.items?.map((item) => Object.values(item)[0].status).join(',')
  return ok(t) && c.json?.count === 1 && ok(r) ? ['works', `bulk create/index → ${statuses} (data streams take \`create\` only); rollover → ${r.json.new_index}`] : ['missing', reason(ok(t) ? b : t)]
})
await check('`_data_stream` API (get, create, delete, lifecycle)', 'missing', async () => {
  const g = await es('GET', `/_data_stream/${ds}`)
  const d = await es('DELETE', `/_data_stream/${ds}`)
  return ok(g) ? ['works', ''] : ['missing', `GET ${g.status}, DELETE ${d.status}: ${reason(g)} (data-streams module): a data stream cannot be listed or deleted, nor its template removed`]
})
await check('ILM (`_ilm/policy`, `index.lifecycle.name`)', 'missing', async () => {
  const p = await es('PUT', `/_ilm/policy/${P}`, { policy: { phases: { delete: { min_age: '7d', actions: { delete: {} } } } } })
  const s = await es('PUT', `/${P}-ilm`, { settings: { 'index.lifecycle.name': P } })
  if (ok(s)) await es('DELETE', `/${P}-ilm`)
  return ok(p) ? ['works', ''] : ['missing', `${p.status}: ${reason(p)}; the setting: ${ok(s) ? 'accepted' : reason(s)}`]
})
await check('painless scripts (`script_fields`, scripted runtime fields, `script_score`)', 'missing', async () => {
  const r = await es('POST', `/${P}/_search`, { script_fields: { x: { script: { source: '1 + 1' } } } })
  return ok(r) ? ['works', ''] : ['missing', `${reason(r)} (lang-painless module)`]
})
await check('runtime field without a script (`runtime_mappings` keyword from `_source`)', 'works', async () => {
  const r = await es('POST', `/${P}/_search`, { runtime_mappings: { svc: { type: 'keyword' } }, size: 0, aggs: { s: { terms: { field: 'svc' } } } })
  return ok(r) ? ['works', ''] : ['missing', reason(r)]
})
await check('`auto_date_histogram`', 'missing', async () => {
  const r = await es('POST', `/${P}/_search`, { size: 0, aggs: { a: { auto_date_histogram: { field: '@timestamp', buckets: 3 } } } })
  return ok(r) ? ['works', ''] : ['missing', `${reason(r)} (aggregations module)`]
})
await check('pipeline aggs `derivative`, `cumulative_sum`, `moving_fn`, `bucket_sort`, `bucket_selector`', 'n/a', async () => {
  const pipelines = {
    derivative: { buckets_path: '_count' },
    cumulative_sum: { buckets_path: '_count' },
    moving_fn: { buckets_path: '_count', window: 2, script: 'MovingFunctions.max(values)' },
    bucket_sort: { size: 1 },
    bucket_selector: { buckets_path: { c: '_count' }, script: 'params.c > 0' },
  }
  const missing = []
  for (const [name, body] of Object.entries(pipelines)) {
    const r = await es('POST', `/${P}/_search`, { size: 0, aggs: { h: { date_histogram: { field: '@timestamp', fixed_interval: '1d' }, aggs: { p: { [name]: body } } } } })
    if (!ok(r)) missing.push(`${name} (${reason(r).replace(/ did you mean.*/, '')})`)
  }
  const working = Object.keys(pipelines).filter((name) => !missing.some((m) => m.startsWith(name + ' ')))
  return missing.length === 0 ? ['works', ''] : ['partly', `${working.join(', ') || 'none'} work(s); missing: ${missing.join('; ')} (aggregations module; compute these client-side)`]
})
for (const type of ['match_only_text', 'wildcard', 'constant_keyword', 'scaled_float', 'unsigned_long']) {
  await check(`field type \`${type}\``, 'n/a', async () => {
    const r = await es('PUT', `/${P}-type`, { mappings: { properties: { f: { type } } } })
    if (ok(r)) await es('DELETE', `/${P}-type`)
    return ok(r) ? ['works', ''] : ['missing', `${type === 'match_only_text' || type === 'scaled_float' ? 'mapper-extras module' : 'x-pack plugin'} not in the distribution`]
  })
}
await check('analyzers `standard`/`simple`/`whitespace`, `lowercase` normalizer', 'works', async () => {
  const rs = await Promise.all(['standard', 'simple', 'whitespace'].map((analyzer) => es('POST', '/_analyze', { analyzer, text: 'Hello World' })))
  const n = await es('PUT', `/${P}-norm`, { settings: { analysis: { normalizer: { lc: { type: 'custom', filter: ['lowercase'] } } } }, mappings: { properties: { k: { type: 'keyword', normalizer: 'lc' } } } })
  await es('DELETE', `/${P}-norm`)
  return rs.every(ok) && ok(n) ? ['works', ''] : ['missing', reason(rs.find((r) => !ok(r)) ?? n)]
})
await check('language analyzers (`english`), `edge_ngram` tokenizer', 'n/a', async () => {
  const r = await es('POST', '/_analyze', { analyzer: 'english', text: 'running' })
  const e = await es('POST', '/_analyze', { tokenizer: { type: 'edge_ngram', min_gram: 1, max_gram: 3 }, text: 'login' })
  return ok(r) && ok(e) ? ['works', ''] : ['missing', `${reason(ok(r) ? e : r)}; ${reason(e)} (analysis-common module)`]
})
await check('ingest pipeline processors (`set`, `rename`, `date`, …)', 'n/a', async () => {
  const r = await es('PUT', `/_ingest/pipeline/${P}`, { processors: [{ set: { field: 'a', value: 'b' } }] })
  if (ok(r)) await es('DELETE', `/_ingest/pipeline/${P}`)
  return ok(r) ? ['works', ''] : ['missing', `${reason(r)} (ingest-common module)`]
})
await check('`_cat/indices`, `_cluster/health`, `_stats`, `_refresh`, close/open', 'works', async () => {
  const all = [await es('GET', '/_cat/indices?format=json'), await es('GET', '/_cluster/health'), await es('GET', `/${P}/_stats/docs`), await es('POST', `/${P}/_refresh`), await es('POST', `/${day2}/_close`), await es('POST', `/${day2}/_open?wait_for_active_shards=1`)]
  return all.every(ok) ? ['works', ''] : ['missing', reason(all.find((r) => !ok(r)))]
})
await check('`GET /_xpack` (feature info)', 'n/a', async () => {
  const r = await es('GET', '/_xpack')
  return ok(r) ? ['works', ''] : ['broken', `${r.status}: ${reason(r)}`]
})

// Clean up (the data stream cannot be deleted: see above).
const indices = await es('GET', `/_cat/indices/${P}-*?format=json&h=index&expand_wildcards=open,closed`)
for (const { index } of indices.json ?? []) if (!index.startsWith('.ds-')) await es('DELETE', `/${index}`)
await es('DELETE', `/_index_template/${P}`)
await es('DELETE', `/_component_template/${P}-settings`)

console.log('| feature | result | detail |\n|---|---|---|\n' + rows.join('\n'))
process.exit(failed ? 1 : 0)
