/**
 * External services for tests (Kafka, Redis, Elasticsearch) come from environment variables that
 * CI or a developer sets (infra/kafka/ci-env.sh exports KAFKA_BROKERS). Without one, a suite is
 * skipped with a one-line reason, unless EDDY_REQUIRE_SERVICES=1 (CI) makes the absence a failure:
 * CI must never go green by silently not testing an adapter.
 */
import { describe, it } from 'vitest'

export type ServiceName = 'kafka' | 'redis' | 'elasticsearch' | 'schema-registry' | 'clickhouse'

/** The service's address from `envVar`, or undefined when it is not available. */
export function serviceUrl(name: ServiceName, envVar: string): string | undefined {
  const value = process.env[envVar]?.trim()
  if (value !== undefined && value !== '') return value
  // testcontainers fallback goes here (not installed: no Docker on the build machines). With
  // Docker and testcontainers@11, a vitest globalSetup would start `name`'s container and provide
  // its address, e.g. through `inject('kafkaBrokers')`, before falling through to undefined.
  void name
  return undefined
}

export function servicesRequired(): boolean {
  return process.env.EDDY_REQUIRE_SERVICES === '1'
}

/**
 * The suite `title` when what it needs is missing: a single failing test when
 * EDDY_REQUIRE_SERVICES=1 (CI must never go green by not testing), else a skipped suite that says
 * why. The one place that decision is made, for services, browsers and binaries alike.
 */
export function describeUnavailable(title: string, what: string, reason: string): void {
  if (servicesRequired()) {
    describe(title, () => {
      it(`requires ${what}`, () => {
        throw new Error(`${reason}, and EDDY_REQUIRE_SERVICES=1 makes that a failure`)
      })
    })
  } else {
    describe.skip(`${title}: skipped, ${reason}`, () => {
      it(`needs ${what}`, () => undefined)
    })
  }
}

/** describe() that runs `body` with the service's address, or describeUnavailable. */
export function describeWithService(name: ServiceName, envVar: string, title: string, body: (url: string) => void): void {
  describeWithServices([{ name, envVar }], title, (urls) => body(urls[envVar]!))
}

/** describeWithService for a suite that needs several services at once: `body` gets every address. */
export function describeWithServices(needs: ReadonlyArray<{ name: ServiceName; envVar: string }>, title: string, body: (urls: Record<string, string>) => void): void {
  const urls: Record<string, string> = {}
  const missing: string[] = []
  for (const { name, envVar } of needs) {
    const url = serviceUrl(name, envVar)
    if (url === undefined) missing.push(`${envVar} is not set (no ${name} to test against; see infra/${name}/)`)
    else urls[envVar] = url
  }
  if (missing.length === 0) describe(title, () => body(urls))
  else describeUnavailable(title, needs.map((need) => need.envVar).join(' and '), missing.join('; '))
}
