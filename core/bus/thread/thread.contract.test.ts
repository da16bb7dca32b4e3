import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MessageChannel } from 'node:worker_threads'
import { pino } from 'pino'
import { busContract } from '../contract.ts'
import { createEmbeddedBus } from '../embedded/index.ts'
import { threadBus } from './client.ts'
import { serveBus } from './serve.ts'

// The two ends of a MessageChannel in one thread: every call still crosses the port as it would
// between threads (structured clone, asynchronous delivery), so the contract holds across it.
busContract('embedded log served over a MessagePort', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'eddy-thread-bus-'))
  const owned = createEmbeddedBus({ dataDir, logger: pino({ level: 'silent' }), consumerRetryBackoffMs: 50 })
  await owned.ready
  const channel = new MessageChannel()
  const server = serveBus(owned, channel.port1)
  const bus = threadBus(channel.port2, owned.kind)
  return {
    bus,
    async cleanup() {
      await bus.close()
      await server.close()
      channel.port1.close()
      await owned.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
})
