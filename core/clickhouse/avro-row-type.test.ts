import { describe, expect, it } from 'vitest'
import { avroRowType, avroTypeOf } from './avro-row-type.ts'

describe('avroTypeOf', () => {
  it.each([
    ['String', 'string'],
    ['LowCardinality(String)', 'string'],
    ['UInt8', 'int'],
    ['UInt16', 'int'],
    ['Int32', 'int'],
    // Beyond an Avro int's range.
    ['UInt32', 'long'],
    ['UInt64', 'long'],
    ['Int64', 'long'],
    ['Float64', 'double'],
    ['Bool', 'boolean'],
    ["DateTime('UTC')", 'long'],
    ['DateTime', 'long'],
    ["DateTime64(3, 'UTC')", { type: 'long', logicalType: 'timestamp-millis' }],
    ['DateTime64(6)', { type: 'long', logicalType: 'timestamp-micros' }],
    ["Nullable(DateTime64(3, 'UTC'))", ['null', { type: 'long', logicalType: 'timestamp-millis' }]],
    ['LowCardinality(Nullable(String))', ['null', 'string']],
  ])('%s is written as %j', (clickhouse, avro) => {
    expect(avroTypeOf(clickhouse)).toEqual(avro)
  })

  it('names the type it has no mapping for', () => {
    expect(() => avroTypeOf('Array(String)')).toThrow('no Avro type for the ClickHouse type Array(String)')
    expect(() => avroTypeOf('DateTime64(9)')).toThrow(/DateTime64\(9\)/)
  })
})

describe('avroRowType', () => {
  it('writes the columns in order; one with a default may be left out (null, which the insert makes the default), one computed is not written', () => {
    const type = avroRowType('eddy.t', [
      { name: 'project_id', type: 'LowCardinality(String)', defaultKind: '' },
      { name: 'inserted_at', type: 'DateTime', defaultKind: 'DEFAULT' },
      { name: 'day', type: 'Date', defaultKind: 'MATERIALIZED' },
      { name: 'revision', type: 'UInt64', defaultKind: '' },
    ])
    // shop, then the union's branch (0: null, 1: long), then the revision; zigzag varints.
    expect(type.toBuffer({ project_id: 'shop', revision: 7 })).toEqual(Buffer.from([8, ...Buffer.from('shop'), 0, 14]))
    expect(type.toBuffer({ project_id: 'shop', inserted_at: 5, revision: 7 })).toEqual(Buffer.from([8, ...Buffer.from('shop'), 2, 10, 14]))
  })

  it('refuses a row without one of the columns rather than writing a default', () => {
    const type = avroRowType('eddy.t', [{ name: 'revision', type: 'UInt64', defaultKind: '' }])
    expect(() => type.toBuffer({})).toThrow(/invalid/)
  })

  it('names the column it cannot write', () => {
    expect(() => avroRowType('eddy.t', [{ name: 'tags', type: 'Map(String, String)', defaultKind: '' }])).toThrow('column eddy.t.tags: no Avro type for the ClickHouse type Map(String, String)')
  })
})
