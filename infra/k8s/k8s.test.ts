import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments, parse } from 'yaml'
import { ENVIRONMENT } from '../../core/config/environment.ts'

interface Container {
  name: string
  image: string
  args?: string[]
  ports?: Array<{ name: string; containerPort: number }>
  env?: Array<{ name: string }>
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>
  livenessProbe?: { httpGet?: { path: string; port: string | number } }
  readinessProbe?: { httpGet?: { path: string; port: string | number } }
}
interface Manifest {
  apiVersion: string
  kind: string
  metadata: { name: string }
  data?: Record<string, string>
  stringData?: Record<string, string>
  spec?: any
}

const ROOT = join(import.meta.dirname, '..', '..')
const DIRECTORY = join(ROOT, 'infra', 'k8s')
const manifests: Manifest[] = readdirSync(DIRECTORY)
  .filter((file) => file.endsWith('.yaml'))
  .flatMap((file) => parseAllDocuments(readFileSync(join(DIRECTORY, file), 'utf8')).map((document) => document.toJS() as Manifest))
const ofKind = (kind: string) => manifests.filter((manifest) => manifest.kind === kind)
const byName = (kind: string, name: string) => ofKind(kind).find((manifest) => manifest.metadata.name === name)
const containersOf = (workload: Manifest): Container[] => workload.spec.template.spec.containers
const workloads = [...ofKind('Deployment'), ...ofKind('Job')]

/** The paths the health routes serve (api/routes/health.ts), read from the source. */
const healthPaths = [...readFileSync(join(ROOT, 'api', 'routes', 'health.ts'), 'utf8').matchAll(/app\.get\('([^']+)'/g)].map((match) => match[1]!)
/** What docker-compose.yml gives every Eddy container. */
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { image?: string; environment?: Record<string, unknown> }> }

describe('infra/k8s manifests', () => {
  it('runs ingest, api and processors as Deployments and the migration as a Job, on the compose image', () => {
    expect(ofKind('Deployment').map((d) => d.metadata.name).sort()).toEqual(['eddy-api', 'eddy-ingest', 'eddy-processors'])
    expect(ofKind('Job').map((j) => j.metadata.name)).toEqual(['eddy-migrate'])
    const commands: Record<string, string> = { 'eddy-api': 'api', 'eddy-ingest': 'ingest', 'eddy-processors': 'process', 'eddy-migrate': 'migrate' }
    for (const workload of workloads) {
      const [container] = containersOf(workload)
      expect(container!.args, workload.metadata.name).toEqual([commands[workload.metadata.name]])
      expect(container!.image, workload.metadata.name).toBe(compose.services.ingest!.image)
      expect(workload.spec.template.spec.securityContext?.runAsNonRoot, workload.metadata.name).toBe(true)
    }
    expect(byName('Deployment', 'eddy-processors')!.spec.replicas).toBeGreaterThanOrEqual(2)
  })

  it('reads only variables Eddy knows, from a ConfigMap and a Secret that exist, with the settings compose uses', () => {
    const configMap = byName('ConfigMap', 'eddy-config')!
    const secret = byName('Secret', 'eddy-secrets')!
    const names = [...Object.keys(configMap.data!), ...Object.keys(secret.stringData!)]
    for (const name of names) expect(Object.keys(ENVIRONMENT), name).toContain(name)
    expect(names.sort()).toEqual(Object.keys(compose.services.ingest!.environment!).sort())
    for (const workload of workloads) {
      for (const container of containersOf(workload)) {
        for (const variable of container.env ?? []) expect(Object.keys(ENVIRONMENT), `${workload.metadata.name}: ${variable.name}`).toContain(variable.name)
        for (const source of container.envFrom ?? []) {
          if (source.configMapRef) expect(byName('ConfigMap', source.configMapRef.name), source.configMapRef.name).toBeDefined()
          if (source.secretRef) expect(byName('Secret', source.secretRef.name), source.secretRef.name).toBeDefined()
        }
      }
    }
    // Credentials only in the Secret, and the example holds placeholders, not keys.
    for (const name of Object.keys(configMap.data!)) expect(name).not.toMatch(/PASSWORD|PROJECTS|KEY/)
    expect(JSON.stringify(secret.stringData)).not.toMatch(/(wk|rk)_[0-9a-f]{8,}/)
  })

  it('probes liveness on /healthz and readiness on /readyz, paths the servers serve, on the port they listen on', () => {
    expect(healthPaths).toEqual(expect.arrayContaining(['/healthz', '/readyz']))
    for (const deployment of ofKind('Deployment')) {
      const [container] = containersOf(deployment)
      const portNames = (container!.ports ?? []).map((port) => port.name)
      expect(container!.ports?.[0]?.containerPort, deployment.metadata.name).toBe(8080)
      expect(container!.livenessProbe?.httpGet?.path, deployment.metadata.name).toBe('/healthz')
      expect(container!.readinessProbe?.httpGet?.path, deployment.metadata.name).toBe('/readyz')
      for (const probe of [container!.livenessProbe!, container!.readinessProbe!]) {
        expect(healthPaths).toContain(probe.httpGet!.path)
        expect(portNames).toContain(probe.httpGet!.port)
      }
    }
  })

  it('autoscales the stateless ingest and api, not the processors, whose parallelism is the partition count', () => {
    const targets = ofKind('HorizontalPodAutoscaler').map((hpa) => hpa.spec.scaleTargetRef.name).sort()
    expect(targets).toEqual(['eddy-api', 'eddy-ingest'])
    for (const target of targets) expect(byName('Deployment', target), target).toBeDefined()
    for (const service of ofKind('Service')) {
      const selected = ofKind('Deployment').filter((deployment) => Object.entries(service.spec.selector).every(([label, value]) => deployment.spec.template.metadata.labels[label] === value))
      expect(selected, service.metadata.name).toHaveLength(1)
    }
  })
})
