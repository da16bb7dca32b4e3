import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { ENVIRONMENT } from '../core/config/environment.ts'
import { METRICS } from '../core/metrics/catalog.ts'

interface Service {
  image?: string
  build?: unknown
  command?: string[]
  environment?: Record<string, string | number>
  healthcheck?: { test?: unknown; disable?: boolean }
  depends_on?: Record<string, { condition: string }>
  volumes?: string[]
  ports?: string[]
  deploy?: { replicas?: number }
}

const ROOT = join(import.meta.dirname, '..')
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')
const composeText = read('docker-compose.yml')
const compose = parse(composeText, { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> }
const services = compose.services
const prometheus = parse(read('infra/prometheus/prometheus.yml')) as {
  scrape_configs: Array<{ job_name: string; honor_labels?: boolean; static_configs?: Array<{ targets: string[] }>; dns_sd_configs?: Array<{ names: string[]; port: number }> }>
}

const EDDY_COMMANDS = ['start', 'ingest', 'process', 'api', 'migrate', 'demo']
/** The Eddy services that keep running (migrate is one-shot), each serving HTTP on PORT's default. */
const EDDY_SERVERS = ['ingest', 'processors', 'api']
const EDDY_PORT = 8080
/** Variables .env holds for the other containers, not for Eddy. */
const INFRA_VARIABLES = ['GRAFANA_ADMIN_PASSWORD', 'GRAFANA_CLICKHOUSE_PASSWORD']
const eddyServices = Object.entries(services).filter(([, service]) => service.build !== undefined)
const healthy = (name: string) => services[name]?.healthcheck !== undefined && services[name]?.healthcheck?.disable !== true
/** `${NAME}`, `${NAME:-default}`, `${NAME:?error}`: the names compose reads from .env. */
const interpolated = (text: string) => new Set([...text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)(?::?[-?][^}]*)?\}/g)].map((match) => match[1]!))
const exampleVariables = read('.env.example').split('\n').filter((line) => /^[A-Z_]+=/.test(line)).map((line) => line.split('=')[0]!)

/** Checked without a Docker engine: the structure a `docker compose up` relies on. */
describe('docker-compose.yml', () => {
  it('runs the stores, the monitoring and Eddy as separate services: ingest, two processors, api, and a migration first', () => {
    expect(Object.keys(services).sort()).toEqual([
      'api', 'clickhouse', 'elasticsearch', 'grafana', 'ingest', 'kafka', 'migrate', 'processors', 'prometheus', 'redis', 'schema-registry',
    ])
    expect(services.processors!.deploy?.replicas).toBe(2)
    expect(eddyServices.map(([name]) => name).sort()).toEqual(['api', 'ingest', 'migrate', 'processors'])
    expect(services.kafka!.environment?.KAFKA_PROCESS_ROLES, 'KRaft: no ZooKeeper').toBe('broker,controller')
  })

  it('pins every image to a version', () => {
    for (const [name, service] of Object.entries(services)) {
      const image = service.image!
      expect(image, name).toMatch(/^[\w./-]+:[\w.-]*\d[\w.-]*$/)
      expect(image, name).not.toMatch(/:(latest|stable|main|edge)$/)
    }
    const { version } = JSON.parse(read('package.json')) as { version: string }
    for (const [name, service] of eddyServices) expect(service.image, name).toBe(`eddy:${version}`)
    // The registry CI tests the Confluent adapter against (infra/schema-registry/pom.xml).
    const apicurio = /<apicurio.version>(.*)<\/apicurio.version>/.exec(read('infra/schema-registry/pom.xml'))![1]!
    expect(services['schema-registry']!.image).toMatch(new RegExp(`^apicurio/apicurio-registry-[\\w-]+:${apicurio.replaceAll('.', '\\.')}$`))
    expect(services.clickhouse!.image).toMatch(/^clickhouse\/clickhouse-server:26\./)
    expect(services.elasticsearch!.image).toMatch(/elasticsearch:8\./)
  })

  it('gives every long-running service a health check, and waits on conditions that can be met', () => {
    for (const name of Object.keys(services)) {
      if (name === 'migrate') expect(healthy(name), 'a one-shot job is never healthy').toBe(false)
      else expect(healthy(name), name).toBe(true)
    }
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(Object.keys(services), `${name} depends on ${dependency}`).toContain(dependency)
        expect(['service_healthy', 'service_completed_successfully', 'service_started'], `${name} → ${dependency}`).toContain(condition)
        if (condition === 'service_healthy') expect(healthy(dependency), `${name} waits for ${dependency} to be healthy`).toBe(true)
        if (condition === 'service_completed_successfully') expect(dependency, name).toBe('migrate')
      }
    }
    expect(services.migrate!.depends_on).toEqual({ kafka: { condition: 'service_healthy' }, clickhouse: { condition: 'service_healthy' } })
    for (const name of EDDY_SERVERS) expect(services[name]!.depends_on?.migrate, name).toEqual({ condition: 'service_completed_successfully' })
    for (const name of ['ingest', 'processors']) expect(services[name]!.depends_on?.['schema-registry'], name).toEqual({ condition: 'service_healthy' })
    expect(services.grafana!.depends_on?.clickhouse).toEqual({ condition: 'service_healthy' })
  })

  it('publishes ingest, api and Grafana, keeps Prometheus local, and no two services on one host port', () => {
    const published = Object.entries(services).flatMap(([name, service]) => (service.ports ?? []).map((port) => ({ name, port: String(port) })))
    expect(published).toEqual(expect.arrayContaining([
      { name: 'ingest', port: `8080:${EDDY_PORT}` },
      { name: 'api', port: `8081:${EDDY_PORT}` },
      { name: 'grafana', port: '3000:3000' },
      { name: 'prometheus', port: '127.0.0.1:9090:9090' },
    ]))
    // Replicas cannot share a host port; the stores are reached inside the compose network only.
    for (const name of ['processors', 'migrate', 'kafka', 'clickhouse', 'elasticsearch', 'redis', 'schema-registry']) expect(services[name]!.ports, name).toBeUndefined()
    const hostPorts = published.map(({ port }) => port.split(':').slice(0, -1).join(':'))
    expect(new Set(hostPorts).size).toBe(hostPorts.length)
    for (const [name, service] of eddyServices) expect(service.environment?.PORT, `${name} listens on the image's PORT`).toBeUndefined()
  })

  it('keeps data in named volumes and mounts files that exist', () => {
    const used = new Set<string>()
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!
        if (source.startsWith('./')) {
          expect(existsSync(join(ROOT, source)), `${name} mounts ${source}`).toBe(true)
        } else {
          expect(Object.keys(compose.volumes), `${name} mounts ${source}`).toContain(source)
          used.add(source)
        }
      }
    }
    expect([...used].sort()).toEqual(Object.keys(compose.volumes).sort())
    for (const name of ['kafka', 'clickhouse', 'elasticsearch', 'prometheus', 'grafana']) {
      expect(services[name]!.volumes?.some((volume) => !volume.startsWith('./')), `${name} keeps its data in a named volume`).toBe(true)
    }
  })

  it('runs real eddy commands with environment variables Eddy reads', () => {
    for (const [name, service] of eddyServices) {
      expect(EDDY_COMMANDS, name).toContain(service.command![0])
      for (const variable of Object.keys(service.environment ?? {})) expect(Object.keys(ENVIRONMENT), `${name}: ${variable}`).toContain(variable)
      // Only the variables listed reach Eddy: the whole .env would hand it Grafana's passwords.
      expect((service as { env_file?: unknown }).env_file, name).toBeUndefined()
    }
    expect(services.ingest!.command).toEqual(['ingest'])
    expect(services.processors!.command).toEqual(['process'])
    expect(services.api!.command).toEqual(['api'])
    expect(services.migrate!.command).toEqual(['migrate'])
  })

  it('hands every Eddy service each setting, so a new one cannot be forgotten in the stack', () => {
    // Settings of the single-process, single-project setup, which the stack replaces by
    // EDDY_PROJECTS and separate services; HOST and PORT are the image's (0.0.0.0:8080).
    const notInTheStack = ['HOST', 'PORT', 'EDDY_DATA_DIR', 'EDDY_PROJECTS_FILE', 'EDDY_PROJECT_ID', 'EDDY_WRITE_KEY', 'EDDY_READ_KEY']
    for (const [name, service] of eddyServices) {
      const given = Object.keys(service.environment ?? {})
      for (const variable of Object.keys(ENVIRONMENT)) {
        if (!notInTheStack.includes(variable)) expect(given, `${name}: ${variable}`).toContain(variable)
      }
    }
    // Ingest instances must agree on the cookieless-visitor salt: the secret is required, not defaulted.
    expect(services.ingest!.environment!.EDDY_VISITOR_SECRET).toMatch(/^\$\{EDDY_VISITOR_SECRET:\?/)
  })

  it('holds no secrets: credentials come from .env, whose example lists every variable the file reads', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [variable, value] of Object.entries(service.environment ?? {})) {
        if (/PASSWORD|SECRET|TOKEN|_KEY$/.test(variable)) expect(String(value), `${name}: ${variable} comes from .env`).toMatch(/^\$\{[A-Z_]+(:\?[^}]*)?\}$/)
      }
    }
    expect(composeText).not.toMatch(/(wk|rk)_[0-9a-f]{8,}/)
    const read = interpolated(composeText)
    for (const variable of read) expect(exampleVariables, `docker-compose.yml reads ${variable}`).toContain(variable)
    for (const variable of exampleVariables) {
      expect([...Object.keys(ENVIRONMENT), ...INFRA_VARIABLES], `.env.example: ${variable}`).toContain(variable)
      expect([...read], `.env.example lists ${variable}, which nothing reads`).toContain(variable)
    }
  })
})

describe('infra/prometheus/prometheus.yml', () => {
  const targets = prometheus.scrape_configs.flatMap((config) => [
    ...(config.static_configs ?? []).flatMap((block) => block.targets.map((target) => ({ job: config.job_name, host: target.split(':')[0]!, port: Number(target.split(':')[1]) }))),
    ...(config.dns_sd_configs ?? []).flatMap((block) => block.names.map((host) => ({ job: config.job_name, host, port: block.port }))),
  ])

  it('scrapes every Eddy server, each under its own job, at the port it listens on', () => {
    for (const name of EDDY_SERVERS) {
      const scraped = targets.filter((target) => target.host === name)
      expect(scraped, name).toHaveLength(1)
      expect(scraped[0]!.port, name).toBe(EDDY_PORT)
    }
    for (const target of targets.filter((t) => t.host !== '127.0.0.1')) expect(EDDY_SERVERS, `${target.job} scrapes ${target.host}`).toContain(target.host)
    expect(new Set(targets.map((target) => target.job)).size).toBe(targets.length)
  })

  it('finds both processor replicas through DNS and keeps the Eddy job label', () => {
    const processors = prometheus.scrape_configs.find((config) => config.dns_sd_configs?.some((block) => block.names.includes('processors')))!
    expect(processors.static_configs).toBeUndefined()
    // Metrics labelled `job` would otherwise be relabelled exported_job by Prometheus.
    const labelledJob = Object.values(METRICS).filter((metric) => metric.owner === 'processors' && (metric.labels as readonly string[]).includes('job'))
    expect(labelledJob.length).toBeGreaterThan(0)
    expect(processors.honor_labels).toBe(true)
  })

  it('is mounted where Prometheus reads its configuration', () => {
    expect(services.prometheus!.volumes).toContain('./infra/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro')
  })
})

describe('Grafana in the stack', () => {
  const grafana = services.grafana!
  const mountOf = (target: string) => grafana.volumes!.find((volume) => volume.split(':')[1] === target)?.split(':')[0]

  it('mounts the provisioning and the generated dashboards where the provisioning looks for them', () => {
    const provisioning = mountOf('/etc/grafana/provisioning')!
    expect(statSync(join(ROOT, provisioning, 'datasources')).isDirectory()).toBe(true)
    const provider = parse(read(join(provisioning, 'dashboards', 'eddy.yaml'))) as { providers: Array<{ options: { path: string } }> }
    const dashboards = mountOf(provider.providers[0]!.options.path)!
    expect(dashboards, 'the dashboards provider path is mounted').toBe('./dashboards/json')
    expect(readdirSync(join(ROOT, dashboards)).filter((file) => file.endsWith('.json')).length).toBeGreaterThan(0)
  })

  it('installs the ClickHouse plugin, pinned, and sets every variable the provisioning reads', () => {
    expect(String(grafana.environment!.GF_PLUGINS_PREINSTALL_SYNC)).toMatch(/^grafana-clickhouse-datasource@\d+\.\d+\.\d+$/)
    const provisioning = mountOf('/etc/grafana/provisioning')!
    const datasources = read(join(provisioning, 'datasources', 'eddy.yaml'))
    expect(datasources).toContain('type: grafana-clickhouse-datasource')
    for (const variable of interpolated(datasources)) expect(Object.keys(grafana.environment!), variable).toContain(variable)
    expect(grafana.environment!.GRAFANA_PROMETHEUS_URL).toBe('http://prometheus:9090')
  })

  it("gives ClickHouse Grafana's read-only user and its password", () => {
    const users = services.clickhouse!.volumes!.find((volume) => volume.includes('grafana-user.xml'))!
    expect(users).toMatch(/:\/etc\/clickhouse-server\/users\.d\/grafana-user\.xml:ro$/)
    const passwordVariable = /from_env="(\w+)"/.exec(read(users.split(':')[0]!))![1]!
    expect(Object.keys(services.clickhouse!.environment!)).toContain(passwordVariable)
  })
})

describe('Dockerfile', () => {
  it('builds in two stages an image that runs as a non-root user with a health check on /healthz', () => {
    const dockerfile = read('Dockerfile')
    expect(dockerfile).toMatch(/^USER node$/m)
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/healthz/m)
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2)
  })
})
