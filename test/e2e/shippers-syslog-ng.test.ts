import { appendFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { eventually, startTestPipeline, TEST_WRITE_KEY, type TestPipeline } from '../support/pipeline.ts'
import { describeWithSyslogNg, startSyslogNg, type RunningSyslogNg } from '../support/syslog-ng.ts'
import { temporaryDirectory } from '../support/temp-dir.ts'

const LINES = 500
const SERVICE = `syslog-ng-e2e-${process.pid}`

describeWithSyslogNg('a real syslog-ng ships a file to /v1/logs', (binary) => {
  let eddy: TestPipeline
  let syslogNg: RunningSyslogNg | undefined
  const directory = temporaryDirectory('syslog-ng')
  const logFile = join(directory.path, 'app.log')

  beforeAll(async () => {
    eddy = await startTestPipeline()
    writeFileSync(logFile, '')
    // The configuration docs/log-shippers.md shows: NDJSON batches, the key as Basic user name,
    // and ${UNIQID} (persisted per message) as event_id, so a batch syslog-ng resends is stored once.
    syslogNg = await startSyslogNg(binary, directory.path, `@version: 3.38
options { use-uniqid(yes); stats-freq(0); };
source s_app { file("${logFile}" flags(no-parse) follow-freq(0.1)); };
destination d_eddy {
  http(
    url("${eddy.url}/v1/logs")
    method("POST")
    user("${TEST_WRITE_KEY}")
    password("")
    headers("Content-Type: application/x-ndjson")
    body("$(format-json event_id=\${UNIQID} service=${SERVICE} host=\${HOST} level=\${LEVEL} timestamp=\${ISODATE} message=\${MESSAGE})")
    delimiter("\\n")
    batch-lines(100)
    batch-timeout(200)
    workers(2)
  );
};
log { source(s_app); destination(d_eddy); };
`)
  })
  afterAll(async () => {
    await syslogNg?.stop()
    await eddy?.stop()
    directory.remove()
  })

  it(`delivers each of ${LINES} appended lines exactly once`, async () => {
    for (let start = 0; start < LINES; start += 50) {
      appendFileSync(logFile, Array.from({ length: 50 }, (_, offset) => `request ${start + offset} served in ${(start + offset) % 17} ms\n`).join(''))
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const clickhouse = await eddy.runtime.clickhouse()
    const count = async () => {
      const result = await clickhouse.query({
        query: 'SELECT count() AS rows, uniqExact(message) AS messages, uniqExact(event_id) AS ids, min(level) AS level FROM eddy.events_log FINAL WHERE service = {s:String}',
        query_params: { s: SERVICE },
        format: 'JSONEachRow',
      })
      const [row] = await result.json<{ rows: string; messages: string; ids: string; level: string }>()
      return { rows: Number(row!.rows), messages: Number(row!.messages), ids: Number(row!.ids), level: row!.level }
    }
    const counted = await eventually(count, (c) => c.rows >= LINES, 60_000)
    expect(counted, syslogNg?.output()).toEqual({ rows: LINES, messages: LINES, ids: LINES, level: 'info' })
    // Nothing arrives twice later (a resent batch would have the same ids and collapse anyway).
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(await count()).toEqual(counted)
  })
})
