/** Routes kafkajs' own log lines into the pino logger the bus was given. */
import { createRequire } from 'node:module'
import { logLevel, type logCreator } from 'kafkajs'
import type { Logger } from 'pino'

/**
 * kafkajs logs every failed response at error level, including the ones it retries by itself
 * ("The coordinator is loading", "not the leader for that topic-partition", a rebalance). Those are
 * warnings: nothing failed for the caller. The list comes from kafkajs' own table of protocol errors
 * it marks retriable (an internal module without types, hence require).
 */
const RETRIABLE_MESSAGES: ReadonlySet<string> = new Set(
  (createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as { errorCodes: Array<{ message: string; retriable: boolean }> })
    .errorCodes.filter((code) => code.retriable).map((code) => code.message),
)
const RECOVERING = new Set(['The coordinator is not aware of this member, re-joining the group'])

/** The pino level of a kafkajs error line: warn when kafkajs recovers from it by itself. */
export function errorLevel(message: string, fields: Record<string, unknown>): 'error' | 'warn' {
  if (RECOVERING.has(message)) return 'warn'
  return typeof fields.error === 'string' && RETRIABLE_MESSAGES.has(fields.error) ? 'warn' : 'error'
}

/** The kafkajs level that lets through what pino would print anyway (kafkajs formats before filtering). */
export function kafkajsLevel(logger: Logger): logLevel {
  if (logger.isLevelEnabled('debug')) return logLevel.DEBUG
  if (logger.isLevelEnabled('info')) return logLevel.INFO
  if (logger.isLevelEnabled('warn')) return logLevel.WARN
  if (logger.isLevelEnabled('error')) return logLevel.ERROR
  return logLevel.NOTHING
}

export function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _name, ...fields } = log
      const context = { ...fields, kafkajs: namespace }
      if (level === logLevel.ERROR) logger[errorLevel(message, fields)](context, message)
      else if (level === logLevel.WARN) logger.warn(context, message)
      else if (level === logLevel.INFO) logger.info(context, message)
      else logger.debug(context, message)
    }
}
