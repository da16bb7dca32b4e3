/**
 * Per-project webhook secrets. They are configuration (proposed: a `webhooks` object on each
 * project in EDDY_PROJECTS), handed to the ingest plugin; a provider without a secret for the
 * project is refused, never accepted unsigned.
 */
export interface ProjectWebhooks {
  /** SendGrid Event Webhook verification key: the base64 (DER/SPKI) ECDSA public key SendGrid shows. */
  readonly sendgrid?: { readonly publicKey: string }
  /** Twilio auth token (the HMAC-SHA1 key of X-Twilio-Signature). */
  readonly twilio?: { readonly authToken: string }
  /** Amazon SNS topics (ARNs) whose SES events this project accepts. */
  readonly sns?: { readonly topicArns: readonly string[] }
}

/** Compatible with a prom-client Counter with labels provider and reason. */
export interface RejectionCounter {
  inc(labels: { provider: string; reason: string }): void
}

/** The default counter: in memory, readable by tests and a future /metrics. */
export class CountingRejections implements RejectionCounter {
  readonly counts = new Map<string, number>()
  inc(labels: { provider: string; reason: string }): void {
    const key = `${labels.provider}:${labels.reason}`
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
  }
  total(provider?: string): number {
    let sum = 0
    for (const [key, count] of this.counts) if (!provider || key.startsWith(`${provider}:`)) sum += count
    return sum
  }
}

export interface WebhookOptions {
  /** Secrets by project id. */
  readonly projects: Readonly<Record<string, ProjectWebhooks>>
  readonly rejections?: RejectionCounter
  /**
   * The public base URL (scheme, host, port) providers call, when Eddy sits behind a proxy:
   * Twilio signs the URL it requested, which Eddy cannot see behind TLS termination.
   */
  readonly publicUrl?: string
  /** PEM of an SNS signing certificate URL; production: fetchSnsCertificate with a cache. */
  readonly snsCertificate?: (url: string) => Promise<string>
  /** Confirms an SNS subscription (GET SubscribeURL); production: confirmSnsSubscription. */
  readonly confirmSnsSubscription?: (subscribeUrl: string) => Promise<void>
}
