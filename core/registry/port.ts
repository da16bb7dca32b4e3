import type avro from 'avsc'

/**
 * Where schema ids come from. Ids go into every message (Confluent wire format), so a reader can
 * always find the exact schema a message was written with.
 * Subjects follow Confluent's TopicNameStrategy: `<topic>-value`.
 */
export interface SchemaRegistry {
  readonly kind: 'local' | 'confluent'
  /**
   * Registers the schema under the subject (idempotent: the same schema gets the same id) and
   * returns its id. Rejects a schema that is not BACKWARD compatible with the subject's latest
   * version, i.e. one that could not read data written with it.
   */
  register(subject: string, schema: avro.Schema): Promise<number>
  /** The schema with that id; rejects with UnknownSchemaError when there is none. */
  schemaById(id: number): Promise<avro.Schema>
}

/** Errors say whether trying again can help (core/retry.ts): neither of these goes away by itself. */
export class UnknownSchemaError extends Error {
  readonly retriable = false
  constructor(readonly schemaId: number) {
    super(`no schema with id ${schemaId} in the registry`)
    this.name = 'UnknownSchemaError'
  }
}

export class IncompatibleSchemaError extends Error {
  readonly retriable = false
  constructor(subject: string, reason: string) {
    super(`schema for subject "${subject}" is not BACKWARD compatible with its latest version: ${reason}`)
    this.name = 'IncompatibleSchemaError'
  }
}
