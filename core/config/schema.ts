import { Type, type Static } from '@sinclair/typebox'

const Key = Type.String({ minLength: 8, description: 'An API key (at least 8 characters).' })

export const ProjectSchema = Type.Object({
  id: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$', description: 'Project id: lower-case letters, digits, - and _.' }),
  writeKeys: Type.Array(Key, { description: 'Public keys that may send events (ingest only).' }),
  readKeys: Type.Array(Key, { description: 'Secret keys that may query the API.' }),
  webhooks: Type.Optional(Type.Object({
    sendgrid: Type.Optional(Type.Object({ publicKey: Type.String({ minLength: 1, description: 'SendGrid Event Webhook verification key (base64 ECDSA public key).' }) }, { additionalProperties: false })),
    twilio: Type.Optional(Type.Object({ authToken: Type.String({ minLength: 1, description: 'Twilio auth token (HMAC key of X-Twilio-Signature).' }) }, { additionalProperties: false })),
    sns: Type.Optional(Type.Object({ topicArns: Type.Array(Type.String({ pattern: '^arn:aws[a-z-]*:sns:' }), { minItems: 1, description: 'SNS topics whose SES events the project accepts.' }) }, { additionalProperties: false })),
  }, { additionalProperties: false, description: 'Provider webhook secrets; a provider without one is refused.' })),
})
export type Project = Static<typeof ProjectSchema>

const Tier = Type.Object({
  capacity: Type.Integer({ minimum: 1 }),
  refillPerSecond: Type.Number({ exclusiveMinimum: 0 }),
})

/**
 * Every setting Eddy has, one place. Environment variable names are listed in ENVIRONMENT
 * (config/environment.ts) and documented in the README; the compose-file test checks against them.
 */
export const ConfigSchema = Type.Object({
  host: Type.String(),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  dataDir: Type.String({ minLength: 1 }),
  logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
  kafkaBrokers: Type.Array(Type.String({ minLength: 1 })),
  /** The library that produces to Kafka; consumers use kafkajs either way (docs/kafka-client.md). */
  kafkaClient: Type.Union([Type.Literal('kafkajs'), Type.Literal('platformatic')]),
  /** The processors' state store in embedded mode (docs/ARCHITECTURE.md "Processor state"). */
  stateStore: Type.Union([Type.Literal('lmdb'), Type.Literal('heap')]),
  processorThread: Type.Union([Type.Literal('main'), Type.Literal('worker')]),
  /** MB of decoded hot keys across every job's partitions (PartitionStateStore.cacheBytes). */
  stateCacheMb: Type.Integer({ minimum: 1, maximum: 1_048_576 }),
  schemaRegistryUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
  clickhouse: Type.Object({
    url: Type.Optional(Type.String()),
    database: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$' }),
    username: Type.Optional(Type.String()),
    password: Type.Optional(Type.String()),
  }),
  elasticsearchUrl: Type.Optional(Type.String()),
  redisUrl: Type.Optional(Type.String()),
  projects: Type.Array(ProjectSchema),
  /** Keys that see the whole pipeline (every topic's offsets and lag), not one project's part. */
  operatorKeys: Type.Array(Key),
  /** True when no project was configured and a development project was generated. */
  developmentProject: Type.Boolean(),
  topics: Type.Object({
    partitions: Type.Integer({ minimum: 1, maximum: 1024 }),
    /** Also the prefix of every consumer group. */
    prefix: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$' }),
    click: Type.String(),
    log: Type.String(),
    notification: Type.String(),
    dlq: Type.String(),
    late: Type.String(),
  }),
  ingest: Type.Object({
    maxEventBytes: Type.Integer({ minimum: 1024 }),
    maxRequestBytes: Type.Integer({ minimum: 1024 }),
    maxFutureMs: Type.Integer({ minimum: 0 }),
    /**
     * Levels objects and arrays may nest in a body (EDDY_MAX_NESTING_DEPTH); deeper is 400 before
     * anything recursive reads it. Optional for configurations built by hand; absent means
     * DEFAULT_MAX_NESTING_DEPTH. At most 1000, far below where a recursive walk overflows.
     */
    maxNestingDepth: Type.Optional(Type.Integer({ minimum: 8, maximum: 1000 })),
    /** Produce attempts give up after this long and the client gets 503 + Retry-After. */
    produceTimeoutMs: Type.Integer({ minimum: 100 }),
    /** Where the snippet is served and where it posts (first-party names past ad blockers). */
    scriptPath: Type.Optional(Type.String({ pattern: '^/[A-Za-z0-9._~/-]{1,200}\\.js$' })),
    collectPath: Type.Optional(Type.String({ pattern: '^/[A-Za-z0-9._~/-]{1,200}$' })),
    /** IPs and CIDRs whose X-Forwarded-For gives the client address. */
    trustedProxies: Type.Optional(Type.Array(Type.String())),
    /** Derives the daily cookieless salt, so that every ingest instance agrees on it. */
    visitorSecret: Type.Optional(Type.String({ minLength: 16 })),
  }),
  retentionDays: Type.Integer({ minimum: 1, maximum: 3650 }),
  /** The public base URL providers call (Twilio signs it); unset means the URL of the request. */
  publicUrl: Type.Optional(Type.String({ pattern: '^https?://[^/]+/?$' })),
  /** Token buckets per key; an absent tier is not limited. */
  rateLimits: Type.Object({
    /** Per write key, one token per request. */
    ingest: Type.Optional(Tier),
    /** Per read key, one token per request or WebSocket connection. */
    api: Type.Optional(Tier),
    /** Per client address (an IPv6 /64), one token per failed authentication; spent, the address gets 429. */
    authFailures: Type.Optional(Tier),
  }),
  /** Query cache TTLs of the api; 0 turns caching of that kind off. */
  cache: Type.Object({
    /** /stats/realtime and periods that include now. */
    openTtlMs: Type.Integer({ minimum: 0 }),
    /** Periods that ended. */
    closedTtlMs: Type.Integer({ minimum: 0 }),
  }),
  sink: Type.Object({
    maxBatchRows: Type.Integer({ minimum: 1 }),
    flushIntervalMs: Type.Integer({ minimum: 10 }),
  }),
  /** Longest time between two checkpoints of a partition (processors/steps/checkpoint.ts). */
  checkpointIntervalMs: Type.Integer({ minimum: 10, maximum: 60_000 }),
  /** Quiet time before late events' windows are recomputed (processors/reprocess/convergence.ts); 0 is off. */
  convergenceQuietMs: Type.Integer({ minimum: 0, maximum: 3_600_000 }),
})
export type Config = Static<typeof ConfigSchema>
