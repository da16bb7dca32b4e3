import { COMPATIBILITY, SchemaRegistry as ConfluentClient, SchemaType } from '@kafkajs/confluent-schema-registry'
import type avro from 'avsc'
import { IncompatibleSchemaError, UnknownSchemaError, type SchemaRegistry } from './port.ts'

/**
 * Confluent Schema Registry through @kafkajs/confluent-schema-registry. Subjects are registered
 * with BACKWARD compatibility (the registry's default), so a v2 reader is always deployed before
 * v2 writers: see docs/schemas.md.
 */
export class ConfluentSchemaRegistry implements SchemaRegistry {
  readonly kind = 'confluent' as const
  private readonly client: ConfluentClient

  constructor(url: string) {
    this.client = new ConfluentClient({ host: url, clientId: 'eddy' })
  }

  async register(subject: string, schema: avro.Schema): Promise<number> {
    try {
      const { id } = await this.client.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
        { subject, compatibility: COMPATIBILITY.BACKWARD },
      )
      return id
    } catch (error) {
      // The registry answers 409 for an incompatible schema.
      if ((error as { status?: number }).status === 409) throw new IncompatibleSchemaError(subject, (error as Error).message)
      throw error
    }
  }

  async schemaById(id: number): Promise<avro.Schema> {
    try {
      const type = (await this.client.getSchema(id)) as unknown as avro.Type
      return type.schema({ exportAttrs: true })
    } catch (error) {
      if ((error as { status?: number }).status === 404) throw new UnknownSchemaError(id)
      throw error
    }
  }
}
