import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './load.ts'

const development = { project: () => ({ id: 'development', writeKeys: ['wk_development'], readKeys: ['rk_development'] }), operatorKey: () => 'ok_development' }

describe('loadConfig', () => {
  it('gives embedded defaults when nothing is set', () => {
    const config = loadConfig({}, development)
    expect(config.port).toBe(8080)
    expect(config.kafkaBrokers).toEqual([])
    expect(config.clickhouse.url).toBeUndefined()
    expect(config.ingest.maxEventBytes).toBe(32 * 1024)
    expect(config.ingest.maxRequestBytes).toBe(500 * 1024)
    expect(config.developmentProject).toBe(true)
    expect(config.projects[0]!.id).toBe('development')
    expect(config.operatorKeys).toEqual(['ok_development'])
  })

  it('reads operator keys, none by default once projects are configured, each distinct from project keys', () => {
    expect(loadConfig({ EDDY_READ_KEY: 'read-key-1' }).operatorKeys).toEqual([])
    expect(loadConfig({ EDDY_READ_KEY: 'read-key-1', EDDY_OPERATOR_KEYS: ' operator-1, operator-2 ' }).operatorKeys).toEqual(['operator-1', 'operator-2'])
    expect(loadConfig({ EDDY_OPERATOR_KEYS: 'operator-1' }, development).operatorKeys).toEqual(['operator-1'])
    expect(() => loadConfig({ EDDY_READ_KEY: 'read-key-1', EDDY_OPERATOR_KEYS: 'read-key-1' })).toThrow(/used twice: by an operator and by default \(read\)/)
    expect(() => loadConfig({ EDDY_READ_KEY: 'read-key-1', EDDY_OPERATOR_KEYS: 'short' })).toThrow(/operatorKeys/)
  })

  it('reads the nesting limit, 64 by default, and refuses one past where a walk could overflow', () => {
    expect(loadConfig({}, development).ingest.maxNestingDepth).toBe(64)
    expect(loadConfig({ EDDY_MAX_NESTING_DEPTH: '128' }, development).ingest.maxNestingDepth).toBe(128)
    expect(() => loadConfig({ EDDY_MAX_NESTING_DEPTH: '100000' }, development)).toThrow(/maxNestingDepth/)
    expect(() => loadConfig({ EDDY_MAX_NESTING_DEPTH: 'deep' }, development)).toThrow(/EDDY_MAX_NESTING_DEPTH/)
  })

  it('is frozen all the way down', () => {
    const config = loadConfig({ EDDY_WRITE_KEY: 'write-key-1' })
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.projects[0]!.writeKeys)).toBe(true)
    expect(() => ((config.ingest as { maxEventBytes: number }).maxEventBytes = 1)).toThrow()
  })

  it('switches each part to its server by one variable', () => {
    const config = loadConfig({
      KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093',
      CLICKHOUSE_URL: 'http://127.0.0.1:8123',
      REDIS_URL: 'redis://127.0.0.1:6379',
      EDDY_WRITE_KEY: 'write-key-1',
    })
    expect(config.kafkaBrokers).toEqual(['127.0.0.1:9092', '127.0.0.1:9093'])
    expect(config.clickhouse.url).toBe('http://127.0.0.1:8123')
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379')
    expect(config.developmentProject).toBe(false)
  })

  it('reads projects from EDDY_PROJECTS', () => {
    const config = loadConfig({ EDDY_PROJECTS: JSON.stringify([{ id: 'shop', writeKeys: ['shop-write-1'], readKeys: ['shop-read-1'] }]) })
    expect(config.projects).toEqual([{ id: 'shop', writeKeys: ['shop-write-1'], readKeys: ['shop-read-1'] }])
  })

  it('names every problem at once', () => {
    let error: unknown
    try {
      loadConfig({
        PORT: 'eighty',
        LOG_LEVEL: 'loud',
        EDDY_KAFKA_CLIENT: 'librdkafka',
        EDDY_STATE_STORE: 'rocksdb',
        EDDY_STATE_CACHE_MB: '0',
        EDDY_PROJECTS: JSON.stringify([
          { id: 'a', writeKeys: ['same-key-1'], readKeys: [] },
          { id: 'b', writeKeys: [], readKeys: ['same-key-1'] },
        ]),
      })
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    const problems = (error as ConfigError).problems.join('\n')
    expect(problems).toContain('PORT="eighty" is not a whole number')
    expect(problems).toContain('/logLevel')
    expect(problems).toContain('/kafkaClient')
    expect(problems).toContain('/stateStore')
    expect(problems).toContain('/stateCacheMb')
    expect(problems).toContain('a key is used twice: by a (write) and by b (read)')
  })

  it('rejects malformed project JSON with the variable name', () => {
    expect(() => loadConfig({ EDDY_PROJECTS: '{nope' })).toThrow(/EDDY_PROJECTS/)
  })

  it('reads rate limit tiers and cache TTLs, and turns a tier off with 0', () => {
    const defaults = loadConfig({ EDDY_WRITE_KEY: 'write-key-1' })
    expect(defaults.rateLimits).toEqual({ ingest: { capacity: 1000, refillPerSecond: 500 }, api: { capacity: 60, refillPerSecond: 10 }, authFailures: { capacity: 20, refillPerSecond: 10 / 60 } })
    expect(defaults.cache).toEqual({ openTtlMs: 5_000, closedTtlMs: 60_000 })
    const tuned = loadConfig({ EDDY_WRITE_KEY: 'write-key-1', EDDY_RATE_LIMIT_INGEST_PER_SECOND: '0', EDDY_RATE_LIMIT_API_BURST: '5', EDDY_CACHE_CLOSED_TTL_MS: '0', EDDY_AUTH_FAILURE_PER_MINUTE: '30' })
    expect(tuned.rateLimits).toEqual({ ingest: undefined, api: { capacity: 5, refillPerSecond: 10 }, authFailures: { capacity: 20, refillPerSecond: 0.5 } })
    expect(loadConfig({ EDDY_WRITE_KEY: 'write-key-1', EDDY_AUTH_FAILURE_BURST: '0' }).rateLimits.authFailures).toBeUndefined()
    expect(tuned.cache.closedTtlMs).toBe(0)
    expect(() => loadConfig({ EDDY_WRITE_KEY: 'write-key-1', EDDY_RATE_LIMIT_API_BURST: '-3' })).toThrow(/rateLimits\/api\/capacity/)
  })

  it('reads webhook secrets per project and the public URL', () => {
    const webhooks = { sendgrid: { publicKey: 'MFkwEwYHKoZI' }, twilio: { authToken: 'twilio-token' }, sns: { topicArns: ['arn:aws:sns:eu-west-1:123456789012:ses-events'] } }
    const config = loadConfig({
      EDDY_PROJECTS: JSON.stringify([{ id: 'shop', writeKeys: ['shop-write-1'], readKeys: [], webhooks }]),
      EDDY_PUBLIC_URL: 'https://eddy.example.com',
    })
    expect(config.projects[0]!.webhooks).toEqual(webhooks)
    expect(config.publicUrl).toBe('https://eddy.example.com')
    expect(Object.isFrozen(config.projects[0]!.webhooks!.sns!.topicArns)).toBe(true)
  })

  it('refuses malformed webhook secrets and public URLs, naming them', () => {
    let error: unknown
    try {
      loadConfig({
        EDDY_PROJECTS: JSON.stringify([{ id: 'shop', writeKeys: ['shop-write-1'], readKeys: [], webhooks: { twilio: { authToken: '' }, sns: { topicArns: ['not-an-arn'] }, mailgun: {} } }]),
        EDDY_PUBLIC_URL: 'eddy.example.com/hooks',
      })
    } catch (caught) {
      error = caught
    }
    const problems = (error as ConfigError).problems.join('\n')
    expect(problems).toContain('/projects/0/webhooks/twilio/authToken')
    expect(problems).toContain('/projects/0/webhooks/sns/topicArns/0')
    expect(problems).toContain('/projects/0/webhooks')
    expect(problems).toContain('/publicUrl')
  })
})
