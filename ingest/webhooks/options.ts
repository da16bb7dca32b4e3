/**
 * Per-project webhook secrets: the `webhooks` object of each project in EDDY_PROJECTS
 * (core/config), handed to the ingest plugin; a provider without a secret for the project is
 * refused, never accepted unsigned.
 */
export interface ProjectWebhooks {
  /** SendGrid Event Webhook verification key: the base64 (DER/SPKI) ECDSA public key SendGrid shows. */
  readonly sendgrid?: { readonly publicKey: string }
  /** Twilio auth token (the HMAC-SHA1 key of X-Twilio-Signature). */
  readonly twilio?: { readonly authToken: string }
  /** Amazon SNS topics (ARNs) whose SES events this project accepts. */
  readonly sns?: { readonly topicArns: readonly string[] }
}

/** The webhook signature providers; the SES route is verified as SNS. */
export type WebhookProvider = 'sendgrid' | 'twilio' | 'sns'

/** Why a webhook was refused: no signature, a wrong one, another SNS topic, no secret configured. */
export type WebhookRejectionReason = 'unsigned' | 'invalid' | 'topic' | 'not_configured'

/** Counts refused webhooks: eddy_webhook_rejections_total (core/metrics/catalog.ts), a prom-client Counter. */
export interface RejectionCounter {
  inc(labels: { provider: WebhookProvider; reason: WebhookRejectionReason }): void
}

/** What the configuration gives the webhook routes (cli/pipeline.ts webhookOptions). */
export interface WebhookOptions {
  /** Secrets by project id. */
  readonly projects: Readonly<Record<string, ProjectWebhooks>>
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
