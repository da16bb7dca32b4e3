import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { ENVIRONMENT } from '../core/config/environment.ts'

const ROOT = join(import.meta.dirname, '..')
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { image?: string; build?: unknown; command?: string[]; environment?: Record<string, string>; healthcheck?: unknown; depends_on?: Record<string, { condition: string }>; volumes?: string[]; deploy?: { replicas?: number } }>
  volumes: Record<string, unknown>
}
const EDDY_COMMANDS = ['start', 'ingest', 'process', 'api', 'migrate', 'demo']
const eddyServices = Object.entries(compose.services).filter(([, service]) => service.build !== undefined)

/** Checked without a Docker engine: the structure a `docker compose up` relies on. */
describe('docker-compose.yml', () => {
  it('runs Kafka, ClickHouse and Eddy as separate services: ingest, two processors, api, and a migration first', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'clickhouse', 'ingest', 'kafka', 'migrate', 'processors'])
    expect(compose.services.processors!.deploy?.replicas).toBe(2)
    for (const name of ['ingest', 'processors', 'api']) expect(compose.services[name]!.depends_on).toEqual({ migrate: { condition: 'service_completed_successfully' } })
    expect(compose.services.migrate!.depends_on).toEqual({ kafka: { condition: 'service_healthy' }, clickhouse: { condition: 'service_healthy' } })
  })

  it('pins every image to a version', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const image = service.image!
      expect(image, name).toMatch(/^[\w./-]+:[\w.-]+$/)
      expect(image, name).not.toMatch(/:latest$/)
    }
  })

  it('gives the services Eddy waits on a health check, and keeps data in named volumes', () => {
    for (const name of ['kafka', 'clickhouse']) expect(compose.services[name]!.healthcheck, name).toBeDefined()
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!
        expect(Object.keys(compose.volumes), `${name} mounts ${source}`).toContain(source)
      }
    }
  })

  it('runs real eddy commands with environment variables Eddy reads', () => {
    for (const [name, service] of eddyServices) {
      expect(EDDY_COMMANDS, name).toContain(service.command![0])
      for (const variable of Object.keys(service.environment ?? {})) expect(Object.keys(ENVIRONMENT), `${name}: ${variable}`).toContain(variable)
    }
  })

  it('holds no secrets: credentials come from .env, whose example names only known variables', () => {
    const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')
    expect(text).not.toMatch(/PASSWORD:\s*[^$\s]/)
    expect(text).not.toMatch(/(wk|rk)_[0-9a-f]{8,}/)
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8')
    for (const line of example.split('\n').filter((l) => /^[A-Z_]+=/.test(l))) {
      expect(Object.keys(ENVIRONMENT)).toContain(line.split('=')[0])
    }
  })

  it('builds an image that runs as a non-root user with a health check', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    expect(dockerfile).toMatch(/^USER node$/m)
    expect(dockerfile).toMatch(/^HEALTHCHECK /m)
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2)
  })
})
