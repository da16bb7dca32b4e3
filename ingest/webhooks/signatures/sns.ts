import { createVerify } from 'node:crypto'

export interface SnsEnvelope {
  readonly Type: string
  readonly MessageId: string
  readonly TopicArn: string
  readonly Message: string
  readonly Timestamp: string
  readonly SignatureVersion: string
  readonly Signature: string
  readonly SigningCertURL: string
  readonly Subject?: string
  readonly Token?: string
  readonly SubscribeURL?: string
}

/** Certificates and subscription links are only followed to SNS itself. */
const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/

export function isSnsUrl(url: string, pathSuffix = ''): boolean {
  try {
    const parsed = new URL(url)
    return parsed.protocol === 'https:' && SNS_HOST.test(parsed.hostname) && parsed.pathname.endsWith(pathSuffix)
  } catch {
    return false
  }
}

/** The string SNS signs: named fields, in this order, each as "Name\nvalue\n" (AWS SNS docs). */
export function snsStringToSign(envelope: SnsEnvelope): string {
  const fields = envelope.Type === 'Notification'
    ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
    : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type']
  let text = ''
  for (const field of fields) {
    const value = (envelope as unknown as Record<string, unknown>)[field]
    if (field === 'Subject' && (value === undefined || value === null)) continue
    text += `${field}\n${String(value ?? '')}\n`
  }
  return text
}

/** SignatureVersion 1 is RSA with SHA1, 2 is RSA with SHA256, over snsStringToSign. */
export function verifySnsSignature(envelope: SnsEnvelope, certificatePem: string): boolean {
  const algorithm = envelope.SignatureVersion === '2' ? 'RSA-SHA256' : envelope.SignatureVersion === '1' ? 'RSA-SHA1' : undefined
  if (!algorithm || typeof envelope.Signature !== 'string') return false
  try {
    return createVerify(algorithm).update(snsStringToSign(envelope), 'utf8').verify(certificatePem, envelope.Signature, 'base64')
  } catch {
    return false
  }
}

export class SnsUnavailableError extends Error {}

/**
 * Production certificate resolver: fetches the PEM from SigningCertURL only when it is an https
 * URL on sns.<region>.amazonaws.com ending in .pem, and caches it (SNS rotates certificates
 * rarely, and a cache keeps one fetch per certificate). Tests inject their own resolver.
 */
export function snsCertificateFetcher(options: { fetch?: typeof fetch; timeoutMs?: number } = {}): (url: string) => Promise<string> {
  const cache = new Map<string, Promise<string>>()
  const get = options.fetch ?? fetch
  return (url) => {
    if (!isSnsUrl(url, '.pem')) return Promise.reject(new Error(`SigningCertURL ${url} is not an SNS certificate URL`))
    let pending = cache.get(url)
    if (!pending) {
      pending = get(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 5_000) }).then(async (response) => {
        if (!response.ok) throw new SnsUnavailableError(`fetching ${url} answered ${response.status}`)
        return response.text()
      }).catch((error: unknown) => {
        cache.delete(url)
        throw error instanceof SnsUnavailableError ? error : new SnsUnavailableError(`fetching ${url} failed: ${(error as Error).message}`)
      })
      cache.set(url, pending)
    }
    return pending
  }
}

/** Production subscription confirmation: a GET of SubscribeURL, only on an SNS host. */
export function snsSubscriptionConfirmer(options: { fetch?: typeof fetch; timeoutMs?: number } = {}): (url: string) => Promise<void> {
  const get = options.fetch ?? fetch
  return async (url) => {
    if (!isSnsUrl(url)) throw new Error(`SubscribeURL ${url} is not an SNS URL`)
    const response = await get(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 5_000) }).catch((error: unknown) => {
      throw new SnsUnavailableError(`confirming the subscription failed: ${(error as Error).message}`)
    })
    if (!response.ok) throw new SnsUnavailableError(`confirming the subscription answered ${response.status}`)
  }
}
