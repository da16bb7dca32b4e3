import type { ParseArgsConfig } from 'node:util'
import type { Config } from '../core/config/index.ts'
import type { Logger } from '../core/logging/logger.ts'

export type Options = NonNullable<ParseArgsConfig['options']>

export interface CommandContext {
  readonly config: Readonly<Config>
  readonly logger: Logger
  readonly values: Record<string, string | boolean | undefined>
  /** Arguments after the options (file names), for commands that declare `positionals`. */
  readonly positionals?: readonly string[]
  /** Where human-facing output (banners, progress) goes; logs go to the logger. */
  readonly print: (line: string) => void
}

export interface Command {
  readonly name: string
  readonly summary: string
  readonly help: string
  readonly options?: Options
  /** Whether the command generates a development project when none is configured. */
  readonly developmentProject?: boolean
  /** Whether the command takes arguments besides its options (`eddy import FILE…`). */
  readonly positionals?: boolean
  /**
   * Resolves when the command is done; long-running commands resolve on shutdown. A number is
   * the exit code (`eddy import` exits 2 when it refused lines); nothing means 0.
   */
  run(context: CommandContext): Promise<void | number>
}

/** Resolves on the first SIGINT/SIGTERM; a second signal exits at once. */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const onSignal = (signal: string) => {
      process.once('SIGINT', () => process.exit(130))
      process.once('SIGTERM', () => process.exit(143))
      resolve(signal)
    }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
  })
}
