import { readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { writeFileAtomic } from '../../core/bus/embedded/atomic-file.ts'
import type { Checkpoint, CheckpointStore } from './port.ts'

/**
 * Checkpoints as files in the data dir (embedded mode): one file per job and partition, replaced
 * atomically (write temp, fsync, rename, fsync dir) so a crash leaves the old or the new one.
 * Layout: 4-byte header length, JSON header, state bytes.
 */
export class FileCheckpointStore implements CheckpointStore {
  constructor(private readonly directory: string) {}

  async load(job: string, topic: string, partition: number): Promise<Checkpoint | undefined> {
    let bytes: Buffer
    try {
      bytes = readFileSync(this.path(job, topic, partition))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
    const headerLength = bytes.readUInt32BE(0)
    const header = JSON.parse(bytes.subarray(4, 4 + headerLength).toString('utf8')) as Omit<Checkpoint, 'state'>
    return { ...header, state: new Uint8Array(bytes.subarray(4 + headerLength)) }
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    const file = this.path(checkpoint.job, checkpoint.topic, checkpoint.partition)
    await mkdir(dirname(file), { recursive: true })
    const { state, ...header } = checkpoint
    const headerBytes = Buffer.from(JSON.stringify(header))
    const length = Buffer.alloc(4)
    length.writeUInt32BE(headerBytes.length)
    // Off the event loop: the fsyncs wait for the disk, and the processors' thread has batches to run.
    await writeFileAtomic(file, Buffer.concat([length, headerBytes, state]))
  }

  private path(job: string, topic: string, partition: number): string {
    return join(this.directory, encodeURIComponent(job), encodeURIComponent(topic), `${partition}.checkpoint`)
  }
}
