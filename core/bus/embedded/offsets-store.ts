/**
 * Committed offsets of consumer groups, one JSON file per group under
 * `<log>/__consumer_offsets/`, replaced atomically. Concurrent commits of one group coalesce into
 * as few file writes as possible; each commit resolves once a write containing it is durable.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { BusError, type TopicPartitionOffset } from '../port.ts'
import { writeFileAtomic } from './atomic-file.ts'

interface GroupState {
  /** topic → partition → next offset to read */
  readonly offsets: Record<string, Record<string, number>>
  version: number
  written: number
  writing: Promise<void> | undefined
}

export class OffsetsStore {
  private readonly groups = new Map<string, Promise<GroupState>>()

  constructor(private readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true })
  }

  async committed(groupId: string, topic: string, partition: number): Promise<number | undefined> {
    const group = await this.group(groupId)
    return group.offsets[topic]?.[String(partition)]
  }

  async list(groupId: string, topic: string): Promise<TopicPartitionOffset[]> {
    const group = await this.group(groupId)
    return Object.entries(group.offsets[topic] ?? {})
      .map(([partition, offset]) => ({ topic, partition: Number(partition), offset }))
      .sort((a, b) => a.partition - b.partition)
  }

  async commit(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    const group = await this.group(groupId)
    for (const { topic, partition, offset } of offsets) {
      if (!Number.isSafeInteger(offset) || offset < 0) {
        throw new BusError(`invalid offset ${offset} for ${topic}/${partition}`, false, 'INVALID')
      }
      ;(group.offsets[topic] ??= {})[String(partition)] = offset
    }
    const target = ++group.version
    while (group.written < target) {
      if (group.writing === undefined) {
        const version = group.version
        group.writing = writeFileAtomic(this.path(groupId), `${JSON.stringify({ groupId, offsets: group.offsets })}\n`)
          .then(() => {
            group.written = Math.max(group.written, version)
          })
          .finally(() => {
            group.writing = undefined
          })
      }
      try {
        await group.writing
      } catch (error) {
        throw new BusError(`could not persist offsets of group ${groupId}`, true, 'NOT_DURABLE', { cause: error })
      }
    }
  }

  private group(groupId: string): Promise<GroupState> {
    let group = this.groups.get(groupId)
    if (group === undefined) {
      group = this.load(groupId)
      this.groups.set(groupId, group)
      group.catch(() => this.groups.delete(groupId))
    }
    return group
  }

  private async load(groupId: string): Promise<GroupState> {
    let offsets: Record<string, Record<string, number>> = {}
    try {
      const stored = JSON.parse(await readFile(this.path(groupId), 'utf8')) as { offsets: typeof offsets }
      offsets = stored.offsets
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    return { offsets, version: 0, written: 0, writing: undefined }
  }

  private path(groupId: string): string {
    // Group ids are free text; encoding keeps them to one safe file name.
    return join(this.dir, `${encodeURIComponent(groupId)}.json`)
  }
}
