import avro from 'avsc'
import { IncompatibleSchemaError, UnknownSchemaError, type SchemaRegistry } from './port.ts'

/** Levels under which a new version can always read what the previous one wrote. */
const BACKWARD_LEVELS: ReadonlySet<string> = new Set(['BACKWARD', 'BACKWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE'])

export interface ConfluentSchemaRegistryOptions {
  /** Per request; a registry that does not answer in time gives a retriable error. Default 10 s. */
  readonly timeoutMs?: number
}

/** An answer from the registry that is neither a schema nor one of the port's errors. */
export class SchemaRegistryError extends Error {
  constructor(message: string, readonly status: number | undefined, readonly retriable: boolean) {
    super(message)
    this.name = 'SchemaRegistryError'
  }
}

/**
 * A Confluent Schema Registry, or any registry that speaks its REST API (Apicurio's
 * `/apis/ccompat/v7` is what the tests run against, see infra/schema-registry/). The URL is the
 * API's base, e.g. `http://registry:8081` or `http://registry:8080/apis/ccompat/v7`.
 *
 * Subjects get BACKWARD compatibility when they have none of their own, so a v2 reader is always
 * deployed before v2 writers (docs/schemas.md). This speaks the REST API directly rather than
 * through @kafkajs/confluent-schema-registry because that client sets the level only after a
 * subject's first registration and refuses any level other than the one it was given, which a
 * real registry showed to be wrong both ways (see `ensureBackward`).
 */
export class ConfluentSchemaRegistry implements SchemaRegistry {
  readonly kind = 'confluent' as const
  private readonly baseUrl: string
  private readonly timeoutMs: number
  /** Ids never change meaning, so a schema fetched once is kept (and a fetch in flight shared). */
  private readonly schemas = new Map<number, Promise<avro.Schema>>()
  private readonly backwardSubjects = new Set<string>()

  constructor(url: string, options: ConfluentSchemaRegistryOptions = {}) {
    this.baseUrl = url.replace(/\/+$/, '')
    this.timeoutMs = options.timeoutMs ?? 10_000
  }

  async register(subject: string, schema: avro.Schema): Promise<number> {
    // One text per schema, however the caller spelled it: registries that do not canonicalise
    // (Apicurio by default) would otherwise give the same schema a new id and version.
    const text = JSON.stringify(avro.Type.forSchema(schema).schema({ exportAttrs: true }))
    const levelSet = await this.ensureBackward(subject)
    let id: number
    try {
      ;({ id } = await this.request<{ id: number }>('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schema: text }))
    } catch (error) {
      // 409: not compatible with the subject's versions under its level.
      if (error instanceof SchemaRegistryError && error.status === 409) throw new IncompatibleSchemaError(subject, error.message)
      throw error
    }
    if (!levelSet) await this.setBackward(subject)
    this.backwardSubjects.add(subject)
    this.schemas.set(id, Promise.resolve(JSON.parse(text) as avro.Schema))
    return id
  }

  async schemaById(id: number): Promise<avro.Schema> {
    let schema = this.schemas.get(id)
    if (!schema) {
      schema = this.fetchSchema(id)
      this.schemas.set(id, schema)
      // A failure is not kept: the next call asks again.
      schema.catch(() => this.schemas.delete(id))
    }
    return schema
  }

  private async fetchSchema(id: number): Promise<avro.Schema> {
    try {
      const found = await this.request<{ schema: string; schemaType?: string }>('GET', `/schemas/ids/${id}`)
      if (found.schemaType !== undefined && found.schemaType !== 'AVRO') {
        throw new SchemaRegistryError(`schema ${id} is ${found.schemaType}, not Avro`, 200, false)
      }
      return JSON.parse(found.schema) as avro.Schema
    } catch (error) {
      if (error instanceof SchemaRegistryError && error.status === 404) throw new UnknownSchemaError(id)
      throw error
    }
  }

  /**
   * Makes sure the subject's level keeps every new version able to read the previous one; returns
   * whether the level is in place (false: it can only be set once the subject exists).
   *
   * Confluent answers 404 for a subject without a level of its own and lets one be set before the
   * subject exists; Apicurio answers with its global level (NONE by default) and refuses to
   * configure a subject that does not exist yet. So: not set, set it; cannot set, register first
   * and set it right after (the first version has nothing to be compatible with). A level that
   * does not guarantee BACKWARD (NONE, FORWARD…) is someone's decision: refuse rather than
   * override it, and say how to change it.
   */
  private async ensureBackward(subject: string): Promise<boolean> {
    if (this.backwardSubjects.has(subject)) return true
    const path = `/config/${encodeURIComponent(subject)}`
    let level: string | undefined
    try {
      level = (await this.request<{ compatibilityLevel?: string }>('GET', path)).compatibilityLevel
    } catch (error) {
      if (!(error instanceof SchemaRegistryError && error.status === 404)) throw error
    }
    if (level === undefined) {
      try {
        await this.setBackward(subject)
        return true
      } catch (error) {
        if (error instanceof SchemaRegistryError && error.status === 404) return false
        throw error
      }
    }
    if (!BACKWARD_LEVELS.has(level.toUpperCase())) {
      throw new SchemaRegistryError(
        `subject "${subject}" has compatibility ${level} in the schema registry; Eddy needs BACKWARD (or BACKWARD_TRANSITIVE, FULL, FULL_TRANSITIVE) ` +
          `so that readers can decode what older writers wrote: PUT ${this.baseUrl}${path} {"compatibility":"BACKWARD"}`,
        undefined,
        false,
      )
    }
    return true
  }

  private async setBackward(subject: string): Promise<void> {
    await this.request('PUT', `/config/${encodeURIComponent(subject)}`, { compatibility: 'BACKWARD' })
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { accept: 'application/vnd.schemaregistry.v1+json, application/json', 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      })
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message
      throw new SchemaRegistryError(`schema registry at ${this.baseUrl} unreachable (${method} ${path}): ${cause}`, undefined, true)
    }
    const text = await response.text()
    if (response.ok) return JSON.parse(text) as T
    // Errors are {"error_code": 40401, "message": "..."}; keep the message, it names the cause.
    let message = text
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text
    } catch {
      // Not JSON (a proxy's error page): the text itself.
    }
    const retriable = response.status >= 500 || response.status === 429
    throw new SchemaRegistryError(`schema registry answered ${response.status} to ${method} ${path}: ${message}`, response.status, retriable)
  }
}
