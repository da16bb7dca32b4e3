import type { MessagePort } from 'node:worker_threads'
import type { Batch, Bus, Consumer, TopicPartition } from '../port.ts'
import type { ClientMessage, ServerMessage, WireBatch } from './protocol.ts'
import { answer, Calls } from '../../thread/rpc.ts'
import { BUS_ERRORS } from './rpc.ts'

/** How often the owner looks at its bus's health to tell the using thread of a change. */
const HEALTH_POLL_MS = 100

/**
 * Serves a Bus that this thread owns to another thread over `port` (the using side is
 * client.ts). The embedded log has one writer, the thread that opened it, and acknowledges a
 * produce only once fsynced; a thread that processes or ingests reaches it through here, so the
 * log keeps both guarantees whatever thread the work runs on. Consumers made for the port belong
 * to it and stop when it closes.
 */
export function serveBus(bus: Bus, port: MessagePort): { close(): Promise<void> } {
  const calls = new Calls(port, BUS_ERRORS)
  const reply = (id: number, work: () => Promise<unknown>) => answer(port, id, work, BUS_ERRORS)
  const consumers = new Map<number, Consumer>()
  const post = (message: ServerMessage) => port.postMessage(message)
  let healthy = bus.healthy()
  post({ kind: 'health', healthy })
  const health = setInterval(() => {
    if (bus.healthy() === healthy) return
    healthy = !healthy
    post({ kind: 'health', healthy })
  }, HEALTH_POLL_MS)
  health.unref()

  const consumerOf = (id: number) => {
    const consumer = consumers.get(id)
    if (consumer === undefined) throw new Error(`no consumer ${id} on this port`)
    return consumer
  }

  const onMessage = (message: ClientMessage) => {
    switch (message.kind) {
      case 'reply':
        calls.settle(message)
        return
      case 'send':
        void reply(message.id, async () => {
          const records = message.records.map((record) => ({ ...record, value: Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength) }))
          return bus.producer().send(message.topic, records)
        })
        return
      case 'admin':
        void reply(message.id, async () => (bus.admin()[message.method] as (...args: unknown[]) => Promise<unknown>)(...message.args))
        return
      case 'consumer': {
        const id = message.consumer
        const rebalanceCall = (kind: 'revoked' | 'assigned') => async (partitions: readonly TopicPartition[]) => {
          await calls.call({ kind, consumer: id, partitions, assignment: consumers.get(id)?.assignment() ?? [] })
        }
        consumers.set(id, bus.consumer({ ...message.options, rebalance: { onRevoked: rebalanceCall('revoked'), onAssigned: rebalanceCall('assigned') } }))
        void reply(message.id, async () => undefined)
        return
      }
      case 'run': {
        const consumer = consumerOf(message.consumer)
        void reply(message.id, () => consumer.run((batch) => calls.call({ kind: 'batch', consumer: message.consumer, batch: toWire(batch), assignment: consumer.assignment() })))
        return
      }
      case 'commit':
        void reply(message.id, () => consumerOf(message.consumer).commit(message.offsets))
        return
      case 'stop':
        void reply(message.id, async () => {
          await consumers.get(message.consumer)?.stop()
          consumers.delete(message.consumer)
        })
        return
      case 'seek':
        consumers.get(message.consumer)?.seek(message.position)
        return
      case 'pause':
        consumers.get(message.consumer)?.pause(message.partitions)
        return
      case 'resume':
        consumers.get(message.consumer)?.resume(message.partitions)
    }
  }
  port.on('message', onMessage)

  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      clearInterval(health)
      port.off('message', onMessage)
      calls.failAll(new Error('the bus thread closed the port'))
      await Promise.allSettled([...consumers.values()].map((consumer) => consumer.stop()))
      consumers.clear()
    })()
    return closing
  }
  // The using thread gone (it exited or closed its end): its consumers leave their groups, and a
  // batch it was handed fails, uncommitted, rather than waiting for an answer that cannot come.
  port.once('close', () => void close())
  return { close }
}

function toWire(batch: Batch): WireBatch {
  return { topic: batch.topic, partition: batch.partition, highWatermark: batch.highWatermark, records: batch.records }
}
