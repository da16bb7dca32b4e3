import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EddyCommand } from '../support/eddy-command.ts'
import { EddyProcess, freePort, postUntilAccepted } from '../support/eddy-process.ts'
import { eventually } from '../support/pipeline.ts'
import { temporaryDirectory } from '../support/temp-dir.ts'

const HOUR = 3_600_000

describe('eddy reprocess while eddy start holds the data dir', () => {
  const directory = temporaryDirectory('reprocess-cli')
  let env: Record<string, string>
  let eddy: EddyProcess

  beforeAll(async () => {
    const port = await freePort()
    env = { EDDY_DATA_DIR: directory.path, PORT: String(port), HOST: '127.0.0.1' }
    eddy = new EddyProcess(port, env)
    await eddy.start()
  }, 90_000)

  afterAll(async () => {
    await eddy?.stop()
    directory.remove()
  })

  it('runs inside the running process through its operator endpoint, with progress and a summary', async () => {
    const { writeKeys } = JSON.parse(readFileSync(join(directory.path, 'development-project.json'), 'utf8')) as { writeKeys: string[] }
    const operatorKey = readFileSync(join(directory.path, 'development-operator-key'), 'utf8').trim()
    const at = Date.now() - 2 * HOUR
    const batch = Array.from({ length: 40 }, (_, index) => ({ type: 'page', messageId: `cli-${index}`, anonymousId: `v${index % 7}`, timestamp: new Date(at + index * 1_000).toISOString(), properties: { url: `https://shop.example/p${index % 3}` } }))
    await postUntilAccepted(`${eddy.url}/v1/batch`, { batch }, writeKeys[0]!)
    // The processors have stored the pageviews: nothing lags on the health.
    await eventually(async () => (await (await fetch(`${eddy.url}/api/v1/pipeline/health`, { headers: { authorization: `Bearer ${operatorKey}` } })).json()) as { lag: number; jobs: { position: number }[] },
      (health) => health.lag === 0 && health.jobs.some((job) => job.position > 0), 60_000)

    const command = new EddyCommand(['reprocess', '--from', new Date(at - HOUR).toISOString(), '--to', new Date(at + HOUR).toISOString(), '--stream', 'click'], env)
    const { code } = await command.exited
    expect(command.stderr).toContain(`running inside the Eddy process at http://127.0.0.1:${eddy.port}`)
    expect(code, command.stderr).toBe(0)
    expect(command.stdout).toMatch(/reprocess finished/)
    expect(command.stdout).toMatch(/click: 40 events in \d+ slices/)
  }, 120_000)
})
