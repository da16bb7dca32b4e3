/**
 * Whether produce can be acknowledged. A failed append marks its partition unhealthy; it turns
 * healthy again on its next durable append, or when a periodic probe (a small fsynced write in the
 * data dir, plus cutting the failed tail) succeeds. The probe matters because ingest stops sending
 * while the bus is unhealthy, so waiting for real traffic alone would never recover.
 */
import { open, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { Partition } from './partition.ts'
import type { Scheduler } from './scheduler.ts'

const PROBE_BYTES = 64 * 1024

export interface HealthOptions {
  readonly logDir: string
  readonly scheduler: Scheduler
  readonly probeIntervalMs: number
  readonly logger: Logger
}

export class Health {
  private readonly failing = new Set<Partition>()
  private cancelProbe: (() => void) | undefined
  private probing = false

  constructor(private readonly options: HealthOptions) {}

  get healthy(): boolean {
    return this.failing.size === 0
  }

  failed(partition: Partition, error: unknown): void {
    if (!this.failing.has(partition)) {
      this.options.logger.error({ err: error, topic: partition.topic, partition: partition.id }, 'append failed; bus unhealthy')
    }
    this.failing.add(partition)
    this.cancelProbe ??= this.options.scheduler.every(this.options.probeIntervalMs, () => void this.probe())
  }

  durable(partition: Partition): void {
    if (this.failing.delete(partition) && this.failing.size === 0) this.recovered()
  }

  close(): void {
    this.cancelProbe?.()
    this.cancelProbe = undefined
  }

  async probe(): Promise<void> {
    if (this.probing || this.failing.size === 0) return
    this.probing = true
    try {
      await writeProbe(join(this.options.logDir, '.probe'))
      for (const partition of [...this.failing]) {
        await partition.repair()
        this.failing.delete(partition)
      }
      this.recovered()
    } catch (error) {
      this.options.logger.debug({ err: error }, 'health probe failed')
    } finally {
      this.probing = false
    }
  }

  private recovered(): void {
    this.close()
    this.options.logger.info('appends durable again; bus healthy')
  }
}

async function writeProbe(path: string): Promise<void> {
  const handle = await open(path, 'w')
  try {
    await handle.write(Buffer.alloc(PROBE_BYTES))
    await handle.datasync()
  } finally {
    await handle.close()
    await unlink(path).catch(() => undefined)
  }
}
