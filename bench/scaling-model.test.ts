import { describe, expect, it } from 'vitest'
import { MEASURED_INPUTS, modelTable, modelThroughput, type ScalingInputs } from './scaling-model.ts'

const input = (value: number) => ({ value, source: 'test' })
const inputs: ScalingInputs = {
  instanceEventsPerSec: input(10_000),
  partitions: input(4),
  brokerRecordsPerSec: input(100_000),
  changelogRecordsPerEvent: input(1),
  clickhouseRowsPerSec: input(60_000),
  rowsPerEvent: input(1.5),
}

describe('the scaling model', () => {
  it('is bound by the least of processors, partitions, broker and ClickHouse, and says which', () => {
    const one = { brokers: 1, clickhouseNodes: 1, instancesPerMachine: 1 }
    expect(modelThroughput(inputs, { ...one, machines: 2 })).toMatchObject({ instances: 2, busyInstances: 2, eventsPerSec: 20_000, bottleneck: 'processors' })
    // Eight instances, four partitions: four are busy.
    expect(modelThroughput(inputs, { ...one, machines: 8, clickhouseNodes: 2 })).toMatchObject({ busyInstances: 4, eventsPerSec: 40_000, bottleneck: 'partitions' })
    // Changelog records share the broker with the events themselves.
    expect(modelThroughput({ ...inputs, partitions: input(64) }, { ...one, machines: 8, clickhouseNodes: 2 })).toMatchObject({ eventsPerSec: 50_000, bottleneck: 'broker' })
    expect(modelThroughput({ ...inputs, partitions: input(64) }, { ...one, machines: 8, brokers: 3 })).toMatchObject({ eventsPerSec: 40_000, bottleneck: 'clickhouse' })
  })

  it('renders a row per deployment from the measured inputs', () => {
    const table = modelTable(MEASURED_INPUTS, [{ machines: 1, instancesPerMachine: 2, brokers: 1, clickhouseNodes: 1 }])
    expect(table.split('\n')).toHaveLength(3)
    expect(table).toContain('| 1 × 2 | 1 | 1 | 4 | 42,000 | processors |')
  })
})
