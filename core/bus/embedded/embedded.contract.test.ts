import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { busContract } from '../contract.ts'
import { createEmbeddedBus } from './index.ts'

busContract('embedded log', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'eddy-bus-contract-'))
  const bus = createEmbeddedBus({ dataDir, logger: pino({ level: 'silent' }), consumerRetryBackoffMs: 50 })
  await bus.ready
  return {
    bus,
    async cleanup() {
      await bus.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
})
