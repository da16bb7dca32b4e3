import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { Value } from '@sinclair/typebox/value'
import { ConfigSchema, type Config, type Project } from './schema.ts'
import type { EnvironmentVariable } from './environment.ts'
import { DEFAULT_MAX_NESTING_DEPTH } from '../http/nesting.ts'
import { trustedProxies } from '../http/trusted-proxies.ts'

export type Environment = Partial<Record<EnvironmentVariable, string>>

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
  }
}

/** What a newcomer's `eddy start` gets when nothing is configured (see cli/development-project.ts). */
export interface DevelopmentDefaults {
  project(): Project
  operatorKey(): string
}

/**
 * Parses the environment once, at start-up, into a validated and frozen Config. Nothing else in
 * Eddy reads process.env; everything receives the Config (or the part of it it needs).
 * `development` supplies the keys when no project is configured.
 */
export function loadConfig(env: Environment, development?: DevelopmentDefaults): Readonly<Config> {
  const problems: string[] = []
  const integer = (name: EnvironmentVariable, fallback: number): number => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    const value = Number(raw)
    if (!Number.isInteger(value)) problems.push(`${name}="${raw}" is not a whole number`)
    return value
  }
  const optional = (name: EnvironmentVariable): string | undefined => (env[name] ? env[name] : undefined)

  let projects = readProjects(env, problems)
  let isDevelopmentProject = false
  if (projects.length === 0 && development) {
    projects = [development.project()]
    isDevelopmentProject = true
  }
  let operatorKeys = (env.EDDY_OPERATOR_KEYS ?? '').split(',').map((key) => key.trim()).filter(Boolean)
  if (operatorKeys.length === 0 && isDevelopmentProject) operatorKeys = [development!.operatorKey()]

  const prefix = env.EDDY_TOPIC_PREFIX || 'eddy'
  const config: Config = {
    host: env.HOST || '0.0.0.0',
    port: integer('PORT', 8080),
    dataDir: resolve(env.EDDY_DATA_DIR || './data'),
    logLevel: (env.LOG_LEVEL || 'info') as Config['logLevel'],
    kafkaBrokers: (env.KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter(Boolean),
    kafkaClient: (env.EDDY_KAFKA_CLIENT || 'platformatic') as Config['kafkaClient'],
    stateStore: (env.EDDY_STATE_STORE || 'lmdb') as Config['stateStore'],
    stateCacheMb: integer('EDDY_STATE_CACHE_MB', 128),
    processorThread: (env.EDDY_PROCESSOR_THREAD || 'worker') as Config['processorThread'],
    schemaRegistryUrl: optional('SCHEMA_REGISTRY_URL'),
    clickhouse: {
      url: optional('CLICKHOUSE_URL'),
      database: env.CLICKHOUSE_DATABASE || 'eddy',
      username: optional('CLICKHOUSE_USER'),
      password: optional('CLICKHOUSE_PASSWORD'),
    },
    elasticsearchUrl: optional('ELASTICSEARCH_URL'),
    redisUrl: optional('REDIS_URL'),
    projects,
    operatorKeys,
    developmentProject: isDevelopmentProject,
    topics: {
      partitions: integer('EDDY_PARTITIONS', 4),
      prefix,
      click: `${prefix}.clicks`,
      log: `${prefix}.logs`,
      notification: `${prefix}.notifications`,
      dlq: `${prefix}.dlq`,
      late: `${prefix}.late`,
    },
    ingest: {
      maxEventBytes: integer('EDDY_MAX_EVENT_BYTES', 32 * 1024),
      maxRequestBytes: integer('EDDY_MAX_REQUEST_BYTES', 500 * 1024),
      maxFutureMs: 24 * 60 * 60 * 1000,
      maxNestingDepth: integer('EDDY_MAX_NESTING_DEPTH', DEFAULT_MAX_NESTING_DEPTH),
      produceTimeoutMs: 5_000,
      ...(optional('EDDY_SNIPPET_PATH') ? { scriptPath: optional('EDDY_SNIPPET_PATH') } : {}),
      ...(optional('EDDY_COLLECT_PATH') ? { collectPath: optional('EDDY_COLLECT_PATH') } : {}),
      ...(optional('EDDY_TRUSTED_PROXIES') ? { trustedProxies: proxyList(env.EDDY_TRUSTED_PROXIES!, problems) } : {}),
      ...(optional('EDDY_VISITOR_SECRET') ? { visitorSecret: optional('EDDY_VISITOR_SECRET') } : {}),
    },
    retentionDays: integer('EDDY_RETENTION_DAYS', 400),
    publicUrl: optional('EDDY_PUBLIC_URL'),
    rateLimits: {
      ingest: tier(integer('EDDY_RATE_LIMIT_INGEST_BURST', 1_000), integer('EDDY_RATE_LIMIT_INGEST_PER_SECOND', 500)),
      api: tier(integer('EDDY_RATE_LIMIT_API_BURST', 60), integer('EDDY_RATE_LIMIT_API_PER_SECOND', 10)),
      authFailures: tier(integer('EDDY_AUTH_FAILURE_BURST', 20), integer('EDDY_AUTH_FAILURE_PER_MINUTE', 10) / 60),
    },
    cache: {
      openTtlMs: integer('EDDY_CACHE_OPEN_TTL_MS', 5_000),
      closedTtlMs: integer('EDDY_CACHE_CLOSED_TTL_MS', 60_000),
    },
    sink: {
      maxBatchRows: integer('EDDY_SINK_MAX_BATCH_ROWS', 20_000),
      flushIntervalMs: integer('EDDY_SINK_FLUSH_MS', 250),
    },
    checkpointIntervalMs: integer('EDDY_CHECKPOINT_INTERVAL_MS', 3_000),
    convergenceQuietMs: integer('EDDY_CONVERGENCE_QUIET_MS', 5_000),
  }

  for (const error of Value.Errors(ConfigSchema, config)) {
    problems.push(`${error.path || '/'}: ${error.message}${error.value === undefined ? '' : ` (got ${JSON.stringify(error.value)})`}`)
  }
  problems.push(...duplicateKeys(config.projects, config.operatorKeys))
  if (problems.length > 0) throw new ConfigError(problems)
  return deepFreeze(config)
}

/** 0 for either figure turns the tier off. */
function tier(capacity: number, refillPerSecond: number): Config['rateLimits']['ingest'] {
  return capacity === 0 || refillPerSecond === 0 ? undefined : { capacity, refillPerSecond }
}

function readProjects(env: Environment, problems: string[]): Project[] {
  if (env.EDDY_PROJECTS || env.EDDY_PROJECTS_FILE) {
    try {
      const text = env.EDDY_PROJECTS ?? readFileSync(env.EDDY_PROJECTS_FILE!, 'utf8')
      const parsed: unknown = JSON.parse(text)
      if (!Array.isArray(parsed)) throw new Error('expected a JSON array of projects')
      return parsed as Project[]
    } catch (error) {
      problems.push(`EDDY_PROJECTS${env.EDDY_PROJECTS ? '' : '_FILE'}: ${(error as Error).message}`)
      return []
    }
  }
  if (env.EDDY_WRITE_KEY || env.EDDY_READ_KEY) {
    return [{
      id: env.EDDY_PROJECT_ID || 'default',
      writeKeys: env.EDDY_WRITE_KEY ? [env.EDDY_WRITE_KEY] : [],
      readKeys: env.EDDY_READ_KEY ? [env.EDDY_READ_KEY] : [],
    }]
  }
  return []
}

/** A key must identify exactly one project and one role, or tenancy would be ambiguous. */
function duplicateKeys(projects: readonly Project[], operatorKeys: readonly string[]): string[] {
  const seen = new Map<string, string>()
  const problems: string[] = []
  for (const key of operatorKeys) {
    if (seen.has(key)) problems.push('an operator key is listed twice')
    seen.set(key, 'an operator')
  }
  for (const project of projects) {
    for (const [role, keys] of [['write', project.writeKeys], ['read', project.readKeys]] as const) {
      for (const key of keys) {
        const owner = `${project.id} (${role})`
        const previous = seen.get(key)
        if (previous) problems.push(`a key is used twice: by ${previous} and by ${owner}`)
        seen.set(key, owner)
      }
    }
  }
  const ids = projects.map((p) => p.id)
  for (const id of new Set(ids)) if (ids.filter((i) => i === id).length > 1) problems.push(`project id "${id}" is configured twice`)
  return problems
}

/** Freezes a configuration and everything in it (a copy handed to a worker thread comes unfrozen). */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

/** EDDY_TRUSTED_PROXIES: comma-separated IPs and CIDRs, each checked here rather than at the first request. */
function proxyList(raw: string, problems: string[]): string[] {
  const entries = raw.split(',').map((entry) => entry.trim()).filter(Boolean)
  try {
    trustedProxies(entries)
  } catch (error) {
    problems.push(`EDDY_TRUSTED_PROXIES: ${(error as Error).message}`)
  }
  return entries
}
