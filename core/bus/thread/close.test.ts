import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MessageChannel } from 'node:worker_threads'
import { pino } from 'pino'
import { expect, it } from 'vitest'
import { createEmbeddedBus } from '../embedded/index.ts'
import { threadBus } from './client.ts'
import { serveBus } from './serve.ts'

it('lets go of the using thread’s consumers once its end of the port closes, so the group moves on', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'eddy-thread-bus-close-'))
  const owned = createEmbeddedBus({ dataDir, logger: pino({ level: 'silent' }), consumerRetryBackoffMs: 50 })
  await owned.ready
  const channel = new MessageChannel()
  const server = serveBus(owned, channel.port1)
  try {
    await owned.admin().ensureTopics([{ topic: 't', partitions: 2 }])
    await owned.producer().send('t', [{ key: 'a', value: Buffer.from('1') }, { key: 'b', value: Buffer.from('2') }])
    // A thread that takes a batch and dies with it: the handler never answers.
    const user = threadBus(channel.port2, owned.kind)
    let handed = 0
    const dying = user.consumer({ groupId: 'g', topics: ['t'] })
    void dying.run(async () => {
      handed += 1
      await new Promise(() => {})
    })
    while (handed === 0) await new Promise((resolve) => setTimeout(resolve, 10))
    channel.port2.close()
    // The owner's own member of the group gets every partition, and what was never committed.
    const survivor = owned.consumer({ groupId: 'g', topics: ['t'] })
    const seen: string[] = []
    void survivor.run(async (batch) => {
      for (const record of batch.records) seen.push(String(record.value))
    })
    while (seen.length < 2) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(seen.sort()).toEqual(['1', '2'])
    expect(survivor.assignment()).toHaveLength(2)
    await survivor.stop()
  } finally {
    await server.close()
    channel.port1.close()
    await owned.close()
    await rm(dataDir, { recursive: true, force: true })
  }
}, 30_000)
