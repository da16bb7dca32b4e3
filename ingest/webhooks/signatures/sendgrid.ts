import { createPublicKey, verify, type KeyObject } from 'node:crypto'

const keys = new Map<string, KeyObject>()

/**
 * SendGrid's signed Event Webhook: an ECDSA P-256 / SHA-256 signature (base64, DER) over the
 * `X-Twilio-Email-Event-Webhook-Timestamp` header followed by the raw body, checked against the
 * verification key SendGrid shows (base64 DER SubjectPublicKeyInfo, or PEM).
 */
export function verifySendGridSignature(publicKey: string, signature: string | undefined, timestamp: string | undefined, rawBody: Buffer): boolean {
  if (!signature || !timestamp) return false
  try {
    let key = keys.get(publicKey)
    if (!key) {
      key = publicKey.includes('BEGIN PUBLIC KEY')
        ? createPublicKey(publicKey)
        : createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' })
      keys.set(publicKey, key)
    }
    return verify('sha256', Buffer.concat([Buffer.from(timestamp, 'utf8'), rawBody]), { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'))
  } catch {
    return false
  }
}
