/**
 * The topics of one data dir: metadata in `<log>/<topic>/topic.json`, partitions in
 * `<log>/<topic>/<n>/`.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { BusError, type TopicSpec } from '../port.ts'
import { writeFileAtomic } from './atomic-file.ts'
import { syncDirectory } from './file-io.ts'
import { Partition, type PartitionOptions } from './partition.ts'

export const OFFSETS_DIR = '__consumer_offsets'
const TOPIC_FILE = 'topic.json'
// Kafka's legal topic names, which are also safe directory names.
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/

export interface Topic {
  readonly spec: TopicSpec
  readonly partitions: readonly Partition[]
  /** Round-robin cursor for records without a key. */
  roundRobin: number
}

export interface TopicRegistryOptions {
  readonly logDir: string
  readonly defaultPartitions: number
  readonly partition: PartitionOptions
  readonly logger: Logger
}

export function validateTopicName(name: string): void {
  if (!TOPIC_NAME.test(name) || name === '.' || name === '..' || name === OFFSETS_DIR) {
    throw new BusError(`invalid topic name ${JSON.stringify(name)}: use 1-249 of [a-zA-Z0-9._-]`, false, 'INVALID')
  }
}

export class TopicRegistry {
  private readonly topics = new Map<string, Topic>()
  private readonly creating = new Map<string, Promise<Topic>>()

  constructor(private readonly options: TopicRegistryOptions) {}

  async load(): Promise<void> {
    const entries = await readdir(this.options.logDir, { withFileTypes: true })
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name === OFFSETS_DIR || entry.name.startsWith('.')) continue
      let spec: TopicSpec
      try {
        spec = JSON.parse(await readFile(join(this.options.logDir, entry.name, TOPIC_FILE), 'utf8')) as TopicSpec
      } catch (error) {
        // topic.json is written last when a topic is created: without it creation never finished.
        this.options.logger.warn({ dir: entry.name, err: error }, 'ignoring topic directory without readable topic.json')
        continue
      }
      this.topics.set(spec.topic, await this.openTopic(spec))
    }
  }

  get(name: string): Topic | undefined {
    return this.topics.get(name)
  }

  all(): Topic[] {
    return [...this.topics.values()]
  }

  /**
   * Producing to or subscribing to an unknown topic creates it with the default partition count,
   * as Kafka does with auto.create.topics.enable=true (its default) — so code that works against
   * the embedded log does not start failing on a default-configured broker, or vice versa.
   */
  getOrCreate(name: string): Topic | Promise<Topic> {
    return this.topics.get(name) ?? this.ensure({ topic: name, partitions: this.options.defaultPartitions })
  }

  /** Creates the topic if missing; an existing topic keeps its partitions and retention. */
  ensure(spec: TopicSpec): Promise<Topic> {
    const existing = this.topics.get(spec.topic)
    if (existing !== undefined) return Promise.resolve(existing)
    let pending = this.creating.get(spec.topic)
    if (pending === undefined) {
      pending = this.create(spec).finally(() => this.creating.delete(spec.topic))
      this.creating.set(spec.topic, pending)
    }
    return pending
  }

  /** Callers drain the group commit first: no append may be in flight. */
  async close(): Promise<void> {
    await Promise.all(this.all().flatMap((topic) => topic.partitions.map((partition) => partition.close())))
    this.topics.clear()
  }

  private async create(spec: TopicSpec): Promise<Topic> {
    validateTopicName(spec.topic)
    if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
      throw new BusError(`topic ${spec.topic}: partitions must be a positive integer`, false, 'INVALID')
    }
    const dir = join(this.options.logDir, spec.topic)
    await mkdir(dir, { recursive: true })
    const topic = await this.openTopic(spec)
    await syncDirectory(dir)
    const stored: TopicSpec = {
      topic: spec.topic,
      partitions: spec.partitions,
      ...(spec.retentionMs === undefined ? {} : { retentionMs: spec.retentionMs }),
      ...(spec.retentionBytes === undefined ? {} : { retentionBytes: spec.retentionBytes }),
    }
    await writeFileAtomic(join(dir, TOPIC_FILE), `${JSON.stringify(stored, null, 2)}\n`)
    await syncDirectory(this.options.logDir)
    this.topics.set(spec.topic, topic)
    this.options.logger.info(stored, 'created topic')
    return topic
  }

  private async openTopic(spec: TopicSpec): Promise<Topic> {
    const dir = join(this.options.logDir, spec.topic)
    const partitions = await Promise.all(
      Array.from({ length: spec.partitions }, (_, id) => Partition.open(spec.topic, id, join(dir, String(id)), this.options.partition)),
    )
    return { spec, partitions, roundRobin: 0 }
  }
}
