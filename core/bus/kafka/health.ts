/**
 * Whether produce can currently be acknowledged. Sends report their outcome; a periodic metadata
 * request (cheap, answered by any broker) covers the idle time, because ingest stops sending while
 * the bus is unhealthy and real traffic alone would never show the recovery.
 */
import type { Logger } from 'pino'

export interface HealthOptions {
  readonly probe: () => Promise<void>
  readonly intervalMs: number
  readonly logger: Logger
}

export class Health {
  private ok = false
  private probing = false
  private readonly timer: NodeJS.Timeout

  constructor(private readonly options: HealthOptions) {
    this.timer = setInterval(() => void this.probe(), options.intervalMs)
    // A health probe must never keep the process alive on its own.
    this.timer.unref()
    void this.probe()
  }

  get healthy(): boolean {
    return this.ok
  }

  up(): void {
    if (!this.ok) this.options.logger.info('Kafka reachable; bus healthy')
    this.ok = true
  }

  down(error: unknown): void {
    if (this.ok) this.options.logger.error({ err: error }, 'Kafka unreachable; bus unhealthy')
    this.ok = false
  }

  close(): void {
    clearInterval(this.timer)
  }

  async probe(): Promise<void> {
    if (this.probing) return
    this.probing = true
    try {
      await this.options.probe()
      this.up()
    } catch (error) {
      this.down(error)
    } finally {
      this.probing = false
    }
  }
}
