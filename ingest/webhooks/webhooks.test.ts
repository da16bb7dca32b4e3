import { generateKeyPairSync, createSign, sign } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { Registry } from 'prom-client'
import { generate } from 'selfsigned'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { KeyRing } from '../../core/auth/keys.ts'
import { AvroCodec } from '../../core/codec/avro-codec.ts'
import { createMetrics } from '../../core/metrics/index.ts'
import { LocalSchemaRegistry } from '../../core/registry/local.ts'
import type { NotificationEvent } from '../../schemas/types.generated.ts'
import { RecordingProducer } from '../../test/support/recording-producer.ts'
import { temporaryDirectory } from '../../test/support/temp-dir.ts'
import { buildIngestApp } from '../app.ts'
import { EventPublisher } from '../publisher.ts'
import { snsCertificateFetcher, snsStringToSign, type SnsEnvelope } from './signatures/sns.ts'
import { twilioSignature } from './signatures/twilio.ts'

const NOW = Date.parse('2026-11-22T12:00:00.000Z')
const TOPICS = { click: 'eddy.clicks', log: 'eddy.logs', notification: 'eddy.notifications' } as const
const WRITE_KEY = 'shop-write-key'
const TWILIO_TOKEN = '12345678901234567890123456789012'
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ses-events'
const CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem'
const config = { ingest: { maxEventBytes: 8_192, maxRequestBytes: 65_536, maxFutureMs: 86_400_000, produceTimeoutMs: 200 }, retentionDays: 30 }
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')

const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
const sendgridPublicKey = sendgridKeys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64')
let snsPrivateKey: string
let snsCertificate: string

const directory = temporaryDirectory('webhooks')
let app: FastifyInstance
let producer: RecordingProducer
let codec: AvroCodec
let registry: Registry
let confirmed: string[]
let certificatesAsked: string[]

beforeAll(async () => {
  codec = await AvroCodec.create(new LocalSchemaRegistry(`${directory.path}/registry.json`), TOPICS)
  const pems = await generate([{ name: 'commonName', value: 'sns.amazonaws.com' }], { keySize: 2048, algorithm: 'sha256' })
  snsPrivateKey = pems.private
  snsCertificate = pems.cert
})
beforeEach(async () => {
  producer = new RecordingProducer()
  registry = new Registry()
  confirmed = []
  certificatesAsked = []
  app = await buildIngestApp({
    config,
    keys: new KeyRing([{ id: 'shop', writeKeys: [WRITE_KEY], readKeys: ['shop-read-key'] }, { id: 'bare', writeKeys: ['bare-write-key'], readKeys: [] }]),
    publisher: new EventPublisher({ producer, codec, topics: TOPICS, timeoutMs: config.ingest.produceTimeoutMs, busHealthy: () => true }),
    logger: pino({ level: 'silent' }),
    clock: () => NOW,
    metrics: createMetrics(registry, { defaults: false }),
    webhooks: {
      projects: { shop: { sendgrid: { publicKey: sendgridPublicKey }, twilio: { authToken: TWILIO_TOKEN }, sns: { topicArns: [TOPIC] } } },
      publicUrl: 'https://eddy.example.com',
      snsCertificate: async (url) => {
        certificatesAsked.push(url)
        return snsCertificate
      },
      confirmSnsSubscription: async (url) => {
        confirmed.push(url)
      },
    },
  })
})
afterAll(() => directory.remove())

/** eddy_webhook_rejections_total as Prometheus scrapes it: `provider:reason` → count. */
async function rejections(): Promise<Record<string, number>> {
  const series = (await registry.metrics()).matchAll(/^eddy_webhook_rejections_total\{provider="(\w+)",reason="(\w+)"\} (\d+)$/gm)
  return Object.fromEntries([...series].map(([, provider, reason, count]) => [`${provider}:${reason}`, Number(count)]))
}

const notifications = (): NotificationEvent[] => producer.sent.map((sent) => {
  const decoded = codec.decode('notification', sent.record.value)
  if (!decoded.ok) throw new Error(decoded.reason)
  return decoded.value
})

describe('SendGrid Event Webhook', () => {
  const body = fixture('sendgrid-events.json')
  const signed = (payload: string, timestamp = '1795348800') => ({
    'content-type': 'application/json',
    'x-twilio-email-event-webhook-timestamp': timestamp,
    'x-twilio-email-event-webhook-signature': sign('sha256', Buffer.from(timestamp + payload), sendgridKeys.privateKey).toString('base64'),
  })
  const post = (payload: string, headers: Record<string, string>, key = WRITE_KEY) => app.inject({ method: 'POST', url: `/webhooks/sendgrid?key=${key}`, payload, headers })

  it('verifies the ECDSA signature and maps every event type; sg_event_id makes a resent batch idempotent', async () => {
    const response = await post(body, signed(body))
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ accepted: 10, ignored: 1, rejected: [] })
    const events = notifications()
    expect(events.map((event) => event.status)).toEqual(['sent', 'queued', 'delivered', 'opened', 'clicked', 'bounced', 'dropped', 'complained', 'unsubscribed', 'delivered'])
    expect(events[0]).toMatchObject({ channel: 'email', provider: 'sendgrid', template: 'cat facts', notification_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.000000000000000000000', ts: Date.parse('2026-11-22T11:59:00Z'), received_at: NOW })
    expect(events[5]).toMatchObject({ error_code: '5.0.0', error_message: '500 unknown recipient', attributes: { bounce_type: 'bounce', provider_event: 'bounce' } })
    expect(events[4]!.attributes.url).toBe('http://www.sendgrid.com/')
    // Custom args name the sender's own notification, user and template.
    expect(events[9]).toMatchObject({ notification_id: 'order-confirmation-41', user_id: 'user-7', template: 'order_confirmation' })
    // Personal data is not kept.
    expect(events[3]!.attributes).not.toHaveProperty('email')
    expect(events[3]!.attributes).not.toHaveProperty('ip')

    await post(body, signed(body, '1795348900'))
    const again = notifications().slice(10).map((event) => event.event_id)
    expect(again).toEqual(events.map((event) => event.event_id))
  })

  it('refuses unsigned, badly signed, tampered and unconfigured requests with 401 and counts them', async () => {
    expect((await post(body, { 'content-type': 'application/json' })).statusCode).toBe(401)
    const headers = signed(body)
    const tampered = await post(body.replace('"delivered"', '"bounce"'), headers)
    expect(tampered.statusCode).toBe(401)
    expect(tampered.json().code).toBe('INGEST_WEBHOOK_SIGNATURE_INVALID')
    expect((await post(body, { ...headers, 'x-twilio-email-event-webhook-signature': 'bm90IGEgc2lnbmF0dXJl' })).statusCode).toBe(401)
    const unconfigured = await post(body, headers, 'bare-write-key')
    expect(unconfigured.statusCode).toBe(401)
    expect(unconfigured.json().code).toBe('INGEST_WEBHOOK_NOT_CONFIGURED')
    expect((await post(body, headers, 'nobody-at-all')).json().code).toBe('INGEST_UNAUTHORIZED')
    expect(await rejections()).toEqual({ 'sendgrid:unsigned': 1, 'sendgrid:invalid': 2, 'sendgrid:not_configured': 1 })
    expect(producer.sent).toHaveLength(0)
  })

  it('answers 400, never 500, for a signed body that is not an event array', async () => {
    for (const payload of ['{"event":"open"}', 'not json']) {
      const response = await post(payload, signed(payload))
      expect(response.statusCode).toBe(400)
    }
  })
})

describe('Twilio status callbacks', () => {
  const post = (payload: string, signature: string | undefined, url = `/webhooks/twilio?key=${WRITE_KEY}`) =>
    app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/x-www-form-urlencoded', ...(signature ? { 'x-twilio-signature': signature } : {}) } })
  const signatureOf = (payload: string, url = `https://eddy.example.com/webhooks/twilio?key=${WRITE_KEY}`) => twilioSignature(TWILIO_TOKEN, url, new URLSearchParams(payload))

  it('verifies the HMAC-SHA1 signature over the public URL and parameters; (MessageSid, MessageStatus) deduplicates', async () => {
    const delivered = fixture('twilio-status-delivered.txt')
    const undelivered = fixture('twilio-status-undelivered.txt')
    expect((await post(delivered, signatureOf(delivered))).statusCode).toBe(200)
    expect((await post(undelivered, signatureOf(undelivered))).statusCode).toBe(200)
    // Signed with the default port spelled out, as some proxies forward it.
    expect((await post(delivered, signatureOf(delivered, `https://eddy.example.com:443/webhooks/twilio?key=${WRITE_KEY}`))).statusCode).toBe(200)
    const [ok, failed, retried] = notifications()
    expect(ok).toMatchObject({ notification_id: 'SM1f0e8ae6ade43cb3c0ce4525424e404f', channel: 'sms', provider: 'twilio', status: 'delivered', ts: NOW, attributes: { messaging_service_sid: 'MGXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX', api_version: '2010-04-01' } })
    expect(ok!.attributes).not.toHaveProperty('to')
    expect(failed).toMatchObject({ status: 'failed', error_code: '30003', attributes: { provider_event: 'undelivered' } })
    expect(retried!.event_id).toBe(ok!.event_id)
  })

  it('refuses a missing or wrong signature, or one for another URL, with 401 and counts them', async () => {
    const delivered = fixture('twilio-status-delivered.txt')
    expect((await post(delivered, undefined)).statusCode).toBe(401)
    expect((await post(delivered, signatureOf(delivered.replace('delivered', 'failed')))).statusCode).toBe(401)
    expect((await post(delivered, signatureOf(delivered, 'https://evil.example.com/webhooks/twilio'))).statusCode).toBe(401)
    expect(await rejections()).toEqual({ 'twilio:unsigned': 1, 'twilio:invalid': 2 })
  })
})

describe('Amazon SES events via SNS', () => {
  const envelope = (fields: Partial<SnsEnvelope> & { Type: string }, version = '1'): SnsEnvelope => {
    const unsigned = {
      MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
      TopicArn: TOPIC,
      Message: '',
      Timestamp: '2026-11-22T11:59:01.500Z',
      SignatureVersion: version,
      SigningCertURL: CERT_URL,
      UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
      ...fields,
    } as SnsEnvelope
    const signature = createSign(version === '2' ? 'RSA-SHA256' : 'RSA-SHA1').update(snsStringToSign(unsigned)).sign(snsPrivateKey, 'base64')
    return { ...unsigned, Signature: signature }
  }
  // SNS posts JSON as text/plain.
  const post = (message: unknown, key = WRITE_KEY) => app.inject({ method: 'POST', url: `/webhooks/ses?key=${key}`, payload: JSON.stringify(message), headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': String((message as Partial<SnsEnvelope>).Type ?? 'Notification') } })

  it('confirms a signed subscription for an allowed topic', async () => {
    const subscribeUrl = `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=2336412f37`
    const response = await post(envelope({ Type: 'SubscriptionConfirmation', Token: '2336412f37', SubscribeURL: subscribeUrl, Message: `You have chosen to subscribe to the topic ${TOPIC}.` }))
    expect(response.statusCode).toBe(200)
    expect(confirmed).toEqual([subscribeUrl])
    expect(certificatesAsked).toEqual([CERT_URL])
  })

  it('maps SES delivery and bounce events (signature versions 1 and 2); the SNS MessageId deduplicates', async () => {
    const delivery = envelope({ Type: 'Notification', Message: fixture('ses-delivery.json') })
    expect((await post(delivery)).statusCode).toBe(200)
    expect((await post(envelope({ Type: 'Notification', MessageId: 'f9d6c1c2-6e3b-4f10-9a0e-2b0c9d5c7e11', Subject: 'Amazon SES Email Event Notification', Message: fixture('ses-bounce.json') }, '2'))).statusCode).toBe(200)
    expect((await post(delivery)).statusCode).toBe(200)
    const [delivered, bounced, again] = notifications()
    expect(delivered).toMatchObject({ notification_id: 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000', channel: 'email', provider: 'ses', status: 'delivered', template: 'welcome', ts: Date.parse('2026-11-22T11:59:00.723Z'), attributes: { 'tag.myCustomTag1': 'myCustomTagValue1' } })
    expect(bounced).toMatchObject({ notification_id: 'welcome-user-7', status: 'bounced', error_code: 'Permanent/General', error_message: 'smtp; 550 5.1.1 user unknown', ts: Date.parse('2026-11-22T11:59:01.000Z') })
    expect(again!.event_id).toBe(delivered!.event_id)
  })

  it('refuses bad signatures, other topics and foreign certificate URLs with 401, counted', async () => {
    const good = envelope({ Type: 'Notification', Message: fixture('ses-delivery.json') })
    expect((await post({ ...good, Message: good.Message.replace('Delivery', 'Bounce') })).statusCode).toBe(401)
    expect((await post(envelope({ Type: 'Notification', TopicArn: 'arn:aws:sns:us-east-1:999999999999:other', Message: '{}' }))).statusCode).toBe(401)
    expect((await post(envelope({ Type: 'Notification', SigningCertURL: 'https://evil.example.com/cert.pem', Message: '{}' }))).statusCode).toBe(401)
    expect((await post({ hello: 'world' })).statusCode).toBe(401)
    expect(await rejections()).toEqual({ 'sns:invalid': 2, 'sns:topic': 1, 'sns:unsigned': 1 })
    expect(producer.sent).toHaveLength(0)
  })

  it('the production certificate resolver only fetches from SNS hosts, once per URL', async () => {
    const fetched: string[] = []
    const resolve = snsCertificateFetcher({ fetch: (async (url: string) => { fetched.push(url); return new Response(snsCertificate) }) as unknown as typeof fetch })
    await expect(resolve('https://sns.us-east-1.amazonaws.com.evil.example/x.pem')).rejects.toThrow(/not an SNS certificate URL/)
    await expect(resolve('http://sns.us-east-1.amazonaws.com/x.pem')).rejects.toThrow(/not an SNS certificate URL/)
    expect(await resolve(CERT_URL)).toBe(snsCertificate)
    expect(await resolve(CERT_URL)).toBe(snsCertificate)
    expect(fetched).toEqual([CERT_URL])
  })
})
