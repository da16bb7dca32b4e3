import { answerClientError, answerFrameworkError } from './client-errors.ts'
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import type { Logger } from '../logging/logger.ts'

export interface HttpServerOptions {
  readonly logger: Logger
  readonly bodyLimit: number
}

/**
 * The fastify instance every Eddy service is mounted on. Per-request access logs are off: at
 * thousands of requests per second they cost more than they tell; metrics cover that ground.
 */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  return Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit,
    trustProxy: false,
    return503OnClosing: true,
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
  }) as unknown as FastifyInstance
}
