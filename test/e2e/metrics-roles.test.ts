import { afterAll, expect, it } from 'vitest'
import { EddyProcess, freePort } from '../support/eddy-process.ts'
import { eventually } from '../support/pipeline.ts'
import { parseExposition, sampleValue } from '../support/prometheus.ts'
import { describeWithServices } from '../support/services.ts'
import { temporaryDirectory } from '../support/temp-dir.ts'

const WRITE_KEY = 'metrics-roles-write-key'
const READ_KEY = 'metrics-roles-read-key'

// The distributed deployment scrapes each role on its own (infra/prometheus): `eddy ingest`,
// `eddy process` and `eddy api` each serve /metrics with the figures of the part they play.
describeWithServices([{ name: 'kafka', envVar: 'KAFKA_BROKERS' }, { name: 'clickhouse', envVar: 'CLICKHOUSE_URL' }], 'GET /metrics on each role of the distributed deployment', (urls) => {
  const directory = temporaryDirectory('metrics-roles')
  const suffix = String(Date.now())
  const database = `metrics_roles_${suffix}`
  const prefix = `metrics-roles-${suffix}`
  const shared = {
    KAFKA_BROKERS: urls.KAFKA_BROKERS!,
    CLICKHOUSE_URL: urls.CLICKHOUSE_URL!,
    CLICKHOUSE_DATABASE: database,
    EDDY_TOPIC_PREFIX: prefix,
    EDDY_PARTITIONS: '2',
    EDDY_PROJECTS: JSON.stringify([{ id: 'alpha', writeKeys: [WRITE_KEY], readKeys: [READ_KEY] }]),
  }
  const processes: EddyProcess[] = []
  afterAll(async () => {
    for (const process of processes) await process.stop()
    directory.remove()
  }, 120_000)

  it('ingest counts what it accepted, the processors what they inserted and their lag, the api its requests', async () => {
    const start = async (command: string) => {
      const process = new EddyProcess(await freePort(), { ...shared, EDDY_DATA_DIR: `${directory.path}/${command}` }, command)
      processes.push(process)
      await process.start(120_000)
      return process
    }
    // One after the other: processors and api migrate ClickHouse on start.
    const ingest = await start('ingest')
    const processor = await start('process')
    const api = await start('api')
    const scrape = async (process: EddyProcess) => {
      const response = await fetch(`${process.url}/metrics`)
      expect(response.status).toBe(200)
      return parseExposition(await response.text())
    }

    const now = Date.now()
    const batch = Array.from({ length: 7 }, (_, index) => ({ type: 'page', anonymousId: `roles-${index % 3}`, messageId: `roles-${index}`, timestamp: new Date(now - 5_000 + index).toISOString(), properties: { url: `https://shop.example/r${index}` } }))
    const sent = await fetch(`${ingest.url}/v1/batch`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`, 'content-type': 'application/json' }, body: JSON.stringify({ batch }) })
    expect(sent.status).toBe(202)
    const counted = await fetch(`${api.url}/api/v1/events/count?stream=click&from=${new Date(now - 3_600_000).toISOString()}&to=${new Date(now + 60_000).toISOString()}`, { headers: { authorization: `Bearer ${READ_KEY}` } })
    expect(counted.status).toBe(200)

    const ingestScrape = await scrape(ingest)
    expect(sampleValue(ingestScrape, 'eddy_ingest_events_total', { stream: 'click' })).toBe(7)
    expect(sampleValue(ingestScrape, 'eddy_produce_duration_seconds_count', { topic: `${prefix}.clicks` })).toBe(1)
    expect(sampleValue(ingestScrape, 'process_resident_memory_bytes')).toBeGreaterThan(0)

    const processorScrape = await eventually(() => scrape(processor), (s) => (sampleValue(s, 'eddy_sink_batch_rows_sum', { table: `${database}.events_click` }) ?? 0) >= 7
      && sampleValue(s, 'eddy_consumer_lag', { group: `${prefix}-clickstream` }) === 0, 60_000)
    expect(sampleValue(processorScrape, 'eddy_sink_batch_rows_sum', { table: `${database}.events_click` })).toBe(7)
    expect(processorScrape.samples.get('eddy_consumer_lag')!.filter((sample) => sample.labels.group === `${prefix}-clickstream`)).toHaveLength(2)
    expect(sampleValue(processorScrape, 'eddy_window_state_bytes', { job: 'clickstream' })).toBeGreaterThan(0)
    // Not an ingest: it counted no requests.
    expect(sampleValue(processorScrape, 'eddy_ingest_events_total')).toBeUndefined()

    const apiScrape = await scrape(api)
    expect(sampleValue(apiScrape, 'eddy_api_request_duration_seconds_count', { route: '/api/v1/events/count', status: '200' })).toBe(1)
    expect(sampleValue(apiScrape, 'eddy_ingest_events_total')).toBeUndefined()
    expect(sampleValue(apiScrape, 'eddy_sink_batch_rows_sum')).toBeUndefined()
  }, 300_000)
})
