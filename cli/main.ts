import { parseArgs } from 'node:util'
import { ConfigError, loadConfig, type Environment } from '../core/config/index.ts'
import { createLogger } from '../core/logging/logger.ts'
import type { Command } from './command.ts'
import { demoCommand } from './commands/demo.ts'
import { apiCommand, ingestCommand, processCommand } from './commands/distributed.ts'
import { exportCommand } from './commands/export.ts'
import { importCommand } from './commands/import.ts'
import { migrateCommand } from './commands/migrate.ts'
import { reindexCommand } from './commands/reindex.ts'
import { reprocessCommand } from './commands/reprocess.ts'
import { startCommand } from './commands/start.ts'
import { developmentDefaults } from './development-project.ts'

const COMMANDS: readonly Command[] = [
  startCommand, ingestCommand, processCommand, apiCommand, migrateCommand, demoCommand,
  importCommand, exportCommand, reprocessCommand, reindexCommand,
]

const USAGE = `Eddy: a self-hosted real-time analytics pipeline.

Usage: eddy <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}

Run \`eddy <command> --help\` for a command's options. Configuration comes from the environment
(see the README's configuration table).`

export async function main(argv: readonly string[], env: Environment): Promise<number> {
  const [name, ...rest] = argv
  const print = (line: string) => process.stdout.write(`${line}\n`)
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    print(USAGE)
    return name ? 0 : 1
  }
  const command = COMMANDS.find((c) => c.name === name)
  if (!command) {
    process.stderr.write(`eddy: unknown command "${name}"\n\n${USAGE}\n`)
    return 1
  }
  let values: Record<string, string | boolean | undefined>
  let positionals: string[]
  try {
    const parsed = parseArgs({ args: [...rest], options: { help: { type: 'boolean', short: 'h' }, ...command.options }, allowPositionals: command.positionals ?? false })
    values = parsed.values as typeof values
    positionals = parsed.positionals
  } catch (error) {
    process.stderr.write(`eddy ${name}: ${(error as Error).message}\n\n${command.help}\n`)
    return 1
  }
  if (values.help) {
    print(command.help)
    return 0
  }
  let config
  try {
    config = loadConfig(env, command.developmentProject ? developmentDefaults(env.EDDY_DATA_DIR || './data') : undefined)
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`eddy: ${error.message}\n`)
      return 1
    }
    throw error
  }
  const logger = createLogger(config.logLevel, { pretty: process.stdout.isTTY })
  try {
    const code = await command.run({ config, logger, values, positionals, print })
    return typeof code === 'number' ? code : 0
  } catch (error) {
    logger.error({ err: error }, `eddy ${name} failed`)
    process.stderr.write(`eddy ${name}: ${(error as Error).message}\n`)
    return 1
  }
}
