import type { MessagePort } from 'node:worker_threads'
import type { Admin, Batch, BatchHandler, Bus, Consumer, ConsumerOptions, Producer, RebalanceListener, TopicPartition, TopicPartitionOffset } from '../port.ts'
import type { ClientMessage, ServerMessage, WireBatch } from './protocol.ts'
import { answer, Calls } from '../../thread/rpc.ts'
import { BUS_ERRORS } from './rpc.ts'

/**
 * A Bus owned by another thread (serve.ts), used from this one: every produce, consume, commit
 * and admin call is carried over `port`. `kind` is the owner's, so code that asks (the
 * processors' checkpoints, the convergence) behaves as it would beside the bus itself.
 */
export function threadBus(port: MessagePort, kind: Bus['kind']): Bus {
  const calls = new Calls(port, BUS_ERRORS)
  const reply = (id: number, work: () => Promise<unknown>) => answer(port, id, work, BUS_ERRORS)
  const consumers = new Map<number, ThreadConsumer>()
  let healthy = true
  let nextConsumer = 1
  const post = (message: ClientMessage) => port.postMessage(message)

  port.on('message', (message: ServerMessage) => {
    switch (message.kind) {
      case 'reply':
        calls.settle(message)
        return
      case 'health':
        healthy = message.healthy
        return
      case 'batch':
        void reply(message.id, () => consumerOf(message.consumer).deliver(message.batch, message.assignment))
        return
      case 'revoked':
      case 'assigned':
        void reply(message.id, () => consumerOf(message.consumer).rebalanced(message.kind, message.partitions, message.assignment))
    }
  })
  const consumerOf = (id: number) => {
    const consumer = consumers.get(id)
    if (consumer === undefined) throw new Error(`no consumer ${id} in this thread`)
    return consumer
  }

  const producer: Producer = {
    send: (topic, records) => calls.call({ kind: 'send', topic, records: records.map((record) => ({ key: record.key, value: record.value, ...(record.headers ? { headers: record.headers } : {}), ...(record.timestamp !== undefined ? { timestamp: record.timestamp } : {}) })) }),
  }
  const admin: Admin = {
    ensureTopics: (...args) => calls.call({ kind: 'admin', method: 'ensureTopics', args }),
    listTopics: (...args) => calls.call({ kind: 'admin', method: 'listTopics', args }),
    topicOffsets: (...args) => calls.call({ kind: 'admin', method: 'topicOffsets', args }),
    committedOffsets: (...args) => calls.call({ kind: 'admin', method: 'committedOffsets', args }),
  }

  return {
    kind,
    producer: () => producer,
    admin: () => admin,
    healthy: () => healthy,
    consumer(options) {
      const id = nextConsumer++
      const consumer = new ThreadConsumer(id, options, calls, post, () => consumers.delete(id))
      consumers.set(id, consumer)
      return consumer
    },
    async close() {
      await Promise.allSettled([...consumers.values()].map((consumer) => consumer.stop()))
      calls.failAll(new Error('this thread closed its bus'))
      port.close()
    },
  }
}

/** A consumer whose group membership lives in the owning thread; it keeps the assignment the owner last reported. */
class ThreadConsumer implements Consumer {
  private handler?: BatchHandler
  private owned: TopicPartition[] = []
  private readonly created: Promise<unknown>
  private stopping?: Promise<void>

  constructor(
    private readonly id: number,
    options: ConsumerOptions,
    private readonly calls: Calls,
    private readonly post: (message: ClientMessage) => void,
    private readonly forget: () => void,
  ) {
    const { rebalance, ...rest } = options
    this.rebalance = rebalance
    this.created = calls.call({ kind: 'consumer', consumer: id, options: rest })
  }

  private readonly rebalance: RebalanceListener | undefined

  async run(handler: BatchHandler): Promise<void> {
    this.handler = handler
    await this.created
    await this.calls.call({ kind: 'run', consumer: this.id })
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    await this.calls.call({ kind: 'commit', consumer: this.id, offsets })
  }

  seek(position: TopicPartitionOffset): void {
    this.post({ kind: 'seek', consumer: this.id, position })
  }

  pause(partitions: readonly TopicPartition[]): void {
    this.post({ kind: 'pause', consumer: this.id, partitions })
  }

  resume(partitions: readonly TopicPartition[]): void {
    this.post({ kind: 'resume', consumer: this.id, partitions })
  }

  assignment(): TopicPartition[] {
    return [...this.owned]
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.created.catch(() => undefined)
      await this.calls.call({ kind: 'stop', consumer: this.id })
      this.owned = []
      this.forget()
    })()
    return this.stopping
  }

  async deliver(batch: WireBatch, assignment: readonly TopicPartition[]): Promise<void> {
    this.owned = [...assignment]
    const records = batch.records.map((record) => ({ ...record, value: Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength) }))
    await this.handler!({ ...batch, records } satisfies Batch)
  }

  async rebalanced(kind: 'revoked' | 'assigned', partitions: readonly TopicPartition[], assignment: readonly TopicPartition[]): Promise<void> {
    // Revoked: the partitions are still ours while the listener checkpoints them; then gone.
    if (kind === 'assigned') this.owned = unique([...assignment, ...partitions])
    if (kind === 'revoked') await this.rebalance?.onRevoked?.(partitions)
    else await this.rebalance?.onAssigned?.(partitions)
    if (kind === 'revoked') {
      const gone = new Set(partitions.map((p) => `${p.topic}/${p.partition}`))
      this.owned = this.owned.filter((p) => !gone.has(`${p.topic}/${p.partition}`))
    }
  }
}

function unique(partitions: readonly TopicPartition[]): TopicPartition[] {
  return [...new Map(partitions.map((p) => [`${p.topic}/${p.partition}`, p])).values()]
}
