import type { FastifyInstance } from 'fastify'
import type { Config } from '../core/config/index.ts'
import { HTTP_PROBLEMS } from '../core/http/client-errors.ts'
import type { ProblemDefinition } from '../core/http/problem.ts'
import { NDJSON_CONTENT_TYPES, PROTOBUF_CONTENT_TYPES } from './body.ts'
import { INGEST_PROBLEMS } from './errors.ts'
import { MAX_IDENTIFIER_LENGTH, MAX_STRING_LENGTH } from './normalise/fields.ts'
import { LEVELS, MAX_SERVICE_LENGTH, NUMERIC_LEVELS, TIME_FIELDS } from './normalise/log.ts'
import { CHANNELS, MAX_PROVIDER_LENGTH, MAX_TEMPLATE_LENGTH, STATUSES } from './normalise/notification.ts'
import { MAX_NAME_LENGTH } from './normalise/segment.ts'
import { SINGLE_CALLS } from './routes/segment.ts'
import { MAX_ATTRIBUTES } from './shippers/attributes.ts'
import { BULK_ACTIONS } from './shippers/elasticsearch/bulk.ts'
import { ELASTICSEARCH_PREFIX, INFO, SETUP_PATHS } from './shippers/elasticsearch/plugin.ts'
import { LOKI_PUSH_PATH } from './shippers/loki/plugin.ts'
import { OTLP_LOGS_PATH } from './shippers/otlp/plugin.ts'
import { DEFAULT_COLLECT_PATH, snippetPaths } from './snippet/plugin.ts'

/**
 * Ingest's OpenAPI 3.1 document, served at GET /ingest/openapi.json. Ingest validates events one
 * by one in `normalise/` rather than with route schemas (a batch answers every bad field at once,
 * and log bodies are accepted in part), so this document is written here, next to the code it
 * describes: limits, enums and content types are imported from where the code enforces them, and
 * `ingest/openapi.test.ts` fails when a route has no operation, an operation no route, or an
 * example is not accepted.
 *
 * Operations a fuzzer cannot drive meaningfully carry `x-eddy-fuzz: false` and say why in
 * `x-eddy-fuzz-reason`; schemathesis skips them with `--exclude-by '/x-eddy-fuzz == false'`.
 */
export const INGEST_OPENAPI_PATH = '/ingest/openapi.json'

export interface IngestOpenApiOptions {
  /** Limits and snippet paths (`config.ingest.scriptPath`, `collectPath`) as the routes read them. */
  readonly config: Pick<Config, 'ingest' | 'retentionDays'>
  /** Now, for examples that must carry a recent time (Loki entries have no "now" default). */
  readonly now: number
}

/** A JSON Schema 2020-12 object (OpenAPI 3.1 Schema Object). */
export type JsonSchema = { readonly [keyword: string]: unknown }
export interface Reference {
  readonly $ref: string
}
export interface MediaType {
  readonly schema: JsonSchema
  readonly example?: unknown
}
export interface Header {
  readonly description: string
  readonly required?: boolean
  readonly schema: JsonSchema
}
export interface Response {
  readonly description: string
  readonly headers?: Readonly<Record<string, Header>>
  readonly content?: Readonly<Record<string, MediaType>>
}
export interface Parameter {
  readonly name: string
  readonly in: 'path' | 'query' | 'header'
  readonly required?: boolean
  readonly description: string
  readonly schema: JsonSchema
  readonly example?: unknown
}
export type SecurityRequirement = Readonly<Record<string, readonly string[]>>
export interface Operation {
  readonly operationId: string
  readonly tags: readonly string[]
  readonly summary: string
  readonly description?: string
  readonly parameters?: readonly Parameter[]
  readonly security: readonly SecurityRequirement[]
  readonly requestBody?: { readonly description?: string; readonly required: boolean; readonly content: Readonly<Record<string, MediaType>> }
  readonly responses: Readonly<Record<string, Response | Reference>>
  /** false: a fuzzer should skip this operation (x-eddy-fuzz-reason says why). */
  readonly 'x-eddy-fuzz'?: false
  readonly 'x-eddy-fuzz-reason'?: string
}
export type Method = 'get' | 'put' | 'post' | 'options'
export type PathItem = Partial<Record<Method, Operation>>
export interface SecurityScheme {
  readonly type: 'http' | 'apiKey'
  readonly scheme?: string
  readonly in?: 'header' | 'query'
  readonly name?: string
  readonly description: string
}
export interface OpenApiDocument {
  readonly openapi: '3.1.0'
  readonly info: { readonly title: string; readonly version: string; readonly description: string }
  readonly servers: ReadonlyArray<{ readonly url: string; readonly description: string }>
  readonly tags: ReadonlyArray<{ readonly name: string; readonly description: string }>
  readonly paths: Readonly<Record<string, PathItem>>
  readonly components: {
    readonly schemas: Readonly<Record<string, JsonSchema>>
    readonly responses: Readonly<Record<string, Response>>
    readonly securitySchemes: Readonly<Record<string, SecurityScheme>>
  }
}

/** Serves the document (no write key needed; hidden from any other OpenAPI collector). */
export function ingestOpenApiRoute(app: FastifyInstance, options: IngestOpenApiOptions): void {
  const document = JSON.stringify(ingestOpenApiDocument(options))
  app.get(INGEST_OPENAPI_PATH, { schema: { hide: true } }, async (_request, reply) => reply.type('application/json; charset=utf-8').send(document))
}

const P = INGEST_PROBLEMS
/** A $ref to a component schema (a Schema Object in 3.1, so it may carry siblings such as description). */
const schema = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` })
const JSON_TYPE = 'application/json'
const PROBLEM_TYPE = 'application/problem+json'

/** A pattern matching any of the words in any letter case (JSON Schema patterns have no flags). */
function caseInsensitive(words: readonly string[]): string {
  const letters = (word: string) => [...word].map((c) => (c.toLowerCase() !== c.toUpperCase() ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('')
  return `^(?:${words.map(letters).join('|')})$`
}

/** `INGEST_INVALID_EVENTS` → `InvalidEvents`, for component names. */
const pascal = (code: string) => code.replace(/^INGEST_/, '').toLowerCase().replace(/(^|_)([a-z])/g, (_all, _separator: string, c: string) => c.toUpperCase())

const RETRY_AFTER: Header = { description: 'Seconds to wait before retrying.', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } }
const RATE_LIMIT_HEADERS: Record<string, Header> = {
  'Retry-After': RETRY_AFTER,
  'RateLimit-Limit': { description: 'The bucket capacity (draft-ietf-httpapi-ratelimit-headers-06).', schema: { type: 'string' } },
  'RateLimit-Remaining': { description: 'Whole requests left in the bucket.', schema: { type: 'string' } },
  'RateLimit-Reset': { description: 'Seconds until the bucket is full again.', schema: { type: 'string' } },
}

/**
 * Problem responses for the given catalogue entries, grouped by status. Each distinct set is a
 * component response whose schema pins `status` and the possible `code`s.
 */
class ProblemResponses {
  readonly components: Record<string, Response> = {}

  for(definitions: readonly ProblemDefinition[]): Record<string, Reference> {
    const byStatus = new Map<number, ProblemDefinition[]>()
    for (const definition of definitions) byStatus.set(definition.status, [...(byStatus.get(definition.status) ?? []), definition])
    const responses: Record<string, Reference> = {}
    for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
      const name = `Problem${status}${group.map((definition) => pascal(definition.code)).join('Or')}`
      this.components[name] ??= {
        description: group.map((definition) => `\`${definition.code}\` (${definition.title}): ${definition.meaning}`).join('\n\n'),
        ...(status === 429 ? { headers: RATE_LIMIT_HEADERS } : status === 503 || status === 507 ? { headers: { 'Retry-After': RETRY_AFTER } } : {}),
        content: {
          [PROBLEM_TYPE]: {
            schema: { allOf: [schema('Problem'), { properties: { status: { const: status }, code: { enum: group.map((definition) => definition.code) } } }] },
          },
        },
      }
      responses[String(status)] = { $ref: `#/components/responses/${name}` }
    }
    return responses
  }
}

export function ingestOpenApiDocument(options: IngestOpenApiOptions): OpenApiDocument {
  const { ingest, retentionDays } = options.config
  const futureHours = ingest.maxFutureMs / 3_600_000
  const { scriptPath, modulePath, collectPath } = snippetPaths({ config: options.config })
  const problems = new ProblemResponses()

  // What each family of routes can answer, besides its success.
  const BODY = [P.INGEST_MALFORMED_BODY, P.INGEST_BODY_TOO_LARGE, P.INGEST_UNSUPPORTED_MEDIA_TYPE, P.INGEST_RATE_LIMITED]
  const DURABLE = [P.INGEST_BUS_UNAVAILABLE, P.INGEST_STORAGE_FULL]
  const EVENTS = [P.INGEST_INVALID_EVENTS, P.INGEST_UNAUTHORIZED, P.INGEST_AUTH_THROTTLED, ...BODY, ...DURABLE]
  const ALL_OR_NOTHING = [...EVENTS, P.INGEST_EVENT_TOO_LARGE]
  const NO_BODY = [P.INGEST_RATE_LIMITED]

  /** Path parameters: fastify's router refuses longer ones before ingest sees the request. */
  const PARAM_LIMIT = 100
  const ROUTER_LIMIT = problems.for([HTTP_PROBLEMS.HTTP_PATH_PARAMETER_TOO_LONG])

  // ── security ────────────────────────────────────────────────────────────────────────────────
  const securitySchemes: Record<string, SecurityScheme> = {
    writeKeyBasic: {
      type: 'http',
      scheme: 'basic',
      description: 'The write key as the HTTP Basic user name, password empty (`curl -u KEY:`), as Segment libraries send it. Log, shipper and webhook endpoints also take it as the password (`elastic:KEY`, `<tenant>:KEY`). Clickstream and notification endpoints take it instead as `writeKey` in the JSON body (when both are given, the first that is a write key, user name first). Write keys are public and can only write.',
    },
    writeKeyBearer: { type: 'http', scheme: 'bearer', description: '`Authorization: Bearer KEY` (OTel Collector `headers`, Alloy `bearer_token`, Vector `bearer`). Log, shipper and webhook endpoints only.' },
    writeKeyApiKey: { type: 'apiKey', in: 'header', name: 'Authorization', description: '`Authorization: ApiKey base64(id:KEY)` as Filebeat and Logstash send `api_key: "id:KEY"` (either half may be the key), or `ApiKey KEY` (Fluent Bit `HTTP_API_Key`). Log, shipper and webhook endpoints only.' },
    writeKeyHeader: { type: 'apiKey', in: 'header', name: 'X-Eddy-Write-Key', description: 'The write key in its own header. Log, shipper and webhook endpoints only.' },
    writeKeyTenant: { type: 'apiKey', in: 'header', name: 'X-Scope-OrgID', description: 'The write key as the Loki tenant (Promtail and Alloy `tenant_id`). Log, shipper and webhook endpoints only.' },
    writeKeyQuery: { type: 'apiKey', in: 'query', name: 'key', description: '`?key=KEY` in the URL, for provider webhooks, whose URL is all one can configure. Log, shipper and webhook endpoints only.' },
  }
  /** Segment and notification endpoints: Basic user name, or `writeKey` in the body (the empty alternative). */
  const SEGMENT_SECURITY: SecurityRequirement[] = [{ writeKeyBasic: [] }, {}]
  const SHIPPER_SECURITY: SecurityRequirement[] = ['writeKeyBasic', 'writeKeyBearer', 'writeKeyApiKey', 'writeKeyHeader', 'writeKeyTenant', 'writeKeyQuery'].map((name) => ({ [name]: [] }))
  const WEBHOOK_SECURITY: SecurityRequirement[] = [SHIPPER_SECURITY.at(-1)!, ...SHIPPER_SECURITY.slice(0, -1)]

  // ── shared schemas ──────────────────────────────────────────────────────────────────────────
  const bounds = `within ${futureHours} h ahead of arrival and the retention of ${retentionDays} days behind it`
  const levelWords = Object.keys(LEVELS)
  const levelsByStored = new Map<string, string[]>()
  for (const [word, level] of Object.entries(LEVELS)) levelsByStored.set(level, [...(levelsByStored.get(level) ?? []), word])
  const levelText = [...levelsByStored].map(([level, words]) => (words.length > 1 ? `${level} (also ${words.filter((word) => word !== level).join(', ')})` : level)).join(', ')
  const numericText = NUMERIC_LEVELS.map(([threshold, level]) => `≥${threshold} ${level}`).join(', ')
  const freeObject = (description: string): JsonSchema => ({ type: ['object', 'null'], additionalProperties: true, description })
  const text = (description: string, maxLength = MAX_STRING_LENGTH): JsonSchema => ({ type: ['string', 'null'], maxLength, description })

  const schemas: Record<string, JsonSchema> = {
    Problem: {
      type: 'object',
      description: 'RFC 9457 problem details (docs/errors.md). `code` is stable and never reused; for bad input `errors` names each event and field.',
      required: ['type', 'title', 'status', 'code'],
      properties: {
        type: { type: 'string', format: 'uri', examples: ['https://eddy.dev/problems/ingest-invalid-events'] },
        title: { type: 'string' },
        status: { type: 'integer', minimum: 400, maximum: 599 },
        code: { type: 'string', pattern: '^[A-Z][A-Z_]*$', description: `One of ingest's codes: ${Object.keys(INGEST_PROBLEMS).join(', ')}.` },
        detail: { type: 'string' },
        errors: { type: 'array', items: schema('FieldError') },
      },
      additionalProperties: true,
    },
    FieldError: {
      type: 'object',
      required: ['field', 'reason'],
      properties: {
        event: { type: 'integer', description: 'The event: its index in the request (0-based), or for NDJSON bodies its line number (1-based).' },
        field: { type: 'string', description: 'JSON pointer of the offending field in the request, or empty for the whole event or line.' },
        reason: { type: 'string' },
      },
      additionalProperties: false,
    },
    Identifier: {
      description: `A string of at most ${MAX_IDENTIFIER_LENGTH} characters, or a finite number (stored as text). Absent, null or empty means none.`,
      anyOf: [{ type: 'string', maxLength: MAX_IDENTIFIER_LENGTH }, { type: 'number' }, { type: 'null' }],
    },
    RequiredIdentifier: {
      description: `A non-empty string of at most ${MAX_IDENTIFIER_LENGTH} characters, or a finite number (stored as text).`,
      anyOf: [{ type: 'string', minLength: 1, maxLength: MAX_IDENTIFIER_LENGTH }, { type: 'number' }],
    },
    ClientTime: {
      description: `ISO 8601 (at least a full date; with a time and offset as Segment sends it) or epoch milliseconds (a number, or a string of 12 to 14 digits). Corrected for client clock skew with \`sentAt\`, then it must be ${bounds}.`,
      anyOf: [{ type: 'string', format: 'date-time' }, { type: 'string', pattern: '^[0-9]{12,14}$' }, { type: 'number' }, { type: 'null' }],
    },
    EventTime: {
      description: `ISO 8601 (at least a full date) or an epoch number in seconds, milliseconds, microseconds or nanoseconds (told apart by magnitude; a string of 12 to 14 digits is milliseconds). Absent or null means the time of arrival; otherwise it must be ${bounds}.`,
      anyOf: [{ type: 'string', format: 'date-time' }, { type: 'string', pattern: '^[0-9]{12,14}$' }, { type: 'number' }, { type: 'null' }],
    },

    // Segment
    SegmentContext: {
      type: ['object', 'null'],
      description: 'Segment `context`. Only these fields are read (sub-fields of the wrong type are ignored); anything else is allowed and ignored.',
      properties: {
        cookieless: { type: 'boolean', description: '`true`: the client stores no id; ingest derives a daily-rotating visitor hash from the site, client address and user agent, and neither `userId` nor `anonymousId` is needed.' },
        userAgent: { type: 'string', description: "Browser, OS and device come from this, else from the request's User-Agent." },
        locale: { type: 'string' },
        sessionId: { type: 'string' },
        page: { type: 'object', properties: { url: { type: 'string' }, path: { type: 'string' }, referrer: { type: 'string' }, title: { type: 'string' } }, description: 'Used where `properties` has no url, path, referrer or title.' },
        campaign: { type: 'object', properties: { source: { type: 'string' }, medium: { type: 'string' }, name: { type: 'string' }, campaign: { type: 'string' }, term: { type: 'string' }, content: { type: 'string' } }, description: 'UTM fields; else they are read from the page URL.' },
        screen: { type: 'object', properties: { width: { type: 'number' }, height: { type: 'number' } } },
        location: { type: 'object', properties: { country: { type: 'string', description: 'ISO 3166-1 alpha-2; anything else is ignored.' } } },
      },
      additionalProperties: true,
    },
    SegmentCommon: {
      type: 'object',
      description: `Fields every Segment call may carry. Either \`userId\` or \`anonymousId\` is required (or \`context.cookieless: true\`). Strings are at most ${MAX_STRING_LENGTH} characters unless said otherwise. Other fields (\`integrations\`, \`version\`, …) are allowed and ignored.`,
      properties: {
        userId: schema('Identifier'),
        anonymousId: schema('Identifier'),
        messageId: { type: 'string', description: 'The deduplication key: a UUID is kept as the event id, any other string becomes a UUID v5 of project and id, so a retried call is stored once. Without it every call is a new event.' },
        timestamp: schema('ClientTime'),
        originalTimestamp: { ...schema('ClientTime'), description: 'Used when `timestamp` is absent.' },
        sentAt: { ...schema('ClientTime'), description: 'When the client sent the call; with `timestamp` it corrects client clock skew.' },
        context: schema('SegmentContext'),
        sessionId: { type: 'string' },
        writeKey: { type: 'string', description: 'The write key, when it is not the HTTP Basic user name.' },
      },
      anyOf: [
        { required: ['userId'], properties: { userId: schema('RequiredIdentifier') } },
        { required: ['anonymousId'], properties: { anonymousId: schema('RequiredIdentifier') } },
        { required: ['context'], properties: { context: { type: 'object', required: ['cookieless'], properties: { cookieless: { const: true } } } } },
      ],
      additionalProperties: true,
    },
    SegmentProperties: freeObject('Event properties, stored as a string map (nested values as JSON text). `url`, `path`, `referrer`, `title` and `session_id` also fill the page fields.'),
    SegmentTrack: {
      allOf: [schema('SegmentCommon')],
      required: ['event'],
      properties: { event: { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH, description: 'The event name; `$click` is an autocaptured click.' }, properties: schema('SegmentProperties') },
      examples: [{ anonymousId: 'a1', messageId: 'doc-track-1', event: 'Added to Cart', properties: { sku: 'tee-42', price: 19 } }],
    },
    SegmentPage: {
      allOf: [schema('SegmentCommon')],
      properties: { name: { type: ['string', 'null'], maxLength: MAX_NAME_LENGTH }, properties: schema('SegmentProperties') },
      examples: [{ anonymousId: 'a1', messageId: 'doc-page-1', properties: { url: 'https://shop.example/pricing?utm_source=newsletter', referrer: 'https://news.example/', title: 'Pricing' } }],
    },
    SegmentScreen: {
      allOf: [schema('SegmentCommon')],
      properties: { name: { type: ['string', 'null'], maxLength: MAX_NAME_LENGTH }, properties: schema('SegmentProperties') },
      examples: [{ userId: 'user-7', messageId: 'doc-screen-1', name: 'Checkout', properties: { path: '/checkout' } }],
    },
    SegmentIdentify: {
      allOf: [schema('SegmentCommon')],
      properties: { traits: freeObject('User traits, stored as the event properties (a string map).') },
      examples: [{ anonymousId: 'a1', userId: 'user-7', messageId: 'doc-identify-1', traits: { plan: 'pro' } }],
    },
    SegmentBatchItem: {
      description: 'One Segment call with its `type`. An item without its own `context` gets the batch `context`.',
      oneOf: SINGLE_CALLS.map((call) => ({ allOf: [schema(`Segment${call[0]!.toUpperCase()}${call.slice(1)}`)], required: ['type'], properties: { type: { const: call } } })),
    },
    SegmentBatch: {
      type: 'object',
      description: 'All or nothing: if any call is invalid the answer is 400 naming every bad call and field, and nothing is written.',
      required: ['batch'],
      properties: {
        batch: { type: 'array', items: schema('SegmentBatchItem') },
        context: { ...schema('SegmentContext'), description: 'Given to every call without a context of its own.' },
        sentAt: schema('ClientTime'),
        writeKey: { type: 'string' },
      },
      additionalProperties: true,
      examples: [{
        batch: [
          { type: 'page', anonymousId: 'a1', messageId: 'doc-batch-1', properties: { url: 'https://shop.example/pricing?utm_source=hn', referrer: 'https://news.ycombinator.com/' } },
          { type: 'track', anonymousId: 'a1', messageId: 'doc-batch-2', event: 'Signed Up', properties: { plan: 'pro' } },
        ],
      }],
    },
    SegmentAccepted: {
      type: 'object',
      required: ['success', 'accepted'],
      properties: { success: { const: true }, accepted: { type: 'integer', minimum: 0, description: 'Calls made durable.' } },
      additionalProperties: false,
    },

    // Logs
    LogLevel: {
      description: `A level word in any letter case: ${levelText}; or a pino/bunyan number (${numericText}). Absent, null or empty is info. Other words are refused.`,
      anyOf: [{ type: 'string', enum: [...levelWords, ''] }, { type: 'string', pattern: caseInsensitive(levelWords) }, { type: 'number', minimum: 0 }, { type: 'null' }],
    },
    LogLine: {
      type: 'object',
      description: `One log line, as pino, bunyan and most JSON loggers write it. \`service\` and a message (\`message\`, else \`msg\`, else \`log\`) are required; the time is the first present of ${TIME_FIELDS.map((field) => `\`${field}\``).join(', ')}. Every other field is kept as an attribute (string map; nested values as JSON text).`,
      required: ['service'],
      properties: {
        service: { type: 'string', minLength: 1, maxLength: MAX_SERVICE_LENGTH },
        message: { type: 'string', minLength: 1 },
        msg: { description: 'The message when `message` is absent (a string).' },
        log: { description: 'The message when `message` and `msg` are absent (a string; where Docker and Fluent Bit put it).' },
        level: schema('LogLevel'),
        severity: { ...schema('LogLevel'), description: 'The level when `level` is absent or null.' },
        ...Object.fromEntries(TIME_FIELDS.map((field) => [field, schema('EventTime')])),
        host: text('The host; `hostname` when absent.'),
        hostname: text('The host when `host` is absent.'),
        logger: text('The logger name.'),
        trace_id: text('Trace id.'),
        span_id: text('Span id.'),
        id: { type: 'string', description: 'The deduplication key (also `event_id`): a retried line with the same id is stored once. Without one delivery is at-least-once.' },
        event_id: { type: 'string', description: 'Like `id`, and preferred over it.' },
        attributes: freeObject('Attributes; they win over other fields of the same name.'),
      },
      anyOf: [
        { required: ['message'] },
        { required: ['msg'], not: { required: ['message'] }, properties: { msg: { type: 'string', minLength: 1 } } },
        { required: ['log'], not: { required: ['message'] }, properties: { msg: { not: { type: 'string' } }, log: { type: 'string', minLength: 1 } } },
      ],
      additionalProperties: true,
    },
    LogLines: {
      type: 'object',
      required: ['logs'],
      properties: { logs: { type: 'array', items: schema('LogLine') }, writeKey: { type: 'string' } },
      additionalProperties: true,
    },
    LogsAccepted: {
      type: 'object',
      description: 'Some lines were made durable; `rejected` names the lines refused, by 0-based index (JSON) or 1-based line number (NDJSON).',
      required: ['accepted', 'rejected'],
      properties: { accepted: { type: 'integer', minimum: 1 }, rejected: { type: 'array', items: schema('FieldError') } },
      additionalProperties: false,
    },

    // Notifications
    Notification: {
      type: 'object',
      description: 'A notification lifecycle event. Without `event_id` the id is derived from (notification_id, status, timestamp), so a retried batch is stored once. Other fields are allowed and ignored (put them in `attributes`).',
      required: ['notification_id', 'channel', 'status'],
      properties: {
        notification_id: schema('RequiredIdentifier'),
        channel: { type: 'string', enum: [...CHANNELS] },
        status: { type: 'string', enum: [...STATUSES] },
        timestamp: schema('EventTime'),
        ts: { ...schema('EventTime'), description: 'The time when `timestamp` is absent.' },
        provider: text('Who delivered it (sendgrid, twilio, ses, …).', MAX_PROVIDER_LENGTH),
        template: text('The template or campaign.', MAX_TEMPLATE_LENGTH),
        user_id: schema('Identifier'),
        error_code: schema('Identifier'),
        error_message: text('Why it failed.'),
        event_id: { type: 'string', description: 'The deduplication key (a UUID is kept, any other string becomes a UUID v5).' },
        attributes: freeObject('Attributes, stored as a string map (nested values as JSON text).'),
      },
      additionalProperties: true,
    },
    Notifications: {
      type: 'object',
      required: ['notifications'],
      properties: { notifications: { type: 'array', items: schema('Notification') }, writeKey: { type: 'string' } },
      additionalProperties: true,
    },
    NotificationsAccepted: {
      type: 'object',
      required: ['accepted'],
      properties: { accepted: { type: 'integer', minimum: 0 } },
      additionalProperties: false,
    },

    // OTLP
    OtlpAnyValue: {
      type: 'object',
      // Not recursive: nested values are plain objects here, because generators (schemathesis)
      // filter out most instances of a self-referencing schema and give up.
      description: 'OTLP AnyValue: one of the fields; arrays and key-value lists hold AnyValues and KeyValues in turn. Proto (snake_case) field names are accepted as well.',
      properties: {
        stringValue: { type: 'string' },
        boolValue: { type: 'boolean' },
        intValue: { anyOf: [{ type: 'string', pattern: '^-?[0-9]+$' }, { type: 'integer' }] },
        doubleValue: { type: 'number' },
        arrayValue: { type: 'object', properties: { values: { type: 'array', items: { type: 'object', description: 'AnyValue' } } } },
        kvlistValue: { type: 'object', properties: { values: { type: 'array', items: { type: 'object', required: ['key'], properties: { key: { type: 'string' } }, description: 'KeyValue' } } } },
        bytesValue: { type: 'string', description: 'base64' },
      },
    },
    OtlpKeyValue: { type: 'object', required: ['key'], properties: { key: { type: 'string' }, value: schema('OtlpAnyValue') } },
    OtlpLogRecord: {
      type: 'object',
      description: `An OTLP LogRecord. \`severityNumber\` 1–4 is trace … 21–24 fatal, else \`severityText\` is read as a level word (unknown words are stored as info); the text is kept as \`severity_text\`. The attribute \`log.record.uid\` is the deduplication key. At most ${MAX_ATTRIBUTES} attributes are kept per record.`,
      properties: {
        timeUnixNano: { anyOf: [{ type: 'string', pattern: '^[0-9]{1,20}$' }, { type: 'integer', minimum: 0 }], description: `Nanoseconds since the epoch; 0 or absent means \`observedTimeUnixNano\`, else arrival. Must be ${bounds}.` },
        observedTimeUnixNano: { anyOf: [{ type: 'string', pattern: '^[0-9]{1,20}$' }, { type: 'integer', minimum: 0 }] },
        severityNumber: { type: 'integer', minimum: 0, maximum: 24 },
        severityText: { type: 'string' },
        body: schema('OtlpAnyValue'),
        attributes: { type: 'array', items: schema('OtlpKeyValue') },
        traceId: { type: 'string', pattern: '^[0-9a-fA-F]{32}$', description: 'hex; an invalid or all-zero id is read as absent' },
        spanId: { type: 'string', pattern: '^[0-9a-fA-F]{16}$', description: 'hex; an invalid or all-zero id is read as absent' },
        eventName: { type: 'string' },
        flags: { type: 'integer' },
        droppedAttributesCount: { type: 'integer' },
      },
    },
    OtlpLogsRequest: {
      type: 'object',
      description: 'OTLP/JSON ExportLogsServiceRequest. Resource `service.name` is the service (else `unknown_service`), `host.name` the host, scope `name` the logger; resource, scope and record attributes become attributes (the record wins). Records that cannot be stored are counted in `partialSuccess`; 400 only when none can.',
      required: ['resourceLogs'],
      properties: {
        resourceLogs: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              resource: { type: 'object', properties: { attributes: { type: 'array', items: schema('OtlpKeyValue') } } },
              scopeLogs: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    scope: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' }, attributes: { type: 'array', items: schema('OtlpKeyValue') } } },
                    logRecords: { type: 'array', items: schema('OtlpLogRecord') },
                  },
                },
              },
            },
          },
        },
      },
      examples: [{
        resourceLogs: [{
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }, { key: 'host.name', value: { stringValue: 'web-2' } }] },
          scopeLogs: [{ scope: { name: 'payments' }, logRecords: [{ severityNumber: 17, body: { stringValue: 'payment 41 failed: card declined' }, attributes: [{ key: 'log.record.uid', value: { stringValue: 'doc-otlp-1' } }] }] }],
        }],
      }],
    },
    OtlpLogsResponse: {
      type: 'object',
      description: 'OTLP/JSON ExportLogsServiceResponse: empty when every record was stored.',
      properties: {
        partialSuccess: {
          type: 'object',
          required: ['rejectedLogRecords', 'errorMessage'],
          properties: { rejectedLogRecords: { type: 'string', pattern: '^[0-9]+$', description: 'int64, as OTLP/JSON writes it' }, errorMessage: { type: 'string', description: 'The first reasons.' } },
          additionalProperties: false,
        },
      },
      additionalProperties: false,
    },

    // Loki
    LokiPushRequest: {
      type: 'object',
      description: "Loki's JSON push. Service is the first of the labels or structured metadata `service_name`, `service`, `app`, `application`, `name`, `app_kubernetes_io_name`, `container`, `container_name`, `component`, `workload`, `job` (else `unknown_service`); host from `host`, `hostname`, `instance`, `node_name`, `nodename`; level from `level`, `detected_level`, `severity`, `lvl`, `loglevel` (unknown words are stored as info); trace and span ids from metadata; every other label an attribute. The event id derives from (labels, timestamp, line), so a retried push is stored once.",
      required: ['streams'],
      properties: {
        streams: {
          type: 'array',
          items: {
            type: 'object',
            required: ['values'],
            properties: {
              stream: { type: 'object', additionalProperties: { type: 'string' }, description: 'The labels.' },
              values: {
                type: 'array',
                items: {
                  type: 'array',
                  description: `[nanoseconds since the epoch as a decimal string (${bounds}), the line, structured metadata (optional)]`,
                  prefixItems: [{ type: 'string', pattern: '^[0-9]{1,20}$' }, { type: 'string' }, { type: 'object', additionalProperties: { type: 'string' } }],
                  minItems: 2,
                  maxItems: 3,
                },
              },
            },
          },
        },
      },
    },

    // Elasticsearch
    BulkItemResult: {
      type: 'object',
      required: ['_index', '_id', 'status'],
      properties: {
        _index: { type: 'string' },
        _id: { type: ['string', 'null'], description: "The action's `_id`, else the event id given to the document." },
        status: { type: 'integer', enum: [201, 400] },
        result: { const: 'created' },
        _version: { type: 'integer' },
        _shards: { type: 'object', properties: { total: { type: 'integer' }, successful: { type: 'integer' }, failed: { type: 'integer' } } },
        _seq_no: { type: 'integer' },
        _primary_term: { type: 'integer' },
        error: {
          type: 'object',
          required: ['type', 'reason'],
          properties: { type: { enum: ['document_parsing_exception', 'action_request_validation_exception'] }, reason: { type: 'string' } },
        },
      },
    },
    BulkResponse: {
      type: 'object',
      description: "Elasticsearch's `_bulk` answer: one item per action, in order; `errors` is true when any item has status 400 (shippers do not retry those).",
      required: ['took', 'errors', 'items'],
      properties: {
        took: { type: 'integer', minimum: 0 },
        errors: { type: 'boolean' },
        items: { type: 'array', items: { type: 'object', minProperties: 1, maxProperties: 1, propertyNames: { enum: [...BULK_ACTIONS] }, additionalProperties: schema('BulkItemResult') } },
      },
      additionalProperties: false,
    },
    ElasticsearchInfo: {
      type: 'object',
      required: ['name', 'cluster_name', 'cluster_uuid', 'version', 'tagline'],
      properties: { name: { type: 'string' }, cluster_name: { type: 'string' }, cluster_uuid: { type: 'string' }, version: { type: 'object', required: ['number'], properties: { number: { type: 'string' } } }, tagline: { type: 'string' } },
      examples: [INFO],
    },

    // Webhooks
    WebhookAccepted: {
      type: 'object',
      description: 'Valid events are stored; events with no notification status (an inbound SMS, a SendGrid `group_resubscribe`) are `ignored`; the rest are `rejected` with the reason. Always 200, so the provider does not resend the good ones.',
      required: ['accepted', 'ignored', 'rejected'],
      properties: { accepted: { type: 'integer', minimum: 0 }, ignored: { type: 'integer', minimum: 0 }, rejected: { type: 'array', items: schema('FieldError') } },
      additionalProperties: false,
    },
    SnsEnvelope: {
      type: 'object',
      description: 'An Amazon SNS HTTP(S) message carrying an SES event in `Message` (JSON text). SNS sends it as text/plain.',
      required: ['Type', 'MessageId', 'TopicArn', 'Message', 'Timestamp', 'SignatureVersion', 'Signature', 'SigningCertURL'],
      properties: {
        Type: { enum: ['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation'] },
        MessageId: { type: 'string' },
        TopicArn: { type: 'string', description: "Must be one of the project's SNS topics." },
        Subject: { type: 'string' },
        Message: { type: 'string' },
        Timestamp: { type: 'string', format: 'date-time' },
        SignatureVersion: { enum: ['1', '2'] },
        Signature: { type: 'string' },
        SigningCertURL: { type: 'string', format: 'uri', description: 'https://sns.<region>.amazonaws.com/….pem' },
        SubscribeURL: { type: 'string', format: 'uri' },
        Token: { type: 'string' },
      },
    },
  }

  // ── operations ──────────────────────────────────────────────────────────────────────────────
  const json = (name: string, example?: unknown): Record<string, MediaType> => ({ [JSON_TYPE]: { schema: schema(name), ...(example !== undefined ? { example } : {}) } })
  const accepted = (name: string, description: string): Response => ({ description, content: json(name) })
  const cors = (path: string, tag: string): Operation => ({
    operationId: `preflight${operationName(path)}`,
    tags: [tag],
    summary: 'CORS preflight',
    description: 'Browsers post from the page\'s origin: any origin may post, without credentials (write keys are public and the snippet sends no cookies); Retry-After is readable.',
    security: [],
    responses: {
      204: {
        description: 'Allowed.',
        headers: {
          'Access-Control-Allow-Origin': { description: '`*`', required: true, schema: { const: '*' } },
          'Access-Control-Allow-Methods': { description: '`POST`', required: true, schema: { type: 'string' } },
          'Access-Control-Allow-Headers': { description: 'authorization, content-type, content-encoding', required: true, schema: { type: 'string' } },
          'Access-Control-Max-Age': { description: 'One day.', required: true, schema: { type: 'string' } },
        },
      },
      ...problems.for(NO_BODY),
    },
  })
  const segmentBody = (name: string, example: unknown): Operation['requestBody'] => ({
    required: true,
    content: {
      [JSON_TYPE]: { schema: schema(name), example },
      'text/plain': { schema: { type: 'string', contentMediaType: JSON_TYPE, contentSchema: schema(name) }, example: JSON.stringify(example) },
    },
  })
  const segmentResponses = { 202: accepted('SegmentAccepted', 'Every call is durable in the event log.'), ...problems.for(ALL_OR_NOTHING) }
  const segmentDescription = `Segment-compatible (analytics.js, analytics-node and other Segment libraries can point at Eddy). Accepted as application/json, or text/plain holding JSON as navigator.sendBeacon sends it; gzip or deflate bodies. A call over ${ingest.maxEventBytes} bytes is 413 naming it, a body over ${ingest.maxRequestBytes} bytes (after decompression) is 413. Answers carry \`Access-Control-Allow-Origin: *\`.`

  const example = (name: string): unknown => (schemas[name]!.examples as unknown[])[0]
  const paths: Record<string, PathItem> = {}
  const batchOperation = (path: string): Operation => ({
    operationId: path === DEFAULT_COLLECT_PATH ? 'segmentBatch' : `snippetCollect${operationName(path)}`,
    tags: ['clickstream'],
    summary: path === DEFAULT_COLLECT_PATH ? 'A batch of Segment calls' : `A batch of Segment calls (the snippet's first-party alias of ${DEFAULT_COLLECT_PATH})`,
    description: `${segmentDescription} All or nothing: one invalid call is a 400 naming every bad call and field, and nothing is written, so the client can fix and resend without gaps or duplicates.`,
    security: SEGMENT_SECURITY,
    requestBody: segmentBody('SegmentBatch', example('SegmentBatch')),
    responses: segmentResponses,
  })
  paths[DEFAULT_COLLECT_PATH] = { post: batchOperation(DEFAULT_COLLECT_PATH), options: cors(DEFAULT_COLLECT_PATH, 'clickstream') }
  for (const call of SINGLE_CALLS) {
    const name = `Segment${call[0]!.toUpperCase()}${call.slice(1)}`
    paths[`/v1/${call}`] = {
      post: {
        operationId: `segment${call[0]!.toUpperCase()}${call.slice(1)}`,
        tags: ['clickstream'],
        summary: `One Segment ${call} call`,
        description: `${segmentDescription} The call's \`type\` is the endpoint's; a \`type\` in the body is ignored.`,
        security: SEGMENT_SECURITY,
        requestBody: segmentBody(name, example(name)),
        responses: segmentResponses,
      },
      options: cors(`/v1/${call}`, 'clickstream'),
    }
  }
  if (collectPath !== DEFAULT_COLLECT_PATH) paths[collectPath] = { post: batchOperation(collectPath), options: cors(collectPath, 'snippet') }

  const scriptOperation = (path: string, build: string): Operation => ({
    operationId: path === scriptPath ? 'snippetScript' : 'snippetModule',
    tags: ['snippet'],
    summary: `The browser SDK, ${build}`,
    description: `Built at start-up for this ingest (it posts to ${collectPath}); cached for an hour, then revalidated with the ETag. gzip when the client accepts it.`,
    security: [],
    parameters: [{ name: 'If-None-Match', in: 'header', required: false, description: 'The ETag of a cached copy.', schema: { type: 'string' } }],
    responses: {
      200: { description: 'The script.', headers: { ETag: { description: 'A strong ETag of the code.', required: true, schema: { type: 'string' } } }, content: { 'text/javascript': { schema: { type: 'string' } } } },
      304: { description: 'The cached copy is current.' },
      ...problems.for(NO_BODY),
    },
  })
  paths[scriptPath] = { get: scriptOperation(scriptPath, 'script-tag build') }
  paths[modulePath] = { get: scriptOperation(modulePath, 'ES module (exports createEddy)') }

  const ndjsonExample = '{"service":"checkout","level":"error","message":"payment 41 failed","id":"doc-ndjson-1"}\n{"service":"checkout","msg":"payment 42 ok","id":"doc-ndjson-2"}\n'
  // No media-type `example` on NDJSON: fuzzers have no NDJSON serializer and would stop at it.
  const ndjson: Record<string, MediaType> = Object.fromEntries(NDJSON_CONTENT_TYPES.map((type) => [type, {
    schema: { type: 'string', description: `One JSON log line (LogLine) per line; blank lines are skipped; a record separator (RFC 7464) before a line is dropped. Bad lines are reported by their 1-based line number. Example:\n\n\`\`\`\n${ndjsonExample}\`\`\`` },
  }]))
  const protobuf = (message: string, example?: string): Record<string, MediaType> => Object.fromEntries(PROTOBUF_CONTENT_TYPES.map((type) => [type, {
    schema: { type: 'string', format: 'binary', description: message },
    ...(example ? { example } : {}),
  }]))
  const otlpResponses = (description: string) => ({
    200: {
      description,
      content: { [JSON_TYPE]: { schema: schema('OtlpLogsResponse') }, 'application/x-protobuf': { schema: { type: 'string', format: 'binary', description: 'ExportLogsServiceResponse, for protobuf requests.' } } },
    },
  })

  paths['/v1/logs'] = {
    post: {
      operationId: 'logs',
      tags: ['logs'],
      summary: 'Log lines: NDJSON, a JSON array, one JSON object (or OTLP)',
      description: `Partial acceptance: valid lines are stored and bad ones reported in the 202, because a shipper cannot split a batch; 400 only when no line is valid. A line over ${ingest.maxEventBytes} bytes is refused on its own; a body over ${ingest.maxRequestBytes} bytes (after decompression) is 413. application/json holding NDJSON (as Fluent Bit sends it) is read as NDJSON. A protobuf body, or a JSON object with a \`resourceLogs\` array, is OTLP and answered as \`${OTLP_LOGS_PATH}\` answers. The write key may also be \`writeKey\` in a JSON object body.`,
      security: [...SHIPPER_SECURITY, {}],
      requestBody: {
        required: true,
        content: {
          [JSON_TYPE]: {
            schema: { anyOf: [schema('LogLine'), { type: 'array', items: schema('LogLine') }, schema('LogLines'), schema('OtlpLogsRequest')] },
            example: [{ service: 'checkout', level: 'error', message: 'payment 41 failed', trace_id: '0af7651916cd43dd8448eb211c80319c', id: 'doc-logs-1' }, { service: 'checkout', msg: 'payment 42 ok', id: 'doc-logs-2' }],
          },
          ...ndjson,
          ...protobuf('OTLP ExportLogsServiceRequest'),
        },
      },
      responses: {
        202: accepted('LogsAccepted', 'The valid lines are durable; `rejected` names the others.'),
        ...otlpResponses('An OTLP request was handled (see the OTLP endpoint).'),
        ...problems.for(EVENTS),
      },
    },
  }

  paths['/v1/notifications'] = {
    post: {
      operationId: 'notifications',
      tags: ['notifications'],
      summary: 'Notification lifecycle events: a JSON array, one object, or {"notifications": [...]}',
      description: `All or nothing, like Segment batches: one invalid event is a 400 naming every bad event and field, and nothing is written. An event over ${ingest.maxEventBytes} bytes is 413 naming it; a body over ${ingest.maxRequestBytes} bytes (after decompression) is 413. The write key may also be \`writeKey\` in a JSON object body.`,
      security: SEGMENT_SECURITY,
      requestBody: {
        required: true,
        content: {
          [JSON_TYPE]: {
            schema: { anyOf: [{ type: 'array', items: schema('Notification') }, schema('Notification'), schema('Notifications')] },
            example: [{ notification_id: 'n1', channel: 'email', status: 'delivered', provider: 'sendgrid', template: 'welcome', user_id: 'user-7' }],
          },
        },
      },
      responses: { 202: accepted('NotificationsAccepted', 'Every event is durable.'), ...problems.for(ALL_OR_NOTHING) },
    },
  }

  paths[OTLP_LOGS_PATH] = {
    post: {
      operationId: 'otlpLogs',
      tags: ['log shippers'],
      summary: 'OTLP/HTTP logs (OpenTelemetry Collector `otlphttp` with endpoint …/otlp)',
      description: `Protobuf (the Collector's default, usually gzip) or OTLP/JSON. 200 with an ExportLogsServiceResponse in the request's encoding; records that cannot be stored are counted in \`partialSuccess\` and the rest kept; 400 when none can be; 503 with Retry-After (which the Collector retries) when the log cannot acknowledge. A record over ${ingest.maxEventBytes} bytes is refused on its own.`,
      security: SHIPPER_SECURITY,
      requestBody: {
        required: true,
        content: { [JSON_TYPE]: { schema: schema('OtlpLogsRequest'), example: example('OtlpLogsRequest') }, ...protobuf('OTLP ExportLogsServiceRequest (opentelemetry/proto/collector/logs/v1/logs_service.proto)') },
      },
      responses: { ...otlpResponses('Stored, or stored in part (`partialSuccess`).'), ...problems.for(EVENTS) },
    },
  }

  const nanos = `${BigInt(Math.floor(options.now)) * 1_000_000n}`
  paths[LOKI_PUSH_PATH] = {
    post: {
      operationId: 'lokiPush',
      tags: ['log shippers'],
      summary: 'Loki push (Promtail, Grafana Alloy `loki.write`, other Loki clients)',
      description: `Snappy-compressed protobuf PushRequest (the clients' default, no Content-Encoding) or JSON, optionally gzip. 204 when every entry was stored, as Loki answers; 202 naming the rejected entries when only some were; 400 when none was valid. An entry over ${ingest.maxEventBytes} bytes is refused on its own; a body (or a snappy body's declared size) over ${ingest.maxRequestBytes} bytes is 413.`,
      security: SHIPPER_SECURITY,
      requestBody: {
        required: true,
        content: {
          [JSON_TYPE]: {
            schema: schema('LokiPushRequest'),
            example: { streams: [{ stream: { service_name: 'checkout', level: 'error', host: 'web-2' }, values: [[nanos, 'payment 41 failed: card declined', { trace_id: '0af7651916cd43dd8448eb211c80319c' }]] }] },
          },
          ...protobuf('logproto.PushRequest, snappy block-compressed unless Content-Encoding is gzip or deflate'),
        },
      },
      responses: {
        202: accepted('LogsAccepted', 'Some entries are durable; `rejected` names the others by their place in the request (`/streams/0/values/1`).'),
        204: { description: 'Every entry is durable.' },
        ...problems.for(EVENTS),
      },
    },
  }

  const indexParameter: Parameter = {
    name: 'index',
    in: 'path',
    required: true,
    description: "The index for actions that name none. Without a service field the index names the service, minus a date suffix (`logstash-2026.11.22` → `logstash`). Names that begin with `_` would reach the setup routes instead (as in Elasticsearch, indices cannot begin with `_`, `-` or `+`).",
    schema: { type: 'string', minLength: 1, maxLength: PARAM_LIMIT, pattern: '^[^_+.\\-]' },
    example: 'checkout',
  }
  const bulk = (method: 'post' | 'put', withIndex: boolean): Operation => ({
    operationId: `elasticsearchBulk${withIndex ? 'Index' : ''}${method === 'put' ? 'Put' : ''}`,
    tags: ['log shippers'],
    summary: `Elasticsearch \`_bulk\`${withIndex ? ' into an index' : ''} (Fluent Bit \`es\`, Vector \`elasticsearch\`, Filebeat, Logstash)`,
    description: `NDJSON action and document lines under whatever content type the client names (application/x-ndjson, application/json, application/vnd.elasticsearch+x-ndjson; compatible-with=8, or none). \`index\` and \`create\` store the document; \`update\` and \`delete\` are refused per item (logs are append-only). The answer is Elasticsearch's: 200 with one item per action and a 400 item for each document that could not be stored; a broken action line is a 400 problem for the whole request, as in Elasticsearch. Documents are mapped from ECS and common shipper fields (docs/log-shippers.md); a document over ${ingest.maxEventBytes} bytes is refused on its own. The action's \`_id\` is the deduplication key.`,
    security: SHIPPER_SECURITY,
    ...(withIndex ? { parameters: [indexParameter] } : {}),
    requestBody: {
      required: false,
      description: 'The body is read as NDJSON whatever its content type: Elastic clients send application/x-ndjson, application/json or application/vnd.elasticsearch+x-ndjson; compatible-with=8. text/plain is listed because generic HTTP tools (and fuzzers) can send raw text under it.',
      content: Object.fromEntries(['application/x-ndjson', 'text/plain'].map((type) => [type, {
        schema: { type: 'string', description: 'Action lines ({"index":{…}}, {"create":{…}}, {"update":{…}}, {"delete":{…}}, with optional `_index` and `_id`), each but delete followed by a document line.' },
        // The example sits on text/plain only: fuzzers have no NDJSON serializer and would stop at it.
        ...(type === 'text/plain' ? { example: `{"create":{${withIndex ? '' : '"_index":"checkout",'}"_id":"doc-bulk-1"}}\n{"message":"payment 41 failed","log":{"level":"error"},"host":{"name":"web-2"}}\n` } : {}),
      }])),
    },
    responses: { 200: accepted('BulkResponse', 'Every action has its item: 201 stored, 400 refused.'), ...(withIndex ? ROUTER_LIMIT : {}), ...problems.for([P.INGEST_UNAUTHORIZED, P.INGEST_AUTH_THROTTLED, ...BODY, ...DURABLE]) },
  })
  paths[`${ELASTICSEARCH_PREFIX}/_bulk`] = { post: bulk('post', false), put: bulk('put', false) }
  paths[`${ELASTICSEARCH_PREFIX}/{index}/_bulk`] = { post: bulk('post', true), put: bulk('put', true) }

  const handshake = (path: string, summary: string, body: JsonSchema): PathItem => ({
    get: {
      operationId: `elasticsearch${operationName(path.slice(ELASTICSEARCH_PREFIX.length) || 'Info')}`,
      tags: ['log shippers'],
      summary,
      description: 'Answered as an Elasticsearch 8 cluster would, so that Elastic outputs accept Eddy. No write key needed.',
      security: [],
      responses: { 200: { description: 'The answer.', content: { [JSON_TYPE]: { schema: body } } }, ...problems.for(NO_BODY) },
    },
  })
  paths[ELASTICSEARCH_PREFIX] = handshake(ELASTICSEARCH_PREFIX, 'Cluster info (the handshake Elastic outputs start with)', schema('ElasticsearchInfo'))
  paths[`${ELASTICSEARCH_PREFIX}/`] = { get: { ...handshake(`${ELASTICSEARCH_PREFIX}/`, 'Cluster info', schema('ElasticsearchInfo')).get!, operationId: 'elasticsearchInfoSlash' } }
  paths[`${ELASTICSEARCH_PREFIX}/_license`] = handshake(`${ELASTICSEARCH_PREFIX}/_license`, 'License (basic, active)', { type: 'object', required: ['license'], properties: { license: { type: 'object', properties: { status: { const: 'active' }, type: { type: 'string' } } } } })
  paths[`${ELASTICSEARCH_PREFIX}/_cluster/health`] = handshake(`${ELASTICSEARCH_PREFIX}/_cluster/health`, 'Cluster health (green)', { type: 'object', required: ['status'], properties: { cluster_name: { type: 'string' }, status: { const: 'green' }, timed_out: { type: 'boolean' } } })
  paths[`${ELASTICSEARCH_PREFIX}/_xpack`] = handshake(`${ELASTICSEARCH_PREFIX}/_xpack`, 'X-Pack features (ILM available)', { type: 'object', required: ['features'], properties: { features: { type: 'object' } } })

  for (const setup of SETUP_PATHS) {
    const path = `${ELASTICSEARCH_PREFIX}/${setup.replace(/:(\w+)/g, '{$1}')}`
    const name = operationName(setup.replace(/\/:\w+$/, ''))
    const parameters: Parameter[] = [{ name: 'name', in: 'path', required: true, description: 'Any name; nothing is created.', schema: { type: 'string', minLength: 1, maxLength: PARAM_LIMIT, pattern: '[^.]' }, example: 'eddy' }]
    const common = {
      tags: ['log shippers'],
      description: "Setup calls (index templates, ILM policies, data streams, pipelines) are answered as done: Eddy's schema is fixed and nothing needs creating. No write key needed; the body is not read.",
      security: [],
      parameters,
    }
    const write = (method: 'Put' | 'Post'): Operation => ({
      ...common,
      operationId: `elasticsearchSetup${name}${method}`,
      summary: `Create ${setup.split('/:')[0]} (acknowledged, nothing is done)`,
      requestBody: { required: false, content: { [JSON_TYPE]: { schema: { type: 'object' }, example: {} } } },
      responses: { 200: { description: 'Acknowledged.', content: { [JSON_TYPE]: { schema: { type: 'object', required: ['acknowledged'], properties: { acknowledged: { const: true } }, additionalProperties: false } } } }, ...ROUTER_LIMIT, ...problems.for(BODY) },
    })
    paths[path] = {
      get: { ...common, operationId: `elasticsearchSetup${name}Get`, summary: `Read ${setup.split('/:')[0]} (always empty)`, responses: { 200: { description: 'Nothing.', content: { [JSON_TYPE]: { schema: { type: 'object', maxProperties: 0 } } } }, ...ROUTER_LIMIT, ...problems.for(NO_BODY) } },
      put: write('Put'),
      post: write('Post'),
    }
  }

  const webhook = (provider: string, summary: string, description: string, content: Record<string, MediaType>, parameters: Parameter[], extra: ProblemDefinition[] = [], success: Response = accepted('WebhookAccepted', 'Verified; valid events stored.')): Operation => ({
    operationId: `webhook${provider}`,
    tags: ['webhooks'],
    summary,
    description: `${description} The write key (usually \`?key=\` in the URL given to the provider) names the project; the signature, checked against the project's secret for this provider, is what authenticates the request. Unsigned, badly signed, or for a provider the project has no secret for: 401, nothing stored (docs/webhooks.md).`,
    security: WEBHOOK_SECURITY,
    parameters,
    requestBody: { required: true, content },
    responses: { 200: success, ...problems.for([P.INGEST_MALFORMED_BODY, P.INGEST_UNAUTHORIZED, P.INGEST_AUTH_THROTTLED, P.INGEST_WEBHOOK_SIGNATURE_INVALID, P.INGEST_WEBHOOK_NOT_CONFIGURED, P.INGEST_BODY_TOO_LARGE, P.INGEST_UNSUPPORTED_MEDIA_TYPE, P.INGEST_RATE_LIMITED, ...DURABLE, ...extra]) },
    'x-eddy-fuzz': false,
    'x-eddy-fuzz-reason': 'Signed by the provider over the exact body (and, for Twilio, the URL): a fuzzer cannot produce a valid signature, so every generated request stops at 401 before any parsing of events.',
  })
  paths['/webhooks/sendgrid'] = {
    post: webhook(
      'Sendgrid',
      'SendGrid Event Webhook',
      'A JSON array of SendGrid events, signed with ECDSA (P-256, SHA-256) over the timestamp header and the raw body. `sg_event_id` is the deduplication key; `sg_message_id` (or a `notification_id` custom arg) the notification.',
      { [JSON_TYPE]: { schema: { type: 'array', items: { type: 'object', properties: { event: { type: 'string' }, sg_event_id: { type: 'string' }, sg_message_id: { type: 'string' }, timestamp: { type: 'integer', description: 'epoch seconds' } }, additionalProperties: true } }, example: [{ event: 'delivered', sg_event_id: 'doc-sg-1', sg_message_id: 'msg-1.filter', timestamp: Math.floor(options.now / 1000), email: 'someone@example.com', category: ['welcome'] }] } },
      [
        { name: 'X-Twilio-Email-Event-Webhook-Signature', in: 'header', required: true, description: 'base64 ECDSA signature.', schema: { type: 'string' } },
        { name: 'X-Twilio-Email-Event-Webhook-Timestamp', in: 'header', required: true, description: 'The signed timestamp.', schema: { type: 'string' } },
      ],
    ),
  }
  paths['/webhooks/twilio'] = {
    post: webhook(
      'Twilio',
      'Twilio message status callback (StatusCallback)',
      'Form parameters of a status callback, signed with HMAC-SHA1 (the auth token) over the URL Twilio requested and the sorted parameters (set EDDY_PUBLIC_URL behind a proxy). (MessageSid, MessageStatus) is the deduplication key.',
      {
        'application/x-www-form-urlencoded': {
          schema: { type: 'object', required: ['MessageSid', 'MessageStatus'], properties: { MessageSid: { type: 'string' }, MessageStatus: { type: 'string' }, AccountSid: { type: 'string' }, ErrorCode: { type: 'string' }, ErrorMessage: { type: 'string' } }, additionalProperties: { type: 'string' } },
          example: { MessageSid: 'SM0123456789abcdef0123456789abcdef', MessageStatus: 'delivered', AccountSid: 'AC0123456789abcdef0123456789abcdef' },
        },
      },
      [{ name: 'X-Twilio-Signature', in: 'header', required: true, description: 'base64 HMAC-SHA1.', schema: { type: 'string' } }],
    ),
  }
  paths['/webhooks/ses'] = {
    post: webhook(
      'Ses',
      'Amazon SES events through an SNS HTTPS subscription',
      "An SNS message (SignatureVersion 1: RSA-SHA1, 2: RSA-SHA256) whose signing certificate is fetched from SNS. A SubscriptionConfirmation is confirmed (200 `{confirmed: <topic>}`); the SNS MessageId is the deduplication key. 503 with Retry-After when the certificate cannot be fetched or the subscription not confirmed (SNS retries).",
      Object.fromEntries(['text/plain', JSON_TYPE].map((type) => [type, { schema: type === JSON_TYPE ? schema('SnsEnvelope') : { type: 'string', contentMediaType: JSON_TYPE, contentSchema: schema('SnsEnvelope') } }])),
      [],
      [P.INGEST_WEBHOOK_UNAVAILABLE],
      {
        description: 'Verified: the events stored (or the subscription confirmed).',
        content: { [JSON_TYPE]: { schema: { anyOf: [schema('WebhookAccepted'), { type: 'object', required: ['confirmed'], properties: { confirmed: { type: 'string', description: 'The topic ARN' } }, additionalProperties: false }] } } },
      },
    ),
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Eddy ingest',
      version: '1',
      description: [
        'Write-only HTTP collection: Segment-compatible clickstream, log lines and log shipper protocols (Elasticsearch `_bulk`, Loki push, OTLP/HTTP), notification lifecycle events and provider webhooks.',
        'The project always comes from the write key (see the security schemes; clickstream and notification endpoints also take `writeKey` in the body). Every endpoint accepts `Content-Encoding: gzip` or `deflate` (anything else is 415; a broken stream 400), and JSON is also read from text/plain.',
        `\`202\` (or the protocol's own success) is sent only once every accepted event is durable in the event log; otherwise \`503\` with Retry-After (\`507\` when the log's disk is full) and nothing is accepted. Events must be ${bounds}. Limits of this server: ${ingest.maxRequestBytes} bytes per body after decompression, ${ingest.maxEventBytes} bytes per event or line.`,
        'Errors are application/problem+json (RFC 9457) with a stable `code`; bad input names each event and field (docs/errors.md). When rate limits are on, any request carrying a known write key may be refused with 429.',
        'Operations marked `x-eddy-fuzz: false` cannot be driven by a fuzzer (see `x-eddy-fuzz-reason`).',
      ].join('\n\n'),
    },
    servers: [{ url: '/', description: 'The server that serves this document.' }],
    tags: [
      { name: 'clickstream', description: 'Segment-compatible calls (docs: README, Sending events).' },
      { name: 'snippet', description: 'The browser SDK (docs/snippet.md).' },
      { name: 'logs', description: "Eddy's own log endpoint." },
      { name: 'log shippers', description: 'Protocols log shippers already speak (docs/log-shippers.md).' },
      { name: 'notifications', description: 'Notification lifecycle events from the sender.' },
      { name: 'webhooks', description: 'Signed delivery events from providers (docs/webhooks.md).' },
    ],
    paths,
    components: { schemas, responses: problems.components, securitySchemes },
  }
}

/** `/v1/batch` → `V1Batch`, `_index_template` → `IndexTemplate`: operation ids from paths. */
function operationName(path: string): string {
  return path.split(/[^A-Za-z0-9]+/).filter(Boolean).map((part) => part[0]!.toUpperCase() + part.slice(1)).join('')
}
