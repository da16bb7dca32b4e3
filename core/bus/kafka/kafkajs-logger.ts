/** Routes kafkajs' own log lines into the pino logger the bus was given. */
import { logLevel, type logCreator } from 'kafkajs'
import type { Logger } from 'pino'

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
      if (level === logLevel.ERROR) logger.error(context, message)
      else if (level === logLevel.WARN) logger.warn(context, message)
      else if (level === logLevel.INFO) logger.info(context, message)
      else logger.debug(context, message)
    }
}
