import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { DEFAULT_MAX_NESTING_DEPTH, deeperThan } from '../../core/http/nesting.ts'
import { ProblemError, type FieldError } from '../../core/http/problem.ts'
import type { NotificationEvent } from '../../schemas/types.generated.ts'
import type { IngestDependencies } from '../dependencies.ts'
import { INGEST_PROBLEMS } from '../errors.ts'
import { assertShallow, tooDeepError } from '../nesting.ts'
import { isObject } from '../normalise/fields.ts'
import { normaliseNotification } from '../normalise/notification.ts'
import { authenticateShipper } from '../shippers/write-key.ts'
import type { ProjectWebhooks, RejectionCounter, WebhookOptions, WebhookProvider, WebhookRejectionReason } from './options.ts'
import type { ProviderEvent } from './provider-event.ts'
import { sendgridEvent } from './sendgrid.ts'
import { sesEvent } from './ses.ts'
import { verifySendGridSignature } from './signatures/sendgrid.ts'
import { isSnsUrl, snsCertificateFetcher, snsSubscriptionConfirmer, SnsUnavailableError, verifySnsSignature, type SnsEnvelope } from './signatures/sns.ts'
import { verifyTwilioSignature } from './signatures/twilio.ts'
import { twilioStatusCallback } from './twilio.ts'

export interface WebhookRouteOptions extends WebhookOptions {
  readonly dependencies: IngestDependencies
  /** eddy_webhook_rejections_total; without it refusals are not counted (tests that do not look). */
  readonly rejections?: RejectionCounter
}

/**
 * Provider webhooks: `POST /webhooks/sendgrid`, `/webhooks/twilio`, `/webhooks/ses` (SNS). The
 * write key (usually `?key=` in the URL the provider is given) names the project; the provider's
 * signature, checked against that project's secret, is what authenticates the request. Unsigned,
 * badly signed, or for a provider the project has not configured: 401, counted by provider and
 * reason in eddy_webhook_rejections_total. Valid events are stored and the rest reported in a 200
 * (a provider resends a batch it got no 2xx for, so one odd event must not make it resend the
 * good ones).
 */
export async function webhookRoutes(app: FastifyInstance, options: WebhookRouteOptions): Promise<void> {
  const { dependencies } = options
  const maxNestingDepth = dependencies.config.ingest.maxNestingDepth ?? DEFAULT_MAX_NESTING_DEPTH
  const rejections: RejectionCounter = options.rejections ?? { inc() {} }
  const certificate = options.snsCertificate ?? snsCertificateFetcher()
  const confirm = options.confirmSnsSubscription ?? snsSubscriptionConfirmer()
  // Signatures cover the exact bytes sent, so bodies are kept raw here and parsed per provider.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))

  const secretsFor = (request: FastifyRequest, provider: WebhookProvider): { projectId: string; secrets: ProjectWebhooks } => {
    const projectId = authenticateShipper(request, dependencies.keys)
    const secrets = options.projects[projectId] ?? {}
    if (!secrets[provider]) {
      rejections.inc({ provider, reason: 'not_configured' })
      throw new ProblemError(INGEST_PROBLEMS.INGEST_WEBHOOK_NOT_CONFIGURED, `no ${provider} webhook secret is configured for this project`)
    }
    return { projectId, secrets }
  }
  const refuse = (provider: WebhookProvider, reason: Exclude<WebhookRejectionReason, 'not_configured'>, detail: string): never => {
    rejections.inc({ provider, reason })
    throw new ProblemError(INGEST_PROBLEMS.INGEST_WEBHOOK_SIGNATURE_INVALID, detail)
  }
  const raw = (request: FastifyRequest): Buffer => (Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0))

  const store = async (reply: FastifyReply, projectId: string, mapped: readonly ProviderEvent[]) => {
    const receivedAt = dependencies.clock()
    const events: NotificationEvent[] = []
    const rejected: FieldError[] = []
    let ignored = 0
    mapped.forEach((item, index) => {
      if (item.ignored) ignored += 1
      else if (item.error || !item.notification) rejected.push({ event: index, field: `/${index}`, reason: item.error ?? 'not an event' })
      else {
        const result = normaliseNotification(item.notification, index, { projectId, receivedAt, bounds: dependencies.timeBounds })
        if (result.ok) events.push(result.event)
        else rejected.push(...result.errors)
      }
    })
    await dependencies.publisher.publish('notification', events)
    return reply.code(200).send({ accepted: events.length, ignored, rejected })
  }

  app.post('/webhooks/sendgrid', async (request, reply) => {
    const { projectId, secrets } = secretsFor(request, 'sendgrid')
    const signature = header(request, 'x-twilio-email-event-webhook-signature')
    const timestamp = header(request, 'x-twilio-email-event-webhook-timestamp')
    if (!signature || !timestamp) refuse('sendgrid', 'unsigned', 'the request carries no X-Twilio-Email-Event-Webhook-Signature and -Timestamp')
    if (!verifySendGridSignature(secrets.sendgrid!.publicKey, signature, timestamp, raw(request))) refuse('sendgrid', 'invalid', 'the SendGrid signature does not match the body')
    const body = parseJson(raw(request), maxNestingDepth)
    if (!Array.isArray(body)) throw new ProblemError(INGEST_PROBLEMS.INGEST_MALFORMED_BODY, 'a SendGrid event webhook body is a JSON array of events')
    return store(reply, projectId, body.map(sendgridEvent))
  })

  app.post('/webhooks/twilio', async (request, reply) => {
    const { projectId, secrets } = secretsFor(request, 'twilio')
    const signature = header(request, 'x-twilio-signature')
    if (!signature) refuse('twilio', 'unsigned', 'the request carries no X-Twilio-Signature')
    const params = new URLSearchParams(raw(request).toString('utf8'))
    const url = `${options.publicUrl ? options.publicUrl.replace(/\/$/, '') : `${request.protocol}://${request.host}`}${request.url}`
    if (!verifyTwilioSignature(secrets.twilio!.authToken, signature, url, params)) refuse('twilio', 'invalid', `the Twilio signature does not match ${url} and the parameters`)
    return store(reply, projectId, [twilioStatusCallback(params)])
  })

  app.post('/webhooks/ses', async (request, reply) => {
    const { projectId, secrets } = secretsFor(request, 'sns')
    const envelope = parseJson(raw(request), maxNestingDepth)
    if (!isObject(envelope) || typeof envelope.Type !== 'string' || typeof envelope.TopicArn !== 'string') {
      refuse('sns', 'unsigned', 'the body is not a signed SNS message')
    }
    const message = envelope as unknown as SnsEnvelope
    if (!secrets.sns!.topicArns.includes(message.TopicArn)) refuse('sns', 'topic', `topic ${message.TopicArn} is not one this project accepts`)
    if (typeof message.SigningCertURL !== 'string' || !isSnsUrl(message.SigningCertURL, '.pem')) refuse('sns', 'invalid', 'SigningCertURL is not an SNS certificate URL')
    let pem: string
    try {
      pem = await certificate(message.SigningCertURL)
    } catch (error) {
      if (error instanceof SnsUnavailableError) throw unavailable(error.message)
      return refuse('sns', 'invalid', (error as Error).message)
    }
    if (!verifySnsSignature(message, pem)) refuse('sns', 'invalid', 'the SNS signature does not match the message')
    if (message.Type === 'SubscriptionConfirmation') {
      if (!message.SubscribeURL) throw new ProblemError(INGEST_PROBLEMS.INGEST_MALFORMED_BODY, 'SubscriptionConfirmation without SubscribeURL')
      try {
        await confirm(message.SubscribeURL)
      } catch (error) {
        if (error instanceof SnsUnavailableError) throw unavailable(error.message)
        throw new ProblemError(INGEST_PROBLEMS.INGEST_MALFORMED_BODY, (error as Error).message)
      }
      return reply.code(200).send({ confirmed: message.TopicArn })
    }
    if (message.Type !== 'Notification') return reply.code(200).send({ accepted: 0, ignored: 1, rejected: [] })
    let ses: unknown
    try {
      ses = JSON.parse(message.Message)
    } catch {
      ses = undefined
    }
    // The SES event is JSON inside the SNS message, so the body's check did not reach into it.
    const tooDeep = deeperThan(ses, maxNestingDepth)
    if (tooDeep) throw new ProblemError(INGEST_PROBLEMS.INGEST_NESTED_TOO_DEEP, `the SES event in Message nests more than ${maxNestingDepth} levels deep; nothing was accepted`, [tooDeepError(tooDeep, maxNestingDepth, 0)])
    return store(reply, projectId, [sesEvent(ses, message.MessageId)])
  })
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name]
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** The raw body (kept as bytes for the signature) as JSON, no deeper than the limit. */
function parseJson(bytes: Buffer, maxNestingDepth: number): unknown {
  let value: unknown
  try {
    value = JSON.parse(bytes.toString('utf8'))
  } catch (error) {
    throw new ProblemError(INGEST_PROBLEMS.INGEST_MALFORMED_BODY, `the body is not valid JSON: ${(error as Error).message}`)
  }
  assertShallow(value, maxNestingDepth)
  return value
}

function unavailable(detail: string): ProblemError {
  return new ProblemError(INGEST_PROBLEMS.INGEST_WEBHOOK_UNAVAILABLE, detail, undefined, { 'retry-after': '30' })
}
